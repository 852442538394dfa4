"""A CRM deal's 1C document (payment invoice or sale) as both systems say it, and who wins an edit.

The deal defines the commercial terms; once exported, the document belongs to 1C. One record per deal and
document kind: its CRM id is ``<deal ID>:<kind>`` (``SI<ID>:invoice`` for a smart invoice), and the 1C
document carries ``crm1c:deal:<deal ID>`` (``crm1c:invoice:<ID>``) in its ``Комментарий``.

The merge writes 1C only. A CRM change updates the document while it is unposted (1C itself refuses a
write dated in a closed period, and that refusal holds the record for the accountant); a posted document is
never overwritten: each differing field becomes a conflict for the accountant. A cancelled deal marks an
unposted document for deletion (never a physical delete) and makes a posted one an item for the
accountant. An accountant's edit in 1C of an unposted document the CRM did not change is kept.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from pydantic import BaseModel, field_validator

from crm1c import hashing
from crm1c.domain.issues import Issue
from crm1c.domain.one_way import Conflict, OneWayMerge

Kind = Literal["invoice", "sale"]
#: What the deal decides and the document holds (what makes the two sides equal).
SYNCED = ("kind", "on", "counterparty", "currency", "includes_vat", "operation", "goods", "services", "total")
#: The ``Комментарий`` tag of a document made from a deal (+ its ID) or from a smart invoice.
DEAL_TAG, SMART_INVOICE_TAG = "crm1c:deal:", "crm1c:invoice:"
SMART_PREFIX = "SI"  # a smart invoice's record id: SI<ID>:invoice


class SalesDocument(BaseModel):
    """``goods``/``services`` are the document's rows as 1C stores them (numbers as plain decimal text)."""

    kind: Kind | None = None
    on: date | None = None  # the document's Date
    counterparty: str | None = None  # Контрагент_Key
    currency: str | None = None  # Catalog_Валюты.Code, e.g. "643"
    includes_vat: bool = True  # СуммаВключаетНДС
    operation: str | None = None  # ВидОперации
    goods: list[dict[str, Any]] = []
    services: list[dict[str, Any]] = []
    total: Decimal | None = None  # СуммаДокумента
    number: str | None = None  # 1C only
    posted: bool = False  # 1C only
    deleted: bool = False
    crm_id: str | None = None
    onec_ref: str | None = None

    @field_validator("total")
    @classmethod
    def _to_kopecks(cls, value: Decimal | None) -> Decimal | None:
        return None if value is None else Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def record_id(source_id: str, kind: str, smart: bool = False) -> str:
    """The CRM-side id of a deal's document of ``kind`` (``"42:invoice"``, ``"SI7:invoice"``)."""
    return f"{SMART_PREFIX if smart else ''}{source_id}:{kind}"


def tag_of(crm_id: str) -> str:
    """The ``Комментарий`` tag of the document of a record (``crm1c:deal:42``, ``crm1c:invoice:7``)."""
    source = crm_id.rsplit(":", 1)[0]
    if source.startswith(SMART_PREFIX):
        return f"{SMART_INVOICE_TAG}{source.removeprefix(SMART_PREFIX)}"
    return f"{DEAL_TAG}{source}"


def crm_id_from_comment(comment: Any, kind: str) -> str | None:
    """The record id a document's ``Комментарий`` tag names (None: not made by crm1c)."""
    for word in str(comment or "").split():
        if word.startswith(DEAL_TAG) and word.removeprefix(DEAL_TAG).isdigit():
            return record_id(word.removeprefix(DEAL_TAG), kind)
        if word.startswith(SMART_INVOICE_TAG) and word.removeprefix(SMART_INVOICE_TAG).isdigit():
            return record_id(word.removeprefix(SMART_INVOICE_TAG), kind, smart=True)
    return None


def identity_key(doc: SalesDocument) -> str | None:
    return doc.crm_id


def content_hash(doc: SalesDocument) -> str:
    return hashing.content_hash({f: getattr(doc, f) for f in SYNCED})


def validate(doc: SalesDocument, _mapping: Any) -> list[Issue]:
    """A document needs its counterparty, date, currency and at least one row."""
    missing = [f for f in ("counterparty", "on", "currency") if getattr(doc, f) in (None, "")]
    issues = [Issue(f, "required", f"Не заполнено: {f}", f"{f} is missing") for f in missing]
    if not doc.goods and not doc.services:
        issues.append(Issue("rows", "required", "В документе нет строк", "The document has no rows"))
    return issues


def tombstone(doc: SalesDocument) -> SalesDocument:
    return doc.model_copy(update={"deleted": True})


def merge(
    base: SalesDocument | None, crm: SalesDocument | None, onec: SalesDocument | None, _rules: Any
) -> OneWayMerge:
    """CRM → 1C while the document is unposted (see the module docstring)."""
    if crm is None:  # a 1C document whose deal crm1c does not know (yet): not crm1c's to touch
        return OneWayMerge(onec or SalesDocument())
    if onec is None:
        if crm.deleted:
            return OneWayMerge(crm)
        return OneWayMerge(crm, to_onec={f: getattr(crm, f) for f in SYNCED} | {"crm_id": crm.crm_id})
    kept = onec.model_copy(update={"crm_id": crm.crm_id})
    if crm.deleted:
        if onec.deleted:
            return OneWayMerge(kept)
        if onec.posted:
            return OneWayMerge(kept, conflicts=[Conflict("deleted", False, True, False)])
        return OneWayMerge(kept.model_copy(update={"deleted": True}), to_onec={"deleted": True})
    changed = [f for f in SYNCED if getattr(crm, f) != getattr(onec, f)]
    if not changed or onec.deleted:
        return OneWayMerge(kept)
    if base is not None and all(getattr(crm, f) == getattr(base, f) for f in changed):
        return OneWayMerge(kept)  # edited in 1C only (by the accountant): 1C's document stands
    if onec.posted:
        conflicts = [Conflict(f, getattr(base, f, None), getattr(crm, f), getattr(onec, f)) for f in changed]
        return OneWayMerge(kept, conflicts=conflicts)
    merged = crm.model_copy(update={"number": onec.number, "onec_ref": onec.onec_ref, "posted": False})
    return OneWayMerge(merged, to_onec={f: getattr(crm, f) for f in changed})
