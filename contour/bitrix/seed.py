"""Fill the portal from a :class:`contour.dataset.Dataset` (wipe first) and count what it holds.

Ids are sequential in dataset order: companies, requisites, products (each with its base price, same id),
deals, rows and invoices each from 1 (deal rows first, then the copies on the smart invoices made for deals
in invoice stages); every deal and invoice has its stage history, dated by its own dates (see
:func:`_milestones`), never by the seed's clock; only ``DATE_MODIFY`` (``updatedTime``) is the seed time.
Everything goes in with ``executemany`` in one transaction, so 100 000 companies take seconds.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

from contour.bitrix import catalog_data, deals, dictionaries_data, stagehistory, storage
from contour.bitrix.values import PORTAL_TZ, US, now_us, round2
from contour.dataset import Company, Dataset, Deal, DealRow, Product

INVOICE_STAGES = ("PREPAYMENT_INVOICE", "FINAL_INVOICE")  # deals that get a smart invoice
_ZERO = Decimal(0)
_VAT_RATES = {"Общая": 22.0, "Пониженная": 10.0, "Нулевая": 0.0, "БезНДС": None}
#: Where an open deal's stage is in the pipeline: it reached it that many working days after it began.
_STAGE_STEP = {"NEW": 0, "PREPARATION": 1, "PREPAYMENT_INVOICE": 2, "EXECUTING": 3, "FINAL_INVOICE": 4}
T = storage.TABLES


def seed(state_dir: Path, dataset: Dataset) -> None:
    """Wipe ``<state_dir>/bitrix.sqlite3`` and load the dataset into it."""
    store = storage.Store(Path(state_dir))
    with store.write() as conn:
        conn.execute("PRAGMA cache_size = -262144")
        storage.drop_schema(conn)
        storage.create_schema(conn, indexes=False)
        _Loader(conn, now_us()).load(dataset)
        storage.create_indexes(conn)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def summary(state_dir: Path) -> dict[str, int]:
    """Counts of what the portal holds (zeros when it was never seeded)."""
    path = Path(state_dir) / storage.DB_NAME
    queries = {
        "companies": "SELECT COUNT(*) FROM company",
        "requisites": "SELECT COUNT(*) FROM requisite",
        "products": "SELECT COUNT(*) FROM product",
        "deals": "SELECT COUNT(*) FROM deal",
        "product rows": "SELECT COUNT(*) FROM productrow WHERE owner_type = 'D'",
        "smart invoices": "SELECT COUNT(*) FROM item WHERE entity_type_id = 31",
        "smart invoice product rows": "SELECT COUNT(*) FROM productrow WHERE owner_type = 'SI'",
    }
    if not path.exists():
        return dict.fromkeys(queries, 0)
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {name: int(conn.execute(sql).fetchone()[0]) for name, sql in queries.items()}
    except sqlite3.OperationalError:
        return dict.fromkeys(queries, 0)
    finally:
        conn.close()


def _bitrix_prices(row: DealRow) -> dict[str, Any]:
    """``PRICE`` and the discount of a dataset row as Bitrix stores them. The dataset keeps a row with VAT on
    top at its net price (1C's ``Цена`` when ``СуммаВключаетНДС`` is off) and its discount in the basis of
    that price; Bitrix's ``PRICE`` always includes the tax and its ``DISCOUNT_SUM`` never does."""
    factor = 1 + (row.tax_rate or _ZERO) / 100
    price = row.price if row.tax_included else round2(row.price * factor)
    discount = round2(row.discount_sum / factor) if row.tax_included else row.discount_sum
    return {
        "PRICE": float(price),
        "DISCOUNT_TYPE_ID": row.discount_type_id,
        "DISCOUNT_RATE": float(row.discount_rate),
        "DISCOUNT_SUM": float(discount),
    }


class _Loader:
    def __init__(self, conn: sqlite3.Connection, now: int):
        self.conn = conn
        self.now = now
        self.tick = 0
        self.multifield = 0

    def stamp(self) -> int:
        self.tick += 1
        return self.now + self.tick

    def load(self, data: Dataset) -> None:
        deal_categories = sorted({0, *(d.category_id for d in data.deals)})
        invoice_category = 1 if 1 not in deal_categories else max(deal_categories) + 1
        self.dictionaries(deal_categories, invoice_category)
        company_ids = self.companies(data.companies)
        products = {p.key: p for p in data.products}
        product_ids = self.products([p for p in data.products if p.in_crm])
        self.deals(data.deals, company_ids, products, product_ids, invoice_category)
        storage.set_seq(self.conn, "multifield", self.multifield)

    def dictionaries(self, deal_categories: list[int], invoice_category: int) -> None:
        rows = dictionaries_data.statuses(deal_categories, invoice_category)
        storage.insert_many(self.conn, T["status"], list(enumerate(rows, 1)))
        cats = [(0, {"name": "Общая", "sort": 100, "entityTypeId": 2, "isDefault": "Y"})]
        cats += [
            (
                c,
                {
                    "name": f"Направление {c}",
                    "sort": 100 + c,
                    "entityTypeId": 2,
                    "isDefault": "N",
                    "originId": "",
                    "originatorId": "",
                },
            )
            for c in deal_categories
            if c
        ]
        cats.append(
            (
                invoice_category,
                {
                    "name": "Счета",
                    "sort": 500,
                    "entityTypeId": 31,
                    "isDefault": "Y",
                    "originId": "",
                    "originatorId": "",
                },
            )
        )
        storage.insert_many(self.conn, T["category"], cats)
        presets = [
            (
                pid,
                {
                    "ENTITY_TYPE_ID": 8,
                    "COUNTRY_ID": 1,
                    "NAME": name,
                    "DATE_CREATE": self.now,
                    "DATE_MODIFY": self.now,
                    "CREATED_BY_ID": 1,
                    "MODIFY_BY_ID": 1,
                    "ACTIVE": "Y",
                    "SORT": 500,
                    "XML_ID": xml,
                },
            )
            for pid, name, xml in dictionaries_data.PRESETS
        ]
        storage.insert_many(self.conn, T["preset"], presets)

    def _multi(self, type_id: str, value: str | None) -> list[dict[str, Any]]:
        if not value:
            return []
        self.multifield += 1
        return [{"ID": self.multifield, "VALUE_TYPE": "WORK", "VALUE": value, "TYPE_ID": type_id}]

    def companies(self, companies: list[Company]) -> dict[str, int]:
        ids: dict[str, int] = {}
        rows: list[tuple[int, dict[str, Any]]] = []
        requisites: list[tuple[int, dict[str, Any]]] = []
        for company in companies:
            if not company.in_crm:
                continue
            cid = len(rows) + 1
            ids[company.key] = cid
            ts = self.stamp()
            phone, email = self._multi("PHONE", company.phone), self._multi("EMAIL", company.email)
            rows.append(
                (
                    cid,
                    {
                        "TITLE": company.crm_name or company.name,
                        "COMPANY_TYPE": "CUSTOMER",
                        "OPENED": "Y",
                        "IS_MY_COMPANY": "N",
                        "CURRENCY_ID": "RUB",
                        "ASSIGNED_BY_ID": 1,
                        "CREATED_BY_ID": 1,
                        "MODIFY_BY_ID": 1,
                        "DATE_CREATE": ts,
                        "DATE_MODIFY": ts,
                        "COMMENTS": company.comment,
                        "HAS_PHONE": "Y" if phone else "N",
                        "HAS_EMAIL": "Y" if email else "N",
                        "HAS_IMOL": "N",
                        "PHONE": phone,
                        "EMAIL": email,
                    },
                )
            )
            requisites.append((len(requisites) + 1, self.requisite(company, cid, ts)))
        storage.insert_many(self.conn, T["company"], rows)
        storage.insert_many(self.conn, T["requisite"], requisites)
        return ids

    @staticmethod
    def requisite(company: Company, company_id: int, ts: int) -> dict[str, Any]:
        preset = dictionaries_data.PRESET_BY_KIND[company.kind]
        record: dict[str, Any] = {
            "ENTITY_TYPE_ID": 4,
            "ENTITY_ID": company_id,
            "PRESET_ID": preset,
            "NAME": dictionaries_data.PRESETS[preset - 1][1],
            "ACTIVE": "Y",
            "ADDRESS_ONLY": "N",
            "SORT": 500,
            "CREATED_BY_ID": 1,
            "MODIFY_BY_ID": 1,
            "DATE_CREATE": ts,
            "DATE_MODIFY": ts,
            "RQ_INN": company.inn,
            "RQ_KPP": company.kpp,
            "RQ_OKPO": company.okpo,
            "RQ_COMPANY_NAME": company.name,
            "RQ_COMPANY_FULL_NAME": company.full_name,
        }
        if company.kind in ("ip", "person"):
            fio = company.name.removeprefix("ИП ").strip()
            parts = [*fio.split(), "", "", ""][:3]
            record.update(
                {
                    "RQ_NAME": fio,
                    "RQ_LAST_NAME": parts[0],
                    "RQ_FIRST_NAME": parts[1],
                    "RQ_SECOND_NAME": parts[2],
                }
            )
        return record

    def products(self, products: list[Product]) -> dict[str, int]:
        ids: dict[str, int] = {}
        rows: list[tuple[int, dict[str, Any]]] = []
        prices: list[tuple[int, dict[str, Any]]] = []
        for product in products:
            pid = len(rows) + 1
            ids[product.key] = pid
            ts = self.stamp()
            measure = catalog_data.measure_by_code(product.okei) or catalog_data.MEASURES[0]
            rows.append(
                (
                    pid,
                    {
                        "CATALOG_ID": catalog_data.CATALOG_IBLOCK_ID,
                        "NAME": product.name,
                        "CODE": product.article,
                        "PRICE": float(product.price),
                        "CURRENCY_ID": "RUB",
                        "ACTIVE": "Y",
                        "SORT": 500,
                        "VAT_ID": catalog_data.vat_by_rate(_VAT_RATES[product.vat_kind]),
                        "VAT_INCLUDED": "Y",
                        "MEASURE": measure[0],
                        "DESCRIPTION_TYPE": "text",
                        "TYPE": 7 if product.is_service else 1,
                        "QUANTITY": 0.0,
                        "DATE_CREATE": ts,
                        "TIMESTAMP_X": ts,
                        "CREATED_BY": 1,
                        "MODIFIED_BY": 1,
                    },
                )
            )
            base = {
                "catalogGroupId": catalog_data.BASE_PRICE_TYPE,
                "price": float(product.price),
                "currency": "RUB",
            }
            prices.append((pid, {"productId": pid, **base, "priceScale": base["price"], "timestampX": ts}))
        storage.insert_many(self.conn, T["product"], rows)
        storage.insert_many(self.conn, T["price"], prices)
        return ids

    @staticmethod
    def rows(
        deal: Deal, deal_id: int, products: dict[str, Product], product_ids: dict[str, int]
    ) -> tuple[list[dict[str, Any]], float, float]:
        """Stored product rows of a deal (the fields ``crm.deal.productrows.set`` stores) and its sums."""
        out, total, tax = [], Decimal(0), Decimal(0)
        for sort, row in enumerate(deal.rows, 1):
            product = products.get(row.product_key)
            measure = catalog_data.measure_by_code(product.okei if product else "796")
            name = product.name if product else row.product_key
            record = {
                "OWNER_ID": deal_id,
                "OWNER_TYPE": "D",
                "PRODUCT_ID": product_ids.get(row.product_key, 0),
                "PRODUCT_NAME": name,
                "ORIGINAL_PRODUCT_NAME": name,
                **_bitrix_prices(row),
                "QUANTITY": float(row.quantity),
                "TAX_RATE": None if row.tax_rate is None else float(row.tax_rate),
                "TAX_INCLUDED": "Y" if row.tax_included else "N",
                "CUSTOMIZED": "Y",
                "MEASURE_CODE": int(product.okei) if product else 796,
                "MEASURE_NAME": measure[3] if measure else "",
                "SORT": sort * 10,
                "TYPE": 7 if product and product.is_service else 1,
                "STORE_ID": 0,
            }
            deals.derive(record)
            amounts = deals.row_amounts(record)
            total, tax = total + amounts.total, tax + amounts.tax
            out.append(record)
        return out, float(total), float(tax)

    def deals(
        self,
        items: list[Deal],
        company_ids: dict[str, int],
        products: dict[str, Product],
        product_ids: dict[str, int],
        invoice_category: int,
    ) -> None:
        rows: list[tuple[int, dict[str, Any]]] = []
        product_rows: list[tuple[int, dict[str, Any]]] = []
        invoice_rows: list[dict[str, Any]] = []
        invoices: list[tuple[int, dict[str, Any]]] = []
        history: list[dict[str, Any]] = []
        for deal in items:
            did = len(rows) + 1
            ts = self.stamp()
            deal_rows, opportunity, tax = self.rows(deal, did, products, product_ids)
            product_rows.extend((len(product_rows) + 1, r) for r in deal_rows)
            stage = deal.stage_id if not deal.category_id else f"C{deal.category_id}:{deal.stage_id}"
            semantic = "S" if deal.stage_id == "WON" else "F" if deal.stage_id in ("LOSE", "APOLOGY") else "P"
            company_id = company_ids.get(deal.company_key)
            prefix = stage.removesuffix(deal.stage_id)
            closedate = deal.begindate  # the seeded CLOSEDATE: a closed deal closed then
            created, moved = _milestones(deal, closedate, semantic, self.now)
            history.extend(
                _history(2, did, (stage, deal.category_id, semantic), prefix + "NEW", created, moved)
            )
            rows.append(
                (
                    did,
                    {
                        "TITLE": deal.title,
                        "TYPE_ID": "SALE",
                        "STAGE_ID": stage,
                        "CATEGORY_ID": deal.category_id,
                        "STAGE_SEMANTIC_ID": semantic,
                        "CLOSED": "Y" if semantic != "P" else "N",
                        "IS_NEW": "Y" if deal.stage_id == "NEW" else "N",
                        "CURRENCY_ID": deal.currency,
                        "OPPORTUNITY": opportunity,
                        "TAX_VALUE": tax,
                        "IS_MANUAL_OPPORTUNITY": "N",
                        "COMPANY_ID": company_id,
                        "BEGINDATE": deal.begindate.isoformat(),
                        "CLOSEDATE": closedate.isoformat(),
                        "OPENED": "Y",
                        "ASSIGNED_BY_ID": 1,
                        "CREATED_BY_ID": 1,
                        "MODIFY_BY_ID": 1,
                        "MOVED_BY_ID": 1,
                        "MOVED_TIME": moved,
                        "DATE_CREATE": created,
                        "DATE_MODIFY": ts,
                        "IS_RECURRING": "N",
                        "IS_RETURN_CUSTOMER": "N",
                        "IS_REPEATED_APPROACH": "N",
                    },
                )
            )
            if deal.stage_id in INVOICE_STAGES:
                iid = len(invoices) + 1
                sent = (f"DT31_{invoice_category}:S", invoice_category, "P")
                # issued on its begindate (the deal's), sent to the buyer when the deal reached its stage
                issued = min(_at(deal.begindate, 12), self.now)
                mailed = max(issued, min(moved + 3600 * US, self.now))
                history.extend(_history(31, iid, sent, f"DT31_{invoice_category}:N", issued, mailed))
                invoice_rows.extend({**r, "OWNER_TYPE": "SI", "OWNER_ID": iid} for r in deal_rows)
                invoices.append(
                    (
                        iid,
                        {
                            "entityTypeId": 31,
                            "title": f"Счёт по сделке «{deal.title}»",
                            "accountNumber": f"С-{iid:05d}",
                            "categoryId": invoice_category,
                            "stageId": f"DT31_{invoice_category}:S",
                            "opened": "Y",
                            "begindate": deal.begindate.isoformat(),
                            "closedate": deal.begindate.isoformat(),
                            "companyId": company_id,
                            "opportunity": opportunity,
                            "taxValue": tax,
                            "isManualOpportunity": "N",
                            "currencyId": deal.currency,
                            "parentId2": did,
                            "assignedById": 1,
                            "createdBy": 1,
                            "updatedBy": 1,
                            "movedBy": 1,
                            "createdTime": issued,
                            "updatedTime": ts,
                            "movedTime": mailed,
                            "contactIds": [],
                            "observers": [],
                        },
                    )
                )
        storage.insert_many(self.conn, T["deal"], rows)
        product_rows.extend((len(product_rows) + 1, r) for r in invoice_rows)
        storage.insert_many(self.conn, T["productrow"], product_rows)
        storage.insert_many(self.conn, T["item"], invoices)
        storage.insert_many(self.conn, T["stagehistory"], list(enumerate(history, 1)))


def _at(day: dt.date, hour: int) -> int:
    """``hour``:00 of ``day`` on the portal's clock, in µs."""
    return int(dt.datetime.combine(day, dt.time(hour), PORTAL_TZ).timestamp()) * US


def _milestones(deal: Deal, closedate: dt.date, semantic: str, now: int) -> tuple[int, int]:
    """When a seeded deal was created and when it reached its current stage, by its own dates: created at
    10:00 on ``BEGINDATE``; a closed deal (semantics S/F) reached its stage at 17:00 on ``CLOSEDATE``, an
    open one a working day per pipeline step after it began (PREPARATION 1, … FINAL_INVOICE 4). Never
    after the seed itself, never before the deal was created."""
    created = min(_at(deal.begindate, 10), now)
    if semantic in ("S", "F"):
        moved = _at(closedate, 17)
    else:
        moved = _at(_working_days_after(deal.begindate, _STAGE_STEP.get(deal.stage_id, 1)), 11)
    return created, max(created, min(moved, now))


def _working_days_after(day: dt.date, n: int) -> dt.date:
    """The ``n``-th working day (Monday to Friday) after ``day``."""
    while n > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            n -= 1
    return day


def _history(
    entity_type_id: int, owner_id: int, stage: tuple[str, int, str], first: str, created: int, moved: int
) -> list[Any]:
    """A seeded item's stage history: created at its pipeline's first stage, then moved to where it is."""
    made = stagehistory.entry(entity_type_id, owner_id, (first, stage[1], "P"), created, None)
    reached = stagehistory.entry(entity_type_id, owner_id, stage, moved, (first, stage[1]))
    return [row for row in (made, reached) if row is not None]
