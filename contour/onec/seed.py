"""Fill the 1C emulator's state from a :class:`contour.dataset.Dataset` (wipes it first).

Ids are deterministic (``uuid5`` of a stable key, laid out as a version-1 GUID like 1C's), so re-seeding gives
the same Ref_Keys. Posted documents are posted here with the same rules as ``/Post``, in date order, with an
in-memory ledger so that 100k documents seed in one pass and one transaction.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

from contour.dataset import Company, Dataset, DealRow, Payment, SalesDocument
from contour.onec import nomenclature, posting, prohibition
from contour.onec.schema import NS, SETS, ZERO_GUID
from contour.onec.storage import (
    DB_NAME,
    RECORD_INSERT,
    SCHEMA,
    connect,
    data_version,
    dumps,
    ensure_schema,
    index_columns,
    record_params,
)
from contour.onec.users import DEFAULT_USERS
from contour.onec.writes import defaults

_NAMESPACE = uuid.UUID("6f1c0e2a-1c00-4a11-8000-000000000001")
CURRENCIES = [
    ("643", "RUB", "руб.", "Российский рубль"),
    ("840", "USD", "USD", "Доллар США"),
    ("978", "EUR", "EUR", "Евро"),
]
UNITS = [
    ("796", "шт", "Штука"),
    ("166", "кг", "Килограмм"),
    ("006", "м", "Метр"),
    ("112", "л", "Литр"),
    ("055", "м2", "Квадратный метр"),
    ("356", "ч", "Час"),
    ("642", "ед", "Единица"),
]
# code, PredefinedDataName, description, type, parent
ACCOUNTS = [
    ("51", "РасчетныеСчета", "Расчетные счета", "Active", None),
    (
        "60",
        "РасчетыСПоставщикамиИПодрядчиками",
        "Расчеты с поставщиками и подрядчиками",
        "ActivePassive",
        None,
    ),
    ("60.01", "РасчетыСПоставщиками", "Расчеты с поставщиками и подрядчиками", "Passive", "60"),
    ("60.02", "РасчетыПоАвансамВыданным", "Расчеты по авансам выданным", "Active", "60"),
    ("62", "РасчетыСПокупателямиИЗаказчиками", "Расчеты с покупателями и заказчиками", "ActivePassive", None),
    ("62.01", "РасчетыСПокупателями", "Расчеты с покупателями и заказчиками", "Active", "62"),
    ("62.02", "РасчетыПоАвансамПолученным", "Расчеты по авансам полученным", "Passive", "62"),
    ("68", "РасчетыПоНалогамИСборам", "Расчеты по налогам и сборам", "ActivePassive", None),
    ("68.02", "НДС", "Налог на добавленную стоимость", "ActivePassive", "68"),
    (
        "76",
        "РасчетыСРазнымиДебиторамиИКредиторами",
        "Расчеты с разными дебиторами и кредиторами",
        "ActivePassive",
        None,
    ),
    ("76.АВ", "НДСпоАвансамИПредоплатам", "НДС по авансам и предоплатам", "Active", "76"),
    ("90", "Продажи", "Продажи", "ActivePassive", None),
    ("90.01", "Выручка", "Выручка", "Passive", "90"),
    (
        "90.01.1",
        "ВыручкаНеЕНВД",
        "Выручка по деятельности с основной системой налогообложения",
        "Passive",
        "90.01",
    ),
    ("90.02", "СебестоимостьПродаж", "Себестоимость продаж", "Active", "90"),
    (
        "90.02.1",
        "СебестоимостьПродажНеЕНВД",
        "Себестоимость продаж по деятельности с основной системой налогообложения",
        "Active",
        "90.02",
    ),
    ("90.03", "Продажи_НДС", "Налог на добавленную стоимость", "Active", "90"),
]
RATE_ENUM = {
    None: "БезНДС",
    22: "НДС22",
    20: "НДС20",
    18: "НДС18",
    10: "НДС10",
    7: "НДС7",
    5: "НДС5",
    0: "НДС0",
}
PRICES = "InformationRegister_ЦеныНоменклатуры"
TIMES = {"invoice": "T09:00:00", "sale": "T10:00:00", "payment": "T15:00:00"}


def ref(kind: str, key: str) -> str:
    """Deterministic Ref_Key for a seeded object (uuid5's hash, laid out as version 1)."""
    raw = bytearray(hashlib.sha1(_NAMESPACE.bytes + f"{kind}:{key}".encode()).digest()[:16])  # noqa: S324
    raw[6] = (raw[6] & 0x0F) | 0x10
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def register_ref(set_name: str, data: dict[str, Any]) -> str:
    """The stored key of an information-register row: its key values as JSON."""
    return json.dumps([data[k] for k in SETS[set_name].keys], ensure_ascii=False)


def _money(value: Decimal) -> float:
    return float(value)


class _Builder:
    def __init__(self, data: Dataset):
        self.data = data
        self.rows: list[tuple[str, str, dict[str, Any]]] = []
        self.version = 1000
        self.companies = {c.key: c for c in data.companies if c.in_onec}
        self.products = {p.key: p for p in data.products}
        self.docs = {d.key: d for d in data.documents if d.company_key in self.companies}
        self.org = ref("organisation", data.organisation.inn)
        self.bank = ref("bank-account", data.organisation.bank_account)
        self.acc = {code: ref("account", code) for code, *_ in ACCOUNTS}
        self.price_lines: dict[str, int] = {}

    def add(self, set_name: str, values: dict[str, Any], key: str | None = None) -> dict[str, Any]:
        self.version += 1
        item = defaults(SETS[set_name]) | values | {"DataVersion": data_version(self.version)}
        self.rows.append((set_name, key or item["Ref_Key"], item))
        return item

    def references(self) -> None:
        for code, letter, short, full in CURRENCIES:
            self.add(
                "Catalog_Валюты",
                {
                    "Ref_Key": ref("currency", letter),
                    "Code": code,
                    "Description": short,
                    "НаименованиеПолное": full,
                    "СпособУстановкиКурса": "ЗагрузкаИзИнтернета",
                },
            )
        for code, short, full in UNITS:
            self.add(
                "Catalog_КлассификаторЕдиницИзмерения",
                {
                    "Ref_Key": ref("unit", code),
                    "Code": code,
                    "Description": short,
                    "НаименованиеПолное": full,
                },
            )
        for code, name, title, kind, parent in ACCOUNTS:
            self.add(
                "ChartOfAccounts_Хозрасчетный",
                {
                    "Ref_Key": self.acc[code],
                    "Code": code,
                    "Description": title,
                    "Order": code,
                    "Type": kind,
                    "Parent_Key": self.acc[parent] if parent else ZERO_GUID,
                    "Predefined": True,
                    "PredefinedDataName": name,
                    "НалоговыйУчет": code in posting.TAX_ACCOUNTED,
                },
            )
        o = self.data.organisation
        self.add(
            "Catalog_Организации",
            {
                "Ref_Key": self.org,
                "Code": "000000001",
                "Description": o.name,
                "НаименованиеПолное": o.full_name,
                "НаименованиеСокращенное": o.name,
                "ИНН": o.inn,
                "КПП": o.kpp,
                "ОГРН": o.ogrn,
                "Префикс": o.prefix,
                "ЮридическоеФизическоеЛицо": "ЮридическоеЛицо",
                "ОсновнойБанковскийСчет_Key": self.bank,
                "ГоловнаяОрганизация_Key": self.org,
            },
        )
        self.add(
            "Catalog_БанковскиеСчета",
            {
                "Ref_Key": self.bank,
                "Code": "000000001",
                "Description": f"{o.bank_account}, БИК {o.bank_bik}",
                "Owner": self.org,
                "Owner_Type": f"{NS}.Catalog_Организации",
                "НомерСчета": o.bank_account,
                "ВалютаДенежныхСредств_Key": ref("currency", "RUB"),
                "СчетБанк_Key": self.acc["51"],
            },
        )
        self.price_types()
        rates = nomenclature.daily_rates(self.data.rates) if self.demo else self.data.rates
        for rate in rates:
            row = {
                "Period": f"{rate.date.isoformat()}T00:00:00",
                "Валюта_Key": ref("currency", rate.currency),
                "Курс": float(rate.rate),
                "Кратность": rate.multiplier,
            }
            self.add(
                "InformationRegister_КурсыВалют", row, register_ref("InformationRegister_КурсыВалют", row)
            )
        date = self.data.prohibition_date
        common = prohibition.register_row(date.isoformat() if date else "")
        self.add(prohibition.REGISTER, common, register_ref(prohibition.REGISTER, common))
        for user in DEFAULT_USERS:
            self.add(
                "Catalog_Пользователи",
                {
                    "Ref_Key": ref("user", user["name"]),
                    "Description": user["name"],
                    "ИдентификаторПользователяИБ": ref("infobase-user", user["name"]),
                },
            )

    def company(self, code: int, c: Company) -> None:
        cref, contract = ref("company", c.key), ref("contract", c.key)
        head = ref("company", c.head_key) if c.kind == "branch" and c.head_key else cref
        contacts = [
            {"LineNumber": n, "Тип": t, "Представление": v, **extra}
            for n, (t, v, extra) in enumerate(
                [
                    x
                    for x in (
                        ("Телефон", c.phone, {"НомерТелефона": c.phone}),
                        ("АдресЭлектроннойПочты", c.email, {"АдресЭП": c.email}),
                    )
                    if x[1]
                ],
                start=1,
            )
        ]
        self.add(
            "Catalog_Контрагенты",
            {
                "Ref_Key": cref,
                "Code": f"{code:09d}",
                "Description": c.name[:100],
                "НаименованиеПолное": c.full_name,
                "ЮридическоеФизическоеЛицо": "ЮридическоеЛицо"
                if c.kind in ("legal", "branch")
                else "ФизическоеЛицо",
                "ИНН": c.inn,
                "КПП": c.kpp or "",
                "КодПоОКПО": c.okpo or "",
                "ГоловнойКонтрагент_Key": head,
                "ОбособленноеПодразделение": c.kind == "branch",
                "ИндивидуальныйПредприниматель": c.kind == "ip",
                "ОсновнойДоговорКонтрагента_Key": contract,
                "Комментарий": c.comment or "",
                "ИННВведенКорректно": True,
                "КППВведенКорректно": bool(c.kpp),
                "КонтактнаяИнформация": contacts,
            },
        )
        self.add(
            "Catalog_ДоговорыКонтрагентов",
            {
                "Ref_Key": contract,
                "Code": f"{code:09d}",
                "Description": "Основной договор",
                "Owner_Key": cref,
                "Организация_Key": self.org,
                "ВидДоговора": "СПокупателем",
                "ВалютаВзаиморасчетов_Key": ref("currency", "RUB"),
            },
        )

    @property
    def demo(self) -> bool:
        return self.data.profile == "demo"

    def products_(self) -> None:
        """The dataset's items, in the demo also the 1C-only cases and folders (:mod:`.nomenclature`)."""
        items = [
            nomenclature.Item(
                p.key,
                p.name,
                p.article,
                p.okei,
                p.is_service,
                p.vat_kind,
                p.price,
                folder="folder-services" if p.is_service else "folder-goods",
            )
            for p in self.data.products
        ]
        if self.demo:
            items += nomenclature.DEMO_ITEMS
        for code, item in enumerate(items, start=1):
            history = item.history or (("0001-01-01", item.vat_kind),)
            self.add(
                "Catalog_Номенклатура",
                {
                    "Ref_Key": ref("product", item.key),
                    "Code": f"{code:011d}",
                    "Description": item.name[:100],
                    "IsFolder": item.is_folder,
                    "DeletionMark": item.deleted,
                    "Parent_Key": ref("product", item.folder) if item.folder and self.demo else ZERO_GUID,
                }
                | (
                    {}
                    if item.is_folder
                    else {
                        "НаименованиеПолное": item.full_name or item.name,
                        "Артикул": item.article,
                        "Услуга": item.service,
                        "ЕдиницаИзмерения_Key": ref("unit", item.okei),
                        "ВидСтавкиНДС": item.vat_kind,
                        "ИсторияВидаСтавкиНДС": [
                            {"LineNumber": n, "Период": f"{day}T00:00:00", "ВидСтавкиНДС": kind}
                            for n, (day, kind) in enumerate(history, start=1)
                        ],
                    }
                ),
            )
            if not item.is_folder:
                self.prices(item, code)

    def price_types(self) -> None:
        for name, code in nomenclature.PRICE_TYPES:
            self.add(
                "Catalog_ТипыЦенНоменклатуры",
                {
                    "Ref_Key": ref("price-type", name),
                    "Code": code,
                    "Description": name,
                    "ВалютаЦены_Key": ref("currency", "RUB"),
                    "ЦенаВключаетНДС": True,
                    "ПорядокОкругления": "Окр0_01",
                },
            )

    def prices(self, item: nomenclature.Item, index: int) -> None:
        """The item's rows of InformationRegister_ЦеныНоменклатуры (one recorder per type and day)."""
        for kind, day, price, currency in nomenclature.price_points(item, index, self.demo):
            recorder = ref("price-setting", f"{kind}:{day.isoformat()}")
            line = self.price_lines[recorder] = self.price_lines.get(recorder, 0) + 1
            row = {
                "Recorder_Key": recorder,
                "Period": f"{day.isoformat()}T00:00:00",
                "LineNumber": line,
                "Active": True,
                "ТипЦен_Key": ref("price-type", kind),
                "Номенклатура_Key": ref("product", item.key),
                "Валюта_Key": ref("currency", currency),
                "Цена": _money(price),
            }
            self.add(PRICES, row, register_ref(PRICES, row))

    def _row(self, row: DealRow, n: int) -> dict[str, Any]:
        from contour.profiles import row_amounts

        amounts = row_amounts(row)
        rate = None if row.tax_rate is None else int(row.tax_rate)
        product = self.products.get(row.product_key)
        return {
            "LineNumber": n,
            "Количество": float(row.quantity),
            "Цена": float(row.price),
            "Сумма": _money(amounts.amount),
            "СтавкаНДС": RATE_ENUM.get(rate, "БезНДС"),
            "СуммаНДС": _money(amounts.vat),
            "_product": ref("product", row.product_key),
            "_service": bool(product and product.is_service),
            "_okei": product.okei if product else "796",
            "_discount": row.discount_sum * row.quantity,
            "_percent": float(row.discount_rate),
            "_list_price": row.price + row.discount_sum,
            "_total": amounts.total,
        }

    def document(self, d: SalesDocument) -> dict[str, Any]:
        rows = [self._row(r, n) for n, r in enumerate(d.rows, start=1)]
        cref = ref("company", d.company_key)
        head = {
            "Ref_Key": ref("document", d.key),
            "Number": d.number,
            "Date": d.date.isoformat() + TIMES[d.kind],
            "Организация_Key": self.org,
            "Контрагент_Key": cref,
            "ДоговорКонтрагента_Key": ref("contract", d.company_key),
            "ВалютаДокумента_Key": ref("currency", d.currency),
            "КурсВзаиморасчетов": 1,
            "КратностьВзаиморасчетов": 1,
            "СуммаВключаетНДС": d.rows[0].tax_included if d.rows else True,
            "СуммаДокумента": _money(sum((r["_total"] for r in rows), Decimal(0))),
        }
        if d.kind == "invoice":
            return self.add(
                "Document_СчетНаОплатуПокупателю",
                head
                | {
                    "ВидОперации": "ТоварыИУслуги",
                    "СтруктурнаяЕдиница_Key": self.bank,
                    "Товары": [
                        {k: v for k, v in r.items() if not k.startswith("_")}
                        | {  # the invoice's Сумма and Цена are before the discount (domain.md §3)
                            "Номенклатура": r["_product"],
                            "Номенклатура_Type": f"{NS}.Catalog_Номенклатура",
                            "Цена": _money(r["_list_price"]),
                            "Сумма": _money(Decimal(str(r["Сумма"])) + r["_discount"]),
                            "ПроцентСкидки": r["_percent"],
                            "СуммаСкидки": _money(r["_discount"]),
                        }
                        for r in rows
                    ],
                },
            )
        accounts = {
            "СчетДоходов_Key": self.acc["90.01.1"],
            "СчетУчетаНДСПоРеализации_Key": self.acc["90.03"],
            "СчетРасходов_Key": self.acc["90.02.1"],
        }
        goods = [
            {k: v for k, v in r.items() if not k.startswith("_")}
            | accounts
            | {
                "Номенклатура_Key": r["_product"],
                "ЕдиницаИзмерения_Key": ref("unit", r["_okei"]),
                "Коэффициент": 1,
            }
            for r in rows
            if not r["_service"]
        ]
        services = [
            {k: v for k, v in r.items() if not k.startswith("_")}
            | accounts
            | {"Номенклатура_Key": r["_product"]}
            for r in rows
            if r["_service"]
        ]
        for section in (goods, services):
            for n, r in enumerate(section, start=1):
                r["LineNumber"] = n
        kind = "ПродажаКомиссия" if goods and services else "Услуги" if services else "Товары"
        return self.add(
            "Document_РеализацияТоваровУслуг",
            head
            | {
                "ВидОперации": kind,
                "Товары": goods,
                "Услуги": services,
                "СпособЗачетаАвансов": "Автоматически",
                "БанковскийСчетОрганизации_Key": self.bank,
                "СчетУчетаРасчетовСКонтрагентом_Key": self.acc["62.01"],
                "СчетУчетаРасчетовПоАвансам_Key": self.acc["62.02"],
            },
        )

    def payment(self, p: Payment) -> dict[str, Any]:
        cp, contract = ref("company", p.company_key), ref("contract", p.company_key)
        rate = posting.general_rate(p.date.isoformat())
        rate_enum = f"НДС{rate}_{100 + rate}"
        common = {
            "ДоговорКонтрагента_Key": contract,
            "КурсВзаиморасчетов": 1,
            "КратностьВзаиморасчетов": 1,
            "СтавкаНДС": rate_enum,
            "СчетУчетаРасчетовСКонтрагентом_Key": self.acc["62.01"],
            "СчетУчетаРасчетовПоАвансам_Key": self.acc["62.02"],
        }
        rows = []
        for alloc in p.allocations:
            doc = self.docs.get(alloc.document_key)
            if doc is None:
                continue
            set_name = (
                "Document_СчетНаОплатуПокупателю"
                if doc.kind == "invoice"
                else "Document_РеализацияТоваровУслуг"
            )
            rows.append(
                common
                | {
                    "СуммаПлатежа": _money(alloc.amount),
                    "СуммаВзаиморасчетов": _money(alloc.amount),
                    "СуммаНДС": _money(posting.money(alloc.amount * rate / (100 + rate))),
                    "СпособПогашенияЗадолженности": "ПоДокументу" if doc.kind == "sale" else "Автоматически",
                    "Сделка": ref("document", doc.key),
                    "Сделка_Type": f"{NS}.{set_name}",
                    "СчетНаОплату_Key": ref("document", doc.key) if doc.kind == "invoice" else ZERO_GUID,
                }
            )
        rest = p.amount - sum((a.amount for a in p.allocations if a.document_key in self.docs), Decimal(0))
        if rest > 0:
            rows.append(
                common
                | {
                    "СуммаПлатежа": _money(rest),
                    "СуммаВзаиморасчетов": _money(rest),
                    "СуммаНДС": _money(posting.money(rest * rate / (100 + rate))),
                    "СпособПогашенияЗадолженности": "Автоматически",
                }
            )
        for n, r in enumerate(rows, start=1):
            r["LineNumber"] = n
        return self.add(
            "Document_ПоступлениеНаРасчетныйСчет",
            {
                "Ref_Key": ref("payment", p.key),
                "Number": p.number,
                "Date": p.date.isoformat() + TIMES["payment"],
                "ВидОперации": "ОплатаПокупателя",
                "Организация_Key": self.org,
                "СчетОрганизации_Key": self.bank,
                "СчетБанк_Key": self.acc["51"],
                "Контрагент": cp,
                "Контрагент_Type": f"{NS}.Catalog_Контрагенты",
                "ДоговорКонтрагента_Key": contract,
                "ВалютаДокумента_Key": ref("currency", "RUB"),
                "СуммаДокумента": _money(p.amount),
                "НазначениеПлатежа": p.purpose[:210],
                "СчетУчетаРасчетовСКонтрагентом_Key": self.acc["62.01"],
                "РасшифровкаПлатежа": rows,
            },
        )


class MemoryLedger:
    """Running balances by (account, subconto 1) for seeding in date order."""

    def __init__(self, accounts: dict[str, str]):
        self.accounts = accounts
        self.totals: dict[tuple[str, str], Decimal] = {}

    def account(self, code: str) -> str:
        return self.accounts[code]

    def balance(self, code: str, counterparty: str, until: str, exclude: str) -> Decimal:
        return self.totals.get((self.accounts[code], counterparty), Decimal(0))

    def apply(self, rows: Iterable[tuple[dict[str, Any], dict[str, Any]]]) -> None:
        for row, ext in rows:
            amount = posting.money(row["Сумма"])
            dr = (row["AccountDr_Key"], ext.get("ExtDimensionDr1", ""))
            cr = (row["AccountCr_Key"], ext.get("ExtDimensionCr1", ""))
            self.totals[dr] = self.totals.get(dr, Decimal(0)) + amount
            self.totals[cr] = self.totals.get(cr, Decimal(0)) - amount


def _build(data: Dataset) -> tuple[_Builder, list[tuple[dict, dict]]]:
    b = _Builder(data)
    b.references()
    for code, company in enumerate(b.companies.values(), start=1):
        b.company(code, company)
    b.products_()
    to_post: list[tuple[str, str, dict[str, Any]]] = []
    for d in b.docs.values():
        item = b.document(d)
        if d.posted:
            to_post.append(
                (
                    item["Date"],
                    "Document_"
                    + ("СчетНаОплатуПокупателю" if d.kind == "invoice" else "РеализацияТоваровУслуг"),
                    item,
                )
            )
    for p in data.payments:
        if p.company_key in b.companies:
            item = b.payment(p)
            if p.posted:
                to_post.append((item["Date"], "Document_ПоступлениеНаРасчетныйСчет", item))
    ledger, records = MemoryLedger(b.acc), []
    for _, set_name, item in sorted(to_post, key=lambda t: t[0]):
        rows = posting.post(set_name, item, ledger)
        ledger.apply(rows)
        records += rows
        item["Posted"] = True
    return b, records


def seed(state_dir: Path, dataset: Dataset) -> None:
    """Wipe the 1C state and fill it from ``dataset`` (one transaction)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    b, records = _build(dataset)
    conn = connect(state_dir / DB_NAME)
    try:
        ensure_schema(conn)
        conn.execute("BEGIN IMMEDIATE")
        for table in ("entities", "records", "users", "requests"):
            conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
        indexes = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' "
                "AND tbl_name IN ('entities', 'records') AND sql IS NOT NULL"
            )
        ]
        for name in indexes:  # bulk load first, index after: several times faster for 100k rows
            conn.execute(f"DROP INDEX {name}")
        conn.executemany(
            "INSERT INTO entities (set_name, ref, code, number, date, inn, kpp, description, data) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ((s, r, *index_columns(d), dumps(d)) for s, r, d in b.rows),
        )
        conn.executemany(RECORD_INSERT, (record_params(d, e) for d, e in records))
        for statement in SCHEMA.split(";"):
            if "CREATE INDEX" in statement:
                conn.execute(statement)
        conn.executemany(
            "INSERT INTO users (name, password, rights) VALUES (?, ?, ?)",
            ((u["name"], u["password"], json.dumps(u["rights"], ensure_ascii=False)) for u in DEFAULT_USERS),
        )
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('version', ?)", (str(b.version),))
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('seed_token', ?)", (uuid.uuid4().hex,))
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('profile', ?)", (dataset.profile,))
        conn.commit()
    finally:
        conn.close()


def _put_register_row(conn: sqlite3.Connection, set_name: str, values: dict[str, Any]) -> None:
    row = defaults(SETS[set_name]) | values
    conn.execute(
        "INSERT INTO entities (set_name, ref, code, number, date, inn, kpp, description, data) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (set_name, ref) DO UPDATE SET data = excluded.data",
        (set_name, register_ref(set_name, row), *index_columns(row), json.dumps(row, ensure_ascii=False)),
    )


def set_prohibition(conn: sqlite3.Connection, value: Any) -> None:
    """Write the common change-prohibition date (``""``, ``YYYY-MM-DD`` or a relative one: see
    :mod:`contour.onec.prohibition`)."""
    _put_register_row(conn, prohibition.REGISTER, prohibition.register_row(value))


def set_user_prohibitions(conn: sqlite3.Connection, dates: dict[str, Any]) -> None:
    """Replace every per-user row by ``dates`` (infobase user name → knob value)."""
    conn.execute(
        "DELETE FROM entities WHERE set_name = ? AND json_extract(data, '$.Пользователь_Type') = ?",
        (prohibition.REGISTER, prohibition.USER_TYPE),
    )
    for name, value in dates.items():
        _put_register_row(conn, prohibition.REGISTER, prohibition.register_row(value, ref("user", name)))


def base_dataset() -> Dataset:
    """What an unseeded emulator starts with: the empty profile."""
    from contour import profiles

    return profiles.empty()


def summary(state_dir: Path) -> dict[str, int]:
    """Counts per entity set, register rows and logged requests."""
    path = state_dir / DB_NAME
    counts = {name: 0 for name, es in SETS.items() if es.kind not in ("Tabular", "AccountingRegister")}
    if not path.exists():
        return counts | {"AccountingRegister_Хозрасчетный_RecordType": 0, "requests": 0}
    conn = connect(path)
    try:
        ensure_schema(conn)
        for name, n in conn.execute("SELECT set_name, count(*) FROM entities GROUP BY set_name"):
            counts[name] = n
        counts["AccountingRegister_Хозрасчетный_RecordType"] = conn.execute(
            "SELECT count(*) FROM records"
        ).fetchone()[0]
        counts["requests"] = conn.execute("SELECT count(*) FROM requests").fetchone()[0]
    finally:
        conn.close()
    return counts
