"""Start the contour emulators for client tests (skips the test when the emulators are not built yet)."""

from __future__ import annotations

import json
import ssl
import urllib.request
from typing import Any

import pytest


def start(tmp_path, **kwargs: Any):
    pytest.importorskip("contour.bitrix.app", reason="Bitrix24 emulator not available yet")
    pytest.importorskip("contour.onec.app", reason="1C emulator not available yet")
    from tests.contour_harness import start_contour

    return start_contour(tmp_path / "contour", **kwargs)


def admin(running, app: str, path: str, payload: Any = None, method: str | None = None) -> Any:
    """Call an emulator admin endpoint (``/_contour/...``) and return its JSON."""
    port = running.onec_port if app == "onec" else running.bitrix_port
    data = None if payload is None else json.dumps(payload).encode()
    req = urllib.request.Request(
        f"https://127.0.0.1:{port}{path}", data=data, method=method or ("POST" if data else "GET"),
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    ctx = ssl.create_default_context(cafile=str(running.ca_file))
    with urllib.request.urlopen(req, timeout=10, context=ctx) as resp:  # noqa: S310
        return json.load(resp)
