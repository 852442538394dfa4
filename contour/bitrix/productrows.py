"""``crm.item.productrow.*``: product rows of deals (``ownerType=D``) and smart invoices (``SI``), camelCase.

The rows are the same ones ``crm.deal.productrows.*`` shows; ``set`` replaces all rows of an owner, ``add``,
``update`` and ``delete`` change one, and every change recomputes the owner's automatic amount. Only ``id``,
``productId`` and the owner can be filtered (other conditions are ignored, like the real method);
``=ownerType`` and ``=ownerId`` are required.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from contour.bitrix import deals, errors, query, storage
from contour.bitrix import values as v
from contour.bitrix.api import Call, Reply, method
from contour.bitrix.fields import Schema, typed_out, upper

VIEW = Schema("""
id integer ro col=id src=ID | ID
ownerId integer req col=owner_id src=OWNER_ID | Owner ID
ownerType string req col=owner_type src=OWNER_TYPE | Owner type
productId integer src=PRODUCT_ID | Product
productName string src=PRODUCT_NAME | Name
price double src=PRICE | Price
priceAccount double ro src=PRICE | Price in report currency
priceExclusive double ro src=PRICE_EXCLUSIVE | Price without tax, with discount
priceNetto double ro src=PRICE_NETTO | Price without tax and discount
priceBrutto double ro src=PRICE_BRUTTO | Price with tax, without discount
quantity double src=QUANTITY | Quantity
discountTypeId integer src=DISCOUNT_TYPE_ID | Discount type
discountRate double src=DISCOUNT_RATE | Discount, %
discountSum double src=DISCOUNT_SUM | Discount amount
taxRate double src=TAX_RATE | Tax, %
taxIncluded char src=TAX_INCLUDED | Tax included
customized char src=CUSTOMIZED | Customized
measureCode integer src=MEASURE_CODE | Unit code
measureName string src=MEASURE_NAME | Unit
sort integer src=SORT | Sort
xmlId string src=XML_ID | External code
type integer ro src=TYPE | Product type
storeId integer ro src=STORE_ID | Store
""")
FILTERABLE = Schema("""
id integer col=id
productId integer src=PRODUCT_ID
ownerId integer col=owner_id
ownerType string col=owner_type
""")
VIEW_TABLE = storage.Table("productrow", VIEW, deals.ROWS.ddl)
ITEMS = storage.TABLES["item"]


def render(row: dict[str, Any]) -> dict[str, Any]:
    return {f.name: typed_out(f, row.get(f.key)) for f in VIEW.public()}


def _owner(call: Call, conn: sqlite3.Connection, owner_type: str, owner_id: int) -> dict[str, Any]:
    table = {"D": deals.DEALS, "SI": ITEMS}.get(owner_type)
    owner = storage.get(conn, table, owner_id) if table else None
    if owner is None or (owner_type == "SI" and owner.get("entityTypeId") != 31):
        raise errors.ApiError(400, "NOT_FOUND", "Owner item not found")
    return owner


@method("crm.item.productrow.list")
def row_list(call: Call) -> Reply:
    flt = call.param("filter")
    if not isinstance(flt, dict) or "=ownerType" not in flt or "=ownerId" not in flt:
        raise errors.ApiError(400, "REQUIRED_ARG_MISSING", "Required filter fields: =ownerType, =ownerId")
    where, args = query.Filter(FILTERABLE).compile(
        {k: val for k, val in flt.items() if not isinstance(val, list) or k == "@id"}
    )
    order = call.param("order") or {"sort": "asc"}
    order = {k: d for k, d in order.items() if k in ("id", "sort")} if isinstance(order, dict) else {}
    with call.app.store.read() as conn:
        page = query.page(conn, VIEW_TABLE, where, args, query.order_sql(VIEW, order), call.param("start"))
    return Reply({"productRows": [render(r) for r in page.records]}, page.total, page.next)


@method("crm.item.productrow.get")
def row_get(call: Call) -> Reply:
    with call.app.store.read() as conn:
        row = _row_of(conn, call)
    return Reply({"productRow": render(row)})


def _rows_in(raw: Any, name: str) -> list[dict[str, Any]]:
    raw = list(raw.values()) if isinstance(raw, dict) else raw
    if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
        raise errors.ApiError(400, "INVALID_ARG_VALUE", f"Parameter '{name}' must be array.")
    return [_upper(r) for r in raw]


def _upper(fields: dict[str, Any]) -> dict[str, Any]:
    return {upper(str(k)): val for k, val in fields.items()}


def _saved(call: Call, conn: sqlite3.Connection, owner_type: str, owner: dict[str, Any]) -> None:
    """After any change of an owner's rows: its automatic amount is recomputed and it counts as modified."""
    owner_id = owner["ID"] if owner_type == "D" else owner["id"]
    rows = deals.owner_rows(conn, owner_type, owner_id)
    if owner_type == "D":
        deals.touch_deal(call, conn, owner, rows)
        call.emit("ONCRMDEALUPDATE", {"ID": owner_id})
        return
    if owner.get("isManualOpportunity") != "Y":
        owner["opportunity"], owner["taxValue"] = deals.totals(rows)
    owner.update({"updatedTime": call.app.store.stamp(), "updatedBy": call.user_id})
    storage.update(conn, ITEMS, owner_id, owner)
    call.emit("ONCRMDYNAMICITEMUPDATE", {"ID": owner_id, "ENTITY_TYPE_ID": 31})


def _row_of(conn: sqlite3.Connection, call: Call) -> dict[str, Any]:
    row = storage.get(conn, deals.ROWS, v.to_int(call.param("id")) or 0)
    if row is None:
        raise errors.ApiError(400, "NOT_FOUND", "Product row not found")
    return row


@method("crm.item.productrow.set")
def row_set(call: Call) -> Reply:
    owner_type = str(call.param("ownerType") or "").upper()
    owner_id = v.to_int(call.param("ownerId")) or 0
    rows_in = _rows_in(call.param("productRows") or [], "productRows")
    with call.app.store.write() as conn:
        owner = _owner(call, conn, owner_type, owner_id)
        rows = deals.replace_rows(conn, owner_type, owner_id, rows_in)
        _saved(call, conn, owner_type, owner)
    return Reply({"productRows": [render(r) for r in rows]})


@method("crm.item.productrow.add")
def row_add(call: Call) -> Reply:
    fields = call.param("fields")
    if not isinstance(fields, dict):
        raise errors.ApiError(400, "INVALID_ARG_VALUE", "Parameter 'fields' must be array.")
    raw = _upper(fields)
    owner_type = str(raw.get("OWNER_TYPE") or "").upper()
    owner_id = v.to_int(raw.get("OWNER_ID")) or 0
    with call.app.store.write() as conn:
        owner = _owner(call, conn, owner_type, owner_id)
        row = deals.make_row(raw, owner_type, owner_id, deals.catalog_product(conn, raw))
        row["ID"] = storage.insert(conn, deals.ROWS, row)
        _saved(call, conn, owner_type, owner)
    return Reply({"productRow": render(row)})


@method("crm.item.productrow.update")
def row_update(call: Call) -> Reply:
    fields = call.param("fields")
    if not isinstance(fields, dict):
        raise errors.ApiError(400, "INVALID_ARG_VALUE", "Parameter 'fields' must be array.")
    changes = {k: val for k, val in _upper(fields).items() if k not in ("ID", "OWNER_ID", "OWNER_TYPE")}
    with call.app.store.write() as conn:
        old = _row_of(conn, call)
        owner = _owner(call, conn, old["OWNER_TYPE"], old["OWNER_ID"])
        merged = old | changes
        row = deals.make_row(merged, old["OWNER_TYPE"], old["OWNER_ID"], deals.catalog_product(conn, merged))
        row["ID"] = old["ID"]
        storage.update(conn, deals.ROWS, old["ID"], row)
        _saved(call, conn, old["OWNER_TYPE"], owner)
    return Reply({"productRow": render(row)})


@method("crm.item.productrow.delete")
def row_delete(call: Call) -> Reply:
    with call.app.store.write() as conn:
        old = _row_of(conn, call)
        owner = _owner(call, conn, old["OWNER_TYPE"], old["OWNER_ID"])
        storage.delete(conn, deals.ROWS, old["ID"])
        _saved(call, conn, old["OWNER_TYPE"], owner)
    return Reply(None)


@method("crm.item.productrow.fields")
def row_fields(call: Call) -> Reply:
    return Reply({"fields": {f.name: f.describe() for f in VIEW.public()}})
