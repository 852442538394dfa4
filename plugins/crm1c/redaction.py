"""Keep credentials out of any text crm1c shows a person (alerts, the audit story, reports).

Plain Python: URL userinfo, Bitrix24 webhook ``/rest/<user>/<token>`` paths and secret query parameters.
Alerts add Airflow's secrets maskers on top (:func:`crm1c.notify.redaction.redact`).
"""

from __future__ import annotations

import re

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
