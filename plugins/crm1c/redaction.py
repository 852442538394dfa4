"""Keep credentials out of any text crm1c shows a person (alerts, the audit story, reports).

Plain Python: URL userinfo, Bitrix24 webhook ``/rest/<user>/<token>`` paths and secret query parameters.
Alerts add Airflow's secrets maskers on top (:func:`crm1c.notify.redaction.redact`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

MASK = "***"

# scheme://user:password@host → scheme://***@host (the userinfo ends at the first "/", "?", "#" or space).
_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s?#]*@")
# Bitrix24 incoming webhook: /rest/<user>/<token>/<method> → /rest/***/***/<method>.
_BITRIX_WEBHOOK = re.compile(r"/rest/[^/\s?#\"'<>]+/[^/\s?#\"'<>]+")
# ?auth=…, &access_token=…, password=… (Bitrix24 OAuth puts its token in "auth").
_SECRET_PARAM = re.compile(
    r"(?P<key>\b(?:auth|access_token|refresh_token|token|password|passwd|secret|api_key|apikey)=)[^&\s#\"'<>]+",
    re.IGNORECASE,
)


def scrub_credentials(text: str) -> str:
    """Mask URL userinfo, Bitrix24 webhook ``/rest/<user>/<token>`` segments and secret query values."""
    text = _USERINFO.sub(rf"\g<scheme>{MASK}@", text)
    text = _BITRIX_WEBHOOK.sub(f"/rest/{MASK}/{MASK}", text)
    return _SECRET_PARAM.sub(rf"\g<key>{MASK}", text)


_SECRET_KEY = re.compile(r"(?:.*[_-])?(?:password|passwd|pwd|token|secret|api_?key|auth|webhook(?:_url)?)")


def redact_json(value: Any, redact: Callable[[str], str] = scrub_credentials) -> Any:
    """A JSON-ready value with every string passed through ``redact`` and secret-named keys' values masked."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [redact_json(v, redact) for v in value]
    if isinstance(value, dict):
        return {k: MASK if _secret(k, v) else redact_json(v, redact) for k, v in value.items()}
    return value


def _secret(key: Any, value: Any) -> bool:
    return isinstance(key, str) and value not in (None, "") and bool(_SECRET_KEY.fullmatch(key.lower()))
