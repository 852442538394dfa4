"""Reads that are not plain entity rows: single lookups by composite key, tabular-row sets, record sets of
AccountingRegister_Хозрасчетный, and the virtual tables (Balance, Turnovers, RecordsWithExtDimensions,
SliceLast/SliceFirst).

Balance shape (decision, protocols.md E): ``AccountingRegister_Хозрасчетный/Balance(Period=datetime'…',
Condition='Account_Key eq guid'…'')`` returns one row per account, organisation and subconto
(``ExtDimension1..3`` with ``_Type``) with ``СуммаBalance``/``СуммаBalanceDr``/``СуммаBalanceCr``; movements
strictly before ``Period`` count (1C's ``Остатки(&Период)``), none given = all. ``Condition`` and
``AccountCondition`` are filters over ``Account_Key``, ``Организация_Key``, ``ExtDimension1..3``, ``Period``,
so
the 62.01 debt of one counterparty is ``Condition='Account/Code eq '62.01' and ExtDimension1 eq guid'…''``.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from contour.onec.filter import FilterError, parse, to_python
from contour.onec.odata import ODataFail, key_literal
from contour.onec.posting import money
from contour.onec.schema import SETS, UNDEFINED_TYPE, VIRTUAL, EntitySet
from contour.onec.seed import register_ref
from contour.onec.storage import Store

REGISTER = "AccountingRegister_Хозрасчетный"
_EXT_KEYS = [f"ExtDimension{i}{suffix}" for i in (1, 2, 3) for suffix in ("", "_Type")]


def _top_level_eq(text: str | None, prop: str) -> str | None:
    """The value of a top-level ``prop eq …`` conjunct of a filter, to narrow what is loaded."""
    if not text:
        return None
    try:
        node = parse(text)
    except FilterError:
        return None
    stack = [node]
    while stack:
        n = stack.pop()
        if n[0] == "and":
            stack += [n[1], n[2]]
        elif n[0] == "cmp" and n[1] == "eq" and n[2] == ("path", (prop,)) and n[3][0] == "lit":
            return str(n[3][2]).lower()
    return None


class Registers:
    def __init__(self, store: Store):
        self.store = store

    def resolver(self) -> Any:
        cache: dict[tuple[str, str], dict | None] = {}

        def resolve(set_name: str, ref: str) -> dict | None:
            if (set_name, ref) not in cache:
                with self.store.conn() as conn:
                    cache[(set_name, ref)] = self.store.get(conn, set_name, ref)
            return cache[(set_name, ref)]

        return resolve

    # ------------------------------------------------------------ rows

    def _records(self, where: str = "1", params: tuple = ()) -> list[tuple[dict, dict]]:
        with self.store.conn() as conn:
            rows = conn.execute(f"SELECT data, ext FROM records WHERE {where} ORDER BY id", params).fetchall()  # noqa: S608
        return [(json.loads(d), json.loads(e)) for d, e in rows]

    def record_sets(self, recorder: str | None = None) -> list[dict[str, Any]]:
        records = self._records("recorder = ?", (recorder,)) if recorder else self._records()
        sets: dict[str, dict[str, Any]] = {}
        for row, _ in records:
            item = sets.setdefault(
                row["Recorder"],
                {"Recorder": row["Recorder"], "Recorder_Type": row["Recorder_Type"], "RecordSet": []},
            )
            item["RecordSet"].append(row)
        return list(sets.values())

    def tabular_rows(self, es: EntitySet, ref: str | None = None) -> list[dict[str, Any]]:
        parent = es.parent or ""
        section = es.name[len(parent) + 1 :]
        with self.store.conn() as conn:
            if ref:
                found = conn.execute(
                    "SELECT data FROM entities WHERE set_name = ? AND ref = ?", (parent, ref)
                )
            else:
                found = conn.execute("SELECT data FROM entities WHERE set_name = ? ORDER BY id", (parent,))
            parents = [json.loads(r[0]) for r in found.fetchall()]
        return [{"Ref_Key": p["Ref_Key"], **row} for p in parents for row in p.get(section) or []]

    def python_rows(self, es: EntitySet, filter_text: str | None) -> list[dict[str, Any]]:
        if es.kind == "AccountingRegister":
            return self.record_sets(_top_level_eq(filter_text, "Recorder"))
        return self.tabular_rows(es, _top_level_eq(filter_text, "Ref_Key"))

    # ------------------------------------------------------------ by key

    def find(self, es: EntitySet, key: dict[str, Any]) -> dict[str, Any] | None:
        if es.is_object:
            if set(key) != {"Ref_Key"}:
                raise ODataFail(400, "7", ", ".join(es.keys))
            with self.store.conn() as conn:
                return self.store.get(conn, es.name, str(key["Ref_Key"]))
        recorder = str(key.get("Recorder", "")).lower()
        if es.kind == "AccountingRegister":
            if not recorder:
                raise ODataFail(400, "7", "Recorder, Recorder_Type")
            found = self.record_sets(recorder)
            return (
                found[0]
                if found
                else {"Recorder": recorder, "Recorder_Type": key.get("Recorder_Type", ""), "RecordSet": []}
            )
        if es.kind == "RecordType":
            if not recorder or "LineNumber" not in key:
                raise ODataFail(400, "7", "Recorder, Recorder_Type, LineNumber")
            records = self._records("recorder = ? AND line_number = ?", (recorder, int(key["LineNumber"])))
            return records[0][0] if records else None
        if es.kind == "Tabular":
            if "Ref_Key" not in key or "LineNumber" not in key:
                raise ODataFail(400, "7", "Ref_Key, LineNumber")
            rows = self.tabular_rows(es, str(key["Ref_Key"]))
            return next((r for r in rows if str(r.get("LineNumber")) == str(key["LineNumber"])), None)
        missing = [k for k in es.keys if k not in key]
        if missing:
            raise ODataFail(400, "7", ", ".join(missing))
        with self.store.conn() as conn:
            return self.store.get(conn, es.name, register_ref(es.name, key))

    # ------------------------------------------------------------ virtual tables

    def virtual(self, es: EntitySet, name: str, args: dict[str, str], q: Any) -> tuple[list[dict], str]:
        register = es.name in (REGISTER, f"{REGISTER}_RecordType")
        if register and name == "Balance":
            return self.balance(args), f"{REGISTER}_Balance"
        if register and name == "Turnovers":
            return self.turnovers(args), f"{REGISTER}_Turnovers"
        if register and name == "RecordsWithExtDimensions":
            if q.skip:
                raise ODataFail(400, "0", "$skip не поддерживается для RecordsWithExtDimensions")
            return self.with_ext(args), f"{REGISTER}_RecordsWithExtDimensions"
        if es.dimensions and name in ("SliceLast", "SliceFirst"):
            return self.slice(es, name, args), es.name
        raise ODataFail(400, "6")

    @staticmethod
    def _period(args: dict[str, str], name: str) -> str | None:
        raw = args.get(name)
        return None if raw in (None, "") else str(key_literal(raw))

    def _condition(self, es_name: str, *texts: str | None) -> Any:
        es = VIRTUAL.get(es_name) or SETS[es_name]
        resolver = self.resolver()
        predicates = [to_python(parse(t), es, resolver) for t in texts if t]
        return lambda row: all(p(row) for p in predicates)

    def movements(
        self, args: dict[str, str], start: str | None, end: str | None, before: str | None = None
    ) -> list[dict[str, Any]]:
        where, params = ["1"], []
        if start:
            where.append("period >= ?")
            params.append(start)
        if end:
            where.append("period <= ?")
            params.append(end)
        if before:
            where.append("period < ?")
            params.append(before)
        out = []
        for row, ext in self._records(" AND ".join(where), tuple(params)):
            for side, sign in (("Dr", 1), ("Cr", -1)):
                item = {
                    "Period": row["Period"],
                    "Account_Key": row[f"Account{side}_Key"],
                    "Организация_Key": row["Организация_Key"],
                    "Recorder": row["Recorder"],
                    "Recorder_Type": row["Recorder_Type"],
                    "_side": side,
                    "_amount": sign * money(row["Сумма"]),
                }
                for i in (1, 2, 3):
                    item[f"ExtDimension{i}"] = ext.get(f"ExtDimension{side}{i}", "")
                    item[f"ExtDimension{i}_Type"] = ext.get(f"ExtDimension{side}{i}_Type", UNDEFINED_TYPE)
                out.append(item)
        keep = self._condition(f"{REGISTER}_Movement", args.get("AccountCondition"), args.get("Condition"))
        return [m for m in out if keep(m)]

    @staticmethod
    def _group(moves: list[dict[str, Any]]) -> dict[tuple, dict[str, Any]]:
        groups: dict[tuple, dict[str, Any]] = {}
        for m in moves:
            key = (m["Account_Key"], m["Организация_Key"], *(m[k] for k in _EXT_KEYS))
            g = groups.setdefault(
                key,
                {
                    "Account_Key": m["Account_Key"],
                    "Организация_Key": m["Организация_Key"],
                    **{k: m[k] for k in _EXT_KEYS},
                    "Dr": Decimal(0),
                    "Cr": Decimal(0),
                },
            )
            g[m["_side"]] += abs(m["_amount"])
        return groups

    def balance(self, args: dict[str, str]) -> list[dict[str, Any]]:
        rows = []
        for g in self._group(self.movements(args, None, None, self._period(args, "Period"))).values():
            total = g.pop("Dr") - g.pop("Cr")
            if total:
                rows.append(
                    g
                    | {
                        "СуммаBalance": float(total),
                        "СуммаBalanceDr": float(max(total, Decimal(0))),
                        "СуммаBalanceCr": float(max(-total, Decimal(0))),
                    }
                )
        return rows

    def turnovers(self, args: dict[str, str]) -> list[dict[str, Any]]:
        moves = self.movements(args, self._period(args, "StartPeriod"), self._period(args, "EndPeriod"))
        rows = []
        for g in self._group(moves).values():
            dr, cr = g.pop("Dr"), g.pop("Cr")
            rows.append(
                g
                | {
                    "СуммаTurnoverDr": float(dr),
                    "СуммаTurnoverCr": float(cr),
                    "СуммаTurnover": float(dr - cr),
                }
            )
        return rows

    def with_ext(self, args: dict[str, str]) -> list[dict[str, Any]]:
        where, params = ["1"], []
        for name, op in (("StartPeriod", ">="), ("EndPeriod", "<=")):
            value = self._period(args, name)
            if value:
                where.append(f"period {op} ?")
                params.append(value)
        empty = {
            f"ExtDimension{s}{i}{t}": ("" if not t else UNDEFINED_TYPE)
            for s in ("Dr", "Cr")
            for i in (1, 2, 3)
            for t in ("", "_Type")
        }
        rows = [row | empty | ext for row, ext in self._records(" AND ".join(where), tuple(params))]
        keep = self._condition(f"{REGISTER}_RecordsWithExtDimensions", args.get("Condition"))
        return [r for r in rows if keep(r)]

    def slice(self, es: EntitySet, name: str, args: dict[str, str]) -> list[dict[str, Any]]:
        period = self._period(args, "Period")
        with self.store.conn() as conn:
            rows = [
                json.loads(r[0])
                for r in conn.execute(
                    "SELECT data FROM entities WHERE set_name = ? ORDER BY date", (es.name,)
                ).fetchall()
            ]
        keep = self._condition(es.name, args.get("Condition"))
        chosen: dict[tuple, dict[str, Any]] = {}
        for row in rows:
            if not keep(row) or row.get("Active") is False:
                continue
            key = tuple(row[d] for d in es.dimensions)
            if name == "SliceLast" and (period is None or row["Period"] <= period):
                chosen[key] = row
            elif name == "SliceFirst" and (period is None or row["Period"] >= period):
                chosen.setdefault(key, row)
        return list(chosen.values())
