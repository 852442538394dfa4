"""1C's row arithmetic (domain.md §3): amount, price, VAT per row, document total.

1C does not recompute rows written through OData, so crm1c sends every row complete, computed with 1C's own
formulas: ``Сумма = round(Цена × Количество)``, ``Цена = round(Сумма / Количество)``, and
``СуммаНДС = base·r/(100+r)`` when the amount includes VAT, ``base·r/100`` when VAT is on top, each rounded
per row half up to the kopeck. The VAT base is the row's amount after its discount (``Сумма − СуммаСкидки``).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Protocol

from crm1c.domain.money.numbers import ZERO, kopecks

HUNDRED = Decimal(100)


class PricedRow(Protocol):
    """What the document total needs of a row (``discount_amount`` is 0 where the table has no discount)."""

    @property
    def amount(self) -> Decimal: ...

    @property
    def discount_amount(self) -> Decimal: ...

    @property
    def vat_amount(self) -> Decimal: ...


def row_amount(price: Decimal, quantity: Decimal) -> Decimal:
    """``Сумма`` = round(price × quantity)."""
    return kopecks(price * quantity)


def row_price(amount: Decimal, quantity: Decimal) -> Decimal:
    """``Цена`` = round(Сумма / quantity), as 1C's form shows it."""
    return kopecks(amount / quantity)


def vat_amount(base: Decimal, percent: Decimal, included: bool) -> Decimal:
    """``СуммаНДС`` of one row: ``base·r/(100+r)`` if ``included`` else ``base·r/100``, rounded half up."""
    if not percent:
        return ZERO
    return kopecks(base * percent / (HUNDRED + percent if included else HUNDRED))


def document_total(rows: Iterable[PricedRow], included: bool) -> Decimal:
    """``СуммаДокумента`` = ΣСумма + (included ? 0 : ΣСуммаНДС) − ΣСуммаСкидки."""
    total = ZERO
    for row in rows:
        total += row.amount - row.discount_amount + (ZERO if included else row.vat_amount)
    return total
