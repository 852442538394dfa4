"""Plain-Python Bitrix24 REST client over an incoming webhook (protocols C.1–C.5, C.12–C.14).

Requests are ``POST <base>/rest/<user>/<token>/<method>.json`` with a JSON body. The token is a secret
that sits in the URL path: it is registered for scrubbing, never logged, never put in an exception or a
repr. Every HTTP request passes one choke point (:meth:`Bitrix24Client._attempt`): rate limiter, request,
error mapping; the :class:`RetryPolicy` wraps it (reads retried, writes only when provably not applied).

Usage::

    client = Bitrix24Client("https://portal.bitrix24.ru", "1", token, verify="/etc/ssl/corp-ca.pem",
                            limiter=LocalBucket(PLANS["standard"]))
    for page in client.iter_list_batched("crm.company.list", select=["ID", "TITLE"]):
        ...
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, TypeVar

import requests

from crm1c.clients import bitrix24_lists
from crm1c.clients.bitrix24_batch import MAX_COMMANDS, BatchResult
from crm1c.clients.bitrix24_errors import SYSTEM, map_error
from crm1c.clients.errors import ExternalSystemError, RetryableError, ValidationRejected
from crm1c.clients.phpquery import command as encode_command
from crm1c.clients.protected import check_bitrix_write
from crm1c.clients.ratelimit import NoLimit, RateLimiter
from crm1c.clients.retry import RetryPolicy
from crm1c.clients.stats import ClientStats
from crm1c.clients.transport import (
    ThreadSessions,
    environment_session,
    register_secret,
    scrub,
    transport_error,
)

T = TypeVar("T")

log = logging.getLogger(__name__)

READ_SUFFIXES = ("list", "get", "fields", "getlist")
_METHOD = re.compile(r"^[A-Za-z0-9_.]+$")
_PATH_SAFE = re.compile(r"^[A-Za-z0-9_\-]+$")
Command = str | tuple[str, Mapping[str, Any] | None]


def is_read_method(method: str) -> bool:
    """True for methods that change nothing (``*.list``, ``*.get``, ``*.fields``): safe to retry blindly."""
    return method.rsplit(".", 1)[-1].lower() in READ_SUFFIXES


class Bitrix24Client:
    """Webhook client. ``verify`` is True or a CA bundle path; disabling TLS verification is not possible."""

    def __init__(
        self,
        base_url: str,
        user_id: str | int,
        token: str,
        *,
        verify: str | bool = True,
        limiter: RateLimiter | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        conn_id: str | None = None,
        session_factory: Callable[[], requests.Session] | None = None,
    ) -> None:
        if verify is False:
            raise ValueError("TLS verification cannot be disabled; pass a CA bundle path instead")
        if not _PATH_SAFE.match(str(user_id)) or not _PATH_SAFE.match(token or ""):
            raise ValueError("webhook user id and token must be non-empty [A-Za-z0-9_-] strings")
        register_secret(token)
        self.base_url = base_url.rstrip("/")
        self.user_id = str(user_id)
        self._token = token
        self.verify = verify
        self.limiter = limiter or NoLimit()
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.conn_id = conn_id
        self.stats = ClientStats()
        self._sessions = ThreadSessions(session_factory or partial(environment_session, self.base_url))
        self._reset_at: dict[str, float] = {}

    def __repr__(self) -> str:
        return f"Bitrix24Client(base_url={self.base_url!r}, user_id={self.user_id!r}, token=***)"

    def close(self) -> None:
        self._sessions.close()

    # -- the choke point ------------------------------------------------------------------------
    def _url(self, method: str) -> str:
        if not _METHOD.match(method):
            raise ValueError(f"invalid Bitrix24 method name {method!r}")
        return f"{self.base_url}/rest/{self.user_id}/{self._token}/{method}.json"

    def _attempt(self, method: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """One HTTP request: wait for the limiter, POST, map the answer. No retries here."""
        waited = self.limiter.acquire()
        if waited:
            self.stats.add("limiter_wait_seconds", waited)
        self.stats.incr("requests")
        started = time.monotonic()
        failure: ExternalSystemError | None = None
        try:
            resp = self._sessions.get().post(
                self._url(method),
                json=dict(payload),
                timeout=self.timeout,
                verify=None if self.verify is True else self.verify,  # True: the session's (environment)
                headers={"Accept": "application/json", "User-Agent": "crm1c"},
            )
        except requests.RequestException as exc:
            failure = transport_error(exc, SYSTEM, f"bitrix24 {method}")
        if failure is not None:  # raised outside the except block: no __context__ holding the URL
            self.stats.incr("transport_errors")
            raise failure
        log.debug("bitrix24 %s -> HTTP %s in %.3fs", method, resp.status_code, time.monotonic() - started)
        return self._decode(method, resp)

    def _decode(self, method: str, resp: requests.Response) -> dict[str, Any]:
        try:
            body = resp.json()
        except ValueError:
            body = None
        if resp.status_code == 503:
            self.stats.incr("http_503")
            if isinstance(body, dict) and body.get("error") == "QUERY_LIMIT_EXCEEDED":
                self.limiter.penalize()
        elif resp.status_code >= 400:
            self.stats.incr(f"http_{resp.status_code}")
        failed = not isinstance(body, dict) or ("error" in body and "result" not in body)
        if resp.status_code >= 400 or failed:
            raise self._error(method, resp, body)
        self._remember_reset(method, body)
        return body

    def _error(self, method: str, resp: requests.Response, body: Any) -> ExternalSystemError:
        what = f"bitrix24 {method}"
        if resp.status_code < 400 and not isinstance(body, dict):
            return RetryableError(
                f"{what}: answer is not a JSON object", system=SYSTEM, status=resp.status_code
            )
        reset_at = _reset_at(body, resp) or self._known_reset(method)
        err = map_error(resp.status_code, body, what=what, conn_id=self.conn_id, reset_at=reset_at)
        err.message = scrub(err.message, (self._token,))
        return err

    def _remember_reset(self, method: str, body: Mapping[str, Any]) -> None:
        reset = (
            (body.get("time") or {}).get("operating_reset_at") if isinstance(body.get("time"), dict) else None
        )
        if reset:
            self._reset_at[method] = float(reset)

    def _known_reset(self, method: str) -> float | None:
        reset = self._reset_at.get(method)
        return reset if reset and reset > time.time() else None

    def _request(self, method: str, payload: Mapping[str, Any], *, write: bool) -> dict[str, Any]:
        return self.retry.run(
            lambda: self._attempt(method, payload), write=write, stats=self.stats, what=f"bitrix24 {method}"
        )

    # -- public API -------------------------------------------------------------------------------
    def call(
        self, method: str, params: Mapping[str, Any] | None = None, *, write: bool | None = None
    ) -> dict:
        """Call one method; return the whole envelope (``result``, ``total``, ``next``, ``time``)."""
        if not is_read_method(method):
            check_bitrix_write(method)
        is_write = not is_read_method(method) if write is None else write
        return self._request(method, params or {}, write=is_write)

    def batch(
        self,
        commands: Mapping[str, Command] | Sequence[Command],
        halt: bool = False,
        *,
        write: bool | None = None,
    ) -> BatchResult:
        """Run ≤50 commands in one request; ``commands`` maps keys (or list positions → ``cmd<i>``) to
        ``"method?query"`` strings or ``(method, params)`` tuples. Per-command errors do not raise."""
        cmd, methods = self._encode_batch(commands)
        for method in methods:
            if not is_read_method(method):
                check_bitrix_write(method)
        is_write = any(not is_read_method(m) for m in methods) if write is None else write
        envelope = self._request("batch", {"halt": 1 if halt else 0, "cmd": cmd}, write=is_write)
        return BatchResult.from_envelope(envelope, list(cmd), conn_id=self.conn_id)

    def batch_read(self, commands: Mapping[str, Command], parse: Callable[[BatchResult], T]) -> T:
        """One read-only ``batch`` request whose answers ``parse`` checks; a failure of either (a command
        that did not run, say) is retried as one attempt."""
        cmd, _methods = self._encode_batch(commands)

        def attempt() -> T:
            envelope = self._attempt("batch", {"halt": 0, "cmd": cmd})
            return parse(BatchResult.from_envelope(envelope, list(cmd), self.conn_id))

        return self.retry.run(attempt, write=False, stats=self.stats, what="bitrix24 batch")

    def keyset_chain(
        self,
        method: str,
        *,
        filter: Mapping[str, Any] | None = None,
        select: Sequence[str] | None = None,
        prefix: str = "p",
        count: bool = False,
    ) -> bitrix24_lists.KeysetChain:
        """A keyset listing to read through :meth:`batch_read`, sharing requests with other commands."""
        spec = bitrix24_lists.ListSpec(method, filter, select)
        return bitrix24_lists.KeysetChain(spec, prefix, count=count)

    def _encode_batch(
        self, commands: Mapping[str, Command] | Sequence[Command]
    ) -> tuple[dict[str, str], list]:
        items = (
            list(commands.items())
            if isinstance(commands, Mapping)
            else [(f"cmd{i}", c) for i, c in enumerate(commands)]
        )
        if not items:
            raise ValueError("a batch needs at least one command")
        if len(items) > MAX_COMMANDS:
            raise ValidationRejected(
                f"a batch holds at most {MAX_COMMANDS} commands, got {len(items)}",
                system=SYSTEM,
                code="ERROR_BATCH_LENGTH_EXCEEDED",
            )
        cmd: dict[str, str] = {}
        methods: list[str] = []
        for key, value in items:
            text = value if isinstance(value, str) else encode_command(value[0], value[1])
            cmd[str(key)] = text
            methods.append(text.split("?", 1)[0])
        if "batch" in methods:
            raise ValidationRejected(
                "nested batch is not allowed", system=SYSTEM, code="ERROR_BATCH_METHOD_NOT_ALLOWED"
            )
        return cmd, methods

    def iter_list(
        self,
        method: str,
        *,
        filter: Mapping[str, Any] | None = None,
        select: Sequence[str] | None = None,
        order_field: str = "ID",
        items_key: str | None = None,
        params: Mapping[str, Any] | None = None,
        page_callback: Callable[[list[dict], Any], None] | None = None,
    ) -> bitrix24_lists.Listing:
        """Keyset pages of 50 rows, one request each (``start=-1``, ``order {ID: ASC}``, ``>ID``); the
        listing's ``date_start`` is when the portal started its first request."""
        spec = bitrix24_lists.ListSpec(method, filter, select, order_field, items_key, params)
        return bitrix24_lists.iter_pages(self, spec, page_callback)

    def iter_list_batched(
        self,
        method: str,
        *,
        filter: Mapping[str, Any] | None = None,
        select: Sequence[str] | None = None,
        order_field: str = "ID",
        items_key: str | None = None,
        params: Mapping[str, Any] | None = None,
        calls_per_batch: int = MAX_COMMANDS,
        page_callback: Callable[[list[dict], Any], None] | None = None,
    ) -> bitrix24_lists.Listing:
        """Keyset listing with up to 50 chained list calls per request (≤2,500 rows per HTTP request); the
        listing's ``date_start`` is when the portal started its first request."""
        spec = bitrix24_lists.ListSpec(method, filter, select, order_field, items_key, params)
        return bitrix24_lists.iter_batched(self, spec, calls_per_batch, page_callback)


def _reset_at(body: Any, resp: requests.Response) -> float | None:
    """``operating_reset_at`` from the error body, else from a ``Retry-After`` header (seconds)."""
    if isinstance(body, dict) and isinstance(body.get("time"), dict):
        value = body["time"].get("operating_reset_at")
        if value:
            return float(value)
    if isinstance(body, dict) and body.get("operating_reset_at"):
        return float(body["operating_reset_at"])
    header = resp.headers.get("Retry-After")
    if header and header.strip().isdigit():
        return time.time() + int(header)
    return None
