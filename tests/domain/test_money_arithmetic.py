"""1C row arithmetic and exact numbers (domain.md §3)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm1c.domain.money.arithmetic import document_total, row_amount, row_price, vat_amount
from crm1c.domain.money.numbers import ZERO, exact, kopecks, plain
from tests.domain.strategies import QUICK

D = Decimal


@dataclass(frozen=True)
class Row:
    amount: Decimal
    vat_amount: Decimal
    discount_amount: Decimal = ZERO


def test_domain_rounding_example_vat_included() -> None:
    rows = [Row(D("33.27"), vat_amount(D("33.27"), D(20), included=True)) for _ in range(3)]
    assert [r.vat_amount for r in rows] == [D("5.55")] * 3
    assert sum(r.vat_amount for r in rows) == D("16.65")
    assert kopecks(D("33.27") * 3 * 20 / 120) == D("16.64")  # what the total would give: not 1C's way
    assert document_total(rows, included=True) == D("99.81")


def test_domain_rounding_example_vat_on_top() -> None:
    rows = [Row(D("33.27"), vat_amount(D("33.27"), D(20), included=False)) for _ in range(3)]
    assert [r.vat_amount for r in rows] == [D("6.65")] * 3
    assert sum(r.vat_amount for r in rows) == D("19.95")
    assert kopecks(D("33.27") * 3 * 20 / 100) == D("19.96")
    assert document_total(rows, included=False) == D("99.81") + D("19.95")


def test_total_subtracts_discounts() -> None:
    rows = [Row(D("100.00"), D("15.00"), D("25.00")), Row(D("10.00"), D("2.00"))]
    assert document_total(rows, included=True) == D("85.00")
    assert document_total(rows, included=False) == D("102.00")


def test_half_up_not_bankers() -> None:
    assert kopecks(D("0.125")) == D("0.13")
    assert kopecks(D("0.135")) == D("0.14")
    assert kopecks(D("-0.125")) == D("-0.13")


def test_price_and_amount() -> None:
    assert row_amount(D("33.27"), D("0.333")) == D("11.08")  # 11.07891
    assert row_price(D("11.08"), D("0.333")) == D("33.27")  # 33.2732…
    assert row_amount(D("0.01"), D("0.001")) == D("0.00")


@pytest.mark.parametrize("percent", [D(0), ZERO])
def test_zero_rate_has_no_vat(percent: Decimal) -> None:
    assert vat_amount(D("100.00"), percent, included=True) == ZERO


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1, D(1)), ("1.500", D("1.500")), (" 2 ", D(2)), (0.1, D("0.1")), (899.1, D("899.1")), (D("3"), D(3))],
)
def test_exact_numbers(value: object, expected: Decimal) -> None:
    assert exact(value) == expected
    assert type(exact(value)) is Decimal


@pytest.mark.parametrize("value", [None, True, "", "abc", "NaN", "Infinity", float("nan"), [1]])
def test_not_numbers(value: object) -> None:
    with pytest.raises(ValueError, match="not a number"):
        exact(value)


def test_plain() -> None:
    assert [plain(D("1.500")), plain(D("100.00")), plain(D("1E+2")), plain(D(7))] == [
        "1.5",
        "100",
        "100",
        "7",
    ]


amounts = st.decimals(min_value=0, max_value=10**9, places=2)
percents = st.sampled_from([D(0), D(5), D(7), D(10), D(18), D(20), D(22)])


@QUICK
@given(amounts, percents)
def test_vat_is_the_rounded_exact_share(amount: Decimal, percent: Decimal) -> None:
    for included, base in ((True, 100 + percent), (False, D(100))):
        vat = vat_amount(amount, percent, included)
        assert type(vat) is Decimal and vat.as_tuple().exponent == -2
        assert abs(vat - amount * percent / base) <= D("0.005")
