"""Keep credentials out of alert text.

:func:`scrub_credentials` is plain Python (URL userinfo, Bitrix24 webhook paths, secret query
parameters); :func:`redact` first applies Airflow's secrets maskers (every value registered with
``mask_secret``, connection passwords included) and then scrubs.
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


def redact(text: str) -> str:
    """Airflow's secrets maskers (task SDK, and core where installed), then :func:`scrub_credentials`."""
    for masker_redact in _airflow_maskers():
        masked = masker_redact(text)
        text = masked if isinstance(masked, str) else MASK
    return scrub_credentials(text)


def _airflow_maskers() -> list:
    """``redact`` of each secrets masker in this process: the task SDK's and airflow-core's (separate)."""
    from airflow.sdk._shared.secrets_masker import redact as sdk_redact

    maskers = [sdk_redact]
    try:
        from airflow._shared.secrets_masker import redact as core_redact
    except ImportError:  # a worker with the task SDK only
        return maskers
    if core_redact is not sdk_redact:
        maskers.append(core_redact)
    return maskers
