"""A CRM deal's 1C document (payment invoice or sale) as both systems say it, and who wins an edit.

The deal defines the commercial terms; once exported, the document belongs to 1C. One record per deal and
document kind: its CRM id is ``<deal ID>:<kind>`` (``SI<ID>:invoice`` for a smart invoice), and the 1C
document carries ``crm1c:deal:<deal ID>`` (``crm1c:invoice:<ID>``) in its ``Комментарий``.

The merge writes 1C only. A CRM change updates the document while it is unposted (1C itself refuses a
write dated in a closed period, and that refusal holds the record for the accountant); a posted document is
never overwritten: each differing field becomes a conflict for the accountant. A cancelled deal marks an
unposted document for deletion (never a physical delete) and makes a posted one an item for the
accountant. An accountant's edit in 1C of an unposted document the CRM did not change is kept.

**Reopened deals.** The cancellation's deletion mark is written together with the word ``crm1c:cancelled``
in the document's ``Комментарий`` (one write), so the document itself says the mark is crm1c's — also when
the run that wrote it died or lost 1C's answer. The agreed base remembers that the deal was cancelled while
its document was marked (``deal_cancelled``, whoever marked it). When such a deal is live again and its
document still marked, the merge asks for one write on the same document (never a second one) that takes
the mark and the word off and brings the document to the deal's terms: its rows and total, and every field
that differs. The writer sends it only when the document, read afresh, carries crm1c's word and is
unposted; a mark set in 1C by someone else, or a posted document, holds the deal for the accountant with a
reason naming the deal and the document, untouched; 1C itself refuses the write in a closed period (held
with 1C's reason, tried again on a full run). A document marked in 1C while its deal was live stays 1C's,
as before (no reopening: nothing is written, nothing held).
"""

from __future__ import annotations

import re
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
#: The ``Комментарий`` word of a deletion mark crm1c set because the deal was cancelled.
CANCELLED_TAG = "crm1c:cancelled"
_CANCELLED_WORD = re.compile(rf" ?(?<!\S){re.escape(CANCELLED_TAG)}(?!\S)")
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
    #: Not synced, kept in the agreed base: the deal was cancelled while its document was marked for deletion.
    deal_cancelled: bool = False
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


def source_label(crm_id: str) -> tuple[str, str]:
    """How reasons name the source of a record, in Russian and English («Сделка 42», "CRM invoice 7")."""
    source = crm_id.rsplit(":", 1)[0]
    if source.startswith(SMART_PREFIX):
        number = source.removeprefix(SMART_PREFIX)
        return f"Счёт CRM {number}", f"CRM invoice {number}"
    return f"Сделка {source}", f"Deal {source}"


def cancelled_by_crm1c(comment: Any) -> bool:
    """Whether a document's ``Комментарий`` says its deletion mark is the deal's cancellation's."""
    return CANCELLED_TAG in str(comment or "").split()


def with_cancelled_tag(comment: Any, cancelled: bool) -> str:
    """``Комментарий`` with the cancellation's word added (once) or taken off wherever it stands (the word
    :func:`cancelled_by_crm1c` finds, whatever whitespace is around it); the rest kept as it is."""
    text = str(comment or "")
    if cancelled:
        return text if cancelled_by_crm1c(text) else f"{text} {CANCELLED_TAG}" if text else CANCELLED_TAG
    return _CANCELLED_WORD.sub("", text)


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
        if onec.deleted:  # remembered for a reopening, whoever marked it
            return OneWayMerge(kept.model_copy(update={"deal_cancelled": True}))
        if onec.posted:
            return OneWayMerge(kept, conflicts=[Conflict("deleted", False, True, False)])
        merged = kept.model_copy(update={"deleted": True, "deal_cancelled": True})
        return OneWayMerge(merged, to_onec={"deleted": True})
    changed = [f for f in SYNCED if getattr(crm, f) != getattr(onec, f)]
    if onec.deleted and base is not None and base.deal_cancelled:  # the cancelled deal is reopened
        return _reopened(crm, onec, changed)
    if not changed or onec.deleted:
        return OneWayMerge(kept)
    if base is not None and all(getattr(crm, f) == getattr(base, f) for f in changed):
        return OneWayMerge(kept)  # edited in 1C only (by the accountant): 1C's document stands
    if onec.posted:
        conflicts = [Conflict(f, getattr(base, f, None), getattr(crm, f), getattr(onec, f)) for f in changed]
        return OneWayMerge(kept, conflicts=conflicts)
    merged = crm.model_copy(update={"number": onec.number, "onec_ref": onec.onec_ref, "posted": False})
    return OneWayMerge(merged, to_onec={f: getattr(crm, f) for f in changed})


def _reopened(crm: SalesDocument, onec: SalesDocument, changed: list[str]) -> OneWayMerge:
    """One write that takes the deletion mark off the reopened deal's document and brings it to the deal's
    terms: its rows and total (always: a restore is an update) and every field that differs. The writer
    sends it only for crm1c's own mark (see the module docstring)."""
    fields = dict.fromkeys([*changed, "goods", "services", "total"])
    merged = crm.model_copy(update={"number": onec.number, "onec_ref": onec.onec_ref, "posted": onec.posted})
    return OneWayMerge(merged, to_onec={f: getattr(crm, f) for f in fields} | {"deleted": False})
