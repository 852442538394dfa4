"""Writes of objects: body validation, autonumbering, change-prohibition date, posting and unposting.

Decisions (protocols.md E): DELETE answers 200 with an empty body; Post/Unpost answer 200 with an empty body;
a stale If-Match gives HTTP 412 with ``{"odata.error":{"code":"-1",...}}`` and the platform's "changed by
another user" text (:data:`STALE`; clients key on the status).
The data-load header (``1C_OData-DataLoadMode: true``) bypasses the prohibition date on create/update/delete,
as BSP's subscriptions return early in load mode; Post/Unpost ignore the header and always check the date
(which date applies to whom: :mod:`contour.onec.prohibition`).
Required values (code 5): ``Date`` of documents, ``Description`` of catalogs, ``Owner_Key`` of contracts,
``Code`` of catalogs without autonumbering (currencies, units). Rows of a tabular section need ``LineNumber``
(without it BP 3.0 fails with HTTP 500, code -1).
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from decimal import Decimal
from typing import Any

from contour.onec import documents, posting
from contour.onec.filter import FilterError, datetime_literal
from contour.onec.odata import MESSAGES, ODataFail, key_literal
from contour.onec.prohibition import Rules
from contour.onec.schema import ENUMS, NS, SETS, ZERO_GUID, EntitySet, Prop
from contour.onec.storage import Store

STALE = (
    "-1",
    "Данные были изменены или удалены другим пользователем: версия данных объекта (DataVersion) не "
    "совпадает с указанной в заголовке If-Match",
)
_READ_ONLY = {"DataVersion", "Predefined", "PredefinedDataName", "Posted"}
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def new_ref() -> str:
    """A new Ref_Key shaped like 1C's (version-1 GUID layout), random otherwise."""
    return str(uuid.UUID(bytes=uuid.uuid4().bytes, version=1))


def _invalid(prop: Prop, value: Any) -> ODataFail:
    return ODataFail(400, "4", f"{prop.name} = {value!r}")


def coerce_value(prop: Prop, value: Any) -> Any:
    kind = prop.kind
    if kind in ("str", "comp", "type"):
        if value is None:
            return prop.empty()
        if not isinstance(value, str):
            raise _invalid(prop, value)
        if kind == "comp" and _GUID.match(value):
            return value.lower()
        return value[: prop.size] if prop.size else value
    if kind == "num":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise _invalid(prop, value)
        try:
            number = Decimal(str(value))
        except ArithmeticError as exc:
            raise _invalid(prop, value) from exc
        return (
            int(number) if number == number.to_integral_value() and "." not in str(value) else float(number)
        )
    if kind == "int":
        if isinstance(value, bool) or not str(value).isdigit():
            raise _invalid(prop, value)
        return int(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise _invalid(prop, value)
        return value
    if kind == "date":
        try:
            return datetime_literal(str(value)) if value else prop.empty()
        except FilterError as exc:
            raise _invalid(prop, value) from exc
    if kind == "guid":
        if not isinstance(value, str) or not _GUID.match(value):
            raise _invalid(prop, value)
        return value.lower()
    if kind == "enum":
        if value not in ("", *ENUMS[prop.enum or ""]):
            raise _invalid(prop, value)
        return value
    raise _invalid(prop, value)


def coerce_rows(row_es: EntitySet, rows: Any, require_line: bool = True) -> list[dict[str, Any]]:
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ODataFail(400, "4", f"{row_es.name}: ожидался массив строк")
    out = []
    for row in rows:
        if require_line and "LineNumber" not in row:
            raise ODataFail(
                500, "-1", MESSAGES["-1"] + " Дополнительные сведения можно найти в технологическом журнале."
            )
        item = {p.name: p.empty() for p in row_es.props if p.name != "Ref_Key"}
        for name, value in row.items():
            if name == "Ref_Key" or "@" in name or name.startswith("odata."):
                continue
            prop = row_es.prop(name)
            if prop is None:
                raise ODataFail(400, "10", f"{row_es.name}.{name}")
            item[name] = coerce_value(prop, value)
        out.append(item)
    return out


def coerce_body(es: EntitySet, body: Any) -> dict[str, Any]:
    """Validated properties of a write body (annotations skipped, ``X@odata.bind`` turned into ``X_Key``)."""
    if not isinstance(body, dict):
        raise ODataFail(400, "2", "ожидался JSON-объект")
    values: dict[str, Any] = {}
    for name, value in body.items():
        if name.endswith("@odata.bind"):
            nav = name.removesuffix("@odata.bind")
            prop = es.prop(f"{nav}_Key")
            m = re.fullmatch(r".*?\((guid'[^']*')\)", str(value))
            if prop is None or not m:
                raise ODataFail(400, "16", name)
            values[prop.name] = key_literal(m.group(1))
            continue
        if "@" in name or name.startswith("odata.") or name in _READ_ONLY:
            continue
        prop = es.prop(name)
        if prop is None:
            raise ODataFail(400, "10", f"{es.name}.{name}")
        if prop.kind == "coll":
            values[name] = coerce_rows(es.tabular[name], value)
        else:
            values[name] = coerce_value(prop, value)
    return values


_TEMPLATES: dict[str, tuple[dict[str, Any], list[str]]] = {}


def defaults(es: EntitySet) -> dict[str, Any]:
    """Every property of ``es`` at its empty value (fresh lists for tabular sections)."""
    if es.name not in _TEMPLATES:
        _TEMPLATES[es.name] = (
            {p.name: p.empty() for p in es.props},
            [p.name for p in es.props if p.kind == "coll"],
        )
    template, colls = _TEMPLATES[es.name]
    data = template.copy()
    for name in colls:
        data[name] = []
    return data


def _is_empty(value: Any) -> bool:
    return value in (None, "", ZERO_GUID, "0001-01-01T00:00:00")


class Writer:
    """Object writes against the store, inside a transaction the caller holds."""

    def __init__(self, store: Store, conn: sqlite3.Connection, rules: Rules, load_mode: bool):
        self.store, self.conn, self.rules, self.load_mode = store, conn, rules, load_mode

    # ------------------------------------------------------------ checks

    def check_closed(
        self, es: EntitySet, data: dict[str, Any], *, always: bool = False, handler: str = "ПередЗаписью"
    ) -> None:
        """BSP ПроверитьДатуЗапретаИзменения: HTTP 500, code -1 (skipped in data-load mode for writes)."""
        if es.kind == "Document" and not (self.load_mode and not always):
            self.rules.check(es.name, data, handler)

    def check_required(self, es: EntitySet, data: dict[str, Any]) -> None:
        for name in es.required:
            if name == "Code" and es.autocode:
                continue
            if _is_empty(data.get(name)):
                raise ODataFail(400, "5", name)

    def prepare(self, es: EntitySet, data: dict[str, Any]) -> None:
        """Required values, then BP's BeforeWrite (totals, sections; skipped in data-load mode)."""
        self.check_required(es, data)
        if not self.load_mode:
            documents.before_write(es.name, data)

    @staticmethod
    def check_version(current: dict[str, Any], if_match: str) -> None:
        tag = if_match.strip().removeprefix("W/").strip('"')
        if tag and tag != "*" and tag != current.get("DataVersion"):
            raise ODataFail(412, *STALE)

    # ------------------------------------------------------------ numbering

    def next_code(self, es: EntitySet) -> str:
        pattern = "[0-9]" * es.code_len
        row = self.conn.execute(
            "SELECT code FROM entities WHERE set_name = ? AND code GLOB ? ORDER BY code DESC LIMIT 1",
            (es.name, pattern),
        ).fetchone()
        return str(int(row[0]) + 1 if row else 1).zfill(es.code_len)

    def next_number(self, es: EntitySet, data: dict[str, Any]) -> str:
        org = self.store.get(self.conn, "Catalog_Организации", str(data.get("Организация_Key", "")))
        prefix = f"{(org or {}).get('Префикс') or '00'}00-"
        row = self.conn.execute(
            "SELECT number FROM entities WHERE set_name = ? AND number LIKE ? AND substr(date, 1, 4) = ? "
            "ORDER BY number DESC LIMIT 1",
            (es.name, f"{prefix}%", str(data["Date"])[:4]),
        ).fetchone()
        last = int(re.sub(r"\D", "", row[0][len(prefix) :]) or 0) if row else 0
        return f"{prefix}{last + 1:06d}"

    # ------------------------------------------------------------ writes

    def load(self, es: EntitySet, ref: str) -> dict[str, Any]:
        data = self.store.get(self.conn, es.name, ref)
        if data is None:
            raise ODataFail(404, "9")
        return data

    def create(self, es: EntitySet, body: Any) -> dict[str, Any]:
        values = coerce_body(es, body)
        if isinstance(body, dict) and body.get("Posted") is True:
            raise ODataFail(400, "16", "Posted (используйте Post)")
        data = defaults(es) | values
        ref = str(values.get("Ref_Key") or "")
        if _is_empty(ref):
            ref = data["Ref_Key"] = new_ref()
        elif self.store.get(self.conn, es.name, ref) is not None:
            raise ODataFail(400, "15", ref)
        self.prepare(es, data)
        if es.kind == "Document" and _is_empty(data.get("Number")):
            data["Number"] = self.next_number(es, data)
        elif es.prop("Code") is not None and es.autocode and _is_empty(data.get("Code")):
            data["Code"] = self.next_code(es)
        self.check_closed(es, data)
        data["DataVersion"] = self.store.next_version(self.conn)
        self.store.put(self.conn, es.name, ref, data)
        return data

    def update(self, es: EntitySet, ref: str, body: Any, if_match: str, replace: bool) -> dict[str, Any]:
        current = self.load(es, ref)
        self.check_version(current, if_match)
        values = coerce_body(es, body)
        if isinstance(body, dict) and "Posted" in body and body["Posted"] != current.get("Posted"):
            raise ODataFail(400, "16", "Posted (используйте Post/Unpost)")
        if replace:
            data = defaults(es) | values
            for keep in ("Ref_Key", "Posted", "Predefined", "PredefinedDataName", "Code", "Number"):
                if keep in current and (keep not in values or _is_empty(values[keep])):
                    data[keep] = current[keep]
        else:
            data = current | values
        data["Ref_Key"] = ref
        self.prepare(es, data)
        self.check_closed(es, current)
        self.check_closed(es, data)
        if es.kind == "Document" and data.get("DeletionMark") and current.get("Posted"):
            data["Posted"] = False  # marking a posted document for deletion cancels its posting
            self.store.replace_records(self.conn, ref, [])
        data["DataVersion"] = self.store.next_version(self.conn)
        self.store.put(self.conn, es.name, ref, data)
        return data

    def delete(self, es: EntitySet, ref: str, if_match: str) -> None:
        current = self.load(es, ref)
        self.check_version(current, if_match)
        self.check_closed(es, current, handler="ПередУдалением")
        self.store.replace_records(self.conn, ref, [])
        self.store.delete(self.conn, es.name, ref)

    def post(self, es: EntitySet, ref: str, ledger: posting.Ledger) -> None:
        doc = self.load(es, ref)
        self.check_closed(es, doc, always=True)
        if doc.get("DeletionMark"):
            raise ODataFail(500, "-1", f"Помеченный на удаление документ не может быть проведен! ({es.name})")
        try:
            rows = posting.post(es.name, doc, ledger)
        except posting.PostingError as exc:
            raise ODataFail(500, "-1", f"Не удалось провести документ: {exc}") from exc
        self.store.replace_records(self.conn, ref, rows)
        doc["Posted"] = True
        doc["DataVersion"] = self.store.next_version(self.conn)
        self.store.put(self.conn, es.name, ref, doc)

    def unpost(self, es: EntitySet, ref: str) -> None:
        doc = self.load(es, ref)
        self.check_closed(es, doc, always=True, handler="ОбработкаУдаленияПроведения")
        self.store.replace_records(self.conn, ref, [])
        doc["Posted"] = False
        doc["DataVersion"] = self.store.next_version(self.conn)
        self.store.put(self.conn, es.name, ref, doc)

    def write_record_set(self, recorder: str, recorder_type: str, body: Any) -> list[dict[str, Any]]:
        """PUT/PATCH of an ОперацияБух record set (subconto cannot be written this way: code 10)."""
        set_name = recorder_type.removeprefix(f"{NS}.")
        if set_name != "Document_ОперацияБух":
            raise ODataFail(405, "19", "движения этого документа формируются при проведении")
        doc = self.load(SETS[set_name], recorder)
        self.check_closed(SETS[set_name], doc)
        rec_es = SETS["AccountingRegister_Хозрасчетный_RecordType"]
        raw = body.get("RecordSet") if isinstance(body, dict) else None
        rows = coerce_rows(rec_es, raw if raw is not None else [], require_line=False)
        out: list[tuple[dict, dict]] = []
        for i, row in enumerate(rows, start=1):
            row.update(
                {
                    "Recorder": recorder,
                    "Recorder_Type": recorder_type,
                    "LineNumber": i,
                    "Period": row["Period"] if not _is_empty(row["Period"]) else doc["Date"],
                }
            )
            out.append((row, {}))
        self.store.replace_records(self.conn, recorder, out)
        return [r for r, _ in out]
