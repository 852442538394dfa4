"""The money checks against the contour after the real chain (counterparties → nomenclature → invoices, the
accountant posts the sales, customers pay, payments): a clean state is clean; money drift made behind
crm1c's back — a receipt deletion-marked in 1C, a posted invoice's deal edited in the CRM, a sale typed by
hand in 1C — is found with the records behind it; only reads reach the systems."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from crm1c.clients.odata_filter import F, guid
from crm1c.reconcile import Period, ReconcileEnv, SystemLinks, load_reconciliation_config, reconcile
from crm1c.reconcile.links import navigation_ref
from crm1c.reconcile.money_sources import REGISTER
from tests.reconcile.drift import RequestLog, assert_read_only
from tests.reconcile.money import (
    chain,
    hand_made_sale,
    inject_money_drift,
    receipt,
    sync_invoices,
    without_own_documents,
)
from tests.sync.harness import clients, state_hash

MONEY = ("invoices", "revenue", "payments", "receivables")


ALL = Period()


def run(staging, crm, onec, period: Period = ALL):
    links = SystemLinks.of(crm.base_url, onec.base_url)
    env = ReconcileEnv(crm, onec, staging, load_reconciliation_config(), links, period, uuid.uuid4().hex)
    return reconcile(env)


def checks(report) -> dict:
    return {c.name: c for c in report.checks}


def totals(report, name: str) -> dict:
    return report.totals()["checks"][name]["totals"]


def test_a_clean_chain_is_clean_for_money(demo_contour, sqlite_staging):
    crm, onec = clients(demo_contour)
    without_own_documents(demo_contour, onec)
    paid = chain(sqlite_staging, crm, onec)

    for period in (Period(), Period.default(date(2026, 12, 3)), Period(date(2026, 1, 1))):
        report = run(sqlite_staging, crm, onec, period)
        drift = {c.name: [(d.kind, d.crm and d.crm.id) for d in c.drift_differences] for c in report.checks}
        assert report.status == "clean", (period, drift)
    report = run(sqlite_staging, crm, onec)
    assert [c.name for c in report.checks] == ["counterparties", *MONEY]
    invoices = totals(report, "invoices")
    assert invoices["count"]["crm"] == invoices["count"]["onec"] >= 5
    assert invoices["sum_rub"]["crm"] == invoices["sum_rub"]["onec"]
    assert invoices["quarantined"]["staging"] >= 1, "the demo's held deals are context, not drift"
    assert (
        totals(report, "revenue")["revenue_rub"]["crm"]
        == totals(report, "revenue")["revenue_rub"]["onec"]
        != "0.00"
    )
    paid_total = str(sum((p.amount for p in paid), Decimal(0)))
    assert totals(report, "payments")["paid_rub"] == {"crm": paid_total, "onec": paid_total}
    net = totals(report, "receivables")["net_rub"]
    assert net["crm"] == net["onec"] and totals(report, "receivables")["counterparties"]["staging"] >= 10
    # the closed period's documents (2025) are the accountant's own: listed, never drift
    assert {d.kind for d in checks(report)["invoices"].differences} <= {"hand_made_in_onec"}


def test_the_demos_own_documents_are_found_next_to_crm1cs(demo_contour, sqlite_staging):
    """The demo's 1C already holds the accountant's documents for some deals (typed before crm1c); the
    chain adds crm1c's own: both are in 1C, so revenue counts twice there."""
    crm, onec = clients(demo_contour)
    chain(sqlite_staging, crm, onec)
    report = run(sqlite_staging, crm, onec, Period(date(2026, 1, 1)))
    found = checks(report)
    assert found["invoices"].by_kind().get("hand_made_in_onec", 0) >= 5
    assert found["invoices"].status == "clean", "made by hand: reported, not drift"
    differs = {d.onec.name: d for d in found["revenue"].differences if d.kind == "revenue_differs"}
    assert differs and all(Decimal(d.onec_value) > Decimal(d.crm_value) for d in differs.values())


def test_money_drift_behind_crm1cs_back_is_found_and_nothing_is_written(demo_contour, staging):
    crm, onec = clients(demo_contour)
    without_own_documents(demo_contour, onec)
    paid = chain(staging, crm, onec)
    drift = inject_money_drift(staging, crm, onec, paid)

    before = state_hash(crm, onec)
    log = RequestLog(demo_contour)
    report = run(staging, crm, onec)
    assert_read_only(log)
    assert state_hash(crm, onec) == before
    found = checks(report)
    assert report.status == "drift" and found["counterparties"].status == "clean"

    # a posted invoice whose deal the CRM changed afterwards (not synced yet)
    [edited] = found["invoices"].drift_differences
    assert (edited.kind, edited.crm.id, edited.onec.id) == (
        "amount_differs",
        drift.edited_deal,
        drift.edited_invoice,
    )
    assert (edited.crm_value, edited.agreed, edited.onec_value) == (
        str(drift.new_amount),
        str(drift.old_total),
        str(drift.old_total),
    )
    assert "edited in the CRM after the last sync" in edited.note and "posted" in edited.note
    assert any(f"/crm/deal/details/{drift.edited_deal}/" in url for _, url in edited.crm.links)
    assert any(navigation_ref(drift.edited_invoice) in url for _, url in edited.onec.links)

    # the sale typed by hand: listed (not drift), and it is revenue and receivables 1C has and the CRM not
    hand = [d for d in found["invoices"].differences if d.kind == "hand_made_in_onec"]
    assert [d.onec.id for d in hand if d.onec.id == drift.hand_made["Ref_Key"]]
    revenue = {d.onec.id: d for d in found["revenue"].drift_differences}
    assert set(revenue) == {drift.party} | ({drift.edited_party} if drift.edited_won else set())
    assert (revenue[drift.party].crm_value, revenue[drift.party].onec_value) == ("0.00", "12345.00")

    # the deletion-marked receipt: the deal's paid sum, and its counterparty's debt
    [payment] = found["payments"].drift_differences
    assert (payment.crm.id, payment.crm_value, payment.onec_value) == (
        drift.receipt.deal,
        str(drift.receipt.amount),
        "0.00",
    )
    debts = {d.onec.id: d for d in found["receivables"].drift_differences}
    paid_party = str(drift.receipt.invoice["Контрагент_Key"]).lower()
    assert set(debts) == {paid_party, drift.party} | ({drift.edited_party} if drift.edited_won else set())
    assert (
        Decimal(debts[paid_party].onec_value) - Decimal(debts[paid_party].crm_value) == drift.receipt.amount
    )
    assert debts[drift.party].onec_value == "12345.00"

    # after sync_invoices the posted document still holds the old amount: the difference stays, agreed moved
    sync_invoices(staging, crm, onec)
    [after] = checks(run(staging, crm, onec))["invoices"].drift_differences
    assert after.onec_value == str(drift.old_total) and after.agreed == after.crm_value != after.onec_value
    assert "edited" not in after.note


def test_the_balance_of_62_01_by_counterparty_and_date(empty_contour):
    """``OneCClient.balance``: the Balance virtual table with a Condition on the account code and the
    counterparty subconto; movements strictly before ``Period`` count."""
    _crm, onec = clients(empty_contour)
    made = onec.create("Catalog_Контрагенты", {"Description": "ООО Баланс", "ИНН": "7701000016"})
    party = str(made["Ref_Key"])
    hand_made_sale(onec, party, "1000.00", on="2026-11-20")
    receipt(onec, party, Decimal("400.00"), on="2026-11-25")
    receivable = F("Account/Code") == "62.01"
    mine = receivable & (F("ExtDimension1") == guid(party))
    [now] = onec.balance(REGISTER, condition=mine)
    assert Decimal(str(now["СуммаBalance"])) == Decimal("600.00")
    [before] = onec.balance(REGISTER, date(2026, 11, 21), mine)
    assert Decimal(str(before["СуммаBalance"])) == Decimal("1000.00")
    assert onec.balance(REGISTER, date(2026, 11, 20), mine) == [], "the sale's own day is not before it"
    assert party in {str(r["ExtDimension1"]) for r in onec.balance(REGISTER, condition=receivable)}
