"""VAT rates as data: the 1C enum, item kinds by date, Bitrix24 taxRate ⇄ 1C rate (domain.md §3)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import yaml

from crm1c.domain.issues import IssueError
from crm1c.domain.money.reference import ReferenceDataError, parse
from crm1c.domain.money.vat import DEFAULT_VAT_FILE, KindChange, VatTable, load_vat_table

D = Decimal
Y2025 = date(2025, 6, 15)
Y2026 = date(2026, 1, 1)


@pytest.fixture(scope="module")
def vat() -> VatTable:
    return load_vat_table()


def test_every_enum_value_is_there(vat: VatTable) -> None:
    names = {"НДС22", "НДС22_122", "НДС20", "НДС20_120", "НДС10", "НДС10_110", "НДС0", "БезНДС"}
    names |= {"НДС5", "НДС5_105", "НДС7", "НДС7_107", "НДС18", "НДС18_118"}
    assert set(vat.rates) == names


@pytest.mark.parametrize(
    ("rate", "percent"),
    [("НДС22", 22), ("НДС22_122", 22), ("НДС20_120", 20), ("НДС10_110", 10), ("НДС0", 0), ("БезНДС", 0)],
)
def test_arithmetic_percent(vat: VatTable, rate: str, percent: int) -> None:
    assert vat.percent(rate) == percent
    assert type(vat.percent(rate)) is Decimal


@pytest.mark.parametrize(
    ("kind", "on", "rate"),
    [
        ("Общая", date(2025, 12, 31), "НДС20"),
        ("Общая", Y2026, "НДС22"),
        ("Общая", date(2018, 12, 31), "НДС18"),
        ("ОбщаяРасчетная", date(2025, 12, 31), "НДС20_120"),
        ("ОбщаяРасчетная", Y2026, "НДС22_122"),
        ("Пониженная", Y2026, "НДС10"),
        ("ПониженнаяРасчетная", Y2025, "НДС10_110"),
        ("Нулевая", Y2026, "НДС0"),
        ("БезНДС", Y2026, "БезНДС"),
    ],
)
def test_kind_by_date(vat: VatTable, kind: str, on: date, rate: str) -> None:
    assert vat.rate_for_kind(kind, on) == rate


def test_unconfigured_kind_is_a_reason(vat: VatTable) -> None:
    with pytest.raises(IssueError) as err:
        vat.rate_for_kind("ОбщаяУСН", Y2026)
    assert err.value.issue.code == "vat_kind_unknown"
    assert "ОбщаяУСН" in err.value.issue.reason_ru


def test_item_kind_from_history(vat: VatTable) -> None:
    history = [KindChange(date(2025, 7, 1), "Пониженная"), KindChange(date(2024, 1, 1), "Общая")]
    assert (
        vat.rate_for_item("БезНДС", history, date(2023, 5, 1)) == "БезНДС"
    )  # before the history: the item's
    assert vat.rate_for_item("БезНДС", history, date(2025, 6, 30)) == "НДС20"
    assert vat.rate_for_item("БезНДС", history, date(2025, 7, 1)) == "НДС10"
    assert vat.rate_for_item("Общая", [], Y2026) == "НДС22"


def test_history_row_from_odata() -> None:
    row = {"LineNumber": "1", "Период": "2026-01-01T00:00:00", "ВидСтавкиНДС": "Общая"}
    assert KindChange.from_odata(row) == KindChange(Y2026, "Общая")


def test_item_without_kind(vat: VatTable) -> None:
    with pytest.raises(IssueError) as err:
        vat.rate_for_item("", [], Y2026)
    assert err.value.issue.code == "vat_kind_missing"


@pytest.mark.parametrize(
    ("tax_rate", "on", "rate"),
    [
        (22, Y2026, "НДС22"),
        ("22.00", Y2026, "НДС22"),
        (22.0, date(2026, 12, 31), "НДС22"),
        (20, Y2025, "НДС20"),
        (20, date(2025, 12, 31), "НДС20"),
        (10, Y2026, "НДС10"),
        (0, Y2026, "НДС0"),
        ("0", Y2025, "НДС0"),
        (None, Y2026, "БезНДС"),
        ("", Y2026, "БезНДС"),
        (5, Y2025, "НДС5"),
        (18, date(2018, 6, 1), "НДС18"),
    ],
)
def test_crm_rate_to_onec(vat: VatTable, tax_rate: object, on: date, rate: str) -> None:
    assert vat.rate_for_crm(tax_rate, on) == rate


def test_22_in_2025_is_an_error_with_a_reason(vat: VatTable) -> None:
    with pytest.raises(IssueError) as err:
        vat.rate_for_crm(22, Y2025)
    issue = err.value.issue
    assert issue.code == "vat_rate_not_in_force"
    assert issue.reason_ru == "Ставка НДС 22% не действует на 15.06.2025 (НДС22 — с 01.01.2026)"
    assert issue.reason_en == "VAT rate 22% is not in force on 2025-06-15 (НДС22: from 2026-01-01)"


def test_20_in_2026_is_an_error(vat: VatTable) -> None:
    with pytest.raises(IssueError, match="not in force on 2026-03-01"):
        vat.rate_for_crm(20, date(2026, 3, 1))


@pytest.mark.parametrize(("tax_rate", "code"), [(21, "vat_rate_unknown"), ("abc", "vat_rate_not_number")])
def test_unknown_crm_rates(vat: VatTable, tax_rate: object, code: str) -> None:
    with pytest.raises(IssueError) as err:
        vat.rate_for_crm(tax_rate, Y2026)
    assert err.value.issue.code == code


@pytest.mark.parametrize(
    ("rate", "tax_rate"), [("НДС22", D(22)), ("НДС22_122", D(22)), ("НДС0", D(0)), ("БезНДС", None)]
)
def test_onec_rate_to_crm(vat: VatTable, rate: str, tax_rate: Decimal | None) -> None:
    assert vat.crm_tax_rate(rate) == tax_rate


def test_unknown_onec_rate(vat: VatTable) -> None:
    with pytest.raises(IssueError, match="НДС21"):
        vat.percent("НДС21")


def _broken(change: dict[str, object]) -> str:
    data = yaml.safe_load(DEFAULT_VAT_FILE.read_text(encoding="utf-8"))
    for path, value in change.items():
        *parents, last = path.split(".")
        node = data
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return yaml.safe_dump(data, allow_unicode=True)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"kinds.Общая.2.rate": "НДС21"}, "kinds.Общая.2.rate: unknown rate 'НДС21' (not under rates)"),
        ({"kinds.Общая.2.from": date(2010, 1, 1)}, "kinds.Общая.2.from: dates must increase (2010-01-01)"),
        ({"rates.НДС0б": {"percent": 0}}, "rates.НДС0б: in force together with НДС0 at the same percent"),
        ({"rates.НДС0.percent": 120}, "rates.НДС0.percent: Input should be less than 100"),
        ({"rates.НДС0.rate": 0}, "rates.НДС0.rate: unknown key (not part of the file's format)"),
        ({"version": 2}, "version: Input should be 1"),
    ],
)
def test_broken_file_names_the_key(change: dict[str, object], problem: str) -> None:
    with pytest.raises(ReferenceDataError) as err:
        parse(_broken(change), VatTable, "include/mappings/vat.yaml")
    assert f"include/mappings/vat.yaml: {problem}" in str(err.value).splitlines()


@pytest.mark.parametrize(
    ("on", "start"),
    [
        (date(2025, 12, 31), date(2025, 1, 1)),
        (Y2026, Y2026),
        (date(2026, 7, 1), Y2026),
        (date(2019, 5, 1), date(2019, 1, 1)),
    ],
)
def test_vat_period_changes_with_the_law(vat: VatTable, on: date, start: date) -> None:
    assert vat.period_of(on) == start
