"""Keep credentials out of a story: :func:`crm1c.redaction.scrub_credentials` on every text, and the
values of secret-named keys masked.

Payloads hold business data, but an error text may quote a URL (a Bitrix24 webhook holds its token in the
path).
"""

from __future__ import annotations

import re
from typing import Any

from crm1c.redaction import MASK, scrub_credentials

_SECRET_KEY = re.compile(r"(?:.*[_-])?(?:password|passwd|pwd|token|secret|api_?key|auth|webhook(?:_url)?)")


def scrub(value: Any) -> Any:
    """``value`` (plain JSON types) with credentials masked in every string and secret-named key."""
    if isinstance(value, str):
        return scrub_credentials(value)
    if isinstance(value, list):
        return [scrub(v) for v in value]
    if isinstance(value, dict):
        return {k: MASK if _secret(k, v) else scrub(v) for k, v in value.items()}
    return value


def _secret(key: Any, value: Any) -> bool:
    return isinstance(key, str) and value not in (None, "") and bool(_SECRET_KEY.fullmatch(key.lower()))
