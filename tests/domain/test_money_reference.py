"""Units (ОКЕИ) and currencies as data; the exchange rate of a date (domain.md §6, §8)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from crm1c.domain.issues import IssueError
from crm1c.domain.money.currency import CurrencyTable, ExchangeRate, load_currency_table, rate_on
from crm1c.domain.money.reference import ReferenceDataError, parse
from crm1c.domain.money.units import UnitTable, crm_measure_code, load_unit_table, onec_unit_code

D = Decimal


@pytest.mark.parametrize(
    ("crm", "onec"), [(6, "006"), (55, "055"), (796, "796"), ("166", "166"), (" 6", "006")]
)
def test_measure_codes_both_ways(crm: object, onec: str) -> None:
    assert onec_unit_code(crm) == onec
    assert crm_measure_code(onec) == int(str(crm))


@pytest.mark.parametrize("code", [None, True, 1.5, "", "шт", "1000", "-6", "７９６"])
def test_bad_measure_codes(code: object) -> None:
    with pytest.raises(IssueError) as err:
        onec_unit_code(code)
    assert err.value.issue.code == "unit_code_invalid"


def test_unit_names_are_data() -> None:
    units = load_unit_table()
    assert [units.unit(c).name for c in ("796", "166", "006", "112", "055", "356", "642")] == [
        "шт", "кг", "м", "л", "м2", "ч", "ед",
    ]  # fmt: skip
    with pytest.raises(IssueError, match="999"):
        units.unit("999")


def test_the_contour_seeds_only_listed_units() -> None:
    """The sync holds a deal row whose unit units.yaml does not list: the test contour's seed (its Bitrix24
    measures, the products of the demo and scale profiles) uses only listed ones."""
    from contour import profiles
    from contour.bitrix.catalog_data import MEASURES

    seeded = {code for _id, code, *_names in MEASURES}
    seeded |= {p.okei for data in (profiles.demo(), profiles.scale(24)) for p in data.products}
    assert seeded and seeded <= set(load_unit_table().units)


def test_unit_keys_keep_leading_zeros() -> None:
    with pytest.raises(ReferenceDataError) as err:
        parse("version: 1\nunits:\n  6: {name: м, full_name: Метр}\n", UnitTable, "units.yaml")
    assert "units.yaml: units: key '6':" in str(err.value)


@pytest.fixture(scope="module")
def currencies() -> CurrencyTable:
    return load_currency_table()


@pytest.mark.parametrize(("letters", "code"), [("RUB", "643"), ("USD", "840"), ("EUR", "978")])
def test_currency_codes(currencies: CurrencyTable, letters: str, code: str) -> None:
    assert currencies.onec_code(letters) == code
    assert currencies.crm_code(code) == letters


def test_ruble_is_named_as_in_1c(currencies: CurrencyTable) -> None:
    assert currencies.currencies["RUB"].name == "руб."


def test_unknown_currency(currencies: CurrencyTable) -> None:
    for call in (lambda: currencies.onec_code("XXX"), lambda: currencies.crm_code("001")):
        with pytest.raises(IssueError) as err:
            call()
        assert err.value.issue.code == "currency_unknown"


def test_duplicate_numeric_code_is_an_error() -> None:
    text = "version: 1\ncurrencies:\n  RUB: {code: '643', name: a, full_name: a}\n"
    text += "  RUR: {code: '643', name: b, full_name: b}\n"
    with pytest.raises(ReferenceDataError) as err:
        parse(text, CurrencyTable, "currencies.yaml")
    assert "currencies.yaml: currencies.RUR.code: 643 is already RUB" in str(err.value)


RATES = [
    ExchangeRate(date(2026, 1, 10), D("78.1234"), 1),
    ExchangeRate(date(2026, 1, 13), D("79.0000"), 1),
    ExchangeRate(date(2026, 1, 9), D("77.5000"), 1),
]


@pytest.mark.parametrize(
    ("on", "rate"),
    [(date(2026, 1, 9), D("77.5")), (date(2026, 1, 12), D("78.1234")), (date(2026, 2, 1), D(79))],
)
def test_last_rate_on_or_before(on: date, rate: Decimal) -> None:
    assert rate_on(RATES, on, "USD").rate == rate


def test_missing_rate_is_a_reason_never_one() -> None:
    with pytest.raises(IssueError) as err:
        rate_on(RATES, date(2026, 1, 8), "USD")
    assert err.value.issue.code == "currency_rate_missing"
    assert err.value.issue.reason_ru == "Нет курса валюты USD на 08.01.2026 или раньше"
    with pytest.raises(IssueError):
        rate_on([], date(2026, 1, 8))


def test_zero_rate_is_not_used() -> None:
    with pytest.raises(IssueError) as err:
        rate_on([ExchangeRate(date(2026, 1, 1), D(0))], date(2026, 1, 2), "USD")
    assert err.value.issue.code == "currency_rate_invalid"


def test_multiplicity() -> None:
    rate = rate_on([ExchangeRate(date(2026, 1, 1), D("11.2345"), 10)], date(2026, 1, 2), "CNY")
    assert rate.to_base(D("100")) == D("112.345")


def test_rate_from_odata() -> None:
    row = {"Period": "2026-01-10T00:00:00", "Валюта_Key": "k", "Курс": 78.1234, "Кратность": 1}
    assert ExchangeRate.from_odata(row) == ExchangeRate(date(2026, 1, 10), D("78.1234"), 1)
    assert ExchangeRate.from_odata(row | {"Кратность": 10.0}).multiplicity == 10
