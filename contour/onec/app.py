"""The HTTP face of the 1C emulator: auth, routing, reads, and dispatch of writes (see package docstring)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import logging
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

from contour.onec import faults, metadata, posting, prohibition, writes
from contour.onec import seed as seeding
from contour.onec.filter import (
    ENTITY_COLUMNS,
    FilterError,
    SqlScope,
    order_python,
    order_sql,
    parse,
    parse_orderby,
    parse_select,
    to_python,
    to_sql,
)
from contour.onec.odata import MESSAGES, ODataFail, Route, Serializer, bad_query, error_response, parse_route
from contour.onec.registers import Registers
from contour.onec.schema import NS, SETS, VIRTUAL, ZERO_GUID, EntitySet
from contour.onec.storage import RECORD_COLUMNS, Store
from contour.onec.users import INTEGRATION, User
from contour.web import App, Request, Response

log = logging.getLogger("contour.onec")

PUBLICATION = "accounting"
LOAD_MODE_HEADER = "1C_OData-DataLoadMode"


def _utf8(text: str) -> str:
    """Raw (not percent-encoded) UTF-8 in a query string reaches us decoded as latin-1: undo that."""
    if any(ord(ch) > 127 for ch in text) and all(ord(ch) < 256 for ch in text):
        try:
            return text.encode("latin-1").decode("utf-8")
        except UnicodeDecodeError:
            return text
    return text


@dataclass
class Query:
    """The system query options of one request."""

    filter: str | None = None
    select: list[tuple[str, ...]] | None = None
    expand: list[str] | None = None
    orderby: list[tuple[tuple[str, ...], bool]] | None = None
    top: int | None = None
    skip: int | None = None
    inlinecount: bool = False
    allowed_only: bool = False
    nometadata: bool = False

    @classmethod
    def parse(cls, request: Request) -> Query:
        params = {k: _utf8(v) for k, v in request.query}
        fmt = params.get("$format", "json").lower()
        if fmt not in ("json", "application/json") and not fmt.startswith("application/json;"):
            raise ODataFail(400, "3", f"$format={fmt} (эмулятор отвечает только в JSON)")
        q = cls(
            filter=params.get("$filter"),
            allowed_only=params.get("allowedOnly", "").lower() == "true",
            nometadata="odata=nometadata" in request.header("accept").replace(" ", ""),
        )
        try:
            if "$select" in params:
                q.select = parse_select(params["$select"])
            if "$expand" in params:
                q.expand = [p.strip() for p in params["$expand"].split(",") if p.strip()]
            if "$orderby" in params:
                q.orderby = parse_orderby(params["$orderby"])
        except FilterError as exc:
            raise bad_query(exc) from exc
        for name in ("$top", "$skip"):
            if name in params:
                raw = params[name].strip()
                if not raw.isdigit():
                    raise ODataFail(400, "14", f"{name}={raw}")
                setattr(q, name[1:], int(raw))
        inline = params.get("$inlinecount", "none")
        if inline not in ("allpages", "none"):
            raise ODataFail(400, "14", f"$inlinecount={inline}")
        q.inlinecount = inline == "allpages"
        return q


class OneCApp(App):
    """1C:Бухгалтерия 3.0 standard OData interface (``/accounting/odata/standard.odata/``)."""

    name = "onec"
    knob_defaults: ClassVar[dict[str, Any]] = {
        "user": INTEGRATION,
        "password": "contour",
        "prohibition_date": None,  # None: as seeded; "" none; "YYYY-MM-DD" or relative (the register row)
        "prohibition_user_dates": None,  # None: as seeded; {login: value}: the per-user rows (prohibition)
        **faults.KNOBS,  # the write is made, then its answer is lost (contour.onec.faults)
    }

    def __init__(self, state_dir: Path, knob_overrides: dict[str, Any] | None = None):
        super().__init__(state_dir, knob_overrides)
        self.base = f"/{PUBLICATION}/odata/standard.odata/"
        self.store = Store(state_dir)
        self.registers = Registers(self.store)
        self._seed_token: str | None = None
        self._accounts: dict[str, str] = {}
        self.lost_answers = faults.LostAnswers(self.knobs, self.fault_rng)
        if self.store.meta("seed_token") is None:
            seeding.seed(state_dir, seeding.base_dataset())
        self._sync()

    # ------------------------------------------------------------ state

    def _sync(self) -> None:
        """After a (re)seed: drop caches and re-apply an explicitly set prohibition-date knob."""
        token = self.store.meta("seed_token")
        if token == self._seed_token:
            return
        self._seed_token = token
        self._accounts = {}
        self._apply_prohibition_knob()

    def _apply_prohibition_knob(self) -> None:
        common, per_user = self.knobs.get("prohibition_date"), self.knobs.get("prohibition_user_dates")
        with self.store.transaction() as conn:
            if common is not None:
                seeding.set_prohibition(conn, common)
            if per_user is not None:
                dates = json.loads(per_user) if isinstance(per_user, str) else per_user
                seeding.set_user_prohibitions(conn, {self.account(k): v for k, v in dates.items()})

    def on_knobs_changed(self, changes: dict[str, Any]) -> None:
        if "prohibition_date" in changes or "prohibition_user_dates" in changes:
            self._apply_prohibition_knob()

    def account(self, login: str) -> str:
        """The infobase user (``users`` row) a login stands for: the ``user`` knob is the integration."""
        return INTEGRATION if login == self.knobs.get("user") else login

    def rules(self, user: User) -> prohibition.Rules:
        """The change-prohibition dates of the register (ДатыЗапретаИзменения) as they apply to ``user``."""
        with self.store.conn() as conn:
            found = conn.execute(
                "SELECT set_name, data FROM entities WHERE set_name IN (?, 'Catalog_Организации')",
                (prohibition.REGISTER,),
            ).fetchall()
        rows = [json.loads(d) for name, d in found if name == prohibition.REGISTER]
        names = {
            o["Ref_Key"]: o["Description"]
            for o in (json.loads(d) for n, d in found if n != prohibition.REGISTER)
        }
        return prohibition.Rules(rows, user.ref, user.name, names)

    def prohibition(self) -> str | None:
        """The common change-prohibition date in force today (YYYY-MM-DD), for the admin endpoint."""
        closure = self.rules(User("")).closure(ZERO_GUID)
        return closure.date.isoformat() if closure else None

    def admin(self, request: Request) -> Response:
        sub = request.path.removeprefix("/_contour/")
        if sub == "requests":
            limit = int(dict(request.query).get("limit", "100") or 100)
            return Response.json(200, {"requests": self.store.recent_requests(limit)})
        if sub == "knobs" and request.method in ("POST", "PATCH"):
            changes = request.json() or {}
            values = [changes.get("prohibition_date")]
            per_user = changes.get("prohibition_user_dates")
            try:
                if isinstance(per_user, str):
                    per_user = json.loads(per_user)
                if per_user is not None and not isinstance(per_user, dict):
                    raise ValueError(per_user)
                for value in values + list((per_user or {}).values()):
                    prohibition.parse_setting(value)
            except ValueError as exc:
                message = (
                    "prohibition dates must be YYYY-MM-DD, КонецПрошлогоМесяца[+N] (or another BSP relative "
                    f"date) or empty; prohibition_user_dates a {{login: value}} object ({exc})"
                )
                return Response.json(400, {"error": message})
        response = super().admin(request)
        if sub == "knobs" and response.status == 200:
            values = json.loads(response.body)
            values["effective_prohibition_date"] = self.prohibition()
            response = Response.json(200, values)
        return response

    def fault_response(self, request: Request) -> Response:
        return error_response(500, "-1", MESSAGES["-1"])

    # ------------------------------------------------------------ entry

    def handle(self, request: Request) -> Response:
        started = time.perf_counter()
        ctx: dict[str, str | None] = {"user": None, "set": None, "action": None}
        try:
            response = self._handle(request, ctx)
        except ODataFail as exc:
            response = exc.response()
        except FilterError as exc:
            response = bad_query(exc).response()
        except Exception:
            log.exception("1C emulator failed on %s %s", request.method, request.path)
            response = error_response(500, "-1", MESSAGES["-1"])
        if response.status == 401:
            response.headers["WWW-Authenticate"] = 'Basic realm="1C:Enterprise"'
        try:
            self.store.log_request(
                dt.datetime.now().isoformat(timespec="milliseconds"),
                ctx["user"],
                request.method,
                ctx["set"],
                response.status,
                round((time.perf_counter() - started) * 1000, 2),
                request.path,
            )
        except Exception:  # the log must never break an answer
            log.exception("request log failed")
        action = ctx["action"]
        if action and 200 <= response.status < 300 and self.lost_answers.check(str(ctx["set"]), action):
            return faults.LostAnswer(response.status)
        return response

    def authenticate(self, request: Request) -> User:
        header = request.header("authorization")
        if not header.lower().startswith("basic "):
            raise ODataFail(401, "20", "Требуется аутентификация")
        try:
            login, _, password = base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise ODataFail(401, "20", "Неверные данные аутентификации") from exc
        with self.store.conn() as conn:
            if login == self.knobs.get("user"):
                row = conn.execute("SELECT rights FROM users WHERE name = ?", (INTEGRATION,)).fetchone()
                ok = password == self.knobs.get("password")
            else:
                found = conn.execute(
                    "SELECT rights, password FROM users WHERE name = ? AND name <> ?", (login, INTEGRATION)
                ).fetchone()
                row, ok = (found[:1], found[1] == password) if found else (None, False)
        if not ok or row is None:
            raise ODataFail(401, "20", "Идентификация пользователя не выполнена")
        return User.from_row(login, row[0], seeding.ref("user", self.account(login)))

    def _handle(self, request: Request, ctx: dict[str, str | None]) -> Response:
        self._sync()
        path = _utf8(request.path)
        if path + "/" == self.base:
            path = self.base
        if not path.startswith(self.base):
            return Response.text(404, "Not Found")
        user = self.authenticate(request)
        ctx["user"] = user.name
        rest = path[len(self.base) :]
        root = f"https://{request.header('host', '127.0.0.1')}{self.base}"
        if rest in ("", "/"):
            return Response.json(200, metadata.service_document(root))
        if rest == "$metadata":
            return Response.text(200, metadata.metadata_xml(), "application/xml; charset=utf-8")
        route = parse_route(rest)
        ctx["set"] = route.set_name
        es = SETS.get(route.set_name)
        if es is None or route.set_name.endswith("_Movement"):
            raise ODataFail(404, "8", route.set_name)
        method = "PATCH" if request.method == "MERGE" else request.method
        if method in ("GET", "HEAD"):
            if not user.can_read(es.name):
                raise ODataFail(403, "20")
            return self.read(request, es, route, user, root)
        ctx["action"] = faults.action_of(method, route.key is not None, route.segment)
        return self.write(request, method, es, route, user)

    # ------------------------------------------------------------ reads

    def resolver(self) -> Any:
        cache: dict[tuple[str, str], dict | None] = {}

        def resolve(set_name: str, ref: str) -> dict | None:
            if (set_name, ref) not in cache:
                with self.store.conn() as conn:
                    cache[(set_name, ref)] = self.store.get(conn, set_name, ref)
            return cache[(set_name, ref)]

        return resolve

    def read(self, request: Request, es: EntitySet, route: Route, user: User, root: str) -> Response:
        q = Query.parse(request)
        if route.segment and route.segment != "$count" and route.key is None:
            return self.function(es, route, q, user, root)
        if route.key is not None:
            return self.read_one(es, route, q, user, root)
        rows, count = self.list_rows(es, q, user, count_only=route.segment == "$count")
        if route.segment == "$count":
            return Response.text(200, str(count))
        return self.collection(es.name, es, rows, count if q.inlinecount else None, q, root)

    def collection(
        self, name: str, es: EntitySet, rows: list[dict], count: int | None, q: Query, root: str
    ) -> Response:
        try:
            ser = Serializer(es, self.resolver(), q.select, q.expand, nav_links=not q.nometadata)
        except FilterError as exc:
            raise bad_query(exc) from exc
        payload: dict[str, Any] = {} if q.nometadata else {"odata.metadata": f"{root}$metadata#{name}"}
        if count is not None:
            payload["odata.count"] = str(count)
        payload["value"] = [ser.entity(r) for r in rows]
        return Response.json(200, payload)

    def single(self, es: EntitySet, data: dict, q: Query, root: str, status: int = 200) -> Response:
        ser = Serializer(es, self.resolver(), q.select, q.expand, nav_links=not q.nometadata)
        payload: dict[str, Any] = (
            {} if q.nometadata else {"odata.metadata": f"{root}$metadata#{es.name}/@Element"}
        )
        payload.update(ser.entity(data))
        return Response.json(status, payload)

    @staticmethod
    def _paging(q: Query) -> tuple[int | None, int]:
        """``$top``/``$skip`` always page the rows (``$inlinecount=allpages`` counts the whole set)."""
        return q.top, q.skip or 0

    def list_rows(
        self, es: EntitySet, q: Query, user: User, count_only: bool = False
    ) -> tuple[list[dict], int]:
        if es.kind in ("Tabular", "AccountingRegister"):
            return self.py_list(es, self.registers.python_rows(es, q.filter), q, user, count_only)
        table, columns, where, params = (
            ("records", RECORD_COLUMNS, [], [])
            if es.kind == "RecordType"
            else ("entities", ENTITY_COLUMNS, ["e.set_name = ?"], [es.name])
        )
        scope = SqlScope(es, "e", columns)
        try:
            if q.filter is not None:
                sql, p = to_sql(parse(q.filter), scope)
                where.append(sql)
                params += p
            rls = user.rls.get(es.name)
            if rls:
                rsql, rp = to_sql(parse(rls), scope)
                if q.allowed_only:
                    where.append(rsql)
                    params += rp
                else:
                    self._deny_hidden(table, where, params, rsql, rp)
            order, order_params = order_sql(q.orderby, scope) if q.orderby else ("e.id", [])
        except FilterError as exc:
            raise bad_query(exc) from exc
        clause = " AND ".join(where) or "1"
        with self.store.conn() as conn:
            count = -1
            if count_only or q.inlinecount:
                count = conn.execute(f"SELECT count(*) FROM {table} e WHERE {clause}", params).fetchone()[0]  # noqa: S608
            if count_only:
                return [], count
            top, skip = self._paging(q)
            sql = f"SELECT e.data FROM {table} e WHERE {clause} ORDER BY {order} LIMIT ? OFFSET ?"  # noqa: S608
            rows = conn.execute(sql, [*params, *order_params, -1 if top is None else top, skip]).fetchall()
        return [json.loads(r[0]) for r in rows], count

    def _deny_hidden(self, table: str, where: list[str], params: list[Any], rsql: str, rp: list[Any]) -> None:
        clause = " AND ".join([*where, f"NOT coalesce({rsql}, 0)"])
        with self.store.conn() as conn:
            hidden = conn.execute(
                f"SELECT 1 FROM {table} e WHERE {clause} LIMIT 1",  # noqa: S608 - values are bound
                [*params, *rp],
            ).fetchone()
        if hidden:
            raise ODataFail(403, "20", "запрос затрагивает недоступные записи (используйте allowedOnly=true)")

    def py_list(
        self, es: EntitySet, rows: list[dict], q: Query, user: User, count_only: bool = False
    ) -> tuple[list[dict], int]:
        resolver = self.resolver()
        try:
            if q.filter is not None:
                predicate = to_python(parse(q.filter), es, resolver)
                rows = [r for r in rows if predicate(r)]
            if q.orderby:
                rows = order_python(q.orderby, es, resolver, rows)
        except FilterError as exc:
            raise bad_query(exc) from exc
        count = len(rows)
        if count_only:
            return [], count
        top, skip = self._paging(q)
        rows = rows[skip:] if top is None else rows[skip : skip + top]
        return rows, count

    def read_one(self, es: EntitySet, route: Route, q: Query, user: User, root: str) -> Response:
        data = self.registers.find(es, route.key or {})
        if data is None:
            raise ODataFail(404, "9")
        rls = user.rls.get(es.name)
        if rls and not to_python(parse(rls), es, self.resolver())(data):
            raise ODataFail(403, "20")
        if route.segment in (None, ""):
            return self.single(es, data, q, root)
        prop = es.prop(f"{route.segment}_Key")
        if prop is None or not prop.target:
            raise ODataFail(400, "6", route.segment)
        target = self.resolver()(prop.target, str(data.get(prop.name)))
        if target is None:
            raise ODataFail(404, "9")
        if not user.can_read(prop.target):
            raise ODataFail(403, "20")
        return self.single(SETS[prop.target], target, q, root)

    def function(self, es: EntitySet, route: Route, q: Query, user: User, root: str) -> Response:
        name = route.segment or ""
        try:
            rows, out_name = self.registers.virtual(es, name, route.args, q)
        except FilterError as exc:
            raise bad_query(exc) from exc
        out_es = VIRTUAL.get(out_name) or SETS[out_name]
        rows, count = self.py_list(out_es, rows, q, user)
        return self.collection(out_name, out_es, rows, count if q.inlinecount else None, q, root)

    # ------------------------------------------------------------ writes

    def ledger(self, conn: Any) -> posting.Ledger:
        app = self

        class _SqlLedger:
            def account(self, code: str) -> str:
                if code not in app._accounts:
                    row = conn.execute(
                        "SELECT ref FROM entities WHERE set_name = 'ChartOfAccounts_Хозрасчетный' "
                        "AND code = ?",
                        (code,),
                    ).fetchone()
                    if row is None:
                        raise posting.PostingError(f"в плане счетов нет счета {code}")
                    app._accounts[code] = row[0]
                return app._accounts[code]

            def balance(self, code: str, counterparty: str, until: str, exclude: str) -> Decimal:
                value = app.store.balance(conn, self.account(code), counterparty, until, exclude)
                return posting.money(round(value, 2))

        return _SqlLedger()

    def write(self, request: Request, method: str, es: EntitySet, route: Route, user: User) -> Response:
        if es.kind == "Tabular":
            if method == "POST" and route.key is None:
                raise ODataFail(400, "13")
            raise ODataFail(405, "19")
        if method not in ("POST", "PATCH", "PUT", "DELETE"):
            raise ODataFail(405, "19")
        if es.kind in ("RecordType", "InformationRegister", "ChartOfAccounts") and not user.can_write(
            es.name
        ):
            raise ODataFail(403, "20")
        if not user.can_write(es.name):
            raise ODataFail(403, "20")
        load_mode = request.header(LOAD_MODE_HEADER).strip().lower() == "true"
        if_match = request.header("if-match")
        try:
            body = request.json() if request.body else None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ODataFail(400, "2", f"тело запроса не является JSON: {exc}") from exc
        q = Query.parse(request)
        root = f"https://{request.header('host', '127.0.0.1')}{self.base}"
        if es.kind == "AccountingRegister":
            return self.write_record_set(es, method, route, body, load_mode, root, user)
        if not es.is_object:
            raise ODataFail(405, "19")
        with self.store.transaction() as conn:
            writer = writes.Writer(self.store, conn, self.rules(user), load_mode)
            if method == "POST" and route.key is None and route.segment is None:
                data = writer.create(es, body)
                response = self.single(es, data, q, root, status=201)
                location = f"{root}{es.name}(guid'{data['Ref_Key']}')"
                response.headers["Location"] = quote(location, safe=":/()'=,$-")
                return response
            ref = str((route.key or {}).get("Ref_Key", ""))
            if not ref:
                raise ODataFail(400, "7")
            if method == "POST" and route.segment in ("Post", "Unpost"):
                if not es.posting:
                    raise ODataFail(400, "11", f"{route.segment} для {es.name}")
                if route.segment == "Post":
                    writer.post(es, ref, self.ledger(conn))
                else:
                    writer.unpost(es, ref)
                return Response(200, b"")
            if route.segment:
                raise ODataFail(400, "6", route.segment)
            if method in ("PATCH", "PUT"):
                data = writer.update(es, ref, body, if_match, replace=method == "PUT")
                return self.single(es, data, q, root)
            if method == "DELETE":
                writer.delete(es, ref, if_match)
                return Response(200, b"")
        raise ODataFail(405, "19")

    def write_record_set(
        self, es: EntitySet, method: str, route: Route, body: Any, load_mode: bool, root: str, user: User
    ) -> Response:
        key = route.key or {}
        recorder, recorder_type = str(key.get("Recorder", "")), str(key.get("Recorder_Type", ""))
        if method not in ("PUT", "PATCH") or not recorder or not recorder_type.startswith(f"{NS}."):
            raise ODataFail(405, "19")
        with self.store.transaction() as conn:
            writer = writes.Writer(self.store, conn, self.rules(user), load_mode)
            rows = writer.write_record_set(recorder.lower(), recorder_type, body)
        data = {"Recorder": recorder.lower(), "Recorder_Type": recorder_type, "RecordSet": rows}
        return self.single(es, data, Query(), root)
