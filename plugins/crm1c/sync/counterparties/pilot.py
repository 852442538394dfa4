"""Which counterparties a pilot filter selects (rollout mode ``pilot``).

Keys: ``companies`` (Bitrix24 company ids; a 1C record by the company id it carries), ``inn`` (either
side), ``assigned_by`` (the company's responsible user, ``ASSIGNED_BY_ID``; a 1C record through the company
it is linked to: the engine also asks about a record's linked partner). Any key matching is enough.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from crm1c.staging import SeenRecord

KEYS = ("companies", "inn", "assigned_by")


class CounterpartyPilot:
    """:class:`crm1c.sync.spec.PilotMatch` for counterparties."""

    keys = KEYS

    def __call__(self, record: SeenRecord, pilot_filter: Mapping[str, Sequence[str]]) -> bool:
        values = _values(record)
        return any(values.get(key) in set(map(str, wanted)) for key, wanted in pilot_filter.items())


def _values(record: SeenRecord) -> dict[str, str | None]:
    """The record's value for each key (None: it has none)."""
    data = record.normalised if isinstance(record.normalised, dict) else {}
    if record.system == "crm":
        company = (record.raw or {}).get("company") or {}
        return {
            "companies": record.external_id,
            "inn": _text(data.get("inn")),
            "assigned_by": _text(company.get("ASSIGNED_BY_ID")),
        }
    return {"companies": _text(data.get("crm_id")), "inn": _text(data.get("inn")), "assigned_by": None}


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)
