"""``catalog.product.*``: the trade-catalog view (typed camelCase) of the same rows as ``crm.product.*``,
plus the stock ``catalog.measure.list`` and ``catalog.vat.list`` dictionaries."""

from __future__ import annotations

from typing import Any

from contour.bitrix import errors, query, schemas, storage
from contour.bitrix import values as v
from contour.bitrix.api import Call, Reply, method
from contour.bitrix.catalog_data import CATALOG_IBLOCK_ID, MEASURES, VATS
from contour.bitrix.fields import Field, coerce, typed_out

VIEW = schemas.CATALOG_PRODUCT
PRODUCTS = storage.TABLES["product"]
VIEW_TABLE = storage.Table("product", VIEW, PRODUCTS.ddl)


def _error(code: Any, text: str) -> errors.ApiError:
    return errors.ApiError(400, code, text)


def render(record: dict[str, Any], fields: list[Field] | None = None) -> dict[str, Any]:
    chosen = fields or VIEW.public()
    out = {f.name: typed_out(f, record.get(f.key)) for f in chosen}
    if "purchasingPrice" in out and out["purchasingPrice"] is not None:
        out["purchasingPrice"] = v.num(out["purchasingPrice"])
    return out


def _apply(record: dict[str, Any], fields: Any, creating: bool) -> None:
    if not isinstance(fields, dict):
        raise _error(100, "Could not find value for parameter {fields}")
    for name, value in fields.items():
        f = VIEW.get(str(name))
        if f is None or f.readonly:
            continue
        record[f.key] = coerce(f, value)
    if record.get("CATALOG_ID") != CATALOG_IBLOCK_ID:
        raise _error(200040300000, "Iblock Not Found")
    if creating and not record.get("NAME"):
        raise _error(0, "Required fields: name")


def _product_id(call: Call) -> int:
    product_id = v.to_int(call.param("id"))
    if product_id is None:
        raise _error(100, "Could not find value for parameter {id}")
    return product_id


@method("catalog.product.add")
def product_add(call: Call) -> Reply:
    with call.app.store.write() as conn:
        now = call.app.store.stamp()
        record: dict[str, Any] = {
            "ACTIVE": "Y",
            "CURRENCY_ID": "RUB",
            "VAT_INCLUDED": "N",
            "SORT": 500,
            "DESCRIPTION_TYPE": "text",
            "TYPE": 1,
            "CREATED_BY": call.user_id,
            "MODIFIED_BY": call.user_id,
            "DATE_CREATE": now,
            "TIMESTAMP_X": now,
            "QUANTITY": 0.0,
        }
        _apply(record, call.param("fields"), creating=True)
        record["ID"] = storage.insert(conn, PRODUCTS, record)
    return Reply({"element": render(record)})


@method("catalog.product.update")
def product_update(call: Call) -> Reply:
    product_id = _product_id(call)
    with call.app.store.write() as conn:
        record = storage.get(conn, PRODUCTS, product_id)
        if record is None:
            raise _error("", "product does not exist.")
        _apply(record, call.param("fields"), creating=False)
        record.update({"TIMESTAMP_X": call.app.store.stamp(), "MODIFIED_BY": call.user_id})
        storage.update(conn, PRODUCTS, product_id, record)
    return Reply({"element": render(record)})


@method("catalog.product.get")
def product_get(call: Call) -> Reply:
    product_id = _product_id(call)
    with call.app.store.read() as conn:
        record = storage.get(conn, PRODUCTS, product_id)
    if record is None:
        raise _error("", "product does not exist.")
    return Reply({"product": render(record)})


@method("catalog.product.delete")
def product_delete(call: Call) -> Reply:
    product_id = _product_id(call)
    with call.app.store.write() as conn:
        if not storage.delete(conn, PRODUCTS, product_id):
            raise _error("", "product does not exist.")
    return Reply(True)


@method("catalog.product.list")
def product_list(call: Call) -> Reply:
    select = call.param("select")
    names = query.names_of(select)
    missing = [n for n in ("id", "iblockId") if n not in names]
    if missing:
        raise _error(0, "Required select fields: " + ", ".join(missing))
    flt = call.param("filter")
    if not isinstance(flt, dict):
        raise _error(0, "Incorrect filter format")
    if v.to_int(flt.get("iblockId")) is None:
        raise _error(0, "Required filter fields: iblockId")
    if v.to_int(flt.get("iblockId")) != CATALOG_IBLOCK_ID:
        raise _error(200040300000, "Iblock Not Found")
    flt = {k: val for k, val in flt.items() if k != "iblockId"}
    where, args = query.Filter(VIEW, strict=True).compile(flt)
    order = query.order_sql(VIEW, call.param("order"), strict=True)
    fields = [f for f in (VIEW.get(n) for n in names) if f is not None]
    with call.app.store.read() as conn:
        page = query.page(conn, VIEW_TABLE, where, args, order, call.param("start"))
    return Reply({"products": [render(r, fields) for r in page.records]}, page.total, page.next)


@method("catalog.measure.list")
def measure_list(call: Call) -> Reply:
    measures = [
        {
            "id": mid,
            "code": code,
            "measureTitle": title,
            "symbol": symbol,
            "symbolIntl": None,
            "symbolLetterIntl": None,
            "isDefault": "Y" if default else "N",
        }
        for mid, code, title, symbol, default in MEASURES
    ]
    return Reply({"measures": measures}, len(measures))


@method("catalog.vat.list")
def vat_list(call: Call) -> Reply:
    vats = [
        {
            "id": vid,
            "name": name,
            "rate": v.num(rate),
            "active": "Y",
            "sort": vid * 100,
            "excludeVat": "Y" if rate is None else "N",
        }
        for vid, name, rate in VATS
    ]
    return Reply({"vats": vats}, len(vats))
