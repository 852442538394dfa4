"""Which deals' documents a pilot filter selects (rollout mode ``pilot``).

Keys: ``category`` (the deal's funnel, ``CATEGORY_ID``), ``assigned_by`` (its responsible user,
``ASSIGNED_BY_ID``), ``companies`` (its company). A 1C document is in the pilot through the deal it is
linked to (the engine asks about a record's linked partner too). Smart invoices: ``companies`` and
``assigned_by`` (their funnel is not a deal funnel). Any key matching is enough.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from crm1c.staging import SeenRecord

KEYS = ("category", "assigned_by", "companies")
#: The key → the field of a deal and of a smart invoice that holds it.
FIELDS = {"category": ("CATEGORY_ID", None), "assigned_by": ("ASSIGNED_BY_ID", "assignedById")}
FIELDS |= {"companies": ("COMPANY_ID", "companyId")}


class DocumentPilot:
    """:class:`crm1c.sync.spec.PilotMatch` for sales documents."""

    keys = KEYS

    def __call__(self, record: SeenRecord, pilot_filter: Mapping[str, Sequence[str]]) -> bool:
        if record.system != "crm" or not isinstance(record.raw, Mapping):
            return False
        smart = "id" in record.raw and "ID" not in record.raw
        for key, wanted in pilot_filter.items():
            name = FIELDS[key][1 if smart else 0]
            if name is not None and _text(record.raw.get(name)) in set(map(str, wanted)):
                return True
        return False


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)
