"""Deal product rows → complete 1C document rows (the pure heart of sync_invoices; domain.md §3).

``deal_document`` turns a deal's Bitrix24 rows into the rows of ``Document_СчетНаОплатуПокупателю``
(``invoice``: every row in ``Товары``, with ``ПроцентСкидки`` / ``СуммаСкидки`` and ``Сумма`` before the
discount) or ``Document_РеализацияТоваровУслуг`` (``sale``: goods in ``Товары``, services in ``Услуги``,
the discount in the price). Every row is computed with 1C's formulas (:mod:`.arithmetic`) for the document
date, because 1C stores rows written through OData as sent.

One VAT mode per document (``СуммаВключаетНДС``): the taxed rows decide (all rows when none is taxed);
all ``TAX_INCLUDED = N`` → VAT on top, ``Цена`` from ``PRICE_EXCLUSIVE``; otherwise VAT included, ``Цена``
from ``PRICE``. A deal with both kinds of rows is brought to *included* — ``PRICE`` is Bitrix24's
authoritative figure, so nothing drifts — and a note says so.

**Units.** A row's ``MEASURE_CODE`` must be a unit of ``include/mappings/units.yaml`` (the table is passed
in, read by the caller) and the 1C item's unit: a unit is never guessed, a row with another one holds the
deal with a reason naming the row and the code.

**Totals.** The deal's total is Σ round(PRICE × QUANTITY), each row rounded to the kopeck as Bitrix24
computes ``OPPORTUNITY`` from its rows (C.9a; the test contour does the same); it differs from the unrounded
Σ PRICE × QUANTITY by at most 0.005 per row whose product is not whole kopecks. Proven bounds on
|СуммаДокумента − deal total|, per row (``rounding_bound`` is their sum for the rows at hand):

* VAT included: **0**, always. A row contributes exactly round(PRICE × q): the sale's ``Сумма``, or the
  invoice's ``Сумма`` − ``СуммаСкидки`` (the discount is defined as that difference).
* VAT on top: a row contributes ``s + round(s·t)``, ``s = round(PRICE_EXCLUSIVE × q)``. With
  ``ε = PRICE_EXCLUSIVE·(1+t) − PRICE`` that is ``PRICE·q + ε·q + δs·(1+t) + δv``, |δ| ≤ 0.005, so the row
  is within ``|ε|·q + 0.005·(3+t)`` of round(PRICE × q); Bitrix24 rounds ``PRICE_EXCLUSIVE`` to the kopeck
  (|ε| ≤ 0.005·(1+t)), so ≤ ``0.005·((1+t)·(q+1) + 2)``: it grows with the quantity (a net price is only
  known to the kopeck). A difference is reported as a note naming both totals and the bound. A row whose
  ``PRICE_EXCLUSIVE`` is not ``PRICE / (1+t)`` to the kopeck holds the document (that is no rounding).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from crm1c.domain.issues import Issue, IssueError
from crm1c.domain.money.arithmetic import HUNDRED, document_total, row_amount, row_price, vat_amount
from crm1c.domain.money.deal_rows import DISCOUNT_PERCENT, DealRow, parse_row
from crm1c.domain.money.numbers import ZERO, kopecks, plain
from crm1c.domain.money.units import UnitTable, crm_measure_code
from crm1c.domain.money.vat import VatTable

DocumentKind = Literal["invoice", "sale"]
HALF_KOPECK = Decimal("0.005")
ITEM_TYPE = "StandardODATA.Catalog_Номенклатура"
NO_VAT = "БезНДС"


@dataclass(frozen=True, slots=True)
class OnecItem:
    """What a document needs of a 1C item (``Catalog_Номенклатура``), as the item resolver gives it."""

    ref_key: str
    is_service: bool
    unit_code: str | None = None  # ОКЕИ code of its unit ("796")
    unit_key: str | None = None  # ЕдиницаИзмерения_Key


#: ``PRODUCT_ID`` → the synced 1C item, or ``None`` when it is not synced yet.
ItemResolver = Callable[[str], OnecItem | None]


@dataclass(frozen=True, slots=True)
class DocumentRow:
    """One complete row of ``Товары`` or ``Услуги`` (the sale has no discount: percent ``None``, amount 0)."""

    line_number: int
    item_key: str
    is_service: bool
    quantity: Decimal
    price: Decimal
    amount: Decimal  # Сумма (the invoice: before discount)
    vat_rate: str
    vat_amount: Decimal
    discount_percent: Decimal | None
    discount_amount: Decimal
    unit_code: str | None
    unit_key: str | None
    content: str  # the deal row's product name (Содержание of a service)
    deal_line: int

    def odata(self, kind: DocumentKind, section: str) -> dict[str, Any]:
        """The row as 1C's OData takes it (``Decimal`` values: the client serialises them)."""
        item = {"Номенклатура": self.item_key, "Номенклатура_Type": ITEM_TYPE}
        row: dict[str, Any] = {"LineNumber": self.line_number}
        row |= item if kind == "invoice" else {"Номенклатура_Key": self.item_key}
        row |= {"Количество": self.quantity, "Цена": self.price, "Сумма": self.amount}
        row |= {"СтавкаНДС": self.vat_rate, "СуммаНДС": self.vat_amount}
        if kind == "invoice":
            row |= {"ПроцентСкидки": self.discount_percent, "СуммаСкидки": self.discount_amount}
        if section == "Товары" and kind == "sale":
            row |= {"ЕдиницаИзмерения_Key": self.unit_key, "Коэффициент": 1}
        if section == "Услуги":
            row["Содержание"] = self.content  # a service's printed text; goods print the 1C item's name
        return {k: v for k, v in row.items() if v is not None}


@dataclass(frozen=True, slots=True)
class DealDocument:
    """The 1C document a deal's rows make, with what to tell people (``notes``)."""

    kind: DocumentKind
    date: date
    includes_vat: bool  # СуммаВключаетНДС
    operation: str  # ВидОперации
    goods: tuple[DocumentRow, ...]  # Товары
    services: tuple[DocumentRow, ...]  # Услуги
    total: Decimal  # СуммаДокумента
    deal_total: Decimal  # Σ round(PRICE × QUANTITY)
    rounding_bound: Decimal  # |total − deal_total| never exceeds it
    notes: tuple[Issue, ...]

    @property
    def rows(self) -> tuple[DocumentRow, ...]:
        return self.goods + self.services

    def header(self) -> dict[str, Any]:
        """The header fields these rows decide (1C recomputes ``СуммаДокумента`` itself; sent to match)."""
        head: dict[str, Any] = {"ВидОперации": self.operation, "СуммаВключаетНДС": self.includes_vat}
        head |= {"ДокументБезНДС": all(r.vat_rate == NO_VAT for r in self.rows), "СуммаДокумента": self.total}
        if self.kind == "invoice":
            head["СуммаСкидки"] = sum((r.discount_amount for r in self.rows), ZERO)
        return head

    def tables(self) -> dict[str, list[dict[str, Any]]]:
        """``Товары`` (and for the sale ``Услуги``) as OData rows."""
        tables = {"Товары": [r.odata(self.kind, "Товары") for r in self.goods]}
        if self.kind == "sale":
            tables["Услуги"] = [r.odata(self.kind, "Услуги") for r in self.services]
        return tables


@dataclass(frozen=True, slots=True)
class Conversion:
    """``document`` when the deal can go, else ``None`` and the ``issues`` that hold it."""

    document: DealDocument | None
    issues: tuple[Issue, ...]


def deal_document(
    deal_id: str,
    rows: Sequence[Mapping[str, Any]],
    kind: DocumentKind,
    on: date,
    resolve: ItemResolver,
    vat: VatTable,
    units: UnitTable,
) -> Conversion:
    """The ``kind`` document dated ``on`` for deal ``deal_id``'s product rows (see the module docstring)."""
    issues: list[Issue] = []
    parsed = [r for i, raw in enumerate(rows, 1) if (r := _parsed(deal_id, raw, i, issues))]
    if not rows:
        issues.append(_deal_issue(deal_id, "rows", "deal_no_rows", "нет товаров", "has no product rows"))
    includes_vat, notes = _vat_mode(deal_id, parsed)
    deal = _Deal(deal_id, kind, on, includes_vat, vat, units, notes)
    lines: list[DocumentRow] = []
    for row in parsed:
        try:
            lines.append(deal.line(row, _item(row, resolve)))
        except IssueError as exc:
            issues.append(_row_issue(deal_id, row, exc.issue))
    if issues:
        return Conversion(None, tuple(issues))
    return Conversion(deal.document(parsed, lines), ())


@dataclass(frozen=True, slots=True)
class _Deal:
    """What every row of one conversion shares; ``notes`` collects what to tell people."""

    deal_id: str
    kind: DocumentKind
    on: date
    includes_vat: bool
    vat: VatTable
    units: UnitTable
    notes: list[Issue]

    def line(self, row: DealRow, item: OnecItem) -> DocumentRow:
        """The complete document row of ``row`` (its ``line_number`` is set by :meth:`document`)."""
        unit = _unit(row, item, self.units)
        rate = self.vat.rate_for_crm(row.tax_rate, self.on)
        if not self.includes_vat:
            _check_net_price(row, self.vat.percent(rate))
        after = row_amount(row.price if self.includes_vat else row.price_exclusive, row.quantity)
        amount, discount, percent = after, ZERO, None
        if self.kind == "invoice":
            amount, discount, percent = _invoice_discount(row, self.includes_vat, after)
        if item.is_service != row.service:
            self.notes.append(_row_issue(self.deal_id, row, _type_note(item.is_service)))
        return DocumentRow(
            line_number=0,
            item_key=item.ref_key,
            is_service=item.is_service,
            quantity=row.quantity,
            price=row_price(amount, row.quantity),
            amount=amount,
            vat_rate=rate,
            vat_amount=vat_amount(amount - discount, self.vat.percent(rate), self.includes_vat),
            discount_percent=percent,
            discount_amount=discount,
            unit_code=unit,
            unit_key=item.unit_key,
            content=row.product_name,
            deal_line=row.line,
        )

    def document(self, parsed: Sequence[DealRow], lines: Sequence[DocumentRow]) -> DealDocument:
        """The document of the rows: tables, operation, total and the notes on it."""
        split = self.kind == "sale"
        goods = _numbered([r for r in lines if not (split and r.is_service)])
        services = _numbered([r for r in lines if split and r.is_service])
        operation = _sale_operation(bool(goods), bool(services)) if split else "ТоварыИУслуги"
        discounted = [r.line for r in parsed if r.has_discount]
        if split and discounted:
            self.notes.append(_discount_note(self.deal_id, discounted))
        total = document_total(goods + services, self.includes_vat)
        deal_total = sum((row_amount(r.price, r.quantity) for r in parsed), ZERO)
        bound = _rounding_bound(parsed, self.includes_vat, self.vat, self.on)
        if total != deal_total:
            self.notes.append(_rounding_note(self.deal_id, total, deal_total, bound))
        return DealDocument(
            self.kind, self.on, self.includes_vat, operation, goods, services, total, deal_total, bound,
            tuple(self.notes),
        )  # fmt: skip


def _parsed(deal_id: str, raw: Mapping[str, Any], line: int, issues: list[Issue]) -> DealRow | None:
    try:
        return parse_row(raw, line)
    except IssueError as exc:
        name = str(raw.get("PRODUCT_NAME") or "—")
        product = str(raw.get("PRODUCT_ID") or "—")
        label = (f"строка {line} («{name}», товар {product})", f"row {line} ('{name}', product {product})")
        issues.append(_labelled(deal_id, f"rows.{line}", label, exc.issue))
        return None


def _vat_mode(deal_id: str, rows: Sequence[DealRow]) -> tuple[bool, list[Issue]]:
    """Whether the document includes VAT, and a note when rows had to be brought to that mode."""
    deciding = [r for r in rows if r.taxed] or list(rows)
    on_top = [r.line for r in deciding if not r.tax_included]
    if deciding and len(on_top) == len(deciding):
        return False, []
    if not on_top:
        return True, []
    lines = ", ".join(map(str, on_top))
    ru = (
        f"строки {lines} с НДС сверху (TAX_INCLUDED = N), остальные с НДС в цене: документ выписан с НДС "
        f"в сумме (СуммаВключаетНДС = да), цена этих строк — PRICE (с НДС)"
    )
    en = (
        f"rows {lines} have VAT on top (TAX_INCLUDED = N), the others VAT in the price: the document "
        f"includes VAT (СуммаВключаетНДС = true), those rows priced from PRICE (VAT included)"
    )
    return True, [_deal_issue(deal_id, "rows", "vat_mode_mixed", ru, en)]


def _invoice_discount(row: DealRow, includes_vat: bool, after: Decimal) -> tuple[Decimal, Decimal, Decimal]:
    """``Сумма`` before discount, ``СуммаСкидки`` (so that their difference is ``after``) and the percent."""
    if not row.has_discount:
        return after, ZERO, ZERO
    listed = row.price_brutto if includes_vat else row.price_netto
    amount = max(row_amount(listed, row.quantity), after)
    discount = amount - after
    if row.discount_type == DISCOUNT_PERCENT:
        return amount, discount, row.discount_rate
    return amount, discount, kopecks(discount * HUNDRED / amount) if amount else ZERO


def _check_net_price(row: DealRow, percent: Decimal) -> None:
    """``PRICE_EXCLUSIVE`` must be ``PRICE / (1 + t)`` rounded to the kopeck, as Bitrix24 computes it."""
    with_tax = 1 + percent / HUNDRED
    if abs(row.price_exclusive * with_tax - row.price) > HALF_KOPECK * with_tax:
        raise IssueError(
            Issue(
                "PRICE_EXCLUSIVE",
                "net_price_mismatch",
                f"PRICE_EXCLUSIVE {row.price_exclusive} — не PRICE {row.price} без НДС {plain(percent)}%",
                f"PRICE_EXCLUSIVE {row.price_exclusive} is not PRICE {row.price} less {plain(percent)}% VAT",
            )
        )


def _item(row: DealRow, resolve: ItemResolver) -> OnecItem:
    item = resolve(row.product_id) if row.product_id not in ("", "0") else None
    if item is None:
        raise IssueError(
            Issue(
                "PRODUCT_ID",
                "item_not_synced",
                "товар не связан с номенклатурой 1С (ещё не выгружен или не из каталога)",
                "the product is not linked to a 1C item (not synced yet, or not a catalog product)",
            )
        )
    return item


def _unit(row: DealRow, item: OnecItem, units: UnitTable) -> str | None:
    if row.unit_code and row.unit_code not in units.units:
        code = f"MEASURE_CODE {crm_measure_code(row.unit_code)} (ОКЕИ {row.unit_code})"
        raise IssueError(
            Issue(
                "MEASURE_CODE",
                "unit_unknown",
                f"единица строки {code} не задана в units.yaml: единица не угадывается, добавьте её туда",
                f"the row's unit {code} is not in units.yaml: a unit is not guessed, add it there",
            )
        )
    if row.unit_code and item.unit_code and row.unit_code != item.unit_code:
        raise IssueError(
            Issue(
                "MEASURE_CODE",
                "unit_mismatch",
                f"единица строки (ОКЕИ {row.unit_code}) не совпадает с единицей номенклатуры в 1С "
                f"(ОКЕИ {item.unit_code}): количество пересчитать нельзя",
                f"the row's unit (ОКЕИ {row.unit_code}) differs from the 1C item's (ОКЕИ {item.unit_code})",
            )
        )
    return row.unit_code or item.unit_code


def _numbered(rows: Sequence[DocumentRow]) -> tuple[DocumentRow, ...]:
    """``LineNumber`` 1, 2, … within one table."""
    return tuple(replace(row, line_number=i) for i, row in enumerate(rows, 1))


def _sale_operation(goods: bool, services: bool) -> str:
    if goods and services:
        return "ПродажаКомиссия"
    return "Услуги" if services else "Товары"


def _rounding_bound(rows: Sequence[DealRow], includes_vat: bool, vat: VatTable, on: date) -> Decimal:
    """How far per-row rounding can move ``СуммаДокумента`` from Σ round(PRICE × QUANTITY) (see above)."""
    bound = ZERO
    if not includes_vat:
        for row in rows:
            share = vat.percent(vat.rate_for_crm(row.tax_rate, on)) / HUNDRED
            drift = abs(row.price_exclusive * (1 + share) - row.price) * row.quantity
            bound += drift + HALF_KOPECK * (3 + share)
    return bound


def _rounding_note(deal_id: str, total: Decimal, deal_total: Decimal, bound: Decimal) -> Issue:
    diff = plain(total - deal_total)
    return _deal_issue(
        deal_id,
        "total",
        "total_rounding",
        f"сумма документа {total} отличается от суммы сделки {deal_total} на {diff} из-за округления по "
        f"строкам, как в 1С (допустимо до {plain(kopecks(bound))})",
        f"document total {total} differs from the deal's {deal_total} by {diff}: 1C rounds each row "
        f"(up to {plain(kopecks(bound))} is possible)",
    )


def _discount_note(deal_id: str, lines: Sequence[int]) -> Issue:
    shown = ", ".join(map(str, lines))
    return _deal_issue(
        deal_id,
        "rows",
        "discount_in_price",
        f"в реализации нет колонки скидки: скидка строк {shown} вошла в цену",
        f"the sale has no discount column: the discount of rows {shown} is in the price",
    )


def _type_note(is_service: bool) -> Issue:
    kind_ru, kind_en = ("услуга", "a service") if is_service else ("товар", "goods")
    return Issue(
        "TYPE",
        "item_type_differs",
        f"в 1С номенклатура — {kind_ru}, в Битрикс24 тип строки другой: решает 1С",
        f"the 1C item is {kind_en}, the Bitrix24 row type says otherwise: 1C decides",
    )


def _deal_issue(deal_id: str, field: str, code: str, ru: str, en: str) -> Issue:
    return Issue(field, code, f"Сделка {deal_id}: {ru}", f"Deal {deal_id}: {en}")


def _row_issue(deal_id: str, row: DealRow, issue: Issue) -> Issue:
    return _labelled(deal_id, f"rows.{row.line}.{issue.field}", row.label, issue)


def _labelled(deal_id: str, field: str, label: tuple[str, str], issue: Issue) -> Issue:
    ru = f"Сделка {deal_id}, {label[0]}: {issue.reason_ru}"
    return Issue(field, issue.code, ru, f"Deal {deal_id}, {label[1]}: {issue.reason_en}")
