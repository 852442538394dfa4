"""``crm.stagehistory.list``: when deals (``entityTypeId=2``) and smart invoices (``31``) reached a stage.

Every create and every stage change made through the API (and every seeded deal and invoice) leaves a row:
``TYPE_ID`` 1 created, 2 moved to an intermediate stage, 3 moved to a final one (success or failure),
5 moved to another pipeline. The filter takes exact values, arrays and ``= != < > <= >=`` (no LIKE).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from contour.bitrix import errors, query, storage
from contour.bitrix import values as v
from contour.bitrix.api import Call, Reply, method
from contour.bitrix.fields import typed_out

TABLE = storage.TABLES["stagehistory"]
SCHEMA = TABLE.schema
CREATED, INTERMEDIATE, FINAL, PIPELINE = 1, 2, 3, 5
SUPPORTED = (2, 31)


def semantic_of(conn: sqlite3.Connection, entity_id: str, stage_id: str) -> str | None:
    """``S``/``F`` of a stage in the ``crm.status`` dictionary, ``None`` when in progress or unknown."""
    row = conn.execute(
        "SELECT json_extract(data, '$.SEMANTICS') FROM status WHERE entity_id = ? AND status_id = ?",
        (entity_id, stage_id),
    ).fetchone()
    return str(row[0]) if row and row[0] else None


def entry(
    entity_type_id: int,
    owner_id: int,
    stage: tuple[str, int, str],
    created: int,
    old: tuple[str, int] | None,
) -> dict[str, Any] | None:
    """The history row of a save (``stage`` = id, pipeline, semantics P/S/F; ``old`` = the previous stage
    and pipeline, ``None`` on create), or ``None`` when the stage did not change."""
    stage_id, category_id, semantic = stage
    if old is None:
        type_id = CREATED
    elif old[1] != category_id:
        type_id = PIPELINE
    elif old[0] == stage_id:
        return None
    else:
        type_id = FINAL if semantic in ("S", "F") else INTERMEDIATE
    return {
        "ENTITY_TYPE_ID": entity_type_id,
        "TYPE_ID": type_id,
        "OWNER_ID": owner_id,
        "CREATED_TIME": created,
        "CATEGORY_ID": category_id,
        "STAGE_SEMANTIC_ID": semantic,
        "STAGE_ID": stage_id,
    }


def record(
    conn: sqlite3.Connection,
    entity_type_id: int,
    owner_id: int,
    stage: tuple[str, int, str],
    created: int,
    old: tuple[str, int] | None,
) -> None:
    """Write the history row of a save, if the stage changed (see :func:`entry`)."""
    row = entry(entity_type_id, owner_id, stage, created, old)
    if row is not None:
        storage.insert(conn, TABLE, row)


def forget(conn: sqlite3.Connection, entity_type_id: int, owner_id: int) -> None:
    """A deleted deal or invoice takes its history with it."""
    conn.execute(
        "DELETE FROM stagehistory WHERE entity_type_id = ? AND owner_id = ?", (entity_type_id, owner_id)
    )


def render(row: dict[str, Any], names: list[str]) -> dict[str, Any]:
    fields = [f for f in SCHEMA.public() if not names or "*" in names or f.name in names]
    return {f.name: typed_out(f, row.get(f.key)) for f in fields}


@method("crm.stagehistory.list")
def stagehistory_list(call: Call) -> Reply:
    type_id = v.to_int(call.param("entityTypeId"))
    if type_id not in SUPPORTED:
        raise errors.ApiError(400, "ENTITY_TYPE_NOT_SUPPORTED", f"Entity type {type_id} is not supported")
    flt = call.param("filter") or {}
    if not isinstance(flt, dict):
        raise errors.ApiError(400, "INVALID_ARG_VALUE", "Parameter 'filter' must be array.")
    where, args = query.Filter(SCHEMA).compile({str(k).upper(): val for k, val in flt.items()})
    order = call.param("order")
    order = {str(k).upper(): d for k, d in order.items()} if isinstance(order, dict) else order
    names = [n.upper() for n in query.names_of(call.param("select"))]
    with call.app.store.read() as conn:
        page = query.page(
            conn,
            TABLE,
            f"entity_type_id = ? AND ({where})",
            [type_id, *args],
            query.order_sql(SCHEMA, order),
            call.param("start"),
        )
    return Reply({"items": [render(r, names) for r in page.records]}, page.total, page.next)
