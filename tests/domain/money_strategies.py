"""Hypothesis strategies for Bitrix24 deal rows as Bitrix24 computes them (protocols.md C.9a)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from crm1c.domain.money.documents import OnecItem
from crm1c.domain.money.numbers import kopecks

D = Decimal
DATES_AND_RATES = [(date(2025, 6, 15), [None, 0, 10, 20]), (date(2026, 3, 1), [None, 0, 10, 22])]
quantities = st.decimals(min_value=D("0.001"), max_value=D(10000), places=3)
prices = st.decimals(min_value=0, max_value=10**6, places=2)
percents = st.decimals(min_value=0, max_value=100, places=2)


def wire(value: Decimal, form: str) -> Any:
    """``value`` as Bitrix24 might send it: a string, a JSON number (float), or an int when whole."""
    if form == "float":
        return float(value)
    if form == "int" and value == value.to_integral_value():
        return int(value)
    return str(value)


@st.composite
def bitrix_row(draw: st.DrawFn, tax_rates: list[int | None], product_id: str) -> dict[str, Any]:
    """A row with Bitrix24's derived prices: EXCL = PRICE/(1+t), discount per unit, NETTO, BRUTTO."""
    tax = draw(st.sampled_from(tax_rates))
    share = D(tax or 0) / 100
    quantity = draw(quantities)
    discount_type = draw(st.sampled_from([1, 2]))
    rate = draw(st.one_of(st.just(D(0)), percents))
    if rate == 100:
        price, exclusive, discount_sum = D(0), D(0), draw(prices)
    else:
        price = draw(prices)
        exclusive = kopecks(price / (1 + share))
        discount_sum = kopecks(exclusive * rate / (100 - rate))
    netto = exclusive + discount_sum
    if discount_type == 1:
        rate = kopecks(discount_sum * 100 / netto) if netto else D(0)
    form = draw(st.sampled_from(["str", "float", "int"]))
    row = {
        "PRODUCT_ID": product_id,
        "PRODUCT_NAME": f"Товар {product_id}",
        "PRICE": wire(price, form),
        "PRICE_EXCLUSIVE": wire(exclusive, form),
        "PRICE_NETTO": wire(netto, form),
        "PRICE_BRUTTO": wire(kopecks(netto * (1 + share)), form),
        "QUANTITY": wire(quantity, form),
        "DISCOUNT_TYPE_ID": discount_type,
        "DISCOUNT_RATE": wire(rate, form),
        "DISCOUNT_SUM": wire(discount_sum, form),
        "TAX_RATE": None if tax is None else wire(D(tax), form),
        "TAX_INCLUDED": draw(st.sampled_from(["Y", "N"])),
        "MEASURE_CODE": draw(st.sampled_from([796, "796", None])),
        "TYPE": draw(st.sampled_from([1, 7])),
    }
    return row


@st.composite
def deals(draw: st.DrawFn) -> tuple[date, list[dict[str, Any]], dict[str, OnecItem]]:
    """A document date, the deal's rows (all one VAT mode or mixed) and the 1C items of its products."""
    on, tax_rates = draw(st.sampled_from(DATES_AND_RATES))
    count = draw(st.integers(min_value=1, max_value=8))
    rows = [draw(bitrix_row(tax_rates, str(i + 1))) for i in range(count)]
    uniform = draw(st.sampled_from([None, "Y", "N"]))
    if uniform:
        for row in rows:
            row["TAX_INCLUDED"] = uniform
    items = {
        str(i + 1): OnecItem(
            f"item-{i + 1}", draw(st.booleans()), draw(st.sampled_from(["796", None])), "unit"
        )
        for i in range(count)
    }
    return on, rows, items
