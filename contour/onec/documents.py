"""What БП 3.0 does to a document written through OData, before it is stored (domain.md §3).

1C recomputes only the header ``СуммаДокумента`` of a sale or a payment invoice; the rows are stored exactly
as sent (no VAT is recomputed, a row without ``СуммаНДС`` keeps 0):

* ``СуммаДокумента`` = Σ ``Сумма`` + (``СуммаВключаетНДС`` ? 0 : Σ ``СуммаНДС``) − Σ ``СуммаСкидки`` where
  the table has a discount column. In ``СчетНаОплатуПокупателю`` a row's ``Сумма`` is before the discount,
  so the invoice's total is Σ (``Сумма`` − ``СуммаСкидки``) plus VAT on top; the sale has no discount
  column. Amounts are rounded to kopecks per row (``Decimal``, half up).
* The sale's ``ВидОперации`` decides which tabular sections survive the write: ``Товары`` drops ``Услуги``,
  ``Услуги`` drops ``Товары``, ``ПродажаКомиссия`` («Товары и услуги») keeps both. Other kinds (and an empty
  one) keep what was sent.
* ``АгентскиеУслуги`` and ``ВозвратнаяТара`` (returnable packaging) are stored as sent and not part of the
  total here (decision: the emulator totals the goods and services tables only).
* ``ПоступлениеНаРасчетныйСчет.СуммаДокумента`` is the payment and is kept as sent; its ``РасшифровкаПлатежа``
  must add up to it, which is checked at posting (:mod:`contour.onec.posting`).

All of this is BP's ``ПередЗаписью`` handler, which returns at once in data-load mode
(``1C_OData-DataLoadMode: true``): then nothing is recomputed or dropped.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from contour.onec.posting import money

SALE = "Document_РеализацияТоваровУслуг"
INVOICE = "Document_СчетНаОплатуПокупателю"

TOTALLED: dict[str, tuple[str, ...]] = {INVOICE: ("Товары",), SALE: ("Товары", "Услуги")}
SALE_SECTIONS: dict[str, tuple[str, ...]] = {
    "Товары": ("Товары",),
    "Услуги": ("Услуги",),
    "ПродажаКомиссия": ("Товары", "Услуги"),
}


def number(value: Decimal) -> int | float:
    """A stored Edm.Double: an int when whole (as the write path stores whole numbers)."""
    return int(value) if value == value.to_integral_value() else float(value)


def document_total(data: dict[str, Any], sections: tuple[str, ...]) -> Decimal:
    """BP's ``СуммаДокумента`` of the rows of ``sections`` (see the module docstring)."""
    included = bool(data.get("СуммаВключаетНДС"))
    total = Decimal(0)
    for section in sections:
        for row in data.get(section) or []:
            total += money(row.get("Сумма")) - money(row.get("СуммаСкидки"))
            if not included:
                total += money(row.get("СуммаНДС"))
    return total


def before_write(set_name: str, data: dict[str, Any]) -> None:
    """Apply BP's ``ПередЗаписью`` to ``data`` in place (not called in data-load mode)."""
    if set_name == SALE:
        keep = SALE_SECTIONS.get(str(data.get("ВидОперации") or ""))
        if keep is not None:
            for section in TOTALLED[SALE]:
                if section not in keep:
                    data[section] = []
    if set_name in TOTALLED:
        data["СуммаДокумента"] = number(document_total(data, TOTALLED[set_name]))
