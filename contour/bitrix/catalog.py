"""``catalog.product.*`` and ``catalog.product.service.*``: the trade-catalog view (typed camelCase) of the
same rows as ``crm.product.*`` (services are the rows of ``TYPE`` 7), ``catalog.catalog.list`` and the
stock ``catalog.measure.list`` (ОКЕИ ``code``; a product's ``measure`` is the unit's ``id``) and
``catalog.vat.list`` dictionaries. A product's ``code`` is unique; ``xmlId`` (the 1C GUID) is filterable."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from contour.bitrix import errors, query, schemas, storage
from contour.bitrix import values as v
from contour.bitrix.api import Call, Reply, method
from contour.bitrix.catalog_data import CATALOG_IBLOCK_ID, CATALOGS, MEASURES, SERVICE_TYPE, VATS
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


def _apply(conn: sqlite3.Connection, record: dict[str, Any], fields: Any, creating: bool) -> None:
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
    if record.get("VAT_ID") is not None and record["VAT_ID"] not in {vid for vid, _, _ in VATS}:
        raise _error(0, "VAT rate with the specified identifier does not exist")
    if record.get("MEASURE") is not None and record["MEASURE"] not in {m[0] for m in MEASURES}:
        raise _error(0, "Measure with the specified identifier does not exist")
    code = record.get("CODE")
    taken = (
        code
        and conn.execute(
            "SELECT 1 FROM product WHERE json_extract(data, '$.CODE') = ? AND id IS NOT ?",
            (code, record.get("ID")),
        ).fetchone()
    )
    if taken:
        raise _error(0, f"An element with the symbolic code '{code}' already exists")


def _product_id(call: Call) -> int:
    product_id = v.to_int(call.param("id"))
    if product_id is None:
        raise _error(100, "Could not find value for parameter {id}")
    return product_id


@dataclass(frozen=True)
class Kind:
    """How one catalog method family answers: products or services (``TYPE`` 7) of the same table."""

    prefix: str  # catalog.product | catalog.product.service
    noun: str  # in "… does not exist."
    saved: str  # answer key of add/update
    one: str  # answer key of get
    many: str  # answer key of list
    type_id: int | None  # the TYPE every record of the family has (None: any)


PRODUCT_KIND = Kind("catalog.product", "product", "element", "product", "products", None)
SERVICE_KIND = Kind("catalog.product.service", "service", "service", "service", "services", SERVICE_TYPE)


def _of_kind(kind: Kind, record: dict[str, Any] | None) -> dict[str, Any]:
    if record is None or (kind.type_id is not None and record.get("TYPE") != kind.type_id):
        raise _error("", f"{kind.noun} does not exist.")
    return record


def register(kind: Kind) -> None:
    """``add``/``update``/``get``/``delete``/``list`` of one family."""

    def add(call: Call) -> Reply:
        with call.app.store.write() as conn:
            now = call.app.store.stamp()
            record: dict[str, Any] = {
                "ACTIVE": "Y",
                "CURRENCY_ID": "RUB",
                "VAT_INCLUDED": "N",
                "SORT": 500,
                "DESCRIPTION_TYPE": "text",
                "TYPE": kind.type_id or 1,
                "CREATED_BY": call.user_id,
                "MODIFIED_BY": call.user_id,
                "DATE_CREATE": now,
                "TIMESTAMP_X": now,
                "QUANTITY": 0.0,
            }
            _apply(conn, record, call.param("fields"), creating=True)
            record["TYPE"] = kind.type_id or record.get("TYPE") or 1
            record["ID"] = storage.insert(conn, PRODUCTS, record)
        return Reply({kind.saved: render(record)})

    def update(call: Call) -> Reply:
        product_id = _product_id(call)
        with call.app.store.write() as conn:
            record = _of_kind(kind, storage.get(conn, PRODUCTS, product_id))
            _apply(conn, record, call.param("fields"), creating=False)
            record.update({"TIMESTAMP_X": call.app.store.stamp(), "MODIFIED_BY": call.user_id})
            record["TYPE"] = kind.type_id or record.get("TYPE") or 1
            storage.update(conn, PRODUCTS, product_id, record)
        return Reply({kind.saved: render(record)})

    def get(call: Call) -> Reply:
        product_id = _product_id(call)
        with call.app.store.read() as conn:
            record = _of_kind(kind, storage.get(conn, PRODUCTS, product_id))
        return Reply({kind.one: render(record)})

    def delete(call: Call) -> Reply:
        product_id = _product_id(call)
        with call.app.store.write() as conn:
            _of_kind(kind, storage.get(conn, PRODUCTS, product_id))
            storage.delete(conn, PRODUCTS, product_id)
            conn.execute("DELETE FROM price WHERE product_id = ?", (product_id,))
        return Reply(True)

    def list_(call: Call) -> Reply:
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
        if kind.type_id is not None:
            flt["=type"] = kind.type_id
        where, args = query.Filter(VIEW, strict=True).compile(flt)
        order = query.order_sql(VIEW, call.param("order"), strict=True)
        fields = [f for f in (VIEW.get(n) for n in names) if f is not None]
        with call.app.store.read() as conn:
            page = query.page(conn, VIEW_TABLE, where, args, order, call.param("start"))
        return Reply({kind.many: [render(r, fields) for r in page.records]}, page.total, page.next)

    handlers = {"add": add, "update": update, "get": get, "delete": delete, "list": list_}
    for action, handler in handlers.items():
        method(f"{kind.prefix}.{action}")(handler)


register(PRODUCT_KIND)
register(SERVICE_KIND)


@method("catalog.catalog.list")
def catalog_list(call: Call) -> Reply:
    """The product catalog (``productIblockId`` null) and its variations catalog."""
    catalogs = [
        {
            "iblockId": iblock,
            "iblockTypeId": "CRM_PRODUCT_CATALOG",
            "id": iblock,
            "lid": "s1",
            "name": name,
            "productIblockId": parent,
            "skuPropertyId": sku,
            "subscription": "N",
            "vatId": None,
            "yandexExport": "N",
        }
        for iblock, name, parent, sku in CATALOGS
    ]
    return Reply({"catalogs": catalogs}, len(catalogs))


@method("catalog.measure.list")
def measure_list(call: Call) -> Reply:
    measures = [
        {
            "id": mid,
            "code": int(code),
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
