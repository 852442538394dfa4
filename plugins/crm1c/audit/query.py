"""What ``story`` was asked about: a CRM id, a 1C Ref_Key or an ИНН."""

from __future__ import annotations

import re
from dataclasses import dataclass

_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_INN = re.compile(r"\d{10}|\d{12}")
_CRM_ID = re.compile(r"[1-9]\d*")
PREFIXES = ("crm", "onec", "inn")
HELP = (
    "a CRM id (crm:123 or 123), a 1C Ref_Key (a GUID, or onec:<GUID>) or an ИНН (10 or 12 digits, or "
    "inn:<ИНН>: every counterparty with it, both systems); a bare number of 10 or 12 digits is an ИНН"
)


class QueryError(ValueError):
    """The text names no record."""


@dataclass(frozen=True)
class Query:
    """``kind`` is ``crm`` (a CRM id), ``onec`` (a 1C Ref_Key) or ``inn``; ``value`` is normalised."""

    kind: str
    value: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


def parse_query(text: str) -> Query:
    """Read a query; raises :class:`QueryError` with what is accepted."""
    raw = text.strip()
    prefix, sep, rest = raw.partition(":")
    kind = prefix.lower() if sep and prefix.lower() in PREFIXES else None
    value = rest.strip() if kind else raw
    if kind in (None, "onec") and _GUID.fullmatch(value.lower()):
        return Query("onec", value.lower())
    if kind in (None, "inn") and _INN.fullmatch(value):
        return Query("inn", value)
    if kind in (None, "crm") and _CRM_ID.fullmatch(value):
        return Query("crm", value)
    raise QueryError(f"cannot read {text!r}: expected {HELP}")
