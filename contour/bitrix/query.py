"""List queries: Bitrix ``filter``/``order``/``select``/``start`` translated to SQL over a :class:`Table`.

Filter keys carry an operation prefix (``>=ID``, ``%TITLE``, ``!@STAGE_ID``…). Datetimes compare at the
whole-second precision clients see, as index-friendly µs ranges. ``crm.item.list`` filters may nest
groups with ``logic: OR``; unknown fields: ignored by classic methods, rejected by ``crm.item`` ones.
"""
# ruff: noqa: S608 - SQL text comes from schema identifiers; client values are parameters

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from typing import Any

from contour.bitrix import storage
from contour.bitrix import values as v
from contour.bitrix.errors import ApiError
from contour.bitrix.fields import Field, Schema

PAGE = 50
PREFIXES = ("!@", "!=%", "!%=", "!%", "!=", ">=", "<=", "=%", "%=", "@", ">", "<", "%", "=", "!")
_CMP = {">": ">", ">=": ">=", "<": "<", "<=": "<="}
_UF_NAME = re.compile(r"UF_[A-Z0-9_]+")  # the only client text that becomes part of SQL: checked


def split_key(key: str) -> tuple[str, str]:
    for prefix in PREFIXES:
        if key.startswith(prefix) and len(key) > len(prefix):
            return prefix, key[len(prefix) :]
    return "=", key


@dataclass
class Filter:
    schema: Schema
    strict: bool = False
    allow_logic: bool = False

    def compile(self, flt: Any) -> tuple[str, list[Any]]:
        args: list[Any] = []
        sql = self._group(flt, args) if flt else ""
        return sql or "1", args

    def _group(self, flt: Any, args: list[Any]) -> str:
        items = (
            list(enumerate(flt))
            if isinstance(flt, list)
            else list(flt.items())
            if isinstance(flt, dict)
            else []
        )
        logic = "AND"
        parts: list[str] = []
        for key, value in items:
            key = str(key)
            if key.lower() == "logic":
                logic = "OR" if str(value).upper() == "OR" else "AND"
                continue
            if (key.isdigit() or isinstance(flt, list)) and isinstance(value, dict | list):
                if self.allow_logic or isinstance(flt, list):
                    sub = self._group(value, args)
                    if sub:
                        parts.append(f"({sub})")
                continue
            cond = self._condition(key, value, args)
            if cond:
                parts.append(cond)
        return f" {logic} ".join(parts)

    def _field(self, name: str, where: str = "filter") -> Field | None:
        f = self.schema.get(name)
        if f is None and _UF_NAME.fullmatch(name.upper()):  # user fields compare as text (numbers too)
            return Field(
                name.upper(), "string", column=f"CAST(json_extract(data, '$.\"{name.upper()}\"') AS TEXT)"
            )
        if f is None and self.strict:
            raise ApiError(
                400, "INVALID_ARG_VALUE", f"Invalid {where}: field '{name}' is not allowed in {where}"
            )
        return f

    def _condition(self, key: str, value: Any, args: list[Any]) -> str:
        op, name = split_key(key)
        f = self._field(name)
        if f is None:
            return ""
        if f.kind == "multifield":
            return _multifield(f, op, value, args)
        if op in ("%", "=%", "%=", "!%", "!=%", "!%="):
            return _like(f, op, value, args)
        many = value if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else None
        if op in ("@", "!@") or many is not None:
            return _in(f, "!" in op, many if many is not None else [value], args)
        if value is None or value == "":
            return _empty(f, op)
        if f.kind == "datetime":
            return _datetime(f, op, value, args)
        stored = _coerce(f, value)
        if stored is None:
            return "0" if op == "=" else ""
        if op in _CMP:
            args.append(stored)
            return f"{f.sql} {_CMP[op]} ?"
        args.append(stored)
        if op in ("!=", "!"):
            return f"({f.sql} IS NULL OR {f.sql} != ?)"
        return f"{f.sql} = ?"


def _coerce(f: Field, value: Any) -> Any:
    kind = f.kind
    if kind in ("int", "intlist"):
        return v.to_int(value)
    if kind == "float":
        return v.to_float(value)
    if kind == "yn":
        return v.yn(value)
    if kind == "date":
        return v.parse_date(value)
    return value if isinstance(value, str) else str(value)


def _empty(f: Field, op: str) -> str:
    if op in ("!=", "!"):
        return f"({f.sql} IS NOT NULL AND {f.sql} != '')"
    if op == "=":
        return f"({f.sql} IS NULL OR {f.sql} = '')"
    return ""


def _in(f: Field, negate: bool, values: list[Any], args: list[Any]) -> str:
    if f.kind == "datetime":
        stored = [us // v.US for us in (v.parse_datetime(x) for x in values) if us is not None]
        expr = f"({f.sql} / {v.US})"
    else:
        stored = [s for s in (_coerce(f, x) for x in values) if s is not None]
        expr = f.sql
    if f.kind == "intlist":
        marks = ", ".join("?" * len(stored))
        cond = f"EXISTS (SELECT 1 FROM json_each(data, '$.\"{f.key}\"') WHERE value IN ({marks}))"
        args.extend(stored)
        return f"NOT {cond}" if negate else cond
    if not stored:
        return "1" if negate else "0"
    args.extend(stored)
    marks = ", ".join("?" * len(stored))
    return f"({expr} IS NULL OR {expr} NOT IN ({marks}))" if negate else f"{expr} IN ({marks})"


def _like(f: Field, op: str, value: Any, args: list[Any]) -> str:
    text = "" if value is None else str(value)
    if op in ("%", "!%"):
        text = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    args.append(text)
    like = f"ulower(CAST({f.sql} AS TEXT)) LIKE ulower(?) ESCAPE '\\'"
    return f"({f.sql} IS NULL OR NOT {like})" if op.startswith("!") else like


def _datetime(f: Field, op: str, value: Any, args: list[Any]) -> str:
    us = v.parse_datetime(value)
    if us is None:
        return "0" if op == "=" else ""
    low = us // v.US * v.US
    high = low + v.US
    bounds = {
        ">": (f"{f.sql} >= ?", [high]),
        ">=": (f"{f.sql} >= ?", [low]),
        "<": (f"{f.sql} < ?", [low]),
        "<=": (f"{f.sql} < ?", [high]),
        "=": (f"({f.sql} >= ? AND {f.sql} < ?)", [low, high]),
        "!=": (f"({f.sql} IS NULL OR {f.sql} < ? OR {f.sql} >= ?)", [low, high]),
    }
    sql, extra = bounds.get(op, bounds["!="] if op == "!" else bounds["="])
    args.extend(extra)
    return sql


def _multifield(f: Field, op: str, value: Any, args: list[Any]) -> str:
    values = value if isinstance(value, list) else [value]
    args.extend(str(x) for x in values)
    marks = ", ".join("?" * len(values))
    cond = (
        f"EXISTS (SELECT 1 FROM json_each(data, '$.\"{f.key}\"') "
        f"WHERE json_extract(json_each.value, '$.VALUE') IN ({marks}))"
    )
    return f"NOT {cond}" if op.startswith("!") else cond


def order_sql(schema: Schema, order: Any, strict: bool = False) -> str:
    """``{FIELD: ASC|DESC}`` -> SQL; ``id`` is always the last key so pages are stable."""
    terms: list[str] = []
    items = order.items() if isinstance(order, dict) else ((name, "ASC") for name in order or [])
    seen_id = False
    for name, direction in items:
        f = Filter(schema, strict)._field(str(name), "order")
        if f is None or f.kind in ("multifield", "intlist", "any"):
            continue
        word = str(direction).upper()
        if word not in ("ASC", "DESC"):
            if strict:
                raise ApiError(
                    400,
                    "INVALID_ARG_VALUE",
                    "Invalid order: allowed sort directions are ASC, DESC. "
                    f"But got '{direction}' for field '{name}'",
                )
            word = "ASC"
        terms.append(f"{f.sql} {word}")
        seen_id = seen_id or f.column == "id"
    if not seen_id:
        terms.append("id ASC")
    return ", ".join(terms)


@dataclass
class Page:
    records: list[dict[str, Any]]
    total: int | None
    next: int | None


def page(
    conn: sqlite3.Connection, table: storage.Table, where: str, args: list[Any], order: str, start: Any
) -> Page:
    """One page of 50. ``start=-1`` skips the count (keyset paging: order by ID, filter ``>ID``)."""
    offset = v.to_int(start) or 0
    if offset == -1:
        return Page(storage.select(conn, table, where, args, order, PAGE), None, None)
    offset = max(offset, 0)
    total = storage.count(conn, table, where, args)
    records = storage.select(conn, table, where, args, order, PAGE, offset) if offset < total else []
    return Page(records, total, offset + PAGE if offset + PAGE < total else None)


def names_of(select: Any) -> list[str]:
    """A ``select`` as a list of names (JSON list, PHP array or a single string)."""
    if isinstance(select, str):
        return [select] if select else []
    return [str(s) for s in (select.values() if isinstance(select, dict) else select or [])]


def classic_select(schema: Schema, select: Any) -> tuple[list[Field], set[str] | bool]:
    """Fields to print for a classic list: ``*`` (no UF, no multiple), ``UF_*``, explicit names; default both.

    Returns the fields and the user fields wanted (``True`` for all of them).
    """
    names = names_of(select)
    if not names:
        names = ["*", "UF_*"]
    chosen: dict[str, Field] = {}
    ufs: set[str] | bool = set()
    id_field = next(f for f in schema.fields.values() if f.column == "id")
    chosen[id_field.name] = id_field
    for name in names:
        if name == "*":
            chosen.update({f.name: f for f in schema.public() if not f.multiple})
        elif name.upper() == "UF_*":
            ufs = True
        elif name.upper().startswith("UF_"):
            if isinstance(ufs, set):  # not after UF_*, which takes them all
                ufs.add(name.upper())
        else:
            f = schema.get(name)
            if f is not None and not f.hidden:
                chosen[f.name] = f
    return list(chosen.values()), ufs
