"""Deal product rows → 1C document rows (domain.md §3): examples, reasons, and properties."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm1c.domain.money.documents import DealDocument, DocumentKind, OnecItem, deal_document
from crm1c.domain.money.numbers import kopecks
from crm1c.domain.money.units import load_unit_table
from crm1c.domain.money.vat import VatTable, load_vat_table
from tests.domain.money_strategies import deals
from tests.domain.strategies import THOROUGH

D = Decimal
Y2025 = date(2025, 6, 15)
Y2026 = date(2026, 3, 1)
GOODS = OnecItem("g-1", is_service=False, unit_code="796", unit_key="u-796")
SERVICE = OnecItem("s-1", is_service=True, unit_code="356", unit_key="u-356")
ITEMS = {"1": GOODS, "2": SERVICE}
VAT = load_vat_table()
UNITS = load_unit_table()


def row(price: str, quantity: Any = "1", tax: Any = 20, included: str = "Y", **extra: Any) -> dict[str, Any]:
    share = D(tax or 0) / 100
    exclusive = kopecks(D(price) / (1 + share))
    fields = {"PRODUCT_ID": "1", "PRODUCT_NAME": "Бумага А4", "PRICE": price, "QUANTITY": quantity}
    fields |= {"PRICE_EXCLUSIVE": str(exclusive), "PRICE_NETTO": str(exclusive), "PRICE_BRUTTO": price}
    fields |= {"TAX_RATE": tax, "TAX_INCLUDED": included, "MEASURE_CODE": 796, "TYPE": 1}
    return fields | extra


def convert(rows: list[dict[str, Any]], kind: DocumentKind = "invoice", on: date = Y2025) -> DealDocument:
    result = deal_document("42", rows, kind, on, ITEMS.get, VAT, UNITS)
    assert result.issues == ()
    assert result.document is not None
    return result.document


def test_rounding_example_vat_included() -> None:
    doc = convert([row("33.27")] * 3)
    assert doc.includes_vat
    assert [r.vat_amount for r in doc.rows] == [D("5.55")] * 3
    assert (doc.total, doc.deal_total, doc.notes) == (D("99.81"), D("99.81"), ())


def test_rounding_example_vat_on_top() -> None:
    doc = convert([row("39.92", included="N")] * 3)  # PRICE_EXCLUSIVE 33.27
    assert not doc.includes_vat
    assert [(r.price, r.amount, r.vat_amount) for r in doc.rows] == [(D("33.27"), D("33.27"), D("6.65"))] * 3
    assert doc.total == D("99.81") + D("19.95") == doc.deal_total


DISCOUNTED = row(
    "80000",
    tax=20,
    PRICE_EXCLUSIVE="66666.67",
    PRICE_NETTO="83333.34",
    PRICE_BRUTTO="100000.01",
    DISCOUNT_TYPE_ID=2,
    DISCOUNT_RATE=20,
    DISCOUNT_SUM="16666.67",
)  # fmt: skip  (the example of crm-item-productrow-add.md)


def test_invoice_keeps_the_discount_and_the_sum_before_it() -> None:
    doc = convert([DISCOUNTED])
    [line] = doc.rows
    assert (line.price, line.amount, line.discount_amount, line.discount_percent) == (
        D("100000.01"), D("100000.01"), D("20000.01"), D(20),
    )  # fmt: skip
    assert line.vat_amount == D("13333.33")  # on the amount after discount, 80 000 × 20/120
    assert doc.total == D("80000.00") == doc.deal_total
    assert doc.header()["СуммаСкидки"] == D("20000.01")


def test_sale_puts_the_discount_into_the_price() -> None:
    doc = convert([DISCOUNTED], kind="sale")
    [line] = doc.goods
    assert (line.price, line.amount, line.vat_amount, line.discount_percent) == (
        D(80000), D(80000), D("13333.33"), None,
    )  # fmt: skip
    assert [n.code for n in doc.notes] == ["discount_in_price"]
    assert "ПроцентСкидки" not in line.odata("sale", "Товары")


def test_absolute_discount_gets_a_percent() -> None:
    discounted = row("90", quantity="2", tax=None, PRICE_BRUTTO="100", DISCOUNT_TYPE_ID=1, DISCOUNT_SUM="10")
    [line] = convert([discounted]).rows
    assert (line.amount, line.discount_amount, line.discount_percent) == (D(200), D(20), D(10))


def test_mixed_rows_are_brought_to_vat_included() -> None:
    doc = convert([row("120"), row("39.92", included="N"), row("50", tax=None, included="N")])
    assert doc.includes_vat
    assert [n.code for n in doc.notes] == ["vat_mode_mixed"]
    assert "строки 2 с НДС сверху" in doc.notes[0].reason_ru
    assert doc.rows[1].price == D("39.92")  # PRICE, with VAT
    assert doc.total == D("209.92") == doc.deal_total


def test_untaxed_rows_do_not_decide_the_mode() -> None:
    doc = convert([row("39.92", included="N"), row("50", tax=None, included="Y")])
    assert not doc.includes_vat and doc.notes == ()


def test_sale_splits_goods_and_services() -> None:
    doc = convert([row("10"), row("20", PRODUCT_ID="2", MEASURE_CODE=356, TYPE=7)], kind="sale")
    assert doc.operation == "ПродажаКомиссия"
    assert [r.item_key for r in doc.goods] == ["g-1"] and [r.item_key for r in doc.services] == ["s-1"]
    assert [r.line_number for r in doc.rows] == [1, 1]
    tables = doc.tables()
    assert tables["Товары"][0]["ЕдиницаИзмерения_Key"] == "u-796"
    assert tables["Услуги"][0] == {
        "LineNumber": 1, "Номенклатура_Key": "s-1", "Количество": D(1), "Цена": D(20), "Сумма": D(20),
        "СтавкаНДС": "НДС20", "СуммаНДС": D("3.33"), "Содержание": "Бумага А4",
    }  # fmt: skip


@pytest.mark.parametrize(("products", "operation"), [(["1"], "Товары"), (["2", "2"], "Услуги")])
def test_sale_operation(products: list[str], operation: str) -> None:
    doc = convert([row("10", PRODUCT_ID=p, MEASURE_CODE=None) for p in products], kind="sale")
    assert doc.operation == operation


def test_invoice_has_everything_in_goods() -> None:
    doc = convert([row("10"), row("20", PRODUCT_ID="2", MEASURE_CODE=None, TYPE=7)])
    assert doc.operation == "ТоварыИУслуги" and doc.services == ()
    assert [r.line_number for r in doc.goods] == [1, 2]
    first = doc.tables()["Товары"][0]
    assert (
        first["Номенклатура"] == "g-1" and first["Номенклатура_Type"] == "StandardODATA.Catalog_Номенклатура"
    )
    assert (first["ПроцентСкидки"], first["СуммаСкидки"]) == (D(0), D(0))
    assert doc.header() == {
        "ВидОперации": "ТоварыИУслуги", "СуммаВключаетНДС": True, "ДокументБезНДС": False,
        "СуммаДокумента": D(30), "СуммаСкидки": D(0),
    }  # fmt: skip


def test_rate_by_the_document_date() -> None:
    assert convert([row("122", tax=22)], on=Y2026).rows[0].vat_rate == "НДС22"
    assert convert([row("120", tax=None)], on=Y2026).header()["ДокументБезНДС"] is True


def test_22_on_a_2025_date_holds_the_deal() -> None:
    result = deal_document("42", [row("122", tax=22)], "invoice", Y2025, ITEMS.get, VAT, UNITS)
    [issue] = result.issues
    assert result.document is None
    assert issue.code == "vat_rate_not_in_force"
    assert issue.reason_ru.startswith("Сделка 42, строка 1 («Бумага А4», товар 1): Ставка НДС 22%")


def test_item_not_synced_is_a_reason() -> None:
    result = deal_document("42", [row("1"), row("2", PRODUCT_ID="77", PRODUCT_NAME="Клей")], "sale", Y2025,
                           ITEMS.get, VAT, UNITS)  # fmt: skip
    [issue] = result.issues
    assert (issue.field, issue.code) == ("rows.2.PRODUCT_ID", "item_not_synced")
    assert issue.reason_ru.startswith("Сделка 42, строка 2 («Клей», товар 77): товар не связан")
    assert issue.reason_en.startswith("Deal 42, row 2 ('Клей', product 77): the product is not linked")


def test_a_unit_not_in_units_yaml_holds_the_deal() -> None:
    """units.yaml's promise: a unit it does not list is not guessed — the row is held with a reason."""
    rows = [row("1"), row("2", MEASURE_CODE=999, PRODUCT_NAME="Клей")]
    result = deal_document("42", rows, "invoice", Y2025, ITEMS.get, VAT, UNITS)
    [issue], where = result.issues, "Сделка 42, строка 2 («Клей», товар 1)"
    assert result.document is None
    assert (issue.field, issue.code) == ("rows.2.MEASURE_CODE", "unit_unknown")
    assert issue.reason_ru.startswith(f"{where}: единица строки MEASURE_CODE 999 (ОКЕИ 999) не задана")
    assert "units.yaml" in issue.reason_ru and "(ОКЕИ 999)" in issue.reason_en
    item = {"1": OnecItem("x-1", False, "999", "u-999")}.get  # the 1C item's unit does not make it known
    alone = [row("1", MEASURE_CODE="999")]
    assert [i.code for i in deal_document("42", alone, "sale", Y2025, item, VAT, UNITS).issues] == [
        "unit_unknown"
    ]
    listed = UNITS.model_copy(update={"units": UNITS.units | {"999": UNITS.units["796"]}})
    doc = deal_document("42", alone, "sale", Y2025, item, VAT, listed).document  # once listed, it goes
    assert doc is not None and doc.rows[0].unit_code == "999"


def test_unit_mismatch_and_padding() -> None:
    result = deal_document("42", [row("1", MEASURE_CODE=166)], "sale", Y2025, ITEMS.get, VAT, UNITS)
    assert [i.code for i in result.issues] == ["unit_mismatch"]
    item = OnecItem("m-1", False, "006", "u-006")
    doc = deal_document("42", [row("1", MEASURE_CODE=6)], "sale", Y2025, {"1": item}.get, VAT, UNITS).document
    assert doc is not None and doc.rows[0].unit_code == "006"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"PRICE": "abc"}, "row_number_invalid"),
        ({"QUANTITY": "0"}, "row_number_invalid"),
        ({"QUANTITY": "1E+30"}, "row_number_invalid"),
        ({"PRICE": "-1"}, "row_number_invalid"),
        ({"QUANTITY": "1.0005"}, "row_number_invalid"),
        ({"PRICE": None}, "row_number_invalid"),
        ({"MEASURE_CODE": "шт"}, "unit_code_invalid"),
        ({"TAX_INCLUDED": "N", "PRICE_EXCLUSIVE": "90"}, "net_price_mismatch"),
    ],
)
def test_bad_rows_are_reasons(change: dict[str, Any], code: str) -> None:
    result = deal_document("42", [row("120") | change], "invoice", Y2025, ITEMS.get, VAT, UNITS)
    assert result.document is None
    assert [i.code for i in result.issues] == [code]
    assert result.issues[0].reason_en.startswith("Deal 42, row 1")


def test_deal_without_rows() -> None:
    assert [i.code for i in deal_document("42", [], "invoice", Y2025, ITEMS.get, VAT, UNITS).issues] == [
        "deal_no_rows"
    ]


def test_numbers_as_strings_and_floats() -> None:
    doc = convert([row("899.10", quantity=1.5, tax="20.00", DISCOUNT_RATE=0.0, DISCOUNT_SUM="0.00")])
    assert (doc.rows[0].quantity, doc.rows[0].amount) == (D("1.5"), D("1348.65"))


def test_fractional_quantities_add_up_with_vat_included() -> None:
    doc = convert([row("0.01", quantity="0.5", tax=None)] * 3)
    assert (doc.total, doc.deal_total, doc.rounding_bound, doc.notes) == (D("0.03"), D("0.03"), 0, ())


def test_vat_on_top_drifts_with_the_quantity_and_says_so() -> None:
    doc = convert([row("39.92", quantity="1000", included="N")])  # PRICE_EXCLUSIVE 33.27 is 39.924 with VAT
    assert (doc.total, doc.deal_total) == (D("39924.00"), D("39920.00"))
    assert doc.rounding_bound == D("4.016")  # 0.004 × 1000 + 0.005 × 3.2
    [note] = doc.notes
    assert note.code == "total_rounding"
    assert "39924.00" in note.reason_ru and "39920.00" in note.reason_ru and "4.02" in note.reason_ru


def test_type_differs_from_the_1c_item_is_a_note() -> None:
    doc = convert([row("10", TYPE=7)])
    assert [n.code for n in doc.notes] == ["item_type_differs"]


# --- properties ------------------------------------------------------------------------------------------


def _no_floats(value: Any) -> None:
    assert not isinstance(value, float), value
    if isinstance(value, dict):
        for item in value.values():
            _no_floats(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _no_floats(item)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            _no_floats(getattr(value, field.name))


def _closed_form_bound(doc: DealDocument, rows: list[dict[str, Any]], vat: VatTable) -> Decimal:
    """0 with VAT included; Σ 0.005·((1+t)·(q+1) + 2) with VAT on top."""
    if doc.includes_vat:
        return D(0)
    bound = D(0)
    for raw in rows:
        quantity = D(str(raw["QUANTITY"]))
        share = vat.percent(vat.rate_for_crm(raw["TAX_RATE"], doc.date)) / 100
        bound += D("0.005") * ((1 + share) * (quantity + 1) + 2)
    return bound


@THOROUGH
@given(deals(), st.sampled_from(["invoice", "sale"]))
def test_any_deal_converts_and_adds_up(deal: Any, kind: DocumentKind) -> None:
    on, rows, items = deal
    result = deal_document("7", rows, kind, on, items.get, VAT, UNITS)
    assert result.issues == () and result.document is not None
    doc = result.document
    _no_floats(doc)
    _no_floats(doc.tables())
    _no_floats(doc.header())
    included = doc.includes_vat
    # Σ rows = document total, with 1C's formula
    assert doc.total == sum(
        r.amount - r.discount_amount + (0 if included else r.vat_amount) for r in doc.rows
    )
    assert doc.header()["СуммаДокумента"] == doc.total
    for line in doc.rows:
        for number in (line.quantity, line.price, line.amount, line.vat_amount, line.discount_amount):
            assert type(number) is Decimal
        percent = VAT.percent(line.vat_rate)
        base = line.amount - line.discount_amount
        assert line.vat_amount == kopecks(base * percent / (100 + percent if included else 100))
        assert line.price == kopecks(line.amount / line.quantity)
        assert 0 <= line.discount_amount <= line.amount
        if kind == "sale":
            assert line.discount_percent is None and line.discount_amount == 0
        else:
            assert line.discount_percent is not None and 0 <= line.discount_percent <= 100
    # each deal row: after discount it is round(price × quantity), PRICE when VAT is included
    for line in doc.rows:
        raw = rows[line.deal_line - 1]
        price = D(str(raw["PRICE" if included else "PRICE_EXCLUSIVE"]))
        assert line.amount - line.discount_amount == kopecks(price * line.quantity)
    # the deal's total, within the proven per-row rounding bound
    assert doc.rounding_bound <= _closed_form_bound(doc, rows, VAT)
    assert abs(doc.total - doc.deal_total) <= doc.rounding_bound
    assert doc.deal_total == sum(kopecks(D(str(r["PRICE"])) * D(str(r["QUANTITY"]))) for r in rows)
    if included:
        assert doc.total == doc.deal_total
    assert (doc.total != doc.deal_total) == any(n.code == "total_rounding" for n in doc.notes)
    # tables and operation
    if kind == "sale":
        assert {r.item_key for r in doc.services} == {i.ref_key for i in items.values() if i.is_service}
        assert doc.operation in {"Товары", "Услуги", "ПродажаКомиссия"}
    else:
        assert doc.services == () and doc.operation == "ТоварыИУслуги"
    for table in (doc.goods, doc.services):
        assert [r.line_number for r in table] == list(range(1, len(table) + 1))
