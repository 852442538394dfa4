"""1C receipts → payment status of deals (domain.md §5): rules, reasons and properties."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm1c.domain.money.payments import (
    DealInvoice,
    PaymentLine,
    PaymentReport,
    Receipt,
    allocate,
    payment_status,
)
from tests.domain.strategies import THOROUGH

D = Decimal
JAN = date(2026, 1, 10)


def invoice(
    deal: str, key: str, amount: str, on: date = JAN, contract: str | None = "c1", **kw: object
) -> DealInvoice:
    return DealInvoice(deal, "cp", key, contract, D(amount), on, **kw)


def receipt(key: str, amount: str, *lines: PaymentLine, on: date = JAN, **kw: object) -> Receipt:
    fields: dict[str, object] = {"posted": True, "deleted": False, "counterparty_key": "cp"} | kw
    return Receipt(key, on, amount=D(amount), lines=lines, **fields)


INVOICES = [
    invoice("d1", "i1", "100", on=date(2026, 1, 5), shipped_on=date(2026, 1, 20)),
    invoice("d2", "i2", "50", on=date(2026, 1, 6), contract="c2"),
]


def test_breakdown_names_the_invoice() -> None:
    report = allocate([receipt("r1", "50", PaymentLine(D(50), invoice_key="i2"))], INVOICES)
    [a] = report.allocations
    assert (a.invoice_key, a.deal_id, a.rule, a.amount) == ("i2", "d2", "invoice", D(50))
    assert report.deals["d2"].status == "paid" and report.deals["d1"].status == "unpaid"


def test_one_payment_for_two_invoices_is_split_by_its_breakdown() -> None:
    lines = (PaymentLine(D(30), invoice_key="i1"), PaymentLine(D(50), invoice_key="i2"))
    report = allocate([receipt("r1", "80", *lines)], INVOICES)
    assert [(a.line, a.invoice_key, a.amount) for a in report.allocations] == [
        (1, "i1", D(30)),
        (2, "i2", D(50)),
    ]
    assert report.deals["d1"].status == "partially_paid" and report.deals["d1"].paid == D(30)


def test_by_contract() -> None:
    report = allocate([receipt("r1", "20", PaymentLine(D(20), contract_key="c2"))], INVOICES)
    assert [(a.invoice_key, a.rule) for a in report.allocations] == [("i2", "contract")]


def test_oldest_unpaid_first_and_the_rest_on_the_newest() -> None:
    report = allocate([receipt("r1", "170")], INVOICES)
    assert [(a.invoice_key, a.amount, a.rule) for a in report.allocations] == [
        ("i1", D(100), "oldest_first"),
        ("i2", D(70), "oldest_first"),
    ]
    assert report.deals["d2"].status == "overpaid" and report.deals["d1"].status == "paid"


def test_named_invoice_is_paid_before_spreading() -> None:
    early = receipt("r0", "100", on=date(2026, 1, 1))  # no breakdown: would take i1 if it came first
    late = receipt("r9", "100", PaymentLine(D(100), invoice_key="i1"), on=date(2026, 2, 1))
    report = allocate([early, late], INVOICES)
    assert report.deals["d1"].status == "paid"
    assert report.deals["d2"].paid == D(100) and report.deals["d2"].status == "overpaid"


def test_unknown_invoice_and_unknown_counterparty_are_unmatched() -> None:
    other_invoice = receipt("r1", "10", PaymentLine(D(10), invoice_key="not-ours"))
    stranger = receipt("r2", "5", counterparty_key="someone")
    report = allocate([other_invoice, stranger], INVOICES)
    assert [(a.rule, a.invoice_key) for a in report.allocations] == [("unmatched", None)] * 2
    assert all(s.paid == 0 for s in report.deals.values())


@pytest.mark.parametrize(
    ("change", "code"),
    [({"posted": False}, "receipt_unposted"), ({"deleted": True}, "receipt_deleted")],
)
def test_unposted_or_deleted_receipts_do_not_count(change: dict[str, object], code: str) -> None:
    report = allocate([receipt("r1", "100", **change)], INVOICES)
    assert report.allocations == ()
    assert [n.code for n in report.notes] == [code] and "r1" in report.notes[0].reason_ru


def test_breakdown_that_does_not_add_up_is_not_counted() -> None:
    report = allocate([receipt("r1", "100", PaymentLine(D(60), invoice_key="i1"))], INVOICES)
    assert report.allocations == () and report.notes[0].code == "receipt_breakdown_mismatch"


def test_rerun_with_the_same_receipt_counts_it_once() -> None:
    r = receipt("r1", "40", PaymentLine(D(40), invoice_key="i1"))
    assert allocate([r, r, r], INVOICES) == allocate([r], INVOICES)
    with pytest.raises(ValueError, match="two different receipts with the key r1"):
        allocate([r, receipt("r1", "41")], INVOICES)


def test_advance_last_payment_and_status() -> None:
    before = receipt("r1", "60", PaymentLine(D(60), invoice_key="i1"), on=date(2026, 1, 15))
    after = receipt("r2", "40", PaymentLine(D(40), invoice_key="i1"), on=date(2026, 1, 20))
    deal = allocate([after, before], INVOICES).deals["d1"]
    assert (deal.status, deal.paid, deal.last_payment, deal.advance_amount, deal.advance) == (
        "paid", D(100), date(2026, 1, 20), D(60), True,
    )  # fmt: skip
    unshipped = allocate([receipt("r3", "10", PaymentLine(D(10), invoice_key="i2"))], INVOICES).deals["d2"]
    assert unshipped.advance and unshipped.last_payment == JAN
    assert not allocate([after], INVOICES).deals["d1"].advance


def test_deal_with_two_invoices_sums_them() -> None:
    invoices = [*INVOICES, invoice("d1", "i3", "30", on=date(2026, 1, 7))]
    report = allocate([receipt("r1", "130", PaymentLine(D(100), "i1"), PaymentLine(D(30), "i3"))], invoices)
    assert (report.deals["d1"].amount, report.deals["d1"].status) == (D(130), "paid")
    assert report.invoices["i3"].status == "paid"


USD_INVOICES = [invoice("d3", "u1", "100.00", contract="usd"), invoice("d3", "u2", "50.00", contract="usd")]


@pytest.mark.parametrize(
    ("invoice_key", "contract_key", "rule"),
    [("u1", None, "invoice"), (None, "usd", "contract"), (None, None, "oldest_first")],
)
def test_a_usd_invoice_paid_in_rubles_is_settled_in_dollars(
    invoice_key: str | None, contract_key: str | None, rule: str
) -> None:
    """СуммаПлатежа 9 000 RUB at КурсВзаиморасчетов 90: СуммаВзаиморасчетов 100 USD pays the invoice."""
    line = PaymentLine(D("9000.00"), invoice_key, contract_key, settlement=D("100.00"))
    report = allocate([receipt("r1", "9000.00", line)], USD_INVOICES)
    assert [(a.invoice_key, a.amount, a.rule) for a in report.allocations] == [("u1", D("100.00"), rule)]
    assert report.invoices["u1"].status == "paid" and report.invoices["u2"].status == "unpaid"
    deal = report.deals["d3"]
    assert (deal.paid, deal.status, deal.amount) == (D("100.00"), "partially_paid", D("150.00"))
    assert type(deal.paid) is Decimal


def test_a_ruble_receipt_pays_two_usd_invoices_row_by_row() -> None:
    lines = (
        PaymentLine(D("9000.00"), "u1", settlement=D("100.00")),
        PaymentLine(D("4567.89"), "u2", settlement=D("50.00")),
    )
    report = allocate([receipt("r1", "13567.89", *lines)], USD_INVOICES)
    assert (report.deals["d3"].paid, report.deals["d3"].status) == (D("150.00"), "paid")
    assert not report.notes


def test_a_row_without_its_settlement_amount_settles_what_was_paid() -> None:
    """A row written through OData without СуммаВзаиморасчетов (0): a ruble contract, СуммаПлатежа settles."""
    assert PaymentLine(D(50), "i2", settlement=D(0)).settlement == D(50)
    assert PaymentLine(D(50), "i2") == PaymentLine(D(50), "i2", None, D(50))
    assert PaymentLine(D(0), "i2").settlement == D(0)
    report = allocate([receipt("r1", "50", PaymentLine(D(50), "i2", settlement=D("0.00")))], INVOICES)
    assert [(a.invoice_key, a.amount) for a in report.allocations] == [("i2", D(50))]
    assert report.deals["d2"].status == "paid"


def test_the_breakdown_adds_up_in_what_was_paid_not_in_what_it_settles() -> None:
    paid_100_usd = PaymentLine(D("9000.00"), "u1", settlement=D("100.00"))
    assert allocate([receipt("r1", "9000.00", paid_100_usd)], USD_INVOICES).invoices["u1"].status == "paid"
    report = allocate([receipt("r1", "100.00", paid_100_usd)], USD_INVOICES)
    assert report.allocations == () and report.notes[0].code == "receipt_breakdown_mismatch"


@pytest.mark.parametrize(
    ("paid", "amount", "status"),
    [(0, 10, "unpaid"), (5, 10, "partially_paid"), (10, 10, "paid"), (11, 10, "overpaid"), (0, 0, "paid")],
)
def test_payment_status(paid: int, amount: int, status: str) -> None:
    assert payment_status(D(paid), D(amount)) == status


# --- properties ------------------------------------------------------------------------------------------

money = st.decimals(min_value=0, max_value=10**6, places=2)
COUNTERPARTIES = ["cp1", "cp2", "cp3"]
CONTRACTS = [None, "k1", "k2"]


@st.composite
def books(draw: st.DrawFn) -> tuple[list[Receipt], list[DealInvoice]]:
    """Invoices of a few deals and receipts against them, some unposted or deleted, some naming strangers."""
    invoices = [
        DealInvoice(
            f"d{draw(st.integers(0, 3))}", draw(st.sampled_from(COUNTERPARTIES)), f"i{n}",
            draw(st.sampled_from(CONTRACTS)), draw(money), JAN + timedelta(days=draw(st.integers(0, 60))),
            draw(st.one_of(st.none(), st.just(JAN + timedelta(days=30)))),
        )
        for n in range(draw(st.integers(0, 6)))
    ]  # fmt: skip
    keys = [i.invoice_key for i in invoices] + ["not-ours", None]
    receipts = []
    for n in range(draw(st.integers(0, 8))):
        lines = tuple(
            PaymentLine(
                draw(money), draw(st.sampled_from(keys)), draw(st.sampled_from(CONTRACTS)),
                draw(st.one_of(st.just(D(0)), money)),  # СуммаВзаиморасчетов: not filled, or at some rate
            )
            for _ in range(draw(st.integers(0, 3)))
        )  # fmt: skip
        amount = sum((line.amount for line in lines), D(0)) if lines else draw(money)
        receipts.append(
            Receipt(
                f"r{n}", JAN + timedelta(days=draw(st.integers(0, 90))), draw(st.booleans()),
                draw(st.booleans()), draw(st.sampled_from([*COUNTERPARTIES, "stranger"])), amount, lines,
            )
        )  # fmt: skip
    return receipts, invoices


def _counted(receipts: list[Receipt]) -> Decimal:
    """What the counted receipts settle: Σ СуммаВзаиморасчетов of their rows (a row not filled: what it
    paid), or СуммаДокумента without a breakdown."""
    return sum(
        (
            sum((line.settlement for line in r.lines), D(0)) if r.lines else r.amount
            for r in receipts
            if r.posted and not r.deleted
        ),
        D(0),
    )


@THOROUGH
@given(books(), st.randoms())
def test_allocation_is_a_function_of_the_set(
    book: tuple[list[Receipt], list[DealInvoice]], rnd: random.Random
) -> None:
    receipts, invoices = book
    report = allocate(receipts, invoices)
    assert sum((a.amount for a in report.allocations), D(0)) == _counted(receipts)
    shuffled, doubled = receipts[:], receipts + receipts[: len(receipts) // 2]
    rnd.shuffle(shuffled)
    rnd.shuffle(doubled)
    assert allocate(shuffled, invoices[::-1]) == report
    assert allocate(doubled, invoices) == report
    assert (
        allocate([r for r in receipts if r.posted and not r.deleted], invoices).allocations
        == report.allocations
    )
    _statuses_are_consistent(report, invoices)


def _statuses_are_consistent(report: PaymentReport, invoices: list[DealInvoice]) -> None:
    for deal_id, deal in report.deals.items():
        mine = [i for i in invoices if i.deal_id == deal_id]
        assert deal.amount == sum((i.amount for i in mine), D(0))
        assert deal.paid == sum((a.amount for a in report.allocations if a.deal_id == deal_id), D(0))
        assert deal.status == payment_status(deal.paid, deal.amount)
        assert (deal.status == "overpaid") == (deal.paid > deal.amount)
        assert (deal.status == "unpaid") == (deal.paid == 0 < deal.amount)
        assert 0 <= deal.advance_amount <= deal.paid
        assert (deal.last_payment is None) == (not any(a.deal_id == deal_id for a in report.allocations))
        assert type(deal.paid) is Decimal and type(deal.advance_amount) is Decimal
    for a in report.allocations:
        assert a.amount >= 0 and type(a.amount) is Decimal
        assert (a.invoice_key is None) == (a.rule == "unmatched")


def test_receipt_from_odata() -> None:
    empty = "00000000-0000-0000-0000-000000000000"
    second = {
        "LineNumber": "2",
        "СуммаПлатежа": 50,
        "СчетНаОплату_Key": empty,
        "ДоговорКонтрагента_Key": "c2",
    }
    first = {
        "LineNumber": "1",
        "СуммаПлатежа": 100.1,
        "СчетНаОплату_Key": "i1",
        "ДоговорКонтрагента_Key": "c1",
    }
    doc = {
        "Ref_Key": "r-1", "Date": "2026-01-15T12:30:00", "Posted": True, "DeletionMark": False,
        "ВидОперации": "ОплатаПокупателя", "Контрагент": "cp", "СуммаДокумента": 150.1,
        "РасшифровкаПлатежа": [second, first],
    }  # fmt: skip
    r = Receipt.from_odata(doc)
    assert (r.ref_key, r.on, r.posted, r.deleted, r.counterparty_key) == (
        "r-1",
        JAN + timedelta(5),
        True,
        False,
        "cp",
    )
    assert r.amount == D("150.1") and type(r.amount) is Decimal
    assert r.lines == (PaymentLine(D("100.1"), "i1", "c1"), PaymentLine(D(50), None, "c2"))
    assert r.operation == "ОплатаПокупателя"


def test_receipt_from_odata_reads_the_settlement_amount_exactly() -> None:
    """As 1C fills a ruble payment for a USD contract; a row with СуммаВзаиморасчетов 0 or none falls back."""
    usd = {
        "LineNumber": 1, "СуммаПлатежа": 9000.1, "КурсВзаиморасчетов": 90.001, "КратностьВзаиморасчетов": 1,
        "СуммаВзаиморасчетов": 100.0, "СчетНаОплату_Key": "u1",
    }  # fmt: skip
    zero = {"LineNumber": 2, "СуммаПлатежа": 0.3, "СуммаВзаиморасчетов": 0, "СчетНаОплату_Key": "u2"}
    blank = {"LineNumber": 3, "СуммаПлатежа": "0.2", "СуммаВзаиморасчетов": None}
    doc = {
        "Ref_Key": "r-2", "Date": "2026-01-15T12:30:00", "Posted": True, "ВидОперации": "ОплатаПокупателя",
        "Контрагент": "cp", "СуммаДокумента": 9000.6, "РасшифровкаПлатежа": [blank, usd, zero],
    }  # fmt: skip
    r = Receipt.from_odata(doc)
    assert [(line.amount, line.settlement) for line in r.lines] == [
        (D("9000.1"), D("100.0")),
        (D("0.3"), D("0.3")),
        (D("0.2"), D("0.2")),
    ]
    assert all(type(line.settlement) is Decimal for line in r.lines)
    report = allocate([r], USD_INVOICES)
    assert not report.notes, "the breakdown adds up in СуммаПлатежа"
    assert report.invoices["u1"].paid == D("100.0") and report.invoices["u1"].status == "paid"
    assert report.invoices["u2"].paid == D("0.5")


def test_other_operations_do_not_count() -> None:
    refund = receipt("r1", "100", operation="ВозвратОтПоставщика")
    report = allocate([refund], INVOICES)
    assert report.allocations == () and report.notes[0].code == "receipt_not_customer_payment"
