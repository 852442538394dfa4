"""Compensation: deletion marks on the 1C objects crm1c created, never on anything posted.

A catalog object (a counterparty) has no posting: it is marked unless marked already. A document with
``Posted: true`` is never touched: it is listed for the accountant, who decides (unpost, correct, reverse).
Every mark is an ``If-Match`` update of ``DeletionMark`` (:meth:`OneCClient.mark_deleted`); an object that
changed in between is read again once. Nothing is ever physically deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm1c.clients.errors import NotFound, PeriodClosed, PreconditionFailed, ValidationRejected
from crm1c.redaction import scrub_credentials

MARKED, LISTED, ALREADY, GONE, REFUSED = "marked", "listed", "already_marked", "gone", "refused"
#: Results that leave the object as it was.
UNTOUCHED = (LISTED, ALREADY, GONE, REFUSED)


@dataclass(frozen=True)
class Compensated:
    """What compensation did to one 1C object (``result``: one of the constants above)."""

    entity_set: str
    ref_key: str
    result: str
    title: str = ""
    reason: str = ""


def decide(obj: dict[str, Any]) -> str:
    """``listed`` for a posted document, ``already_marked`` for a marked object, else ``marked`` (to do)."""
    if obj.get("Posted") is True:
        return LISTED
    if obj.get("DeletionMark") is True:
        return ALREADY
    return MARKED


def title(entity_set: str, obj: dict[str, Any]) -> str:
    """How a person finds the object in 1C: a document's number and date, else its name."""
    if entity_set.startswith("Document_"):
        return f"№ {obj.get('Number', '?')} от {str(obj.get('Date', ''))[:10]}"
    return str(obj.get("Description") or "")


def compensate_one(onec: Any, entity_set: str, ref: str, tries: int = 2) -> Compensated:
    """Read the object, mark it if :func:`decide` says so; a refusal is a result, not an exception."""
    select = ["Ref_Key", "DataVersion", "DeletionMark"]
    select += ["Posted", "Number", "Date"] if entity_set.startswith("Document_") else ["Description"]
    name = ""
    for _ in range(tries):
        try:
            obj = onec.get(entity_set, ref, select=select)
        except NotFound:
            return Compensated(entity_set, ref, GONE, reason="not found in 1C")
        name, result = title(entity_set, obj), decide(obj)
        if result != MARKED:
            return Compensated(entity_set, ref, result, name)
        try:
            onec.mark_deleted(entity_set, ref, obj["DataVersion"])
        except PreconditionFailed:
            continue  # changed since it was read: read it again
        except (PeriodClosed, ValidationRejected) as exc:
            return Compensated(entity_set, ref, REFUSED, name, scrub_credentials(str(exc)))
        return Compensated(entity_set, ref, MARKED, name)
    return Compensated(entity_set, ref, REFUSED, name, "it kept changing in 1C; mark it by hand")
