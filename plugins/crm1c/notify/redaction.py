"""Keep credentials out of alert text: :func:`redact` first applies Airflow's secrets maskers (every
value registered with ``mask_secret``, connection passwords included), then
:func:`crm1c.redaction.scrub_credentials` (URL userinfo, Bitrix24 webhook paths, secret query values).
"""

from __future__ import annotations

from crm1c.redaction import MASK, scrub_credentials

__all__ = ["redact", "scrub_credentials"]


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
