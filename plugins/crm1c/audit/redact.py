"""Keep credentials out of a story: :func:`crm1c.notify.redaction.scrub_credentials` on every text, and
the values of secret-named keys masked.

Payloads hold business data, but an error text may quote a URL (a Bitrix24 webhook holds its token in the
path). ``crm1c.notify``'s package imports Airflow, so its plain ``redaction`` module is loaded by file here.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import crm1c

MASK = "***"
_SECRET_KEY = re.compile(r"(?:.*[_-])?(?:password|passwd|pwd|token|secret|api_?key|auth|webhook(?:_url)?)")


@functools.cache
def _scrub_credentials() -> Callable[[str], str]:
    path = Path(crm1c.__file__).parent / "notify" / "redaction.py"
    spec = importlib.util.spec_from_file_location("crm1c_audit_notify_redaction", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    scrub: Callable[[str], str] = module.scrub_credentials
    return scrub


def scrub(value: Any) -> Any:
    """``value`` (plain JSON types) with credentials masked in every string and secret-named key."""
    if isinstance(value, str):
        return _scrub_credentials()(value)
    if isinstance(value, list):
        return [scrub(v) for v in value]
    if isinstance(value, dict):
        return {k: MASK if _secret(k, v) else scrub(v) for k, v in value.items()}
    return value


def _secret(key: Any, value: Any) -> bool:
    return isinstance(key, str) and value not in (None, "") and bool(_SECRET_KEY.fullmatch(key.lower()))
