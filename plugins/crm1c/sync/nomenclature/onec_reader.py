"""Nomenclature from 1C: goods and services of ``Catalog_Номенклатура`` (no folders) with their current price.

The price of the configured type lives in the register ``InformationRegister_ЦеныНоменклатуры``, not on the
item, so a price change leaves the item's ``DataVersion`` alone: each run reads the price slice for the run
date once (one request) and the version staging keeps for an item covers its ``DataVersion``, its price and
the VAT period in force, so a new price or a new VAT rate (1 January 2026) re-reads exactly the items
concerned. Units and currencies are read once per run too (small catalogs).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any

from crm1c.clients.odata_filter import F, guid
from crm1c.domain.money import currency as currencies
from crm1c.domain.money import vat
from crm1c.domain.money.numbers import exact
from crm1c.domain.product import Product, vat_text
from crm1c.staging import SeenInput
from crm1c.sync.nomenclature.records import product_seen
from crm1c.sync.runtime import SyncEnv

UNITS = "Catalog_КлассификаторЕдиницИзмерения"
CURRENCIES = "Catalog_Валюты"
PRICE_TYPES = "Catalog_ТипыЦенНоменклатуры"
PRICES = "InformationRegister_ЦеныНоменклатуры"
SELECT = [
    "Ref_Key",
    "DataVersion",
    "DeletionMark",
    "Code",
    "Description",
    "Артикул",
    "Услуга",
    "ЕдиницаИзмерения_Key",
    "ВидСтавкиНДС",
    "ИсторияВидаСтавкиНДС",
]


class PriceTypeMissing(RuntimeError):
    """The mapping names a 1C price type the infobase does not have: the run stops, saying which."""


@dataclass(frozen=True)
class Prices:
    """What a run reads besides the items: the run date, units, and the current price of each item."""

    today: date
    vat_period: str
    includes_vat: bool
    units: dict[str, str]  # unit Ref_Key → ОКЕИ code
    prices: dict[str, tuple[Any, str]]  # item Ref_Key → (price as 1C sent it, 1C currency code, e.g. "643")
    vat_table: vat.VatTable
    currency_table: currencies.CurrencyTable


def read_prices(env: SyncEnv) -> Prices:
    """Units, currencies, the price type and its price slice on the run date: four requests."""
    onec, today = env.onec, env.today()
    table = vat.load_vat_table()
    units = {str(r["Ref_Key"]): str(r["Code"]).strip() for r in onec.list_all(UNITS, ["Ref_Key", "Code"])}
    money = {
        str(r["Ref_Key"]): str(r["Code"]).strip() for r in onec.list_all(CURRENCIES, ["Ref_Key", "Code"])
    }
    name = env.mapping.price_type
    kinds = onec.list_all(PRICE_TYPES, ["Ref_Key", "ЦенаВключаетНДС"], F("Description") == name)
    if not kinds:
        raise PriceTypeMissing(
            f"В 1С нет вида цен «{name}» (nomenclature.yaml, price_type) / "
            f"1C has no price type {name!r} (nomenclature.yaml, price_type)"
        )
    condition = F("ТипЦен_Key") == guid(kinds[0]["Ref_Key"])
    rows = onec.slice_last(PRICES, today, condition, ["Номенклатура_Key", "Цена", "Валюта_Key"])
    prices = {
        str(r["Номенклатура_Key"]): (r.get("Цена"), money.get(str(r.get("Валюта_Key")), "")) for r in rows
    }
    # the rates every VAT kind has on the run date: it changes exactly when a rule of vat.yaml starts
    vat_period = ",".join(table.rate_for_kind(kind, today) for kind in sorted(table.kinds))
    includes_vat = bool(kinds[0].get("ЦенаВключаетНДС", True))
    return Prices(today, vat_period, includes_vat, units, prices, table, currencies.load_currency_table())


def version(prices: Prices, row: dict) -> str:
    """An item's version: its ``DataVersion``, its price and the VAT period of the run date."""
    price, currency = prices.prices.get(str(row["Ref_Key"]), (None, None))
    return f"{row.get('DataVersion')}|{price}|{currency}|{prices.vat_period}"


def item_seen(env: SyncEnv, rows: list[dict], prices: Prices) -> list[SeenInput]:
    return [product_seen(row, version(prices, row), partial(_product, row, prices)) for row in rows]


def _product(row: dict, prices: Prices) -> Product:
    """The canonical item; a VAT kind or currency the reference data lacks raises
    :class:`~crm1c.domain.issues.IssueError` (the item is held with the reason)."""
    ref = str(row["Ref_Key"])
    price, currency = prices.prices.get(ref, (None, None))
    history = [vat.KindChange.from_odata(h) for h in row.get("ИсторияВидаСтавкиНДС") or []]
    table = prices.vat_table
    rate = table.rate_for_item(str(row.get("ВидСтавкиНДС") or ""), history, prices.today)
    return Product(
        name=(row.get("Description") or "").strip() or None,
        sku=(row.get("Артикул") or "").strip() or (row.get("Code") or "").strip() or None,
        service=bool(row.get("Услуга")),
        unit=prices.units.get(str(row.get("ЕдиницаИзмерения_Key"))),
        vat=vat_text(table.crm_tax_rate(rate)),
        price=None if price is None else exact(price),  # read per item: a bad price holds only its item
        currency=prices.currency_table.crm_code(currency) if currency else None,
        price_includes_vat=prices.includes_vat,
        active=not row.get("DeletionMark"),
        onec_ref=ref,
    )
