"""Read what changed on each side into staging (``seen_record``), streaming page by page.

Bitrix24: incremental by the server's ``DATE_MODIFY`` with an overlap window (companies and requisites
separately), keyset-listed in batches; a full run also tombstones companies that are gone. 1C: a cheap
scan of ``Ref_Key, DataVersion, DeletionMark`` finds new, changed and physically deleted objects; only
those are then read in full. Watermarks are stored as *pending* and promoted by :func:`publish`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
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


def _requisites_of(env: SyncEnv, company_ids: list[str], select: list[str]) -> dict[str, dict]:
    """The first requisite (lowest ID) of each company, read with ≤50 list calls per batch request."""
    found: dict[str, dict] = {}
    chunks = [company_ids[i : i + 50] for i in range(0, len(company_ids), 50)]
    for group_start in range(0, len(chunks), 50):
        group = chunks[group_start : group_start + 50]
        commands = {
            f"r{i}": (
                "crm.requisite.list",
                {
                    "filter": {"ENTITY_TYPE_ID": COMPANY_TYPE_ID, "@ENTITY_ID": ids},
                    "select": select,
                    "order": {"ID": "ASC"},
                },
            )
            for i, ids in enumerate(group)
        }
        result = env.crm.batch(commands)
        for key, ids in zip(commands, group, strict=True):
            if key in result.errors:
                raise result.errors[key]
            rows = result.results.get(key) or []
            if len(rows) >= 50:  # more than one requisite per company in this chunk: list it fully
                rows = [
                    r
                    for page in env.crm.iter_list(
                        "crm.requisite.list",
                        filter={"ENTITY_TYPE_ID": COMPANY_TYPE_ID, "@ENTITY_ID": ids},
                        select=select,
                    )
                    for r in page
                ]
            for row in sorted(rows, key=lambda r: int(r["ID"])):
                found.setdefault(str(row["ENTITY_ID"]), row)
    return found


def _store_companies(
    env: SyncEnv, companies: list[dict], req_select: list[str], progress: Progress
) -> str | None:
    requisites = _requisites_of(env, [str(c["ID"]) for c in companies], req_select)
    records = [crm_seen(c, requisites.get(str(c["ID"])), env.mapping) for c in companies]
    result = env.staging.upsert_seen("crm", ENTITY, records)
    env.count("crm_read", len(records))
    env.count("crm_changed", len(result.to_sync))
    progress.advance(len(records))
    return max(
        (c.get("DATE_MODIFY") for c in companies if c.get("DATE_MODIFY")),
        default=None,
        key=datetime.fromisoformat,
    )


def extract_crm(env: SyncEnv, mode: str = "incremental") -> dict[str, Any]:
    """Companies (with their requisite) changed since the watermark − overlap, or all of them."""
    company_select, req_select = bitrix_select(env.mapping)
    req_select = sorted({*req_select, "DATE_MODIFY", "ENTITY_TYPE_ID"})
    company_select = sorted({*company_select, "DATE_MODIFY"})
    since = _since(env, ENTITY, mode)
    progress = Progress("extract_crm")
    mark: str | None = env.staging.get_watermark("crm", ENTITY)
    seen_ids: set[str] = set()  # every id in a full run; the (few) changed ones in an incremental run
    flt = {} if since is None else {">=DATE_MODIFY": since}
    for page in env.crm.iter_list_batched("crm.company.list", filter=flt, select=company_select):
        mark = _later(mark, _store_companies(env, page, req_select, progress))
        seen_ids.update(str(c["ID"]) for c in page)
    req_mark = _extract_requisite_changes(env, mode, company_select, req_select, progress, seen_ids)
    if mode == "full":
        gone = [
            i
            for i, _v, deleted in env.staging.seen_versions("crm", ENTITY)
            if not deleted and i not in seen_ids
        ]
        env.count("crm_deleted", len(env.staging.mark_deleted("crm", ENTITY, gone)))
    if mark:
        env.staging.set_watermark("crm", pending(ENTITY), mark)
    if req_mark:
        env.staging.set_watermark("crm", pending(REQUISITE_WM), req_mark)
    progress.finish()
    return dict(env.counters)


def _extract_requisite_changes(
    env: SyncEnv,
    mode: str,
    company_select: list[str],
    req_select: list[str],
    progress: Progress,
    already_read: set[str],
) -> str | None:
    """Requisites edited without their company changing: re-read those companies."""
    since = _since(env, REQUISITE_WM, mode)
    mark = env.staging.get_watermark("crm", REQUISITE_WM)
    flt: dict[str, Any] = {"ENTITY_TYPE_ID": COMPANY_TYPE_ID}
    if since is not None:
        flt[">=DATE_MODIFY"] = since
    for page in env.crm.iter_list_batched(
        "crm.requisite.list", filter=flt, select=["ID", "ENTITY_ID", "DATE_MODIFY"]
    ):
        mark = _later(
            mark,
            max(
                (r["DATE_MODIFY"] for r in page if r.get("DATE_MODIFY")),
                default=None,
                key=datetime.fromisoformat,
            ),
        )
        if since is None:
            continue  # no watermark yet: the company pass already read every requisite
        ids = sorted({str(r["ENTITY_ID"]) for r in page} - already_read)
        already_read.update(ids)
        companies = [c for part in _chunks(ids, 50) for c in _companies_by_id(env, part, company_select)]
        if companies:
            _store_companies(env, companies, req_select, progress)
    return mark


def _companies_by_id(env: SyncEnv, ids: list[str], select: list[str]) -> list[dict]:
    envelope = env.crm.call("crm.company.list", {"filter": {"@ID": ids}, "select": select, "start": -1})
    return list(envelope.get("result") or [])


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
        known = {
            r.external_id: r.version
            for r in env.staging.seen_records(
                "onec", ENTITY, external_ids=[row["Ref_Key"] for row in page], include_deleted=True
            )
        }
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
