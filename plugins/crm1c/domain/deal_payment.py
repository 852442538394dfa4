"""A deal's payment feedback from 1C (domain.md §5): what 1C's documents say about one CRM deal.

1C documents made by crm1c carry ``crm1c:deal:<DEAL ID>`` (or ``crm1c:invoice:<ID>`` for a smart invoice) in
``Комментарий``: that is how a payment invoice (``Document_СчетНаОплатуПокупателю``) or a sale
(``Document_РеализацияТоваровУслуг``) names its deal. The bank receipts of the deals' counterparties are
allocated to those invoices by :func:`crm1c.domain.money.payments.allocate`; a deal's record holds

* ``document`` — «Счет <номер> от <дд.мм.гггг>» for each invoice, then «Реализация <номер> от …» for each
  sale, joined with ``"; "``;
* ``pay_status`` — ``unpaid`` | ``partially_paid`` | ``paid`` | ``overpaid`` (Σ allocated vs Σ invoices);
* ``paid_sum`` — Σ allocated, 2 places, in the deal's (its invoices') currency;
* ``paid_date`` — the date of the last payment counted, or None.

A deal with a sale but no invoice is paid against its sale(s); with both, the invoices are what is paid and
the earliest posted sale is the shipment (what :class:`~crm1c.domain.money.payments.Settlement` calls an
advance is paid before it). Deletion-marked invoices and sales are left out; unposted or deletion-marked
receipts never count (``allocate``).

A smart invoice (``crm1c:invoice:<ID>``, ``crm.item`` entityTypeId 31) gets a record of its own, keyed
``invoice:<ID>``: its documents take their share of the payments like a deal's, and what reaches the CRM is
``paid_stage`` alone — fully paid (``paid`` or ``overpaid``) moves it to its category's success stage. It is
never moved back (a payment cancelled later is for a person to see); a smart invoice taken out of the success
stage in the CRM while 1C says it is paid is reported as a conflict and moved again.

1C is the master of all four fields: the merge never writes 1C, and a CRM edit of one is reported as a
conflict and overwritten (as nomenclature does, :mod:`crm1c.domain.product`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, field_validator

from crm1c import hashing
from crm1c.domain.issues import Issue
from crm1c.domain.money.numbers import ZERO, exact, kopecks
from crm1c.domain.money.payments import DealInvoice, Receipt, allocate
from crm1c.domain.one_way import OneWayMerge, follow
from crm1c.domain.sales_document import DEAL_TAG, SMART_INVOICE_TAG
from crm1c.domain.systems import ZERO_GUID

#: The fields 1C owns and the CRM deal shows (what makes two records equal).
SYNCED = ("document", "pay_status", "paid_sum", "paid_date")
#: A smart invoice's record is keyed with this prefix (a deal's is its bare id).
SMART_INVOICE = "invoice:"
PAID = ("paid", "overpaid")
STATUSES = ("unpaid", "partially_paid", "paid", "overpaid")
RECEIPTS = "Document_ПоступлениеНаРасчетныйСчет"
INVOICES = "Document_СчетНаОплатуПокупателю"
SALES = "Document_РеализацияТоваровУслуг"
_LABELS = {INVOICES: "Счет", SALES: "Реализация"}


class DealPayment(BaseModel):
    """One deal's (or smart invoice's) payment feedback; ``deal_id`` is the identity on both sides: the
    deal id, or ``invoice:<ID>`` for a smart invoice. ``paid_stage``: a smart invoice's only synced value
    (1C: fully paid; the CRM: in its success stage); None for a deal."""

    deal_id: str | None = None
    document: str | None = None
    pay_status: str | None = None
    paid_sum: Decimal | None = None
    paid_date: date | None = None
    paid_stage: bool | None = None
    deleted: bool = False
    crm_id: str | None = None
    onec_ref: str | None = None

    @field_validator("paid_sum")
    @classmethod
    def _to_kopecks(cls, value: Decimal | None) -> Decimal | None:
        return None if value is None else kopecks(Decimal(value))


def identity_key(record: DealPayment) -> str | None:
    return record.deal_id


def content_hash(record: DealPayment) -> str:
    return hashing.content_hash({f: getattr(record, f) for f in (*SYNCED, "paid_stage")})


def is_smart_invoice(record: DealPayment) -> bool:
    return (record.deal_id or "").startswith(SMART_INVOICE)


def validate(record: DealPayment, _mapping: Any) -> list[Issue]:
    """Nothing to hold: 1C computed the record and the CRM fields take any value."""
    if record.pay_status is not None and record.pay_status not in STATUSES:
        return [
            Issue(
                "pay_status",
                "unknown_status",
                f"Неизвестный статус оплаты {record.pay_status!r}",
                f"Unknown payment status {record.pay_status!r}",
            )
        ]
    return []


def tombstone(record: DealPayment) -> DealPayment:
    return record.model_copy(update={"deleted": True})


#: What the CRM deal shows once 1C has no document of the deal any more (all of them deletion-marked).
CLEARED = {"document": None, "pay_status": None, "paid_sum": None, "paid_date": None}


def merge(
    base: DealPayment | None, crm: DealPayment | None, onec: DealPayment | None, _rules: Any
) -> OneWayMerge:
    """1C → CRM only. A deal the CRM does not have (deleted there) is left alone; a deal 1C no longer has a
    document for gets its fields cleared; a CRM edit of a field becomes a conflict and is overwritten."""
    if onec is None or crm is None or crm.deleted:
        return OneWayMerge(onec or crm or DealPayment())
    if is_smart_invoice(onec):  # only ever forward, to the success stage
        want: Mapping[str, Any] = {"paid_stage": True} if onec.paid_stage and not onec.deleted else {}
    else:
        want = CLEARED if onec.deleted else {f: getattr(onec, f) for f in SYNCED}
    merged = onec.model_copy(update={**want, "crm_id": crm.crm_id, "deleted": False})
    to_crm, conflicts = follow(base, crm, want)
    return OneWayMerge(merged, to_crm=to_crm, conflicts=conflicts)


# ------------------------------------------------------------------------------ from 1C documents


def tagged(comment: Any) -> tuple[str, str] | None:
    """``("deal" | "invoice", id)`` from a document's ``Комментарий`` (the tag ``sync_invoices`` writes, a
    word of its own), or None (not made by crm1c)."""
    for word in str(comment or "").split():
        for kind, tag in (("deal", DEAL_TAG), ("invoice", SMART_INVOICE_TAG)):
            if word.startswith(tag) and word.removeprefix(tag).isdigit():
                return kind, word.removeprefix(tag)
    return None


def reference(value: Any) -> str | None:
    text = str(value or "").strip()
    return None if text in ("", ZERO_GUID) else text


def counterparty_of(row: Mapping[str, Any]) -> str:
    """The counterparty of a receipt (``Контрагент``, composite) or of an invoice or sale."""
    return str(reference(row.get("Контрагент_Key")) or reference(row.get("Контрагент")) or "")


def _day(row: Mapping[str, Any]) -> date:
    return datetime.fromisoformat(str(row["Date"])).date()


def label(entity_set: str, row: Mapping[str, Any]) -> str:
    """«Счет 0000-000123 от 02.12.2026» / «Реализация …»."""
    return f"{_LABELS[entity_set]} {str(row.get('Number') or '').strip()} от {_day(row):%d.%m.%Y}"


@dataclass(frozen=True)
class Documents:
    """What a recomputation works on: 1C rows by set (receipts, and crm1c-tagged invoices and sales)."""

    receipts: list[Mapping[str, Any]] = field(default_factory=list)
    invoices: list[Mapping[str, Any]] = field(default_factory=list)
    sales: list[Mapping[str, Any]] = field(default_factory=list)


def deal_payments(docs: Documents) -> tuple[dict[str, DealPayment], tuple[Issue, ...]]:
    """Every deal named by a live invoice or sale of ``docs``, with its settlement; and the receipts that
    were not counted, with the reason."""
    by_owner: dict[tuple[str, str], dict[str, list[Mapping[str, Any]]]] = {}
    for entity_set, rows in ((INVOICES, docs.invoices), (SALES, docs.sales)):
        for row in rows:
            owner = tagged(row.get("Комментарий"))
            if owner is not None and not row.get("DeletionMark"):
                by_owner.setdefault(owner, {INVOICES: [], SALES: []})[entity_set].append(row)
    payable: list[DealInvoice] = []
    for (kind, owner_id), own in by_owner.items():
        key = f"{SMART_INVOICE}{owner_id}" if kind != "deal" else owner_id
        shipped = min((_day(r) for r in own[SALES] if r.get("Posted")), default=None)
        for row in own[INVOICES] or own[SALES]:  # a deal without an invoice is paid against its sales
            payable.append(
                DealInvoice(
                    deal_id=key,
                    counterparty_key=counterparty_of(row),
                    invoice_key=str(row["Ref_Key"]),
                    contract_key=reference(row.get("ДоговорКонтрагента_Key")),
                    amount=exact(row.get("СуммаДокумента") or 0),
                    on=_day(row),
                    shipped_on=shipped,
                )
            )
    report = allocate((Receipt.from_odata(r) for r in docs.receipts), payable)
    out: dict[str, DealPayment] = {}
    for (kind, owner_id), own in by_owner.items():
        deal_id = owner_id if kind == "deal" else f"{SMART_INVOICE}{owner_id}"
        settled = report.deals.get(deal_id)
        labels = [
            label(entity_set, row)
            for entity_set in (INVOICES, SALES)
            for row in sorted(own[entity_set], key=lambda r: (_day(r), str(r.get("Number") or "")))
        ]
        out[deal_id] = DealPayment(
            deal_id=deal_id,
            document="; ".join(labels),
            pay_status=settled.status if settled else "unpaid",
            paid_sum=settled.paid if settled else ZERO,
            paid_date=settled.last_payment if settled else None,
            paid_stage=(settled is not None and settled.status in PAID) if kind != "deal" else None,
            crm_id=deal_id,
        )
    return out, report.notes


def deals_named(rows: Iterable[Mapping[str, Any]]) -> set[str]:
    """The records the invoices and sales among ``rows`` name (deletion-marked ones too): deal ids, and
    ``invoice:<ID>`` for smart invoices."""
    return {
        t[1] if t[0] == "deal" else f"{SMART_INVOICE}{t[1]}"
        for r in rows
        if (t := tagged(r.get("Комментарий"))) is not None
    }
