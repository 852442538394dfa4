"""Plain-Python client of the 1C standard OData interface (protocols A.2–A.3, A.7–A.13, A.15–A.17).

Basic auth is built here with UTF-8 (Cyrillic logins; ``requests`` would use latin-1). Every request
carries ``$format=json``. The ``1C_OData-DataLoadMode`` header is never sent: it would bypass the BSP
change-prohibition date. Filters are :mod:`crm1c.clients.odata_filter` expressions only. Thread-safe
(one ``requests.Session`` per thread, whose connection pool the requests go through directly:
:class:`~crm1c.clients.transport.DirectPool`), so the engine may run a small pool of parallel writes.

Usage::

    onec = OneCClient("https://1c.local/accounting/odata/standard.odata/", "Интеграция", password,
                      verify="/etc/ssl/corp-ca.pem")
    for page in onec.list("Catalog_Контрагенты", filter=F("ИНН") == inn, select=["Ref_Key", "ИНН"]):
        ...
"""

from __future__ import annotations

import base64
import builtins
import datetime as dt
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any
from urllib.parse import quote

import requests
from requests.auth import AuthBase

from crm1c.clients.errors import ExternalSystemError, RetryableError
from crm1c.clients.odata_filter import Expr
from crm1c.clients.odata_filter import datetime as odata_datetime
from crm1c.clients.onec_errors import SYSTEM, map_error
from crm1c.clients.protected import check_onec_write
from crm1c.clients.retry import RetryPolicy
from crm1c.clients.stats import ClientStats
from crm1c.clients.transport import (
    TRANSPORT_ERRORS,
    DirectPool,
    ThreadSessions,
    environment_session,
    register_secret,
    transport_error,
)

log = logging.getLogger(__name__)

_ENTITY_SET = re.compile(r"^[A-Za-z]+_\w+$", re.UNICODE)
_SELECT_ITEM = re.compile(r"^(\*|[^\W\d]\w*(/[^\W\d]\w*)*)$", re.UNICODE)
_ORDERBY_ITEM = re.compile(r"^[^\W\d]\w*(/[^\W\d]\w*)*( (asc|desc))?$", re.UNICODE)
_QUERY_SAFE = "$,'()/:*"
FORBIDDEN_HEADER = "1c_odata-dataloadmode"


def basic_auth_header(user: str, password: str) -> str:
    """``Basic base64(utf8(user:password))``."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


class Utf8BasicAuth(AuthBase):
    """Basic auth with UTF-8 credentials; being an ``auth`` object it also keeps ``~/.netrc`` out."""

    def __init__(self, user: str, password: str) -> None:
        self.header = basic_auth_header(user, password)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self.header
        return request

    def __repr__(self) -> str:
        return "Utf8BasicAuth(***)"


@dataclass(frozen=True, slots=True)
class Answer:
    """What :attr:`OneCClient.observer` is told of each request: its HTTP status (0: no answer, ``error`` says
    why) and body (the decoded JSON; None when empty or not JSON)."""

    verb: str
    url: str
    seconds: float
    status: int
    body: Any = None
    error: str | None = None


class OneCClient:
    """1C OData client. ``verify`` is True or a CA bundle path; disabling TLS verification is not possible.
    ``observer`` (benchmarks, metrics) is called with an :class:`Answer` after every request."""

    def __init__(
        self,
        base_url: str,
        user: str,
        password: str,
        *,
        verify: str | bool = True,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        conn_id: str | None = None,
        session_factory: Callable[[], requests.Session] | None = None,
        observer: Callable[[Answer], None] | None = None,
    ) -> None:
        if verify is False:
            raise ValueError("TLS verification cannot be disabled; pass a CA bundle path instead")
        register_secret(password)
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.user = user
        self._auth = Utf8BasicAuth(user, password)
        self.verify = verify
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.conn_id = conn_id
        self.stats = ClientStats()
        self.observer = observer
        self._sessions = ThreadSessions(session_factory or partial(environment_session, self.base_url))
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"OneCClient(base_url={self.base_url!r}, user={self.user!r}, password=***)"

    def close(self) -> None:
        self._sessions.close()

    # -- URLs -----------------------------------------------------------------------------------
    @staticmethod
    def _path(entity_set: str, ref_key: str | uuid.UUID | None = None, suffix: str = "") -> str:
        if not _ENTITY_SET.match(entity_set):
            raise ValueError(f"invalid entity set name {entity_set!r}")
        path = quote(entity_set, safe="_")
        if ref_key is not None:
            path += f"(guid'{uuid.UUID(str(ref_key))}')"
        return path + suffix

    def _url(self, path: str, params: Sequence[tuple[str, str]] = ()) -> str:
        query = [("$format", "json"), *params]
        return self.base_url + path + "?" + "&".join(f"{k}={quote(v, safe=_QUERY_SAFE)}" for k, v in query)

    @staticmethod
    def _query(
        filter: Expr | None = None,
        select: Sequence[str] | None = None,
        orderby: str | Sequence[str] | None = None,
    ) -> list[tuple[str, str]]:
        params: list[tuple[str, str]] = []
        if filter is not None:
            if not isinstance(filter, Expr):
                raise TypeError("filter must be built with crm1c.clients.odata_filter (never a raw string)")
            params.append(("$filter", filter.render()))
        if select:
            if not all(_SELECT_ITEM.match(s) for s in select):
                raise ValueError(f"invalid $select item in {list(select)!r}")
            params.append(("$select", ",".join(select)))
        if orderby:
            items = [orderby] if isinstance(orderby, str) else list(orderby)
            if not all(_ORDERBY_ITEM.match(o) for o in items):
                raise ValueError(f"invalid $orderby item in {items!r}")
            params.append(("$orderby", ",".join(items)))
        return params

    # -- the choke point --------------------------------------------------------------------------
    def _connection(self) -> tuple[requests.Session, DirectPool | None]:
        """This thread's Session and its direct path (None: the Session sends)."""
        session, local = self._sessions.get(), self._local
        if getattr(local, "session", None) is not session:
            local.direct = DirectPool.of(session, self.base_url, self.verify)
            local.session = session
        return session, local.direct

    def _attempt(self, verb: str, url: str, what: str, body: Any = None, headers: dict | None = None) -> Any:
        """One HTTP request; returns the decoded JSON (None for an empty body). No retries here."""
        headers = {"Accept": "application/json", **(headers or {})}
        if any(h.lower() == FORBIDDEN_HEADER for h in headers):
            raise ValueError("1C_OData-DataLoadMode must never be sent (it bypasses the period-closing date)")
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False, default=_wire).encode("utf-8")
            headers["Content-Type"] = "application/json; charset=utf-8"
        self.stats.incr("requests")
        session, direct = self._connection()
        started = time.monotonic()
        failure: ExternalSystemError | None = None
        try:
            if direct is not None:
                headers["Authorization"] = self._auth.header
                status, content = direct.send(verb, url, data, headers, self.timeout)
            else:
                resp = session.request(
                    verb,
                    url,
                    data=data,
                    headers=headers,
                    auth=self._auth,
                    timeout=self.timeout,
                    verify=None if self.verify is True else self.verify,  # True: the session's (environment)
                )
                status, content = resp.status_code, resp.content
        except TRANSPORT_ERRORS as exc:
            failure = transport_error(exc, SYSTEM, what)
        seconds = time.monotonic() - started
        if failure is not None:  # raised outside the except block: no chained original
            self.stats.incr("transport_errors")
            if self.observer is not None:
                self.observer(Answer(verb, url, seconds, 0, error=failure.code))
            raise failure
        log.debug("%s -> HTTP %s in %.3fs", what, status, seconds)
        answer = _json_or_none(content)
        if self.observer is not None:
            self.observer(Answer(verb, url, seconds, status, answer))
        return self._decode(status, content, answer, what)

    def _decode(self, status: int, content: bytes, body: Any, what: str) -> Any:
        if status >= 400:
            self.stats.incr(f"http_{status}")
            raise map_error(status, body, what=what, conn_id=self.conn_id)
        if content and body is None:  # ($count's bare number is JSON too)
            raise RetryableError(f"{what}: answer is not JSON", system=SYSTEM, status=status)
        return body

    def _request(self, verb: str, url: str, what: str, body: Any = None, headers: dict | None = None) -> Any:
        return self.retry.run(
            lambda: self._attempt(verb, url, what, body, headers),
            write=verb != "GET",
            stats=self.stats,
            what=what,
        )

    # -- reads ----------------------------------------------------------------------------------
    # From here on ``list`` in the class body is this method: annotations say ``builtins.list``.
    def list(
        self,
        entity_set: str,
        filter: Expr | None = None,
        select: Sequence[str] | None = None,
        orderby: str | Sequence[str] = "Ref_Key",
        page_size: int = 1000,
    ) -> Iterator[builtins.list[dict]]:
        """Pages of ``page_size`` rows by ``$top``/``$skip`` with a stable ``$orderby`` (1C: no nextLink)."""
        if page_size < 1:
            raise ValueError("page_size must be positive")
        base = self._query(filter, select, orderby)
        skip = 0
        while True:
            params = [*base, ("$top", str(page_size)), ("$skip", str(skip))]
            rows = self._values(
                self._request("GET", self._url(self._path(entity_set), params), f"onec GET {entity_set}")
            )
            full = len(rows) == page_size
            if rows:
                yield rows
            rows = []  # not held while the next page is read: a caller that drops its page frees it
            if not full:
                return
            skip += page_size

    def list_all(
        self,
        entity_set: str,
        select: Sequence[str] | None = None,
        filter: Expr | None = None,
    ) -> builtins.list[dict]:
        """The whole filtered set in ONE request (cheap scans: ``Ref_Key,DataVersion,DeletionMark``)."""
        url = self._url(self._path(entity_set), self._query(filter, select))
        return self._values(self._request("GET", url, f"onec GET {entity_set}"))

    def slice_last(
        self,
        register: str,
        period: dt.date | dt.datetime,
        condition: Expr | None = None,
        select: Sequence[str] | None = None,
    ) -> builtins.list[dict]:
        """``InformationRegister_X/SliceLast(Period=…,Condition='…')``: each key's last record on or before
        ``period`` (e.g. an item's current price of one price type), in ONE request."""
        args = f"Period={odata_datetime(period).text}"
        if condition is not None:
            if not isinstance(condition, Expr):
                raise TypeError(
                    "condition must be built with crm1c.clients.odata_filter (never a raw string)"
                )
            args += f",Condition='{condition.render()}'"  # nested quotes stay as they are, as 1C reads them
        url = self._url(self._path(register, suffix=f"/SliceLast({args})"), self._query(select=select))
        return self._values(self._request("GET", url, f"onec GET {register}/SliceLast"))

    def balance(
        self,
        register: str,
        period: dt.date | dt.datetime | None = None,
        condition: Expr | None = None,
        select: Sequence[str] | None = None,
    ) -> builtins.list[dict]:
        """``AccountingRegister_X/Balance(Period=…,Condition='…')``: one row per account, organisation and
        subconto with ``СуммаBalance`` (Dr − Cr); movements strictly before ``period`` count (None: all of
        them), e.g. the 62.01 balances by counterparty with ``F("Account/Code") == "62.01"``. ONE request."""
        args = [f"Period={odata_datetime(period).text}"] if period is not None else []
        if condition is not None:
            if not isinstance(condition, Expr):
                raise TypeError(
                    "condition must be built with crm1c.clients.odata_filter (never a raw string)"
                )
            args.append(f"Condition='{condition.render()}'")
        suffix = f"/Balance({','.join(args)})"
        url = self._url(self._path(register, suffix=suffix), self._query(select=select))
        return self._values(self._request("GET", url, f"onec GET {register}/Balance"))

    def get(self, entity_set: str, ref_key: str | uuid.UUID, select: Sequence[str] | None = None) -> dict:
        """One object by ``Ref_Key`` (raises :class:`NotFound`)."""
        url = self._url(self._path(entity_set, ref_key), self._query(select=select))
        return self._request("GET", url, f"onec GET {entity_set}")

    def count(self, entity_set: str, filter: Expr | None = None) -> int:
        """``…/$count`` of the filtered set."""
        url = self._url(self._path(entity_set, suffix="/$count"), self._query(filter))
        answer = self._request(
            "GET", url, f"onec COUNT {entity_set}", headers={"Accept": "text/plain, application/json"}
        )
        if isinstance(answer, dict):
            answer = answer.get("value", answer.get("odata.count"))
        return int(answer)

    @staticmethod
    def _values(body: Any) -> builtins.list[dict]:
        if not isinstance(body, dict) or not isinstance(body.get("value"), list):
            raise ExternalSystemError("1C answer has no 'value' array", system=SYSTEM)
        return body["value"]

    # -- writes ---------------------------------------------------------------------------------
    def create(self, entity_set: str, body: dict[str, Any]) -> dict:
        """POST a new object; returns it with the generated ``Ref_Key``/``DataVersion`` (HTTP 201)."""
        check_onec_write(entity_set)
        return self._request("POST", self._url(self._path(entity_set)), f"onec POST {entity_set}", body)

    def update(
        self, entity_set: str, ref_key: str | uuid.UUID, changes: dict[str, Any], data_version: str
    ) -> dict:
        """PATCH with ``If-Match: <DataVersion>``; a stale version raises :class:`PreconditionFailed`."""
        check_onec_write(entity_set)
        if not data_version:
            raise ValueError("update needs the DataVersion read before the change (optimistic locking)")
        url = self._url(self._path(entity_set, ref_key))
        return self._request("PATCH", url, f"onec PATCH {entity_set}", changes, {"If-Match": data_version})

    def mark_deleted(
        self, entity_set: str, ref_key: str | uuid.UUID, data_version: str, mark: bool = True
    ) -> dict:
        """Set (or clear) ``DeletionMark``: never a physical DELETE."""
        return self.update(entity_set, ref_key, {"DeletionMark": mark}, data_version)

    def post_document(self, entity_set: str, ref_key: str | uuid.UUID, operational: bool = False) -> Any:
        """``POST Document_X(guid'…')/Post?PostingModeOperational=…``."""
        check_onec_write(entity_set)
        flag = [("PostingModeOperational", "true" if operational else "false")]
        url = self._url(self._path(entity_set, ref_key, "/Post"), flag)
        return self._request("POST", url, f"onec Post {entity_set}")

    def unpost_document(self, entity_set: str, ref_key: str | uuid.UUID) -> Any:
        """``POST Document_X(guid'…')/Unpost``."""
        check_onec_write(entity_set)
        url = self._url(self._path(entity_set, ref_key, "/Unpost"))
        return self._request("POST", url, f"onec Unpost {entity_set}")


def _wire(value: Any) -> int | float:
    """``json.dumps``' ``default``: a ``Decimal`` as the JSON number 1C reads (Edm.Double), a float only
    when it prints as exactly the same decimal (1C numbers have ≤ 15 digits), else ValueError — never a
    rounding."""
    if not isinstance(value, Decimal):
        raise TypeError(f"{type(value).__name__} is not JSON for 1C")
    number = int(value) if value == value.to_integral_value() else float(value)
    if Decimal(repr(number)) != value:
        raise ValueError(f"{value} cannot be sent to 1C exactly (more than 15 significant digits)")
    return number


def _json_or_none(content: bytes) -> Any:
    """The JSON of an answer (UTF-8, with or without the BOM 1C may put first); None when it is not JSON."""
    if not content:
        return None
    try:
        return json.loads(content.decode("utf-8-sig"))
    except ValueError:
        return None
