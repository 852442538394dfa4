"""Smart invoices through the universal ``crm.item.*`` methods (``entityTypeId=31`` only; typed camelCase)."""

from __future__ import annotations

import sqlite3
from typing import Any

from contour.bitrix import classic, deals, errors, query, stagehistory, storage
from contour.bitrix import values as v
from contour.bitrix.api import Call, Reply, method
from contour.bitrix.fields import Schema, coerce, typed_out

SMART_INVOICE = 31
DEFAULT_CATEGORY = 1
ITEMS = storage.TABLES["item"]
SCHEMA: Schema = ITEMS.schema
_WRITABLE_ON_ADD = {"categoryId"}


def entity_type(call: Call) -> int:
    type_id = v.to_int(call.param("entityTypeId"))
    if type_id == SMART_INVOICE:
        return type_id
    if type_id == 5:
        raise errors.ApiError(400, "ENTITY_TYPE_NOT_SUPPORTED", "Entity type `Invoice` is not supported")
    raise errors.ApiError(400, "NOT_FOUND", "Smart process not found")


def _item_id(call: Call) -> int:
    item_id = v.to_int(call.param("id"))
    if not item_id or item_id <= 0:
        raise errors.ApiError(400, "NOT_FOUND", "Item not found")
    return item_id


def render(record: dict[str, Any], select: Any = None) -> dict[str, Any]:
    names = query.names_of(select)
    if not names or "*" in names:
        fields = list(SCHEMA.public())
    else:
        fields = [SCHEMA.fields["id"], *(f for f in (SCHEMA.get(n) for n in names) if f and f.name != "id")]
    return {f.name: typed_out(f, record.get(f.key)) for f in fields}


def _apply(record: dict[str, Any], fields: Any, creating: bool) -> None:
    if not isinstance(fields, dict):
        raise errors.ApiError(400, "INVALID_ARG_VALUE", "Parameter 'fields' must be array.")
    for name, value in fields.items():
        f = SCHEMA.get(str(name))
        if f is None or (f.readonly and not (creating and f.name in _WRITABLE_ON_ADD)):
            continue
        if f.name == "categoryId" and not creating:
            continue
        record[f.key] = coerce(f, value)


def _stage_check(conn: sqlite3.Connection, record: dict[str, Any]) -> None:
    category = record.get("categoryId") or DEFAULT_CATEGORY
    record["categoryId"] = category
    stage = record.get("stageId") or f"DT{SMART_INVOICE}_{category}:N"
    record["stageId"] = stage
    known = conn.execute(
        "SELECT 1 FROM status WHERE entity_id = ? AND status_id = ?",
        (f"SMART_INVOICE_STAGE_{category}", stage),
    ).fetchone()
    if not known:
        raise errors.ApiError(400, "CRM_FIELD_ERROR_VALUE_NOT_VALID", 'Invalid value for field "Stage"')


def _saved(conn: sqlite3.Connection, record: dict[str, Any], old: dict[str, Any] | None) -> None:
    """The automatic amount (rows win over a written ``opportunity``) and the stage history of a save."""
    if old is not None and record.get("isManualOpportunity") != "Y":
        rows = storage.select(
            conn, storage.TABLES["productrow"], "owner_type = 'SI' AND owner_id = ?", (record["id"],)
        )
        if rows:
            record["opportunity"], record["taxValue"] = deals.totals(rows)
    category = record["categoryId"]
    semantic = stagehistory.semantic_of(conn, f"SMART_INVOICE_STAGE_{category}", record["stageId"]) or "P"
    stagehistory.record(
        conn,
        SMART_INVOICE,
        record["id"],
        (record["stageId"], category, semantic),
        record["updatedTime"],
        None if old is None else (old["stageId"], old["categoryId"]),
    )


@method("crm.item.add")
def item_add(call: Call) -> Reply:
    type_id = entity_type(call)
    with call.app.store.write() as conn:
        now = call.app.store.stamp()
        record: dict[str, Any] = {
            "entityTypeId": type_id,
            "createdBy": call.user_id,
            "updatedBy": call.user_id,
            "movedBy": call.user_id,
            "assignedById": call.user_id,
            "createdTime": now,
            "updatedTime": now,
            "movedTime": now,
            "opened": "Y",
            "isManualOpportunity": "N",
            "opportunity": 0.0,
            "taxValue": 0.0,
            "currencyId": "RUB",
            "contactIds": [],
            "observers": [],
        }
        _apply(record, call.param("fields"), creating=True)
        _stage_check(conn, record)
        item_id = storage.insert(conn, ITEMS, record)
        record["id"] = item_id
        record["title"] = record.get("title") or f"Счёт #{item_id}"
        record["accountNumber"] = record.get("accountNumber") or str(item_id)
        record["begindate"] = record.get("begindate") or v.parse_date(now / v.US)
        _saved(conn, record, None)
        storage.update(conn, ITEMS, item_id, record)
    call.emit("ONCRMDYNAMICITEMADD", {"ID": item_id, "ENTITY_TYPE_ID": type_id})
    return Reply({"item": render(record)})


@method("crm.item.update")
def item_update(call: Call) -> Reply:
    type_id = entity_type(call)
    item_id = _item_id(call)
    with call.app.store.write() as conn:
        old = storage.get(conn, ITEMS, item_id)
        if old is None or old.get("entityTypeId") != type_id:
            raise errors.ApiError(400, "NOT_FOUND", "Item not found")
        record = dict(old)
        _apply(record, call.param("fields"), creating=False)
        _stage_check(conn, record)
        now = call.app.store.stamp()
        record.update({"updatedTime": now, "updatedBy": call.user_id})
        if record["stageId"] != old["stageId"]:
            record.update({"previousStageId": old["stageId"], "movedTime": now, "movedBy": call.user_id})
        _saved(conn, record, old)
        storage.update(conn, ITEMS, item_id, record)
    call.emit("ONCRMDYNAMICITEMUPDATE", {"ID": item_id, "ENTITY_TYPE_ID": type_id})
    return Reply({"item": render(record)})


@method("crm.item.get")
def item_get(call: Call) -> Reply:
    type_id = entity_type(call)
    item_id = _item_id(call)
    with call.app.store.read() as conn:
        record = storage.get(conn, ITEMS, item_id)
    if record is None or record.get("entityTypeId") != type_id:
        raise errors.ApiError(400, "NOT_FOUND", "Item not found")
    return Reply({"item": render(record)})


@method("crm.item.list")
def item_list(call: Call) -> Reply:
    type_id = entity_type(call)
    page = classic.list_records(call, ITEMS, "entity_type_id = ?", (type_id,), strict=True)
    select = call.param("select")
    return Reply({"items": [render(r, select) for r in page.records]}, page.total, page.next)


@method("crm.item.delete")
def item_delete(call: Call) -> Reply:
    type_id = entity_type(call)
    item_id = _item_id(call)
    with call.app.store.write() as conn:
        record = storage.get(conn, ITEMS, item_id)
        if record is None or record.get("entityTypeId") != type_id:
            raise errors.ApiError(400, "NOT_FOUND", "Item not found")
        storage.delete(conn, ITEMS, item_id)
        conn.execute("DELETE FROM productrow WHERE owner_type = 'SI' AND owner_id = ?", (item_id,))
        stagehistory.forget(conn, SMART_INVOICE, item_id)
    call.emit("ONCRMDYNAMICITEMDELETE", {"ID": item_id, "ENTITY_TYPE_ID": type_id})
    return Reply([])


@method("crm.item.fields")
def item_fields(call: Call) -> Reply:
    entity_type(call)
    return Reply({"fields": {f.name: f.describe(upper_name=True) for f in SCHEMA.public()}})
