"""The money comparisons (invoices, revenue, payments, receivables) on hand-made records (no contour)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace
from urllib.parse import quote

import pytest

from crm1c.reconcile.config import MoneyTolerances, ReconciliationConfigError, parse_reconciliation_config
from crm1c.reconcile.invoices import compare_invoices
from crm1c.reconcile.links import SystemLinks
from crm1c.reconcile.model import Period, Report
from crm1c.reconcile.money_refs import MoneyRefs
from crm1c.reconcile.money_sources import (
    INVOICES,
    SALES,
    Doc,
    MoneySides,
    Source,
    balances_of,
    doc_of,
    rows_amount,
)
from crm1c.reconcile.payments import compare_payments
from crm1c.reconcile.receivables import compare_receivables
from crm1c.reconcile.render import html_report, slack_summary
from crm1c.reconcile.revenue import compare_revenue

PARTY = "0b0b0b0b-0000-4000-8000-00000000000b"
OTHER = "0c0c0c0c-0000-4000-8000-00000000000c"
LINKS = SystemLinks.of("https://portal.example", "https://1c.example/acc/odata/standard.odata/")
TOL = MoneyTolerances()
ALL = Period()
NOW = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)
_refs = iter(f"{n:08x}-0000-4000-8000-000000000000" for n in range(1, 10_000))


def R(text: str) -> Decimal:
    return Decimal(text)


def deal(key: str, amount: str, kinds=("invoice",), paid: str | None = None, **kw) -> Source:
    kw.setdefault("company", "c1")
    return Source(
        key,
        key,
        False,
        f"Сделка {key}",
        currency="RUB",
        amount=R(amount),
        kinds=kinds,
        paid=None if paid is None else R(paid),
        **kw,
    )


def doc(kind: str, source: str | None, amount: str, on: str = "2026-11-10", posted=True, **kw) -> Doc:
    ref = next(_refs)
    entity_set = INVOICES if kind == "invoice" else SALES
    row = {
        "Ref_Key": ref,
        "Number": f"N{ref[:4]}",
        "Date": f"{on}T00:00:00",
        "Posted": posted,
        "DeletionMark": kw.pop("deleted", False),
        "СуммаДокумента": float(amount),
        "Комментарий": f"crm1c:deal:{source}" if source else "вручную",
        "Контрагент_Key": kw.pop("party", PARTY),
    }
    return doc_of(entity_set, row, {})


def receipt(amount: str, invoice: Doc | None = None, on="2026-11-20", deleted=False, party=PARTY) -> dict:
    line = {"LineNumber": 1, "СуммаПлатежа": float(amount)}
    if invoice is not None:
        line["СчетНаОплату_Key"] = invoice.ref
    return {
        "Ref_Key": next(_refs),
        "Date": f"{on}T12:00:00",
        "Posted": not deleted,
        "DeletionMark": deleted,
        "ВидОперации": "ОплатаПокупателя",
        "Контрагент": party,
        "СуммаДокумента": float(amount),
        "РасшифровкаПлатежа": [line],
    }


def sides(sources=(), docs=(), receipts=(), balances=None, parties=None, **kw) -> MoneySides:
    return MoneySides(
        {s.key: s for s in sources},
        list(docs),
        list(receipts),
        balances or {},
        {"c1": PARTY} if parties is None else parties,
        {PARTY: "ООО Ромашка"},
        **kw,
    )


def kinds(result) -> list[str]:
    return [d.kind for d in result.differences]


def refs(s: MoneySides) -> MoneyRefs:
    return MoneyRefs(LINKS, s)


# ----------------------------------------------------------------------------------------- invoices


def test_invoices_in_step_are_clean_and_the_sync_total_is_the_crm_amount():
    # OPPORTUNITY 19205.00, but 1C's row arithmetic gives 19202.80: the sync's total is what is compared
    a = deal("16", "19205.00")
    s = sides(
        [a],
        [doc("invoice", "16", "19202.80")],
        agreed={"16:invoice": (R("19202.80"), None)},
        seen={"16:invoice": R("19205.00")},
    )
    result = compare_invoices(s, ALL, TOL, refs(s))
    assert result.differences == [] and result.status == "clean"
    assert {t.key: (t.crm, t.onec) for t in result.totals}["sum_rub"] == ("19202.80", "19202.80")


def test_missing_edited_not_expected_and_hand_made_invoices():
    sources = [
        deal("1", "100.00"),  # no invoice in 1C
        deal("2", "250.00"),  # edited in the CRM after the sync read 200.00
        deal("3", "300.00", kinds=(), failed=True),  # failed, its invoice is still live in 1C
        deal("4", "400.00", kinds=("invoice", "sale")),
    ]
    docs = [
        doc("invoice", "2", "200.00"),
        doc("invoice", "3", "300.00"),
        doc("invoice", "4", "400.00"),
        doc("sale", None, "999.00"),  # by hand, for a linked counterparty
        doc("sale", None, "5.00", party=OTHER),  # by hand, for a counterparty crm1c does not link
        doc("invoice", "9", "90.00", deleted=True),  # deletion-marked: not there
    ]
    agreed = {"2:invoice": (R("200.00"), None)}
    s = sides(sources, docs, agreed=agreed, seen={"2:invoice": R("200.00")})
    result = compare_invoices(s, ALL, TOL, refs(s))
    assert kinds(result) == ["missing_in_onec", "amount_differs", "not_expected_in_onec", "hand_made_in_onec"]
    edited = result.differences[1]
    assert (edited.crm_value, edited.agreed, edited.onec_value) == ("250.00", "200.00", "200.00")
    assert "edited in the CRM after the last sync" in edited.note
    assert edited.crm and edited.crm.links == (("CRM", "https://portal.example/crm/deal/details/2/"),)
    assert edited.onec and quote("Документ.СчетНаОплатуПокупателю") in edited.onec.links[0][1]
    assert result.status == "drift" and len(result.drift_differences) == 3, "by hand: reported, not drift"
    assert compare_invoices(s, ALL, MoneyTolerances(invoice_count=3), refs(s)).status == "clean"


def test_after_the_sync_a_posted_documents_edit_stays_a_difference():
    # the sync read the new rows (seen = OPPORTUNITY) and computed 250.00; 1C's posted document keeps 200.00
    s = sides(
        [deal("2", "250.00")],
        [doc("invoice", "2", "200.00")],
        agreed={"2:invoice": (R("250.00"), None)},
        seen={"2:invoice": R("250.00")},
    )
    [diff] = compare_invoices(s, ALL, TOL, refs(s)).differences
    assert (diff.kind, diff.crm_value, diff.agreed, diff.onec_value) == (
        "amount_differs",
        "250.00",
        "250.00",
        "200.00",
    )
    assert "edited" not in diff.note and "posted" in diff.note


def test_the_period_and_the_quarantine_decide_what_is_looked_at():
    sources = [deal("1", "100.00"), deal("2", "100.00")]
    docs = [doc("invoice", "2", "100.00", on="2026-01-15"), doc("sale", None, "1.00", on="2026-01-16")]
    s = sides(sources, docs, held={"1:invoice"})
    november = Period(date(2026, 11, 1), date(2026, 12, 31))
    assert compare_invoices(s, november, TOL, refs(s)).differences == []
    held = next(t for t in compare_invoices(s, ALL, TOL, refs(s)).totals if t.key == "quarantined")
    assert held.staging == 1
    included = compare_invoices(s, ALL, MoneyTolerances(include_quarantined=True), refs(s))
    assert "missing_in_onec" in kinds(included)


def test_tolerance_and_report_only_kinds_from_the_config():
    s = sides([deal("1", "100.01")], [doc("invoice", "1", "100.00")])
    assert compare_invoices(s, ALL, MoneyTolerances(invoice_sum=R("0.01")), refs(s)).differences == []
    assert kinds(compare_invoices(s, ALL, TOL, refs(s))) == ["amount_differs"]
    config = parse_reconciliation_config("money: {report_only: [amount_differs], invoice_sum: 0.05}")
    assert config.money.report_only == {"amount_differs"} and config.money.invoice_sum == R("0.05")
    with pytest.raises(ReconciliationConfigError, match=r"money\.report_only\.0"):
        parse_reconciliation_config("money: {report_only: [hand_made]}", "r.yaml")


# ------------------------------------------------------------------------------------------ revenue


def test_revenue_per_counterparty_posted_sales_against_won_deals():
    won = ("invoice", "sale")
    sources = [deal("1", "100.00", won), deal("2", "50.00", won), deal("3", "70.00", won)]
    docs = [
        doc("sale", "1", "100.00"),
        doc("sale", "2", "50.00", posted=False),  # the accountant's queue: listed, left out of both sums
        doc("sale", "3", "70.00"),
        doc("sale", None, "30.00"),  # by hand: revenue all the same
    ]
    s = sides(sources, docs)
    result = compare_revenue(s, ALL, TOL, refs(s))
    assert kinds(result) == ["sale_unposted", "revenue_differs"]
    differs = result.differences[1]
    assert (differs.crm_value, differs.onec_value) == ("170.00", "200.00")
    assert differs.crm and differs.crm.links == (("CRM", "https://portal.example/crm/company/details/c1/"),)
    assert "deals 1, 3" in differs.note and result.status == "drift"
    assert len(result.drift_differences) == 1, "an unposted sale is not drift"
    assert compare_revenue(s, ALL, MoneyTolerances(revenue=R("30.00")), refs(s)).status == "clean"


def test_a_counterparty_with_a_held_deal_is_left_out_of_revenue():
    s = sides([deal("1", "100.00", ("invoice", "sale"))], [doc("sale", None, "100.00")], held={"1:sale"})
    result = compare_revenue(s, ALL, TOL, refs(s))
    assert result.differences == []
    assert {t.key: t.staging for t in result.totals}["quarantined"] == 1


# ----------------------------------------------------------------------------------------- payments


def test_a_deletion_marked_receipt_is_a_payment_difference_until_the_next_sync():
    invoice = doc("invoice", "1", "1000.00", posted=False)
    paid = receipt("600.00", invoice)
    s = sides([deal("1", "1000.00", paid="600.00", pay_status="partially_paid")], [invoice], [paid])
    assert compare_payments(s, ALL, TOL, refs(s)).differences == []
    marked = {**paid, "DeletionMark": True, "Posted": False}
    s = sides([deal("1", "1000.00", paid="600.00", pay_status="partially_paid")], [invoice], [marked])
    result = compare_payments(s, ALL, TOL, refs(s))
    [diff] = result.differences
    assert (diff.kind, diff.crm_value, diff.onec_value) == ("paid_differs", "600.00", "0.00")
    assert "1С unpaid" in diff.note
    assert {t.key: t.onec for t in result.totals}["not_counted"] == 1


def test_payments_follow_allocate_and_empty_reads_as_zero():
    a, b = doc("invoice", "1", "400.00", on="2026-11-01"), doc("invoice", "2", "600.00", on="2026-11-05")
    spread = receipt("500.00")  # no invoice named: the oldest first
    s = sides([deal("1", "400.00", paid="400.00"), deal("2", "600.00")], [a, b], [spread])
    [diff] = compare_payments(s, ALL, TOL, refs(s)).differences
    assert (diff.crm.id, diff.crm_value, diff.onec_value) == ("2", "пусто / empty", "100.00")


def test_a_deal_whose_documents_are_gone_should_hold_no_paid_sum():
    gone = doc("invoice", "1", "100.00", deleted=True)
    s = sides([deal("1", "100.00", paid="100.00")], [gone])
    [diff] = compare_payments(s, ALL, TOL, refs(s)).differences
    assert diff.onec_value == "0.00" and "no documents" in diff.note


# -------------------------------------------------------------------------------------- receivables


def test_receivables_compare_the_net_debt_whatever_1c_offset():
    won = ("invoice", "sale")
    sources = [deal("1", "1000.00", won, paid="400.00"), deal("2", "300.00", paid="300.00")]
    docs = [doc("sale", "1", "1000.00"), doc("invoice", "2", "300.00")]
    # 1C offset deal 2's advance against deal 1's shipment: 62.01 holds 300, 62.02 nothing
    s = sides(sources, docs, balances={PARTY: (R("300.00"), R("0.00"))})
    assert compare_receivables(s, ALL, TOL, refs(s)).differences == []
    # not offset yet: 62.01 600, 62.02 −300 (an advance): the same net debt
    s = sides(sources, docs, balances={PARTY: (R("600.00"), R("-300.00"))})
    assert compare_receivables(s, ALL, TOL, refs(s)).differences == []
    s = sides(sources, docs, balances={PARTY: (R("1300.00"), R("0.00"))})
    [diff] = compare_receivables(s, ALL, TOL, refs(s)).differences
    assert (diff.kind, diff.crm_value, diff.onec_value) == ("receivables_differ", "300.00", "1300.00")
    assert (
        "62.01 1300.00" in diff.note
        and diff.onec
        and quote("Справочник.Контрагенты") in diff.onec.links[0][1]
    )
    assert compare_receivables(s, ALL, MoneyTolerances(receivables=R("1000")), refs(s)).status == "clean"


def test_receivables_leave_out_currency_and_held_counterparties():
    usd = Source("1", "1", False, "USD", "c1", "USD", R("10.00"), ("invoice", "sale"))
    s = sides([usd], [doc("sale", "1", "10.00")], balances={PARTY: (R("700.00"), R("0"))})
    result = compare_receivables(s, ALL, TOL, refs(s))
    assert result.differences == [] and {t.key: t.staging for t in result.totals}["other_currency"] == 1
    s = sides(
        [deal("1", "10.00", ("invoice", "sale"))], [], balances={PARTY: (R("5.00"), R("0"))}, held={"1:sale"}
    )
    assert compare_receivables(s, ALL, TOL, refs(s)).differences == []


# --------------------------------------------------------------------------------- reading, report


def test_balances_rows_and_period_defaults():
    rows = {
        "62.01": [
            {"ExtDimension1": PARTY.upper(), "СуммаBalance": 100.1},
            {"ExtDimension1": PARTY, "СуммаBalance": 0.2},
        ],
        "62.02": [{"ExtDimension1": PARTY, "СуммаBalance": -50}],
    }
    assert balances_of(rows) == {PARTY: (R("100.30"), R("-50.00"))}
    raw = {"@rows": [{"PRICE": 10.005, "QUANTITY": 3}, {"PRICE": "1.10", "QUANTITY": "2"}]}
    assert rows_amount(raw) == R("32.22") and rows_amount({"@rows": []}) is None
    assert Period.default(date(2026, 12, 3)) == Period(date(2026, 11, 1), date(2026, 12, 31))
    assert Period.default(date(2026, 1, 31)) == Period(date(2025, 12, 1), date(2026, 1, 31))
    assert Period(date(2026, 11, 1)).holds(date(2026, 11, 1)) and not Period(date(2026, 11, 1)).holds(None)


def test_the_report_has_the_money_sections_with_links_and_slack_names_them():
    s = sides([deal("2", "250.00")], [doc("invoice", "2", "200.00")], seen={"2:invoice": R("200.00")})
    checks = [compare_invoices(s, ALL, TOL, refs(s)), compare_payments(s, ALL, TOL, refs(s))]
    report = Report("manual__1", NOW, NOW, Period(date(2026, 11, 1), date(2026, 12, 31)), checks)
    page = html_report(report)
    assert "Счета на оплату / invoices — ДРЕЙФ / DRIFT" in page and "Оплаты сделок / payments" in page
    assert "https://portal.example/crm/deal/details/2/" in page and "сделка / deal 2" in page
    assert "2026-11-01 – 2026-12-31" in page
    line = slack_summary(report)
    assert "invoices: CRM 1, 1C 1; invoice amount differs ×1" in line
    assert "Сделка 2: Сумма / amount CRM 250.00 ≠ 1C 200.00" in line


class _Modes:
    """Staging as the money checks ask it: the mode someone set per entity."""

    def __init__(self, **modes: str) -> None:
        self.modes = modes

    def get_mode(self, entity: str) -> SimpleNamespace | None:
        mode = self.modes.get(entity)
        if mode is None:
            return None
        pilot = {"inn": ["7707083893"]} if mode == "pilot" else None
        return SimpleNamespace(mode=mode, pilot_filter=pilot, changed_by="t", changed_at=NOW)


def test_money_is_not_checked_before_its_entities_are_synced(monkeypatch):
    from crm1c.reconcile import ReconcileEnv, load_reconciliation_config
    from crm1c.reconcile.run import PAYMENT_CHECK, RECEIVABLES_CHECK, REVENUE_CHECK

    monkeypatch.delenv("CRM1C_ROLLOUT_PROFILE", raising=False)
    config = load_reconciliation_config()

    def env(**modes: str) -> ReconcileEnv:
        return ReconcileEnv(None, None, _Modes(**modes), config, LINKS, ALL, "r")

    skipped = REVENUE_CHECK.run(env())  # the shipped defaults: invoices off
    assert skipped.skipped == "not synced yet: sync_invoices off" and skipped.status == "clean"
    assert (
        PAYMENT_CHECK.run(env(invoices="on", payments="shadow")).skipped
        == "not synced yet: sync_payments shadow"
    )
    assert RECEIVABLES_CHECK.run(env(invoices="pilot", payments="read_only")).skipped == (
        "not synced yet: sync_invoices pilot"
    )
    report = Report("r", NOW, NOW, ALL, [skipped])
    assert "Выручка / revenue — не проверялось / not checked" in html_report(report)
    assert "revenue: not checked (not synced yet: sync_invoices off)" in slack_summary(report)
    assert report.totals()["checks"]["revenue"]["skipped"] == "not synced yet: sync_invoices off"
