"""Counterparties from Bitrix24: companies with their first requisite, read incrementally into staging.

Incremental by the server's ``DATE_MODIFY`` with an overlap window (companies and requisites separately,
two cursors), keyset-listed in batch requests; a full run also tombstones companies that are gone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from crm1c.clients.bitrix24_errors import SYSTEM
from crm1c.clients.errors import RetryableError
from crm1c.domain.counterparty_codec import bitrix_select
from crm1c.sync.counterparties.records import COMPANY_TYPE_ID, KEY, crm_seen
from crm1c.sync.engine import cursors
from crm1c.sync.engine.cursors import later
from crm1c.sync.runtime import Progress, SyncEnv

REQUISITE_CURSOR = "requisite"  # requisites edited without their company changing

IDS_PER_CALL = 50  # companies per requisite list call
CALLS = 50  # calls per batch request
HOLD = 2 * CALLS * IDS_PER_CALL  # listed companies waiting for requisites: read those first from here on


class _CompanyReader:
    """Stores listed companies with their first requisite (lowest ID).

    Requisites are read by company ID, 50 companies per list call, in the same batch requests as the
    company listing: each request carries the next chained company calls and requisite calls for
    companies listed by earlier requests, so requests stay full (≤ 2,500 rows each).
    """

    def __init__(self, env: SyncEnv, req_select: list[str]):
        self.env, self.req_select = env, req_select
        self.waiting: list[dict] = []  # listed, requisite not read yet
        self.groups: list[list[dict]] = []  # the companies of the requisite calls in flight
        self.read_ids: set[str] | None = None  # every company listed, when kept (incremental runs)
        self.mark: str | None = None  # newest company DATE_MODIFY read
        self.req_mark: str | None = None  # newest requisite DATE_MODIFY read
        self.progress = Progress("extract_crm")

    def add(self, companies: list[dict]) -> None:
        self.waiting += companies
        if self.read_ids is not None:
            self.read_ids.update(str(c["ID"]) for c in companies)

    def calls_needed(self) -> int:
        return -(-len(self.waiting) // IDS_PER_CALL)

    def commands(self, calls: int) -> dict[str, Any]:
        """Requisite calls for the first ``calls × 50`` waiting companies (keys ``r0…``)."""
        size = IDS_PER_CALL
        self.groups = [g for k in range(0, calls * size, size) if (g := self.waiting[k : k + size])]
        return {f"r{n}": self._list_command([str(c["ID"]) for c in g]) for n, g in enumerate(self.groups)}

    def read(self, result: Any) -> list[list[dict]]:
        """The requisite rows of each call in flight (a call that did not run fails the attempt)."""
        pages = []
        for n in range(len(self.groups)):
            key = f"r{n}"
            if key in result.errors:
                raise result.errors[key]
            if key not in result.results:
                raise RetryableError(f"crm.requisite.list: batch command {key} did not run", system=SYSTEM)
            pages.append(list(result.results[key] or []))
        return pages

    def store(self, pages: list[list[dict]]) -> None:
        """Store the companies of the calls in flight with the requisites read for them."""
        env, stored = self.env, 0
        for group, rows in zip(self.groups, pages, strict=True):
            requisites = self._first_requisites(group, rows)
            records = [crm_seen(c, requisites.get(str(c["ID"])), env.mapping) for c in group]
            result = env.staging.upsert_seen("crm", KEY, records)
            env.count("crm_read", len(records))
            env.count("crm_changed", len(result.to_sync))
            self.progress.advance(len(records))
            for company in group:
                if company.get("DATE_MODIFY"):
                    self.mark = later(self.mark, company["DATE_MODIFY"])
            for requisite in requisites.values():
                if requisite.get("DATE_MODIFY"):
                    self.req_mark = later(self.req_mark, requisite["DATE_MODIFY"])
            stored += len(group)
        self.waiting = self.waiting[stored:]
        self.groups = []

    def flush(self) -> None:
        """Read the requisites of every company still waiting (requests of requisite calls only)."""
        while self.waiting:
            commands = self.commands(min(CALLS, self.calls_needed()))
            self.store(self.env.crm.batch_read(commands, self.read))
        self.progress.finish()

    def _list_command(self, ids: list[str]) -> tuple[str, dict[str, Any]]:
        flt = {"ENTITY_TYPE_ID": COMPANY_TYPE_ID, "@ENTITY_ID": ids}
        return (
            "crm.requisite.list",
            {"filter": flt, "select": self.req_select, "order": {"ID": "ASC"}, "start": -1},
        )

    def _first_requisites(self, group: list[dict], rows: list[dict]) -> dict[str, dict]:
        """The lowest-ID requisite of each company of ``group``. A full page (50 rows, by ID) holds it for
        every company that appears in it; the others are listed again on their own."""
        found: dict[str, dict] = {}
        for row in sorted(rows, key=lambda r: int(r["ID"])):
            found.setdefault(str(row["ENTITY_ID"]), row)
        absent = [str(c["ID"]) for c in group if str(c["ID"]) not in found]
        if len(rows) >= IDS_PER_CALL and absent:
            flt = {"ENTITY_TYPE_ID": COMPANY_TYPE_ID, "@ENTITY_ID": absent}
            for page in self.env.crm.iter_list("crm.requisite.list", filter=flt, select=self.req_select):
                for row in page:  # keyset pages come by rising ID
                    found.setdefault(str(row["ENTITY_ID"]), row)
        return found


def _read_step(env: SyncEnv, chain: Any, reader: _CompanyReader) -> None:
    """One batch request: the next chained company calls and requisite calls for companies listed before.

    Companies go first until ``HOLD`` of them wait (memory stays flat), then requisites; whatever the
    first kind leaves of the 50 calls goes to the other. The chain knows how many calls are left (it
    counted the rows on its first call), so no call is spent past the end.
    """
    wanted = min(CALLS, chain.calls_left() or CALLS)
    if len(reader.waiting) >= HOLD:
        requisite_calls = min(CALLS, reader.calls_needed())
        company_calls = min(wanted, CALLS - requisite_calls)
    else:
        company_calls = wanted
        requisite_calls = min(reader.calls_needed(), CALLS - company_calls)
    commands = {
        **(chain.commands(company_calls) if company_calls else {}),
        **reader.commands(requisite_calls),
    }

    def parse(result: Any) -> tuple[Any, list[list[dict]]]:
        return (chain.read(result) if company_calls else None), reader.read(result)

    page, requisites = env.crm.batch_read(commands, parse)
    reader.store(requisites)
    if page is not None:
        chain.advance(page)
        reader.add(page.rows)


def read_companies(env: SyncEnv, mode: str) -> None:
    """Companies (with their requisite) changed since the cursor − overlap, or all of them."""
    company_select, req_select = bitrix_select(env.mapping)
    req_select = sorted({*req_select, "DATE_MODIFY", "ENTITY_TYPE_ID"})
    company_select = sorted({*company_select, "DATE_MODIFY", "ASSIGNED_BY_ID"})  # ASSIGNED_BY_ID: pilots
    since = cursors.since(env, KEY, mode)
    started = datetime.now(UTC)
    reader = _CompanyReader(env, req_select)
    reader.mark = cursors.current(env, KEY)
    if since is not None:  # only kept for incremental runs, where few companies change
        reader.read_ids = set()
    flt = {} if since is None else {">=DATE_MODIFY": since}
    chain = env.crm.keyset_chain("crm.company.list", filter=flt, select=company_select, count=True)
    while not chain.done:
        _read_step(env, chain, reader)
    if reader.read_ids is not None:  # after a full pass every requisite was read with its company
        reader.req_mark = _requisite_changes(env, mode, company_select, reader, reader.read_ids)
    reader.flush()
    if mode == "full":  # every live company was just read: the ones not seen are gone
        gone = env.staging.not_seen_since("crm", KEY, started)
        env.count("crm_deleted", len(env.staging.mark_deleted("crm", KEY, gone)))
    if reader.mark:
        cursors.stage(env, KEY, reader.mark)
    if reader.req_mark:
        cursors.stage(env, KEY, reader.req_mark, REQUISITE_CURSOR)


def _requisite_changes(
    env: SyncEnv, mode: str, company_select: list[str], reader: _CompanyReader, read_ids: set[str]
) -> str | None:
    """Requisites edited without their company changing (Bitrix24 does not touch the company's
    DATE_MODIFY then): re-read those companies. Returns the newest requisite DATE_MODIFY."""
    since = cursors.since(env, KEY, mode, REQUISITE_CURSOR)
    mark = later(reader.req_mark, cursors.current(env, KEY, REQUISITE_CURSOR))
    flt: dict[str, Any] = {"ENTITY_TYPE_ID": COMPANY_TYPE_ID}
    if since is not None:
        flt[">=DATE_MODIFY"] = since
    select = ["ID", "ENTITY_ID", "DATE_MODIFY"]
    for page in env.crm.iter_list_batched("crm.requisite.list", filter=flt, select=select):
        for row in page:
            if row.get("DATE_MODIFY"):
                mark = later(mark, row["DATE_MODIFY"])
        ids = sorted({str(r["ENTITY_ID"]) for r in page} - read_ids)
        read_ids.update(ids)
        reader.add(_companies_by_id(env, ids, company_select))
    return mark


def _companies_by_id(env: SyncEnv, ids: list[str], select: list[str]) -> list[dict]:
    """Companies by ID, 50 per list call and 50 calls per batch request."""
    out: list[dict] = []
    for start in range(0, len(ids), 2500):
        part = ids[start : start + 2500]
        commands = {
            f"c{n}": (
                "crm.company.list",
                {"filter": {"@ID": part[k : k + 50]}, "select": select, "start": -1},
            )
            for n, k in enumerate(range(0, len(part), 50))
        }
        result = env.crm.batch(commands)
        for key in commands:
            if key in result.errors:
                raise result.errors[key]
            out += result.results.get(key) or []
    return out
