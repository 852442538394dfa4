"""Bitrix24 deal product rows as read (protocols.md C.9, C.9a), parsed into exact numbers.

``PRICE`` is the unit price after discount **including** tax, always; ``PRICE_EXCLUSIVE`` the same without
tax; ``PRICE_NETTO`` / ``PRICE_BRUTTO`` are before discount, without / with tax. ``TAX_INCLUDED`` only
records how the price was typed. Numbers may arrive as strings (``"899.10"``) or JSON floats; they become
``Decimal`` here and never pass through ``float`` arithmetic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from crm1c.domain.issues import Issue, IssueError
from crm1c.domain.money.numbers import ZERO, exact
from crm1c.domain.money.units import onec_unit_code

DISCOUNT_PERCENT = 2  # DISCOUNT_TYPE_ID: 1 absolute (per unit, without tax), 2 percent
SERVICE_TYPE = 7  # row ``TYPE``: 1 product, 4 offer, 7 service
QUANTITY_STEP = Decimal("0.001")  # 1C ``Количество`` is Number(15,3)
QUANTITY_MAX = Decimal("999999999999.999")
PRICE_MAX = Decimal("9999999999999.99")  # 1C ``Цена`` is Number(15,2)


@dataclass(frozen=True, slots=True)
class DealRow:
    """One product row of a deal; ``line`` is its 1-based place in the deal."""

    line: int
    product_id: str
    product_name: str
    price: Decimal
    price_exclusive: Decimal
    price_netto: Decimal
    price_brutto: Decimal
    quantity: Decimal
    discount_type: int
    discount_rate: Decimal
    discount_sum: Decimal
    tax_rate: Decimal | None
    tax_included: bool
    unit_code: str | None  # 1C code of MEASURE_CODE ("796"), None when the row has none
    service: bool  # TYPE 7

    @property
    def has_discount(self) -> bool:
        return bool(self.discount_sum or self.discount_rate)

    @property
    def taxed(self) -> bool:
        return bool(self.tax_rate)

    @property
    def label(self) -> tuple[str, str]:
        """How reasons name the row, in Russian and English."""
        name = self.product_name or "—"
        return (
            f"строка {self.line} («{name}», товар {self.product_id or '—'})",
            f"row {self.line} ('{name}', product {self.product_id or '—'})",
        )


def parse_row(raw: Mapping[str, Any], line: int) -> DealRow:
    """A row as ``crm.deal.productrows.get`` returns it; a missing or bad number raises ``IssueError``."""
    price = _number(raw, "PRICE")
    tax_rate = None if raw.get("TAX_RATE") in (None, "") else _number(raw, "TAX_RATE")
    exclusive = _number(raw, "PRICE_EXCLUSIVE", price if not tax_rate else None)
    quantity = _number(raw, "QUANTITY")
    if not 0 < quantity <= QUANTITY_MAX:
        raise _bad(
            raw,
            "QUANTITY",
            f"должно быть больше 0 и не больше {QUANTITY_MAX}",
            f"must be in (0, {QUANTITY_MAX}]",
        )
    if quantity.quantize(QUANTITY_STEP) != quantity:
        raise _bad(
            raw, "QUANTITY", "больше 3 знаков после запятой (в 1С — 3)", "more than 3 decimals (1C keeps 3)"
        )
    for key, value in (("PRICE", price), ("PRICE_EXCLUSIVE", exclusive)):
        if not 0 <= value <= PRICE_MAX:
            raise _bad(
                raw, key, f"цена должна быть от 0 до {PRICE_MAX}", f"a price must be in [0, {PRICE_MAX}]"
            )
    measure = raw.get("MEASURE_CODE")
    return DealRow(
        line=line,
        product_id=str(raw.get("PRODUCT_ID") or "").strip(),
        product_name=str(raw.get("PRODUCT_NAME") or "").strip(),
        price=price,
        price_exclusive=exclusive,
        price_netto=_number(raw, "PRICE_NETTO", exclusive),
        price_brutto=_number(raw, "PRICE_BRUTTO", price),
        quantity=quantity,
        discount_type=int(_number(raw, "DISCOUNT_TYPE_ID", Decimal(DISCOUNT_PERCENT))),
        discount_rate=_number(raw, "DISCOUNT_RATE", ZERO),
        discount_sum=_number(raw, "DISCOUNT_SUM", ZERO),
        tax_rate=tax_rate,
        tax_included=str(raw.get("TAX_INCLUDED") or "N").upper() == "Y",
        unit_code=None if measure in (None, "", 0, "0") else onec_unit_code(measure),
        service=str(raw.get("TYPE") or "") == str(SERVICE_TYPE),
    )


def _number(raw: Mapping[str, Any], key: str, default: Decimal | None = None) -> Decimal:
    value = raw.get(key)
    if value is None or value == "":
        if default is None:
            raise _bad(raw, key, "не заполнено", "missing")
        return default
    try:
        return exact(value)
    except ValueError:
        raise _bad(raw, key, "не число", "not a number") from None


def _bad(raw: Mapping[str, Any], key: str, ru: str, en: str) -> IssueError:
    value = raw.get(key)
    return IssueError(
        Issue(key, "row_number_invalid", f"{key} = {value!r}: {ru}", f"{key} = {value!r}: {en}")
    )
