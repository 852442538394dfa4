"""Nomenclature from Bitrix24: the catalog's products and services with their price of the configured type.

Incremental by the product's ``timestampX`` (with the overlap window); a full run reads them all and
tombstones the ones that are gone. A price edited in the CRM does not touch ``timestampX``: a full run finds
it (and the next 1C price change overwrites it anyway — 1C is the master).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from crm1c.clients.bitrix24_batch import BatchResult
from crm1c.domain.product import Product
from crm1c.staging import SeenInput
from crm1c.sync.engine import cursors
from crm1c.sync.engine.cursors import later
from crm1c.sync.nomenclature.crm_catalog import SERVICE_TYPE, CrmCatalog, crm_catalog
from crm1c.sync.nomenclature.records import KEY, product_seen
from crm1c.sync.runtime import Progress, SyncEnv

SELECT = [
    "id",
    "iblockId",
    "name",
    "code",
    "xmlId",
    "active",
    "measure",
    "vatId",
    "vatIncluded",
    "type",
    "timestampX",
]
PRICE_SELECT = ["id", "productId", "catalogGroupId", "price", "currency"]
#: The catalog lists goods and services apart (product type 1 and 7).
LISTINGS = (("catalog.product.list", "products"), ("catalog.product.service.list", "services"))
PAGE = 50  # products per price listing (one price per product and type: one page)


def read_products(env: SyncEnv, mode: str) -> None:
    """Products changed since the cursor (all of them on a full run) with their prices, into staging."""
    catalog = crm_catalog(env)
    started = datetime.now(UTC)
    progress = Progress("extract_crm")
    flt: dict[str, Any] = {"iblockId": catalog.iblock_id}
    if (since := cursors.since(env, KEY, mode)) is not None:
        flt[">=timestampX"] = since
    mark = None
    for method, items in LISTINGS:
        for page in env.crm.iter_list_batched(
            method, filter=flt, select=SELECT, order_field="id", items_key=items
        ):
            prices = _prices(env, catalog, [str(p["id"]) for p in page])
            records = [crm_seen(p, prices.get(str(p["id"])), catalog) for p in page]
            result = env.staging.upsert_seen("crm", KEY, records)
            env.count("crm_read", len(records))
            env.count("crm_changed", len(result.to_sync))
            progress.advance(len(records))
            for product in page:
                mark = later(mark, product.get("timestampX"))
    if mark is not None:
        cursors.stage(env, KEY, mark)
    if mode == "full":
        gone = env.staging.not_seen_since("crm", KEY, started)
        env.count("crm_deleted", len(env.staging.mark_deleted("crm", KEY, gone)))
    progress.finish()


def _prices(env: SyncEnv, catalog: CrmCatalog, ids: list[str]) -> dict[str, dict]:
    """The configured type's price of each product of a page (one price per product and type): one batch
    request of up to 50 listings, 50 products each."""
    groups = [ids[k : k + PAGE] for k in range(0, len(ids), PAGE)]
    commands = {
        f"p{n}": (
            "catalog.price.list",
            {
                "filter": {"catalogGroupId": catalog.price_type_id, "productId": group},
                "select": PRICE_SELECT,
                "start": -1,
            },
        )
        for n, group in enumerate(groups)
    }
    if not commands:
        return {}

    def parse(result: BatchResult) -> dict[str, dict]:
        found: dict[str, dict] = {}
        for key in commands:
            if key in result.errors:
                raise result.errors[key]
            for price in (result.results.get(key) or {}).get("prices", []):
                found[str(price["productId"])] = price
        return found

    return env.crm.batch_read(commands, parse)


def crm_seen(row: dict, price: dict | None, catalog: CrmCatalog, *, dirty: bool = True) -> SeenInput:
    """The staging row of a CRM product; its price row rides along in ``raw["@price"]`` (its id)."""
    raw = {**row, "@price": price}

    def build() -> Product:
        return Product(
            name=row.get("name") or None,
            sku=(row.get("code") or "").strip() or None,
            service=int(row.get("type") or 1) == SERVICE_TYPE,
            unit=catalog.unit_codes.get(int(row["measure"])) if row.get("measure") else None,
            vat=catalog.vat_rates.get(int(row["vatId"])) if row.get("vatId") else None,
            price=Decimal(str(price["price"])) if price and price.get("price") is not None else None,
            currency=(price or {}).get("currency") or None,
            price_includes_vat=row.get("vatIncluded") == "Y",
            active=row.get("active", "Y") == "Y",
            crm_id=str(row["id"]),
            onec_ref=row.get("xmlId") or None,
        )

    return product_seen(raw, row.get("timestampX"), build, dirty=dirty)
