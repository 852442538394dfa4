"""A deal's payment feedback from 1C documents (pure): labels, settlements per deal and smart invoice, the
one-way merge, and the payments mapping."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from crm1c.domain.deal_payment import (
    INVOICES,
    DealPayment,
    Documents,
    deal_payments,
    deals_named,
    label,
    merge,
)
from crm1c.mapping.payments import PaymentsMappingError, load_payments_mapping, parse_payments_mapping

PARTY = "11111111-1111-1111-1111-111111111111"


def doc(ref: str, number: str, on: str, amount: str, tag: str | None, **extra: Any) -> dict[str, Any]:
    return {
        "Ref_Key": ref,
        "Number": number,
        "Date": f"{on}T10:00:00",
        "Posted": True,
        "DeletionMark": False,
        "Контрагент_Key": PARTY,
        "СуммаДокумента": float(amount),
        "Комментарий": f"Создано обменом {tag}" if tag else "",
        **extra,
    }


def receipt(ref: str, on: str, amount: str, invoice: str | None = None, **extra: Any) -> dict[str, Any]:
    line = {"LineNumber": "1", "СуммаПлатежа": float(amount), "СчетНаОплату_Key": invoice or ""}
    return {
        "Ref_Key": ref,
        "Date": f"{on}T12:00:00",
        "Posted": True,
        "DeletionMark": False,
        "ВидОперации": "ОплатаПокупателя",
        "Контрагент": PARTY,
        "СуммаДокумента": float(amount),
        "РасшифровкаПлатежа": [line],
        **extra,
    }


def test_labels_join_invoices_then_sales_and_the_deal_is_settled():
    invoice = doc("i1", "0000-000123", "2026-12-02", "1000", "crm1c:deal:7")
    sale = doc("s1", "0000-000045", "2026-12-05", "1000", "crm1c:deal:7")
    docs = Documents([receipt("r1", "2026-12-03", "400", "i1")], [invoice], [sale])

    records, notes = deal_payments(docs)
    [(deal_id, record)] = records.items()

    assert deal_id == "7" and not notes
    assert label(INVOICES, invoice) == "Счет 0000-000123 от 02.12.2026"
    assert record.document == "Счет 0000-000123 от 02.12.2026; Реализация 0000-000045 от 05.12.2026"
    assert (record.pay_status, record.paid_sum, record.paid_date) == (
        "partially_paid",
        Decimal("400.00"),
        date(2026, 12, 3),
    )
    assert record.paid_stage is None


def test_untagged_and_deletion_marked_documents_make_no_deal_and_uncounted_receipts_are_noted():
    docs = Documents(
        [receipt("r1", "2026-12-03", "100", "i1", Posted=False), receipt("r2", "2026-12-04", "50", "i1")],
        [
            doc("i1", "1", "2026-12-01", "100", "crm1c:deal:1"),
            doc("i2", "2", "2026-12-01", "100", None),
            doc("i3", "3", "2026-12-01", "100", "crm1c:deal:3", DeletionMark=True),
        ],
        [],
    )
    records, notes = deal_payments(docs)
    assert set(records) == {"1"}
    assert records["1"].pay_status == "partially_paid" and records["1"].paid_sum == Decimal("50.00")
    assert [n.code for n in notes] == ["receipt_unposted"]
    assert deals_named(docs.invoices) == {"1", "3"}


def test_a_smart_invoice_gets_its_own_record_and_a_sale_only_deal_is_paid_against_the_sale():
    docs = Documents(
        [receipt("r1", "2026-12-03", "300", "i9"), receipt("r2", "2026-12-04", "200")],
        [doc("i9", "9", "2026-12-01", "300", "crm1c:invoice:9")],
        [doc("s1", "5", "2026-12-02", "500", "crm1c:deal:5")],
    )
    records, _notes = deal_payments(docs)
    assert records["invoice:9"].paid_stage is True and records["invoice:9"].pay_status == "paid"
    assert records["5"].pay_status == "partially_paid" and records["5"].paid_sum == Decimal("200.00")
    assert records["5"].document == "Реализация 5 от 02.12.2026"


def test_the_merge_follows_1c_reports_a_crm_edit_and_clears_a_deal_without_documents():
    onec = DealPayment(deal_id="7", document="Счет 1 от 01.12.2026", pay_status="paid", paid_sum=Decimal(5))
    base = onec.model_copy()
    crm = onec.model_copy(update={"pay_status": "unpaid", "crm_id": "7"})

    result = merge(base, crm, onec, None)
    assert result.to_crm == {"pay_status": "paid"} and not result.to_onec
    assert [(c.field, c.crm, c.onec) for c in result.conflicts] == [("pay_status", "unpaid", "paid")]

    cleared = merge(base, onec, onec.model_copy(update={"deleted": True}), None)
    assert (
        cleared.to_crm == {"document": None, "pay_status": None, "paid_sum": None} and not cleared.conflicts
    )
    assert merge(None, None, onec, None).to_crm == {}, "a deal the CRM does not have is never written"


def test_a_smart_invoice_only_ever_moves_forward():
    paid = DealPayment(deal_id="invoice:9", pay_status="paid", paid_stage=True)
    waiting = DealPayment(deal_id="invoice:9", paid_stage=False)
    assert merge(None, waiting, paid, None).to_crm == {"paid_stage": True}
    assert merge(None, paid, waiting, None).to_crm == {}


def test_the_payments_mapping_has_defaults_and_refuses_bad_names():
    assert load_payments_mapping().fields.by_value()["pay_status"] == "UF_CRM_1C_PAY_STATUS"
    assert parse_payments_mapping("version: 1").fields.paid_sum == "UF_CRM_1C_PAID_SUM"
    for text in (
        "fields: {document: uf_crm_lower}",
        "fields: {document: UF_CRM_SAME, pay_status: UF_CRM_SAME}",
        "fields: {nope: UF_CRM_X}",
        f"fields: {{document: UF_CRM_{'X' * 50}}}",
    ):
        with pytest.raises(PaymentsMappingError):
            parse_payments_mapping(text)
