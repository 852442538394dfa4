"""Keyset listing of Bitrix24 ``*.list`` methods (protocols C.4, C.12, C.16).

Each call sends ``start=-1`` (no COUNT), ``order {ID: ASC}`` and ``filter {">ID": last}``; a page with
fewer than 50 rows is the last one. The batched variant chains up to 50 such calls in ONE ``batch``
request: call *i* filters ``>ID`` on ``$result[p<i-1>][49][ID]`` (``[items][49][id]`` for ``crm.item.list``),
the last row of the previous call's page, which the portal substitutes in order. That reads up to
50 × 50 = 2,500 rows per HTTP request. After the first short page the rest of the batch is discarded
(its reference pointed past the end). Every page is checked to continue strictly after the previous
one, so a reference the server failed to substitute can never produce duplicates. A listing tells when the
portal started its first request (:attr:`Listing.date_start`): every row it returns was read at or after it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from crm1c.clients.bitrix24_batch import MAX_COMMANDS, BatchResult, date_start
from crm1c.clients.bitrix24_errors import SYSTEM
from crm1c.clients.errors import ExternalSystemError, RetryableError
from crm1c.clients.phpquery import BatchRef
from crm1c.clients.phpquery import command as encode_command

PAGE = 50
PageCallback = Callable[[list[dict], Any], None]
Requests = Iterator[tuple[list[dict], str | None]]  # per request: its rows and the portal's date_start
T = TypeVar("T")


class ListingClient(Protocol):
    """What a listing calls on a client (:class:`crm1c.clients.bitrix24.Bitrix24Client` is one)."""

    def call(
        self, method: str, params: Mapping[str, Any] | None = None, *, write: bool | None = None
    ) -> dict:
        """One method call; the whole envelope (``result``, ``total``, ``next``)."""
        ...

    def batch_read(self, commands: Mapping[str, str], parse: Callable[[BatchResult], T]) -> T:
        """One read-only ``batch`` request whose answers ``parse`` checks, retried as one attempt."""
        ...


@dataclass(frozen=True)
class ListSpec:
    """What to list; ``items_key`` names the nesting of ``crm.item.list``-style results (``result.items``)."""

    method: str
    filter: Mapping[str, Any] | None = None
    select: Sequence[str] | None = None
    order_field: str = "ID"
    items_key: str | None = None
    params: Mapping[str, Any] | None = None

    def start_after(self) -> Any:
        """Resume point given as ``filter[">ID"]`` by the caller (None = from the beginning)."""
        return (self.filter or {}).get(f">{self.order_field}")

    def call_params(self, after: Any) -> dict[str, Any]:
        flt = {k: v for k, v in (self.filter or {}).items() if k != f">{self.order_field}"}
        if after is not None:
            flt[f">{self.order_field}"] = after
        params: dict[str, Any] = {**(self.params or {}), "order": {self.order_field: "ASC"}, "start": -1}
        if flt:
            params["filter"] = flt
        if self.select:
            select = list(self.select)
            params["select"] = select if self.order_field in select else [*select, self.order_field]
        return params

    def rows(self, result: Any) -> list[dict]:
        data = result.get(self.items_key) if self.items_key and isinstance(result, Mapping) else result
        if isinstance(data, Mapping):  # PHP-serialised list with non-sequential keys
            data = list(data.values())
        if not isinstance(data, list):
            raise ExternalSystemError(f"{self.method}: list result is not an array", system=SYSTEM)
        return data


def _key(value: Any) -> Any:
    """Comparable form of an ID (classic methods return numeric strings)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def _check_order(spec: ListSpec, rows: list[dict], after: Any) -> Any:
    """Return the last key of ``rows`` after checking the keys rise strictly and start after ``after``."""
    last = after
    for row in rows:
        key = _key(row.get(spec.order_field))
        if key is None or (last is not None and not key > _key(last)):
            raise ExternalSystemError(
                f"{spec.method}: keyset paging went backwards ({spec.order_field} {key!r} after {last!r}); "
                "stopping to avoid duplicates",
                system=SYSTEM,
                code="PAGING_ORDER",
            )
        last = key
    return last


class Listing(Iterator[list[dict]]):
    """The non-empty pages of a listing, read lazily, one request's rows at a time. ``date_start``: when the
    portal started the listing's first request (its ``time.date_start``), so every row of the listing was read
    at or after it; None before that request is made, or when its answer carried no time."""

    def __init__(self, requests: Requests) -> None:
        self.date_start: str | None = None
        self._requests, self._first = requests, True

    def __next__(self) -> list[dict]:
        while True:
            rows, started = next(self._requests)
            if self._first:
                self.date_start, self._first = started, False
            if rows:
                return rows


def iter_pages(client: ListingClient, spec: ListSpec, callback: PageCallback | None) -> Listing:
    """One request per page of ≤50 rows."""
    return Listing(_pages(client, spec, callback))


def _pages(client: ListingClient, spec: ListSpec, callback: PageCallback | None) -> Requests:
    after = spec.start_after()
    while True:
        envelope = client.call(spec.method, spec.call_params(after), write=False)
        rows = spec.rows(envelope.get("result"))
        after = _check_order(spec, rows, after)
        if callback:
            callback(rows, after)
        yield rows, date_start(envelope)
        if len(rows) < PAGE:
            return


def _batch_commands(spec: ListSpec, after: Any, width: int, prefix: str, count: bool) -> dict[str, str]:
    cmds: dict[str, str] = {}
    nesting = (spec.items_key,) if spec.items_key else ()
    for i in range(width):
        ref = after if i == 0 else BatchRef(f"{prefix}{i - 1}", *nesting, PAGE - 1, spec.order_field)
        params = spec.call_params(None) if i == 0 and after is None else spec.call_params(ref)
        if i == 0 and count:
            params["start"] = 0  # an offset page: the portal counts the rows (``total``) once
        cmds[f"{prefix}{i}"] = encode_command(spec.method, params)
    return cmds


@dataclass
class ChainPage:
    """What one request read of a chain: its rows, where it ended, and whether the listing is over."""

    rows: list[dict]
    after: Any
    done: bool
    total: int | None = None
    date_start: str | None = None


class KeysetChain:
    """A keyset listing read one ``batch`` request at a time; its calls can share a request with others.

    :meth:`commands` gives the next chained calls (keys ``<prefix>0…``), :meth:`read` checks their
    answers in a batch result without changing state (a retried request reads again), :meth:`advance`
    moves on. With ``count=True`` the first call is an offset page that also returns the number of rows,
    so the listing knows how many calls are left and ends without an extra empty call.
    """

    def __init__(self, spec: ListSpec, prefix: str = "p", *, count: bool = False) -> None:
        self.spec, self.prefix = spec, prefix
        self.after = spec.start_after()
        self.done = False
        self.total: int | None = None
        self.listed = 0
        self._count = count
        self._keys: list[str] = []

    def calls_left(self) -> int | None:
        """Calls still needed to reach the counted total (None before it is known)."""
        if self.total is None:
            return None
        return max(1, -(-(self.total - self.listed) // PAGE))

    def commands(self, width: int) -> dict[str, str]:
        count = self._count and self.total is None and self.listed == 0
        cmds = _batch_commands(self.spec, self.after, width, self.prefix, count)
        self._keys = list(cmds)
        return cmds

    def read(self, result: BatchResult) -> ChainPage:
        rows, after, short = _collect(self.spec, result, self.after, self._keys)
        total = self.total
        if total is None and self._count and self._keys:
            counted = result.totals.get(self._keys[0])
            total = int(counted) if counted is not None else None
        done = short or (total is not None and self.listed + len(rows) >= total)
        return ChainPage(rows, after, done, total, result.date_start)

    def advance(self, page: ChainPage) -> None:
        self.after, self.done, self.total = page.after, page.done, page.total
        self.listed += len(page.rows)


def _collect(
    spec: ListSpec, result: BatchResult, after: Any, keys: Sequence[str]
) -> tuple[list[dict], Any, bool]:
    """Rows of the chained pages, in order, up to and including the first short page."""
    rows_all: list[dict] = []
    for key in keys:
        if key in result.errors:
            raise result.errors[key]
        if key not in result.results:
            raise RetryableError(f"{spec.method}: batch command {key} did not run", system=SYSTEM)
        rows = spec.rows(result.results[key])
        after = _check_order(spec, rows, after)
        rows_all.extend(rows)
        if len(rows) < PAGE:
            return rows_all, after, True
    return rows_all, after, False


def iter_batched(client: ListingClient, spec: ListSpec, width: int, callback: PageCallback | None) -> Listing:
    """Up to ``width`` chained list calls per ``batch`` request; its pages are the rows of each request."""
    if not 1 <= width <= MAX_COMMANDS:
        raise ValueError(f"calls_per_batch must be 1..{MAX_COMMANDS}")
    return Listing(_batches(client, KeysetChain(spec), width, callback))


def _batches(
    client: ListingClient, chain: KeysetChain, width: int, callback: PageCallback | None
) -> Requests:
    while not chain.done:
        page = client.batch_read(chain.commands(width), chain.read)
        chain.advance(page)
        if callback:
            callback(page.rows, page.after)
        yield page.rows, page.date_start
