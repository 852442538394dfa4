"""Seed data of the 1C side only: price types and prices, the demo's 1C-only nomenclature cases, daily rates.

* ``Catalog_ТипыЦенНоменклатуры``: «Основная цена продажи» (RUB, price includes VAT) and «Оптовая цена».
* ``InformationRegister_ЦеныНоменклатуры`` (periodic, day): every seeded item has a base price; the current
  one (``SliceLast`` today) is the item's price in the dataset. In the demo every third item got it on
  01.06.2026, having cost 10 % less from 01.01.2025 (a price change dated this year); goods also have a
  wholesale price (90 %); one imported item is priced in USD.
* The demo's 1C-only items (:data:`DEMO_ITEMS`, never in the CRM dataset): folders «Товары» and «Услуги»
  holding all items, goods and services of every VAT kind (Общая, Пониженная, Нулевая, БезНДС), an item whose
  VAT kind changed by date (``ИсторияВидаСтавкиНДС``), a deletion-marked item, a ~600-character full name,
  names with quotes (" and '), the USD-priced item.
* Daily rates: between the dataset's rates of a currency, one row per working day, interpolated linearly (the
  dataset's own rates are kept exactly). Nothing before the first rate (01.12.2025 in the demo): a document
  dated earlier has no rate.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from contour.dataset import CurrencyRate, Product

BASE_PRICE = "Основная цена продажи"
WHOLESALE_PRICE = "Оптовая цена"
PRICE_TYPES = [(BASE_PRICE, "000000001"), (WHOLESALE_PRICE, "000000002")]
FIRST_PRICE_DAY = dt.date(2025, 1, 1)
PRICE_CHANGE_DAY = dt.date(2026, 6, 1)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Item:
    """A 1C-only demo item: ``folder`` is the key of its folder item (or ``None`` for a folder at the top)."""

    key: str
    name: str
    article: str = ""
    okei: str = "796"
    service: bool = False
    vat_kind: str = "Общая"
    price: Decimal = Decimal(0)
    currency: str = "RUB"
    folder: str | None = None
    is_folder: bool = False
    deleted: bool = False
    full_name: str = ""
    history: tuple[tuple[str, str], ...] = ()  # (period YYYY-MM-DD, kind), oldest first


LONG_FULL_NAME = (
    "Комплекс программно-аппаратный для автоматизации учёта, контроля и анализа потребления энергоресурсов "
    "на объектах промышленной и коммерческой недвижимости в составе: сервер сбора и обработки данных в "
    "стоечном исполнении 2U с двумя блоками питания, шлюзы сбора данных по интерфейсам RS-485, M-Bus и "
    "LoRaWAN (12 шт.), счётчики электрической энергии трёхфазные многотарифные (48 шт.), преобразователи "
    "интерфейсов, шкаф телекоммуникационный напольный 42U с комплектом монтажных принадлежностей, "
    "программное обеспечение верхнего уровня с бессрочной лицензией на 500 точек учёта, комплект "
    "эксплуатационной документации и паспорта на оборудование"
)
DEMO_ITEMS = [
    Item("folder-goods", "Товары", is_folder=True),
    Item("folder-services", "Услуги", is_folder=True),
    Item(
        "x-export",
        "Станок фрезерный (поставка на экспорт)",
        "VP-EXP-01",
        vat_kind="Нулевая",
        price=Decimal("1250000.00"),
        folder="folder-goods",
    ),
    Item(
        "x-freight",
        "Международная перевозка груза",
        "VP-INT-TR",
        "642",
        True,
        "Нулевая",
        Decimal("85000.00"),
        folder="folder-services",
    ),
    Item(
        "x-books",
        "Учебник «Основы бухгалтерского учёта»",
        "VP-BOOK-01",
        vat_kind="Пониженная",
        price=Decimal("890.00"),
        folder="folder-goods",
        history=(("0001-01-01", "Общая"), ("2025-07-01", "Пониженная")),
    ),
    Item(
        "x-consult",
        "Консультация бухгалтера (ИП на УСН)",
        "VP-CONS",
        "356",
        True,
        "БезНДС",
        Decimal("2500.00"),
        folder="folder-services",
    ),
    Item(
        "x-fax",
        "Факс Panasonic KX-FT982 (снят с продажи)",
        "VP-FAX-01",
        price=Decimal("7990.00"),
        folder="folder-goods",
        deleted=True,
    ),
    Item(
        "x-long",
        "Комплекс учёта энергоресурсов «Энергия-500»",
        "VP-ENERGY",
        price=Decimal("2450000.00"),
        folder="folder-goods",
        full_name=LONG_FULL_NAME,
    ),
    Item(
        "x-quotes",
        'Кабель "Витая пара" 5e, бухта 305 м',
        "VP-UTP5E",
        price=Decimal("6890.00"),
        folder="folder-goods",
    ),
    Item(
        "x-apostrophe",
        "Кофе O'Brien's в зёрнах, 1 кг",
        "VP-COF-01",
        "166",
        vat_kind="Пониженная",
        price=Decimal("1590.00"),
        folder="folder-goods",
    ),
    Item(
        "x-server",
        "Сервер Dell PowerEdge R760 (импорт)",
        "VP-SRV-760",
        price=Decimal("8500.00"),
        currency="USD",
        folder="folder-goods",
    ),
]


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def price_points(product: Product | Item, index: int, demo: bool) -> list[tuple[str, dt.date, Decimal, str]]:
    """(price type, period, price, currency letter code) of one item, oldest first."""
    currency = product.currency if isinstance(product, Item) else "RUB"
    points = []
    if demo and index % 3 == 0:
        points.append((BASE_PRICE, FIRST_PRICE_DAY, money(product.price * Decimal("0.9")), currency))
        points.append((BASE_PRICE, PRICE_CHANGE_DAY, product.price, currency))
    else:
        points.append((BASE_PRICE, FIRST_PRICE_DAY, product.price, currency))
    service = product.service if isinstance(product, Item) else product.is_service
    if demo and not service:
        points.append((WHOLESALE_PRICE, FIRST_PRICE_DAY, money(product.price * Decimal("0.9")), currency))
    return points


def daily_rates(rates: list[CurrencyRate]) -> list[CurrencyRate]:
    """One rate per working day between a currency's given rates (those kept exactly), in date order."""
    out: list[CurrencyRate] = []
    for currency in sorted({r.currency for r in rates}):
        given = sorted((r for r in rates if r.currency == currency), key=lambda r: r.date)
        for a, b in itertools.pairwise(given):
            out.append(a)
            span = (b.date - a.date).days
            for i in range(1, span):
                day = a.date + dt.timedelta(days=i)
                if day.weekday() < 5:
                    rate = a.rate + (b.rate - a.rate) * Decimal(i) / Decimal(span)
                    out.append(CurrencyRate(currency, day, rate.quantize(Decimal("0.0001")), a.multiplier))
        out.extend(given[-1:])
    return sorted(out, key=lambda r: (r.date, r.currency))
