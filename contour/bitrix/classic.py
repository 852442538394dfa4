"""Generic handlers of the classic ``crm.<entity>.add|update|get|list|delete|fields`` methods.

An :class:`EntitySpec` says which table, messages, events and hooks an entity has; :func:`register` turns it
into methods. Answers print every scalar as a string, Y/N flags and ISO datetimes, as real portals do.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from contour.bitrix import errors, query, storage
from contour.bitrix import values as v
from contour.bitrix.api import Call, Reply, method
from contour.bitrix.fields import Field, Schema, classic_out, coerce, uf_coerce, uf_typed

Hook = Callable[[Call, sqlite3.Connection, dict[str, Any], dict[str, Any] | None], None]


@dataclass
class EntitySpec:
    prefix: str  # "crm.company"
    table: storage.Table
    update_not_found: str = "Not found"
    events: dict[str, str] = field(default_factory=dict)  # action -> event name
    defaults: dict[str, Any] = field(default_factory=dict)
    before_save: Hook | None = None
    after_save: Hook | None = None  # after the insert/update, same transaction (the record has its ID)
    after_delete: Callable[[sqlite3.Connection, int], None] | None = None
    check: Callable[[Call, sqlite3.Connection, dict[str, Any]], None] | None = None
    stamp_keys: tuple[str, str] = ("DATE_CREATE", "DATE_MODIFY")
    user_keys: tuple[str, ...] = ("CREATED_BY_ID", "MODIFY_BY_ID", "ASSIGNED_BY_ID")
    modify_user_key: str = "MODIFY_BY_ID"
    title_template: str | None = None  # TITLE given to a record added without one (needs its new id)
    uf_entity: str | None = (
        None  # user fields defined for this ENTITY_ID only (others ignored); None: any UF_
    )

    @property
    def schema(self) -> Schema:
        return self.table.schema


def fields_param(call: Call) -> dict[str, Any]:
    raw = call.param("fields")
    if not isinstance(raw, dict):
        raise errors.business("Parameter 'fields' must be array.")
    return {str(k).upper(): val for k, val in raw.items()}


def id_param(call: Call) -> int:
    row_id = v.to_int(call.param("id"))
    if not row_id or row_id <= 0:
        raise errors.bad_id()
    return row_id


def merge_multifield(
    conn: sqlite3.Connection, type_id: str, old: list[dict[str, Any]] | None, value: Any
) -> list[dict[str, Any]]:
    """Bitrix multifield semantics: items with a known ``ID`` update (or delete when ``DELETE=Y`` / empty
    ``VALUE``), items without one are added, items not mentioned stay."""
    result = [dict(m) for m in old or []]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else [value]
    for item in items:
        if not isinstance(item, dict):
            item = {"VALUE": item}
        item = {str(k).upper(): x for k, x in item.items()}
        known = next((m for m in result if m["ID"] == v.to_int(item.get("ID"))), None)
        text = "" if item.get("VALUE") is None else str(item.get("VALUE"))
        if known is not None:
            if v.yn(item.get("DELETE", "N")) == "Y" or ("VALUE" in item and text == ""):
                result.remove(known)
            else:
                known["VALUE"] = text if "VALUE" in item else known["VALUE"]
                known["VALUE_TYPE"] = str(item.get("VALUE_TYPE") or known["VALUE_TYPE"])
        elif text:
            result.append(
                {
                    "ID": storage.next_seq(conn, "multifield"),
                    "VALUE_TYPE": str(item.get("VALUE_TYPE") or "WORK"),
                    "VALUE": text,
                    "TYPE_ID": type_id,
                }
            )
    return result


def user_fields(conn: sqlite3.Connection, entity: str) -> dict[str, dict[str, Any]]:
    """The user fields defined for an entity (``CRM_DEAL``), by ``FIELD_NAME``."""
    table = storage.TABLES["userfield"]
    return {f["FIELD_NAME"]: f for f in storage.select(conn, table, "entity_id = ?", (entity,), "id")}


def apply_fields(
    conn: sqlite3.Connection,
    schema: Schema,
    record: dict[str, Any],
    fields: dict[str, Any],
    creating: bool,
    ufs: dict[str, dict[str, Any]] | None = None,
) -> None:
    """Write client fields into a record: unknown and read-only fields are silently ignored, like Bitrix.
    With ``ufs`` (the defined user fields) an undefined ``UF_`` field is ignored too and values are typed."""
    for name, value in fields.items():
        if name.startswith("UF_"):
            if ufs is None:
                record[name] = uf_coerce(value)
            elif name in ufs:
                uf = ufs[name]
                record[name] = uf_typed(uf["USER_TYPE_ID"], uf.get("MULTIPLE") == "Y", value)
            continue
        f = schema.get(name)
        if f is None or f.readonly or f.hidden or (f.immutable and not creating):
            continue
        if f.kind == "multifield":
            record[f.key] = merge_multifield(conn, f.name, record.get(f.key), value)
        else:
            record[f.key] = coerce(f, value)


def describe_uf(uf: dict[str, Any]) -> dict[str, Any]:
    """A user field as ``crm.<entity>.fields`` lists it."""
    label = uf.get("EDIT_FORM_LABEL") or uf["FIELD_NAME"]
    return {
        "type": uf["USER_TYPE_ID"],
        "isRequired": uf.get("MANDATORY") == "Y",
        "isReadOnly": False,
        "isImmutable": False,
        "isMultiple": uf.get("MULTIPLE") == "Y",
        "isDynamic": True,
        "title": uf["FIELD_NAME"],
        "listLabel": uf.get("LIST_COLUMN_LABEL") or label,
        "formLabel": label,
        "filterLabel": uf.get("LIST_FILTER_LABEL") or label,
    }


def check_required(schema: Schema, record: dict[str, Any]) -> None:
    missing = [f.title or f.name for f in schema.public() if f.required and record.get(f.key) in (None, "")]
    if missing:
        raise errors.business("Required fields are not filled: " + ", ".join(f'"{m}"' for m in missing) + ".")


def render_full(schema: Schema, record: dict[str, Any]) -> dict[str, Any]:
    """What ``*.get`` prints: every field, multifields when present, user fields."""
    out: dict[str, Any] = {}
    for f in schema.public():
        if f.multiple:
            if f.kind == "multifield" and record.get(f.key):
                out[f.name] = classic_out(f, record[f.key])
            continue
        out[f.name] = classic_out(f, record.get(f.key))
    out.update({k: val for k, val in record.items() if k.startswith("UF_")})
    return out


def render_selected(fields: list[Field], ufs: set[str] | bool, record: dict[str, Any]) -> dict[str, Any]:
    out = {
        f.name: classic_out(f, record.get(f.key))
        for f in fields
        if f.kind != "multifield" or record.get(f.key)
    }
    for key, val in record.items():
        if key.startswith("UF_") and (ufs is True or (isinstance(ufs, set) and key in ufs)):
            out[key] = val
    return out


def list_records(
    call: Call,
    table: storage.Table,
    base_where: str = "1",
    base_args: tuple[Any, ...] = (),
    strict: bool = False,
) -> query.Page:
    flt = call.param("filter") or {}
    where, args = query.Filter(table.schema, strict=strict, allow_logic=strict).compile(
        {str(k).upper(): val for k, val in flt.items()} if isinstance(flt, dict) and not strict else flt
    )
    order = query.order_sql(table.schema, _upper_keys(call.param("order")), strict)
    with call.app.store.read() as conn:
        return query.page(
            conn, table, f"({base_where}) AND ({where})", [*base_args, *args], order, call.param("start")
        )


def _upper_keys(value: Any) -> Any:
    return {str(k).upper(): val for k, val in value.items()} if isinstance(value, dict) else value


def register(
    spec: EntitySpec, actions: tuple[str, ...] = ("add", "update", "get", "list", "delete", "fields")
) -> None:
    table = spec.table
    created, modified = spec.stamp_keys

    def add(call: Call) -> Reply:
        fields = fields_param(call)
        with call.app.store.write() as conn:
            now = call.app.store.stamp()
            record: dict[str, Any] = dict(spec.defaults)
            record.update(dict.fromkeys(spec.user_keys, call.user_id))
            record.update({created: now, modified: now})
            ufs = user_fields(conn, spec.uf_entity) if spec.uf_entity else None
            apply_fields(conn, spec.schema, record, fields, creating=True, ufs=ufs)
            check_required(spec.schema, record)
            if spec.check:
                spec.check(call, conn, record)
            if spec.before_save:
                spec.before_save(call, conn, record, None)
            row_id = storage.insert(conn, table, record)
            if spec.title_template and not record.get("TITLE"):
                record["TITLE"] = spec.title_template.format(id=row_id)
                storage.update(conn, table, row_id, record)
            if spec.after_save:
                spec.after_save(call, conn, {**record, table.id_key: row_id}, None)
        if "add" in spec.events:
            call.emit(spec.events["add"], {"ID": row_id})
        return Reply(row_id)

    def update(call: Call) -> Reply:
        row_id = id_param(call)
        fields = fields_param(call)
        with call.app.store.write() as conn:
            old = storage.get(conn, table, row_id)
            if old is None:
                raise errors.not_found(spec.update_not_found)
            record = dict(old)
            ufs = user_fields(conn, spec.uf_entity) if spec.uf_entity else None
            apply_fields(conn, spec.schema, record, fields, creating=False, ufs=ufs)
            record[modified] = call.app.store.stamp()
            record[spec.modify_user_key] = call.user_id
            if spec.check:
                spec.check(call, conn, record)
            if spec.before_save:
                spec.before_save(call, conn, record, old)
            storage.update(conn, table, row_id, record)
            if spec.after_save:
                spec.after_save(call, conn, record, old)
        if "update" in spec.events:
            call.emit(spec.events["update"], {"ID": row_id})
        return Reply(True)

    def get(call: Call) -> Reply:
        row_id = id_param(call)
        with call.app.store.read() as conn:
            record = storage.get(conn, table, row_id)
        if record is None:
            raise errors.not_found()
        return Reply(render_full(spec.schema, record))

    def list_(call: Call) -> Reply:
        chosen, ufs = query.classic_select(spec.schema, call.param("select"))
        result = list_records(call, table)
        return Reply([render_selected(chosen, ufs, r) for r in result.records], result.total, result.next)

    def delete(call: Call) -> Reply:
        row_id = id_param(call)
        with call.app.store.write() as conn:
            if not storage.delete(conn, table, row_id):
                raise errors.not_found()
            if spec.after_delete:
                spec.after_delete(conn, row_id)
        if "delete" in spec.events:
            call.emit(spec.events["delete"], {"ID": row_id})
        return Reply(True)

    def fields_(call: Call) -> Reply:
        described = {f.name: f.describe() for f in spec.schema.public()}
        if spec.uf_entity:
            with call.app.store.read() as conn:
                described.update(
                    {name: describe_uf(uf) for name, uf in user_fields(conn, spec.uf_entity).items()}
                )
        return Reply(described)

    handlers = {"add": add, "update": update, "get": get, "list": list_, "delete": delete, "fields": fields_}
    for action in actions:
        method(f"{spec.prefix}.{action}")(handlers[action])
