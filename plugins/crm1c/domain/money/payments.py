"""1C bank receipts → payment status of deals (domain.md §5), as a pure function of the set of receipts.

Only posted customer payments (``ВидОперации = ОплатаПокупателя``) without a deletion mark count; the same
receipt given twice counts once, and the order receipts come in changes nothing (they are taken by date,
then ``Ref_Key``), so re-running a sync never counts a payment twice. Each row of ``РасшифровкаПлатежа``
(a receipt without one is a single row) is allocated by the first rule that applies, and every allocation
says which:

1. ``invoice`` — the row names one of the deals' invoices (``СчетНаОплату_Key``): all of it goes there. A row
   naming an invoice that is not a deal's pays that invoice, not a deal: ``unmatched``.
2. ``contract`` — the row's contract (``ДоговорКонтрагента_Key``) is on invoices of the receipt's
   counterparty: spread over those.
3. ``oldest_first`` — otherwise over all invoices of the receipt's counterparty.
4. ``unmatched`` — no invoice to pay: reported, counted for no deal.

A deal's status counts all its invoices. Advance: paid before the deal's (earliest) shipment date, or with
nothing shipped yet; a payment on the shipment day pays the debt. Amount 0 with nothing paid is ``paid``.

Spreading pays the oldest unpaid invoice first (by date, then ``Ref_Key``), the rest the next; what is left
when all are paid is an overpayment (an advance in 1C) on the newest. Rows naming an invoice are allocated
before any spreading, so a payment meant for an invoice is never taken by another.

Amounts allocated are in the invoices' (the contract's) currency: a row settles its ``СуммаВзаиморасчетов``
(what 1C computes from ``СуммаПлатежа`` at ``КурсВзаиморасчетов``/``КратностьВзаиморасчетов``), not its
``СуммаПлатежа``, which is in the receipt's currency (rubles on a ruble account: a USD invoice paid
9 000 RUB at 90 is paid 100 USD). A row whose ``СуммаВзаиморасчетов`` is missing or zero while
``СуммаПлатежа`` is not (written through OData by a program that did not fill it: a ruble contract)
settles its ``СуммаПлатежа``. A receipt without a breakdown is one row of its ``СуммаДокумента``, taken as
in the invoices' currency. Whether a breakdown adds up is checked on ``СуммаПлатежа`` against
``СуммаДокумента``, as 1C checks it at posting («Не совпадают сумма документа и ее расшифровка»).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, TypeVar

from crm1c.domain.issues import Issue
from crm1c.domain.money.numbers import ZERO, exact
from crm1c.domain.systems import ZERO_GUID

PaymentStatus = Literal["unpaid", "partially_paid", "paid", "overpaid"]
Rule = Literal["invoice", "contract", "oldest_first", "unmatched"]
Keyed = TypeVar("Keyed")
CUSTOMER_PAYMENT = "ОплатаПокупателя"


@dataclass(frozen=True, slots=True)
class PaymentLine:
    """A row of ``РасшифровкаПлатежа``: ``amount`` is paid (the receipt's currency), ``settlement`` is what
    it settles (the contract's, the invoices' currency) and is what is allocated; zero (missing) is
    ``amount`` (see the module docstring)."""

    amount: Decimal  # СуммаПлатежа
    invoice_key: str | None = None  # СчетНаОплату_Key
    contract_key: str | None = None  # ДоговорКонтрагента_Key
    settlement: Decimal = ZERO  # СуммаВзаиморасчетов

    def __post_init__(self) -> None:
        if not self.settlement:  # not filled (a ruble contract written through OData): what was paid
            object.__setattr__(self, "settlement", self.amount)


@dataclass(frozen=True, slots=True)
class Receipt:
    """A ``Document_ПоступлениеНаРасчетныйСчет``; only a customer payment (``ОплатаПокупателя``) counts."""

    ref_key: str
    on: date
    posted: bool
    deleted: bool  # DeletionMark
    counterparty_key: str
    amount: Decimal  # СуммаДокумента
    lines: tuple[PaymentLine, ...] = ()
    operation: str = CUSTOMER_PAYMENT  # ВидОперации

    @classmethod
    def from_odata(cls, doc: Mapping[str, Any]) -> Receipt:
        """From the OData document with its ``РасшифровкаПлатежа`` (numbers may be floats: read exactly; a
        row without ``СуммаВзаиморасчетов`` settles its ``СуммаПлатежа``)."""
        rows = sorted(doc.get("РасшифровкаПлатежа") or [], key=lambda r: int(r.get("LineNumber") or 0))
        lines = tuple(
            PaymentLine(
                exact(r["СуммаПлатежа"]),
                _ref(r.get("СчетНаОплату_Key")),
                _ref(r.get("ДоговорКонтрагента_Key")),
                exact(r.get("СуммаВзаиморасчетов") or 0),
            )
            for r in rows
        )
        return cls(
            ref_key=str(doc["Ref_Key"]),
            on=datetime.fromisoformat(str(doc["Date"])).date(),
            posted=bool(doc.get("Posted")),
            deleted=bool(doc.get("DeletionMark")),
            counterparty_key=str(doc.get("Контрагент") or doc.get("Контрагент_Key") or ""),
            amount=exact(doc["СуммаДокумента"]),
            lines=lines,
            operation=str(doc.get("ВидОперации") or ""),
        )


@dataclass(frozen=True, slots=True)
class DealInvoice:
    """A deal's ``Document_СчетНаОплатуПокупателю`` in 1C; ``shipped_on`` is None until it is shipped."""

    deal_id: str
    counterparty_key: str
    invoice_key: str
    contract_key: str | None
    amount: Decimal
    on: date
    shipped_on: date | None = None


@dataclass(frozen=True, slots=True)
class Allocation:
    """Part of a receipt row given to an invoice (``None``: unmatched) by ``rule``; ``line`` is 1-based."""

    receipt_key: str
    line: int
    paid_on: date
    amount: Decimal  # of the row's settlement amount: in the invoices' currency
    rule: Rule
    invoice_key: str | None
    deal_id: str | None


@dataclass(frozen=True, slots=True)
class Settlement:
    """How far a deal (or an invoice) is paid. ``advance_amount`` was paid before the shipment."""

    amount: Decimal
    paid: Decimal
    status: PaymentStatus
    last_payment: date | None
    advance_amount: Decimal

    @property
    def advance(self) -> bool:
        """Whether some of it was paid in advance (before shipment, or with nothing shipped yet)."""
        return self.advance_amount > 0


@dataclass(frozen=True, slots=True)
class PaymentReport:
    allocations: tuple[Allocation, ...]
    deals: Mapping[str, Settlement]
    invoices: Mapping[str, Settlement]
    notes: tuple[Issue, ...]  # receipts not counted, and why


def payment_status(paid: Decimal, amount: Decimal) -> PaymentStatus:
    """``overpaid`` above the amount, ``paid`` at it, ``unpaid`` at zero, else ``partially_paid``."""
    if paid > amount:
        return "overpaid"
    if paid == amount:
        return "paid"
    return "unpaid" if paid == 0 else "partially_paid"


def allocate(receipts: Iterable[Receipt], invoices: Iterable[DealInvoice]) -> PaymentReport:
    """Allocate the counted receipts to the deals' invoices (see the module docstring)."""
    by_key = _unique(invoices, lambda i: i.invoice_key, "invoices")
    counted, notes = _counted(_unique(receipts, lambda r: r.ref_key, "receipts").values())
    rows = [(r, n, line) for r in counted for n, line in enumerate(r.lines or (PaymentLine(r.amount),), 1)]
    paid: dict[str, Decimal] = {}
    allocations: list[Allocation] = []
    for receipt, n, line in rows:
        if line.invoice_key:
            target = by_key.get(line.invoice_key)
            rule: Rule = "invoice" if target else "unmatched"
            allocations.append(_given(receipt, n, line.settlement, rule, target, paid))
    chosen = list(by_key.values())
    by_counterparty: dict[str, list[DealInvoice]] = {}
    for invoice in sorted(chosen, key=lambda i: (i.on, i.invoice_key)):
        by_counterparty.setdefault(invoice.counterparty_key, []).append(invoice)
    for receipt, n, line in rows:
        if not line.invoice_key:
            allocations += _spread(receipt, n, line, by_counterparty.get(receipt.counterparty_key, []), paid)
    return PaymentReport(
        tuple(allocations),
        _settle(chosen, allocations, "deal"),
        _settle(chosen, allocations, "invoice"),
        notes,
    )


def _ref(value: object) -> str | None:
    """A reference from OData: the empty reference (all zeros) and blanks are ``None``."""
    text = str(value or "").strip()
    return None if text in ("", ZERO_GUID) else text


def _unique(items: Iterable[Keyed], key: Callable[[Keyed], str], what: str) -> dict[str, Keyed]:
    """One of each key: the same record twice is one record; two different ones are a caller's error."""
    unique: dict[str, Keyed] = {}
    for item in items:
        if unique.setdefault(key(item), item) != item:
            raise ValueError(f"two different {what} with the key {key(item)}")
    return unique


def _counted(receipts: Iterable[Receipt]) -> tuple[list[Receipt], tuple[Issue, ...]]:
    counted, notes = [], []
    for receipt in sorted(receipts, key=lambda r: (r.on, r.ref_key)):
        reason = _not_counted(receipt)
        if reason:
            notes.append(
                Issue(
                    "receipt",
                    reason[0],
                    f"Поступление {receipt.ref_key}: {reason[1]}",
                    f"Receipt {receipt.ref_key}: {reason[2]}",
                )
            )
        else:
            counted.append(receipt)
    return counted, tuple(notes)


def _not_counted(receipt: Receipt) -> tuple[str, str, str] | None:
    if receipt.operation != CUSTOMER_PAYMENT:
        return (
            "receipt_not_customer_payment",
            f"вид операции «{receipt.operation}», не оплата покупателя: не учитывается",
            f"operation '{receipt.operation}' is not a customer payment: not counted",
        )
    if receipt.deleted:
        return "receipt_deleted", "помечено на удаление, не учитывается", "marked for deletion, not counted"
    if not receipt.posted:
        return "receipt_unposted", "не проведено, не учитывается", "not posted, not counted"
    if receipt.lines and sum((line.amount for line in receipt.lines), ZERO) != receipt.amount:
        return (
            "receipt_breakdown_mismatch",
            "расшифровка платежа не равна сумме документа, не учитывается",
            "the breakdown does not add up to the amount, not counted",
        )
    return None


def _given(
    receipt: Receipt,
    n: int,
    amount: Decimal,
    rule: Rule,
    target: DealInvoice | None,
    paid: dict[str, Decimal],
) -> Allocation:
    if target is not None:
        paid[target.invoice_key] = paid.get(target.invoice_key, ZERO) + amount
    key, deal = (target.invoice_key, target.deal_id) if target else (None, None)
    return Allocation(receipt.ref_key, n, receipt.on, amount, rule, key, deal)


def _spread(
    receipt: Receipt, n: int, line: PaymentLine, own: Sequence[DealInvoice], paid: dict[str, Decimal]
) -> list[Allocation]:
    """Oldest unpaid of ``own`` (the counterparty's invoices, oldest first) first; the rest on the newest."""
    by_contract = [i for i in own if line.contract_key and i.contract_key == line.contract_key]
    rule: Rule = "contract" if by_contract else "oldest_first"
    candidates = by_contract or own
    if not candidates:
        return [_given(receipt, n, line.settlement, "unmatched", None, paid)]
    result, left = [], line.settlement
    for invoice in candidates:
        due = invoice.amount - paid.get(invoice.invoice_key, ZERO)
        part = min(due, left) if invoice is not candidates[-1] else left
        if part > 0:
            result.append(_given(receipt, n, part, rule, invoice, paid))
            left -= part
    return result


def _settle(
    invoices: Sequence[DealInvoice], allocations: Sequence[Allocation], by: str
) -> dict[str, Settlement]:
    """Settlements per deal (``by="deal"``) or per invoice."""
    group = {i.invoice_key: (i.deal_id if by == "deal" else i.invoice_key) for i in invoices}
    mine: dict[str, list[DealInvoice]] = {}
    parts: dict[str, list[Allocation]] = {}
    for invoice in invoices:
        mine.setdefault(group[invoice.invoice_key], []).append(invoice)
    for allocation in allocations:
        if allocation.invoice_key is not None:
            parts.setdefault(group[allocation.invoice_key], []).append(allocation)
    return {key: _settlement(own, parts.get(key, [])) for key, own in mine.items()}


def _settlement(invoices: Sequence[DealInvoice], parts: Sequence[Allocation]) -> Settlement:
    shipped = min((i.shipped_on for i in invoices if i.shipped_on), default=None)
    amount = sum((i.amount for i in invoices), ZERO)
    paid = sum((a.amount for a in parts), ZERO)
    advance = sum((a.amount for a in parts if shipped is None or a.paid_on < shipped), ZERO)
    last = max((a.paid_on for a in parts), default=None)
    return Settlement(amount, paid, payment_status(paid, amount), last, advance)
