"""Read what changed on each side into staging (``seen_record``), streaming page by page.

Bitrix24: incremental by the server's ``DATE_MODIFY`` with an overlap window (companies and requisites
separately), keyset-listed in batches; a full run also tombstones companies that are gone. 1C: a cheap
scan of ``Ref_Key, DataVersion, DeletionMark`` finds new, changed and physically deleted objects; only
those are then read in full. Watermarks are stored as *pending* and promoted by :func:`publish`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from crm1c.clients.odata_filter import F, guid
from crm1c.domain.counterparty import Counterparty
from crm1c.domain.counterparty_codec import bitrix_select, onec_select
from crm1c.sync.counterparties.records import ENTITY, ONEC_SET, canonical, crm_seen, onec_seen
from crm1c.sync.runtime import Progress, SyncEnv

REQUISITE_WM = f"{ENTITY}.requisite"
COMPANY_TYPE_ID = 4  # crm.requisite ENTITY_TYPE_ID of a company
SCAN_PAGE = 50_000  # rows per 1C version-scan request
FETCH_CHUNK = 50  # Ref_Keys per targeted 1C read
FULL_READ_SHARE = 0.2  # above this share of changed objects, read the whole 1C set page by page


def pending(name: str) -> str:
    """Staging key of a watermark that :func:`publish` promotes once the run's writes are done."""
    return f"{name}:pending"


def _since(env: SyncEnv, name: str, mode: str) -> str | None:
    mark = env.staging.get_watermark("crm", name)
    if mode == "full" or mark is None:
        return None
    return (datetime.fromisoformat(mark) - env.overlap).isoformat()


def _later(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a or b
    return a if datetime.fromisoformat(a) >= datetime.fromisoformat(b) else b


# ----------------------------------------------------------------------------- Bitrix24


IDS_PER_CALL = 49  # companies per requisite list call: a full page of 50 proves some company has two
GROUP = IDS_PER_CALL * 50  # companies whose requisites one batch request reads


def _requisites_of(env: SyncEnv, company_ids: list[str], select: list[str]) -> dict[str, dict]:
    """The first requisite (lowest ID) of each of ≤2,450 companies, in one batch request."""
    chunks = [company_ids[i : i + IDS_PER_CALL] for i in range(0, len(company_ids), IDS_PER_CALL)]
    flt = {"ENTITY_TYPE_ID": COMPANY_TYPE_ID}
    commands = {
        f"r{i}": ("crm.requisite.list", {"filter": {**flt, "@ENTITY_ID": ids}, "select": select, "start": -1})
        for i, ids in enumerate(chunks)
    }
    result = env.crm.batch(commands) if commands else None
    found: dict[str, dict] = {}
    for key, ids in zip(commands, chunks, strict=True):
        if key in result.errors:
            raise result.errors[key]
        rows = result.results.get(key) or []
        if len(rows) > IDS_PER_CALL:  # some company has several requisites: list this chunk fully
            filter_ = {**flt, "@ENTITY_ID": ids}
            rows = [
                r
                for page in env.crm.iter_list("crm.requisite.list", filter=filter_, select=select)
                for r in page
            ]
        for row in sorted(rows, key=lambda r: int(r["ID"])):
            found.setdefault(str(row["ENTITY_ID"]), row)
    return found


class _CompanyReader:
    """Collects listed companies and stores them with their requisites, 2,450 per requisite request."""

    def __init__(self, env: SyncEnv, req_select: list[str]):
        self.env, self.req_select = env, req_select
        self.buffer: list[dict] = []
        self.mark: str | None = None  # newest company DATE_MODIFY read
        self.req_mark: str | None = None  # newest requisite DATE_MODIFY read
        self.progress = Progress("extract_crm")

    def add(self, companies: list[dict]) -> None:
        self.buffer += companies
        while len(self.buffer) >= GROUP:
            self._store(self.buffer[:GROUP])
            self.buffer = self.buffer[GROUP:]

    def flush(self) -> None:
        if self.buffer:
            self._store(self.buffer)
            self.buffer = []
        self.progress.finish()

    def _store(self, companies: list[dict]) -> None:
        env = self.env
        requisites = _requisites_of(env, [str(c["ID"]) for c in companies], self.req_select)
        records = [crm_seen(c, requisites.get(str(c["ID"])), env.mapping) for c in companies]
        result = env.staging.upsert_seen("crm", ENTITY, records)
        env.count("crm_read", len(records))
        env.count("crm_changed", len(result.to_sync))
        self.progress.advance(len(records))
        for company in companies:
            if company.get("DATE_MODIFY"):
                self.mark = _later(self.mark, company["DATE_MODIFY"])
        for requisite in requisites.values():
            if requisite.get("DATE_MODIFY"):
                self.req_mark = _later(self.req_mark, requisite["DATE_MODIFY"])


def extract_crm(env: SyncEnv, mode: str = "incremental") -> dict[str, Any]:
    """Companies (with their requisite) changed since the watermark − overlap, or all of them."""
    company_select, req_select = bitrix_select(env.mapping)
    req_select = sorted({*req_select, "DATE_MODIFY", "ENTITY_TYPE_ID"})
    company_select = sorted({*company_select, "DATE_MODIFY"})
    since = _since(env, ENTITY, mode)
    started = datetime.now(UTC)
    reader = _CompanyReader(env, req_select)
    reader.mark = env.staging.get_watermark("crm", ENTITY)
    read_ids: set[str] = set()  # only kept for incremental runs, where few companies change
    flt = {} if since is None else {">=DATE_MODIFY": since}
    for page in env.crm.iter_list_batched("crm.company.list", filter=flt, select=company_select):
        reader.add(page)
        if since is not None:
            read_ids.update(str(c["ID"]) for c in page)
    if since is not None:  # after a full pass every requisite was read with its company
        reader.req_mark = _requisite_changes(env, mode, company_select, reader, read_ids)
    reader.flush()
    if mode == "full":  # every live company was just read: the ones not seen are gone
        gone = env.staging.not_seen_since("crm", ENTITY, started)
        env.count("crm_deleted", len(env.staging.mark_deleted("crm", ENTITY, gone)))
    if reader.mark:
        env.staging.set_watermark("crm", pending(ENTITY), reader.mark)
    if reader.req_mark:
        env.staging.set_watermark("crm", pending(REQUISITE_WM), reader.req_mark)
    return dict(env.counters)


def _requisite_changes(
    env: SyncEnv, mode: str, company_select: list[str], reader: _CompanyReader, read_ids: set[str]
) -> str | None:
    """Requisites edited without their company changing (Bitrix24 does not touch the company's
    DATE_MODIFY then): re-read those companies. Returns the newest requisite DATE_MODIFY."""
    since = _since(env, REQUISITE_WM, mode)
    mark = _later(reader.req_mark, env.staging.get_watermark("crm", REQUISITE_WM))
    flt: dict[str, Any] = {"ENTITY_TYPE_ID": COMPANY_TYPE_ID}
    if since is not None:
        flt[">=DATE_MODIFY"] = since
    select = ["ID", "ENTITY_ID", "DATE_MODIFY"]
    for page in env.crm.iter_list_batched("crm.requisite.list", filter=flt, select=select):
        for row in page:
            if row.get("DATE_MODIFY"):
                mark = _later(mark, row["DATE_MODIFY"])
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


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# ----------------------------------------------------------------------------- 1C


def extract_onec(env: SyncEnv, mode: str = "incremental") -> dict[str, Any]:
    """New, changed (by ``DataVersion``) and deleted 1C counterparties into staging."""
    progress = Progress("extract_onec")
    scanned: set[str] = set()
    changed: list[str] = []
    for page in env.onec.list(
        ONEC_SET, select=["Ref_Key", "DataVersion", "DeletionMark"], page_size=SCAN_PAGE
    ):
        known = env.staging.versions_of("onec", ENTITY, [str(row["Ref_Key"]) for row in page])
        for row in page:
            ref = str(row["Ref_Key"])
            scanned.add(ref)
            if mode == "full" or known.get(ref) != row.get("DataVersion"):
                changed.append(ref)
    gone = [
        i for i, _v, deleted in env.staging.seen_versions("onec", ENTITY) if not deleted and i not in scanned
    ]
    env.count("onec_deleted", len(env.staging.mark_deleted("onec", ENTITY, gone)))
    env.count("onec_scanned", len(scanned))
    if changed:
        _read_changed(
            env,
            changed,
            full=mode == "full" or len(changed) > FULL_READ_SHARE * len(scanned),
            progress=progress,
        )
    progress.finish()
    return dict(env.counters)


def _read_changed(env: SyncEnv, refs: list[str], *, full: bool, progress: Progress) -> None:
    select = onec_select(env.mapping)
    wanted = set(refs)
    pages: Iterable[list[dict]]
    if full:
        pages = env.onec.list(ONEC_SET, select=select, page_size=1000)
    else:
        pages = (
            env.onec.list_all(ONEC_SET, select=select, filter=F("Ref_Key").in_(guid(r) for r in part))
            for part in _chunks(refs, FETCH_CHUNK)
        )
    for page in pages:
        rows = [row for row in page if str(row["Ref_Key"]) in wanted]
        by_ref = {str(row["Ref_Key"]): row for row in rows}
        records = [onec_seen(row, env.mapping, _head_lookup(env, by_ref)) for row in rows]
        result = env.staging.upsert_seen("onec", ENTITY, records)
        env.count("onec_read", len(records))
        env.count("onec_changed", len(result.to_sync))
        progress.advance(len(records))


def _head_lookup(env: SyncEnv, page: dict[str, dict]) -> Any:
    """Find a branch's head in the same page first, then among the 1C records already in staging."""

    def lookup(ref: str) -> Counterparty | None:
        if ref in page:
            seen = onec_seen(page[ref], env.mapping)
            return Counterparty(**seen.normalised) if seen.match_key is not None else None
        return canonical(env.staging.get_seen("onec", ENTITY, ref))

    return lookup
