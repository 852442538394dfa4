"""Posting rules: what a posted document writes to AccountingRegister_Хозрасчетный (domain.md §4).

Rules and rates are data (``ACCOUNTS``, ``GENERAL_RATE``, ``RATE_PERCENT``). A rule reads the document as
stored (amounts are never recomputed) and a :class:`Ledger` for balances of the counterparty, and returns
register rows ``(row, subconto)``; the subconto stay out of the row, as in real 1C, and feed
RecordsWithExtDimensions/Balance.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

from contour.onec.schema import NS, SETS, ZERO_GUID

CENT = Decimal("0.01")

ACCOUNTS = {
    "bank": "51",
    "receivable": "62.01",
    "advances": "62.02",
    "revenue": "90.01.1",
    "sales_vat": "90.03",
    "vat": "68.02",
    "advance_vat": "76.АВ",
}
TAX_ACCOUNTED = {"62.01", "62.02", "90.01.1", "60.01", "60.02"}  # НалоговыйУчет flag → СуммаНУ filled
GENERAL_RATE = [(dt.date(2026, 1, 1), Decimal(22)), (dt.date(1, 1, 1), Decimal(20))]  # newest first
RATE_PERCENT = {
    "НДС22": 22,
    "НДС22_122": 22,
    "НДС20": 20,
    "НДС20_120": 20,
    "НДС18": 18,
    "НДС18_118": 18,
    "НДС10": 10,
    "НДС10_110": 10,
    "НДС7": 7,
    "НДС7_107": 7,
    "НДС5": 5,
    "НДС5_105": 5,
    "НДС0": 0,
    "БезНДС": 0,
    "": 0,
}
COUNTERPARTY_TYPE = f"{NS}.Catalog_Контрагенты"
MISMATCH = "Не совпадают сумма документа и ее расшифровка"  # BP's check of a payment's allocation rows
CONTRACT_TYPE = f"{NS}.Catalog_ДоговорыКонтрагентов"


class PostingError(Exception):
    """The document cannot be posted (1C: exception in ОбработкаПроведения → HTTP 500, code -1)."""


class Ledger(Protocol):
    def account(self, code: str) -> str: ...  # Ref_Key of the account with this Code

    def balance(self, code: str, counterparty: str, until: str, exclude: str) -> Decimal: ...  # Dr − Cr


def money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT, rounding=ROUND_HALF_UP)


def general_rate(on: str) -> Decimal:
    day = dt.date.fromisoformat(on[:10])
    return next(rate for start, rate in GENERAL_RATE if day >= start)


class _Entries:
    """Collects the rows of one recorder."""

    def __init__(self, doc: dict[str, Any], set_name: str, ledger: Ledger):
        self.doc, self.set_name, self.ledger = doc, set_name, ledger
        self.rows: list[tuple[dict[str, Any], dict[str, Any]]] = []

    def add(
        self, dr: str, cr: str, amount: Decimal, text: str, dr_ext: tuple = (), cr_ext: tuple = ()
    ) -> None:
        if amount == 0:
            return
        row = {p.name: p.empty() for p in SETS["AccountingRegister_Хозрасчетный_RecordType"].props}
        row.update(
            {
                "Recorder": self.doc["Ref_Key"],
                "Recorder_Type": f"{NS}.{self.set_name}",
                "Period": self.doc["Date"],
                "LineNumber": len(self.rows) + 1,
                "Active": True,
                "AccountDr_Key": self.ledger.account(dr),
                "AccountCr_Key": self.ledger.account(cr),
                "Организация_Key": self.doc.get("Организация_Key", ZERO_GUID),
                "Сумма": float(amount),
                "Содержание": text,
                "СуммаНУDr": float(amount) if dr in TAX_ACCOUNTED else 0,
                "СуммаНУCr": float(amount) if cr in TAX_ACCOUNTED else 0,
            }
        )
        ext: dict[str, Any] = {}
        for side, values in (("Dr", dr_ext), ("Cr", cr_ext)):
            for i, (value, type_name) in enumerate(values, start=1):
                ext[f"ExtDimension{side}{i}"] = value
                ext[f"ExtDimension{side}{i}_Type"] = type_name
        self.rows.append((row, ext))

    def balance(self, code: str, counterparty: str) -> Decimal:
        return self.ledger.balance(code, counterparty, self.doc["Date"], self.doc["Ref_Key"])


def _sale(doc: dict[str, Any], e: _Entries) -> None:
    a = ACCOUNTS
    cp, contract = doc.get("Контрагент_Key", ZERO_GUID), doc.get("ДоговорКонтрагента_Key", ZERO_GUID)
    if cp == ZERO_GUID:
        raise PostingError('Не заполнено поле "Контрагент"')
    party = ((cp, COUNTERPARTY_TYPE), (contract, CONTRACT_TYPE))
    included = bool(doc.get("СуммаВключаетНДС"))
    groups: dict[str, list[Decimal]] = {}
    for section in ("Товары", "Услуги"):
        for row in doc.get(section) or []:
            rate = row.get("СтавкаНДС") or "БезНДС"
            amount, vat = money(row.get("Сумма")), money(row.get("СуммаНДС"))
            gross_vat = groups.setdefault(rate, [Decimal(0), Decimal(0)])
            gross_vat[0] += amount if included else amount + vat
            gross_vat[1] += vat
    if not groups:
        raise PostingError('Не заполнена табличная часть "Товары" или "Услуги"')
    gross_total = sum((g for g, _ in groups.values()), Decimal(0))
    for rate, (gross, vat) in groups.items():
        rate_ext = (ZERO_GUID, f"{NS}.Catalog_НоменклатурныеГруппы"), (rate, f"{NS}.СтавкиНДС")
        e.add(a["receivable"], a["revenue"], gross, "Реализация товаров и услуг", party, rate_ext)
        e.add(a["sales_vat"], a["vat"], vat, "НДС с реализации", rate_ext)
    if doc.get("СпособЗачетаАвансов") == "НеЗачитывать":
        return
    advance = -e.balance(a["advances"], cp)
    if advance <= 0:
        return
    offset = min(advance, gross_total)
    e.add(a["advances"], a["receivable"], offset, "Зачет аванса", party, party)
    advance_vat = e.balance(a["advance_vat"], cp)
    if advance_vat > 0:
        reversal = min(advance_vat, (advance_vat * offset / advance).quantize(CENT, rounding=ROUND_HALF_UP))
        e.add(
            a["vat"],
            a["advance_vat"],
            reversal,
            "Восстановление НДС с аванса",
            (),
            ((cp, COUNTERPARTY_TYPE),),
        )


def _receipt(doc: dict[str, Any], e: _Entries) -> None:
    if doc.get("ВидОперации") != "ОплатаПокупателя":
        return
    a = ACCOUNTS
    cp = str(doc.get("Контрагент") or "")
    if doc.get("Контрагент_Type") != COUNTERPARTY_TYPE or not cp or cp == ZERO_GUID:
        raise PostingError('Не заполнено поле "Контрагент"')
    bank = ((doc.get("СчетОрганизации_Key", ZERO_GUID), f"{NS}.Catalog_БанковскиеСчета"),)
    rows = list(doc.get("РасшифровкаПлатежа") or [])
    allocated = sum((money(r.get("СуммаПлатежа")) for r in rows), Decimal(0))
    if allocated != money(doc.get("СуммаДокумента")):
        raise PostingError(MISMATCH)
    debt = max(e.balance(a["receivable"], cp), Decimal(0))
    advance_total = Decimal(0)
    for row in rows:
        amount = money(row.get("СуммаПлатежа"))
        party = ((cp, COUNTERPARTY_TYPE), (row.get("ДоговорКонтрагента_Key") or ZERO_GUID, CONTRACT_TYPE))
        pay = Decimal(0) if row.get("СпособПогашенияЗадолженности") == "НеПогашать" else min(amount, debt)
        debt -= pay
        e.add(a["bank"], a["receivable"], pay, "Оплата от покупателя", bank, party)
        e.add(a["bank"], a["advances"], amount - pay, "Аванс от покупателя", bank, party)
        advance_total += amount - pay
    rated = [r for r in rows if r.get("СтавкаНДС")]
    if advance_total > 0 and not (rated and all(r["СтавкаНДС"] == "БезНДС" for r in rated)):
        rate = general_rate(doc["Date"])
        vat = (advance_total * rate / (100 + rate)).quantize(CENT, rounding=ROUND_HALF_UP)
        e.add(a["advance_vat"], a["vat"], vat, "НДС с авансов", ((cp, COUNTERPARTY_TYPE),))


RULES: dict[str, Callable[[dict[str, Any], _Entries], None]] = {
    "Document_РеализацияТоваровУслуг": _sale,
    "Document_ПоступлениеНаРасчетныйСчет": _receipt,
    "Document_СчетНаОплатуПокупателю": lambda doc, e: None,  # an invoice posts no accounting entries
}


def post(set_name: str, doc: dict[str, Any], ledger: Ledger) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The register rows of a posted document (raises :class:`PostingError`)."""
    if set_name not in RULES:
        raise PostingError(f"Документ {set_name} не проводится")
    entries = _Entries(doc, set_name, ledger)
    RULES[set_name](doc, entries)
    return entries.rows
