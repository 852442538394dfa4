"""Run the contour's two emulators inside the test process, over real HTTPS on ephemeral loopback ports."""

from __future__ import annotations

import json
import ssl
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contour import dataset
from contour.bitrix import seed as bitrix_seed
from contour.bitrix.app import BitrixApp
from contour.onec import seed as onec_seed
from contour.onec.app import OneCApp
from contour.tls import server_context
from contour.web import ContourServer, serve_in_thread

ONEC_USER, ONEC_PASSWORD = "Интеграция", "contour"
BITRIX_USER, BITRIX_TOKEN = "1", "contour0webhook0token"


@dataclass
class RunningContour:
    state_dir: Path
    onec: ContourServer
    bitrix: ContourServer

    @property
    def ca_file(self) -> Path:
        return self.state_dir / "ca.pem"

    @property
    def onec_port(self) -> int:
        return self.onec.server_address[1]

    @property
    def bitrix_port(self) -> int:
        return self.bitrix.server_address[1]

    @property
    def onec_url(self) -> str:
        return f"https://127.0.0.1:{self.onec_port}/accounting/odata/standard.odata/"

    @property
    def bitrix_base(self) -> str:
        return f"https://127.0.0.1:{self.bitrix_port}"

    @property
    def bitrix_webhook(self) -> str:
        return f"{self.bitrix_base}/rest/{BITRIX_USER}/{BITRIX_TOKEN}/"

    def seed(self, profile: str = "demo", size: int = 100) -> dataset.Dataset:
        data = dataset.build(profile, size=size)
        onec_seed.seed(self.state_dir, data)
        bitrix_seed.seed(self.state_dir, data)
        return data

    def knobs(self, app: str, **changes: Any) -> dict[str, Any]:
        """Change an emulator's knobs through its admin endpoint (as an operator would)."""
        port = self.onec_port if app == "onec" else self.bitrix_port
        req = urllib.request.Request(
            f"https://127.0.0.1:{port}/_contour/knobs",
            data=json.dumps(changes).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        with urllib.request.urlopen(req, timeout=5, context=ctx) as resp:  # noqa: S310
            return json.load(resp)

    def stop(self) -> None:
        for server in (self.onec, self.bitrix):
            server.shutdown()
            server.server_close()


def start_contour(
    state_dir: Path, profile: str | None = "demo", size: int = 100, **knobs: Any
) -> RunningContour:
    """Start both emulators (HTTPS, ephemeral ports), optionally seeded, with the given knob overrides."""
    state_dir.mkdir(parents=True, exist_ok=True)
    tls = server_context(state_dir)
    onec = ContourServer(OneCApp(state_dir, {"rate_plan": None, **knobs}), "127.0.0.1", 0, tls)
    bitrix = ContourServer(BitrixApp(state_dir, {"rate_plan": "off", **knobs}), "127.0.0.1", 0, tls)
    running = RunningContour(state_dir, onec, bitrix)
    if profile:
        running.seed(profile, size)
    serve_in_thread(onec)
    serve_in_thread(bitrix)
    return running
