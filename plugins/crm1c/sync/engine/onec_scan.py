"""Reading a 1C set by its change scan: a cheap list of ``Ref_Key, DataVersion, DeletionMark`` finds new,
changed and physically deleted objects; only those are then read in full (all of them on a full run)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from crm1c.clients.odata_filter import Expr, F, guid
from crm1c.staging import SeenInput
from crm1c.sync.runtime import Progress, SyncEnv

SCAN_PAGE = 50_000  # rows per 1C version-scan request
FETCH_CHUNK = 50  # Ref_Keys per targeted 1C read
FULL_READ_SHARE = 0.2  # above this share of changed objects, read the whole 1C set page by page
SET = "@set"  # where a row read from one of several sets keeps the set's name


@dataclass(frozen=True)
class OneCScan:
    """A :class:`~crm1c.sync.spec.Reader` of one 1C set.

    Attributes:
        key: the staging entity name.
        entity_set: e.g. ``Catalog_Контрагенты``.
        select: mapping → the properties read in full.
        to_seen: the staging records of one page of full rows (a row may need others of its page), and
            the ``context`` when there is one.
        only: the objects the entity is made of, when not all of the set (e.g. ``~F("IsFolder")``):
            the scan and the reads ask 1C for those only, so the others are never read again and again.
        more_sets: further sets the entity's objects live in (e.g. two kinds of documents); each row read
            from one of several sets carries its set's name under :data:`SET`.
        context: what the entity reads besides the set, once per run (e.g. the current prices of a price
            type, kept in a register: a price change does not change the item's ``DataVersion``). Given, it
            is passed to ``version`` and as a third argument to ``to_seen``.
        version: ``(context, scan row)`` → the version staging keeps for an object, when more than its
            ``DataVersion`` makes it change (``to_seen`` must give its records the same version).
    """

    key: str
    entity_set: str
    select: Callable[[Any], list[str]]
    to_seen: Callable[..., list[SeenInput]]
    only: Expr | None = None
    more_sets: tuple[str, ...] = ()
    context: Callable[[SyncEnv], Any] | None = None
    version: Callable[[Any, dict], str] | None = None

    def __call__(self, env: SyncEnv, mode: str) -> None:
        """New, changed (by ``DataVersion``) and deleted objects into staging."""
        progress = Progress("extract_onec")
        context = self.context(env) if self.context is not None else None
        scanned: set[str] = set()
        changed: dict[str, list[str]] = {}
        scan = ["Ref_Key", "DataVersion", "DeletionMark"]
        for entity_set in (self.entity_set, *self.more_sets):
            changed[entity_set] = []
            for page in env.onec.list(entity_set, select=scan, page_size=SCAN_PAGE, filter=self.only):
                known = env.staging.versions_of("onec", self.key, [str(row["Ref_Key"]) for row in page])
                for row in page:
                    ref = str(row["Ref_Key"])
                    scanned.add(ref)
                    version = self.version(context, row) if self.version else row.get("DataVersion")
                    if mode == "full" or known.get(ref) != version:
                        changed[entity_set].append(ref)
                del page, known  # one scan page in memory at a time, not two
        seen = env.staging.seen_versions("onec", self.key)
        gone = [i for i, _v, deleted in seen if not deleted and i not in scanned]
        env.count("onec_deleted", len(env.staging.mark_deleted("onec", self.key, gone)))
        env.count("onec_scanned", len(scanned))
        for entity_set, refs in changed.items():
            if refs:
                full = mode == "full" or len(refs) > FULL_READ_SHARE * len(scanned)
                self._read_changed(env, entity_set, refs, context, full=full, progress=progress)
        progress.finish()

    def _read_changed(
        self, env: SyncEnv, entity_set: str, refs: list[str], context: Any, *, full: bool, progress: Progress
    ) -> None:
        select = self.select(env.mapping)
        wanted = set(refs)
        pages: Iterable[list[dict]]
        if full:
            pages = env.onec.list(entity_set, select=select, page_size=1000, filter=self.only)
        else:
            pages = (
                env.onec.list_all(entity_set, select=select, filter=F("Ref_Key").in_(guid(r) for r in part))
                for part in _chunks(refs, FETCH_CHUNK)
            )
        for page in pages:
            rows = [
                row | {SET: entity_set} if self.more_sets else row
                for row in page
                if str(row["Ref_Key"]) in wanted
            ]
            records = self.to_seen(env, rows) if self.context is None else self.to_seen(env, rows, context)
            result = env.staging.upsert_seen("onec", self.key, records)
            env.count("onec_read", len(records))
            env.count("onec_changed", len(result.to_sync))
            progress.advance(len(records))


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
