"""Reference dictionaries: ``crm.status.list`` (stages, company types, sources…), ``crm.category.list``."""

from __future__ import annotations

from contour.bitrix import classic, errors, query, storage
from contour.bitrix import values as v
from contour.bitrix.api import Call, Reply, method
from contour.bitrix.fields import typed_out

STATUSES = storage.TABLES["status"]
CATEGORIES = storage.TABLES["category"]
CATEGORY_TYPES = {2: "Deal", 31: "SmartInvoice"}  # entity types that have pipelines here


@method("crm.status.list")
def status_list(call: Call) -> Reply:
    """All matching entries (small dictionary: no paging), ordered by ``SORT`` unless told otherwise."""
    flt = call.param("filter") or {}
    flt = {str(k).upper(): val for k, val in flt.items()} if isinstance(flt, dict) else flt
    where, args = query.Filter(STATUSES.schema).compile(flt)
    order = call.param("order") or {"SORT": "ASC"}
    order_sql = query.order_sql(
        STATUSES.schema, {str(k).upper(): d for k, d in order.items()} if isinstance(order, dict) else order
    )
    with call.app.store.read() as conn:
        rows = storage.select(conn, STATUSES, where, args, order_sql)
    return Reply([classic.render_full(STATUSES.schema, r) for r in rows], len(rows))


@method("crm.status.fields")
def status_fields(call: Call) -> Reply:
    return Reply({f.name: f.describe() for f in STATUSES.schema.public()})


@method("crm.category.list")
def category_list(call: Call) -> Reply:
    type_id = v.to_int(call.param("entityTypeId"))
    if type_id not in CATEGORY_TYPES:
        if type_id in (1, 3, 4, 5, 7):
            raise errors.ApiError(
                400, "ENTITY_TYPE_NOT_SUPPORTED", f"Entity type `{type_id}` is not supported"
            )
        raise errors.ApiError(400, "NOT_FOUND", "Smart process not found")
    with call.app.store.read() as conn:
        rows = storage.select(
            conn, CATEGORIES, "entity_type_id = ?", (type_id,), "json_extract(data, '$.sort'), id"
        )
    fields = CATEGORIES.schema.public()
    return Reply(
        {"categories": [{f.name: typed_out(f, r.get(f.key)) for f in fields} for r in rows]}, len(rows)
    )
