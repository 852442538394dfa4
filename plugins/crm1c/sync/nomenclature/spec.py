"""Nomenclature 1C → CRM: ``Catalog_Номенклатура`` (goods and services, no folders) with the current price
of the configured type → the Bitrix24 catalog, as an engine spec. 1C is the master: nothing is written
there."""

from __future__ import annotations

from crm1c.clients.odata_filter import F
from crm1c.domain.product import Product, content_hash, identity_key, merge, tombstone, validate
from crm1c.sync.engine.onec_scan import OneCScan
from crm1c.sync.nomenclature.crm_reader import read_products
from crm1c.sync.nomenclature.crm_writer import CrmProductWriter
from crm1c.sync.nomenclature.onec_reader import SELECT, item_seen, read_prices, version
from crm1c.sync.nomenclature.records import KEY, ONEC_SET
from crm1c.sync.spec import EntitySpec

NOMENCLATURE = EntitySpec(
    key=KEY,
    model=Product,
    noun=("товаров", "products"),
    identity_key=identity_key,
    key_field="sku",
    content_hash=content_hash,
    validate=validate,
    tombstone=tombstone,
    merge_rules=lambda _mapping: None,
    merge=merge,
    link_slots={"crm": "crm_id", "onec": "onec_ref"},
    readers={
        "crm": read_products,
        "onec": OneCScan(
            KEY,
            ONEC_SET,
            lambda _mapping: SELECT,
            item_seen,
            only=~F("IsFolder"),
            context=read_prices,
            version=version,
        ),
    },
    writers={"crm": CrmProductWriter()},
)
