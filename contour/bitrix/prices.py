"""Catalog prices: ``catalog.priceType.list`` and ``catalog.price.add|update|get|list|delete|modify``.

A price is one value of one price type (``catalogGroupId``) for one product, without quantity ranges; the
base type is the ``priceType`` with ``base: "Y"``. ``modify`` sets a product's whole price collection:
listed prices with ``id`` change, those without are added, the product's other prices are deleted.
Answers are typed camelCase (``result.price`` / ``result.prices``), errors carry the catalog's numeric codes.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from contour.bitrix import errors, query, storage
from contour.bitrix import values as v
from contour.bitrix.api import Call, Reply, method
from contour.bitrix.catalog_data import PRICE_TYPES
from contour.bitrix.fields import coerce, typed_out

PRICES = storage.TABLES["price"]
SCHEMA = PRICES.schema
PRODUCTS = storage.TABLES["product"]


def _error(code: int, text: str) -> errors.ApiError:
    return errors.ApiError(400, code, text)


def render(record: dict[str, Any], names: list[str] | None = None) -> dict[str, Any]:
    fields = [f for f in SCHEMA.public() if not names or f.name in names]
    return {f.name: typed_out(f, record.get(f.key)) for f in fields}


def _fields(call: Call) -> dict[str, Any]:
    fields = call.param("fields")
    if not isinstance(fields, dict) or not fields:
        raise _error(100, "Could not find value for parameter {fields}")
    return fields


def _price_id(call: Call) -> int:
    price_id = v.to_int(call.param("id"))
    if price_id is None:
        raise _error(100, "Could not find value for parameter {id}")
    return price_id


def _existing(conn: sqlite3.Connection, price_id: int) -> dict[str, Any]:
    record = storage.get(conn, PRICES, price_id)
    if record is None:
        raise _error(0, "Price is not exists")
    return record


def _save(
    call: Call, conn: sqlite3.Connection, record: dict[str, Any], fields: dict[str, Any]
) -> dict[str, Any]:
    """Validate and store a price (a new one when it has no ``id``); returns the stored record."""
    for name, value in fields.items():
        f = SCHEMA.get(str(name))
        if f is not None and not f.readonly:
            record[f.key] = coerce(f, value)
    missing = [f.name for f in SCHEMA.public() if f.required and record.get(f.key) in (None, "")]
    if missing:
        raise _error(0, "Required fields: " + ", ".join(missing))
    if storage.get(conn, PRODUCTS, record["productId"]) is None:
        raise _error(0, "Validate price error. Catalog product is wrong")
    if record["catalogGroupId"] not in {t[0] for t in PRICE_TYPES}:
        raise _error(0, "Validate price error. Catalog price group is wrong")
    twin = conn.execute(
        "SELECT 1 FROM price WHERE product_id = ? AND json_extract(data, '$.catalogGroupId') = ? "
        "AND id IS NOT ?",
        (record["productId"], record["catalogGroupId"], record.get("id")),
    ).fetchone()
    if twin:
        raise _error(
            0,
            "Validate price error. Catalog product is allowed to have only a single price without ranges "
            "in the price group",
        )
    record["priceScale"] = record["price"]
    record["timestampX"] = call.app.store.stamp()
    if record.get("id") is None:
        record["id"] = storage.insert(conn, PRICES, record)
    else:
        storage.update(conn, PRICES, record["id"], record)
    return record


@method("catalog.priceType.list")
def price_type_list(call: Call) -> Reply:
    now = v.iso(v.now_us())
    types = [
        {
            "base": "Y" if base else "N",
            "createdBy": 1,
            "dateCreate": now,
            "id": type_id,
            "modifiedBy": 1,
            "name": name,
            "sort": sort,
            "timestampX": now,
            "xmlId": xml_id,
        }
        for type_id, name, xml_id, base, sort in PRICE_TYPES
    ]
    return Reply({"priceTypes": types}, len(types))


@method("catalog.price.add")
def price_add(call: Call) -> Reply:
    fields = _fields(call)
    with call.app.store.write() as conn:
        record = _save(call, conn, {}, {k: val for k, val in fields.items() if str(k) != "id"})
    return Reply({"price": render(record)})


@method("catalog.price.update")
def price_update(call: Call) -> Reply:
    price_id, fields = _price_id(call), _fields(call)
    with call.app.store.write() as conn:
        record = _save(call, conn, _existing(conn, price_id), fields)
    return Reply({"price": render(record)})


@method("catalog.price.get")
def price_get(call: Call) -> Reply:
    price_id = _price_id(call)
    with call.app.store.read() as conn:
        record = _existing(conn, price_id)
    return Reply({"price": render(record)})


@method("catalog.price.delete")
def price_delete(call: Call) -> Reply:
    price_id = _price_id(call)
    with call.app.store.write() as conn:
        _existing(conn, price_id)
        storage.delete(conn, PRICES, price_id)
    return Reply(True)


@method("catalog.price.list")
def price_list(call: Call) -> Reply:
    flt = call.param("filter") or {}
    where, args = query.Filter(SCHEMA, strict=True).compile(flt)
    order = query.order_sql(SCHEMA, call.param("order"), strict=True)
    names = query.names_of(call.param("select"))
    with call.app.store.read() as conn:
        page = query.page(conn, PRICES, where, args, order, call.param("start"))
    return Reply({"prices": [render(r, names) for r in page.records]}, page.total, page.next)


@method("catalog.price.modify")
def price_modify(call: Call) -> Reply:
    product = _fields(call).get("product")
    if not isinstance(product, dict) or v.to_int(product.get("id")) is None:
        raise _error(0, "Required fields: product")
    product_id = int(v.to_int(product["id"]) or 0)
    raw = product.get("prices") or []
    items = list(raw.values()) if isinstance(raw, dict) else raw
    listed = [item for item in items if isinstance(item, dict)]
    keep = [i for i in (v.to_int(item.get("id")) for item in listed) if i is not None]
    with call.app.store.write() as conn:
        marks = ", ".join("?" * len(keep))
        others = f" AND id NOT IN ({marks})" if keep else ""
        conn.execute(f"DELETE FROM price WHERE product_id = ?{others}", (product_id, *keep))  # noqa: S608
        kept: list[dict[str, Any]] = []
        for item in listed:
            price_id = v.to_int(item.get("id"))
            record = _existing(conn, price_id) if price_id is not None else {}
            if record and record["productId"] != product_id:
                raise _error(0, "Price is not exists")
            given = {k: val for k, val in item.items() if str(k) not in ("id", "productId")}
            kept.append(_save(call, conn, record, {**given, "productId": product_id}))
    return Reply({"prices": [render(r) for r in kept]})
