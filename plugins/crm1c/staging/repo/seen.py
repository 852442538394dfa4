"""``seen_record``: the last version of every source record, with change detection and tombstones."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crm1c.staging.models import SeenInput, SeenRecord, UpsertResult
from crm1c.staging.repo.base import StagingBase, chunks, to_model
from crm1c.staging.schema import seen_record as t

_KEY = (t.c.system, t.c.entity, t.c.external_id)


class SeenRecords(StagingBase):
    def upsert_seen(
        self, system: str, entity: str, records: Iterable[SeenInput], *, conn: Connection | None = None
    ) -> UpsertResult:
        """Store a batch of source records; report which are new, changed (by content hash) or unchanged.

        Within the batch the last row per external_id wins (overlapping pages repeat records). A tombstoned
        record that shows up again counts as changed.
        """
        batch, duplicates = _last_per_id(records)
        hashes = {ext_id: rec.effective_hash() for ext_id, rec in batch.items()}  # outside the write lock
        with self._write(conn) as c:
            result = _classify(hashes, self._known(c, system, entity, list(batch)), duplicates)
            now = self._now()
            unchanged = set(result.unchanged)
            writes = [
                _full_row(system, entity, rec, hashes[ext_id], now)
                for ext_id, rec in batch.items()
                if ext_id not in unchanged
            ]
            if writes:
                c.execute(self._upsert_statement(), writes)
            if unchanged:
                c.execute(
                    _touch_statement(), [_touch(system, entity, batch[i], now) for i in result.unchanged]
                )
        return result

    def seen_records(
        self,
        system: str,
        entity: str,
        *,
        external_ids: Iterable[str] | None = None,
        include_deleted: bool = False,
        after: str | None = None,
        limit: int | None = None,
        conn: Connection | None = None,
    ) -> list[SeenRecord]:
        """Seen records of one system/entity (optionally only ``external_ids``), ordered by external_id;
        ``after`` and ``limit`` (without ``external_ids``) read them a page at a time: the first ``limit``
        with an external_id greater than ``after``."""
        query = sa.select(t).where(t.c.system == system, t.c.entity == entity).order_by(t.c.external_id)
        if not include_deleted:
            query = query.where(t.c.deleted.is_(False))
        if after is not None:
            query = query.where(t.c.external_id > after)
        if limit is not None:
            if external_ids is not None:
                raise ValueError("seen_records: limit pages the whole entity, not a list of ids")
            query = query.limit(limit)
        with self._read(conn) as c:
            if external_ids is None:
                rows = list(c.execute(query))
            else:
                ids = sorted(set(external_ids))
                rows = [r for part in chunks(ids) for r in c.execute(query.where(t.c.external_id.in_(part)))]
        return [SeenRecord(**r._mapping) for r in rows]

    def get_seen(
        self, system: str, entity: str, external_id: str, *, conn: Connection | None = None
    ) -> SeenRecord | None:
        """One seen record (tombstoned or not), or None."""
        query = sa.select(t).where(t.c.system == system, t.c.entity == entity, t.c.external_id == external_id)
        with self._read(conn) as c:
            return to_model(SeenRecord, c.execute(query).first())

    def mark_deleted(
        self, system: str, entity: str, external_ids: Iterable[str], *, conn: Connection | None = None
    ) -> list[str]:
        """Tombstone records deleted at the source; returns the ids that were not tombstoned before."""
        ids = sorted(set(external_ids))
        done: list[str] = []
        with self._write(conn) as c:
            for part in chunks(ids):
                stmt = (
                    sa.update(t)
                    .where(t.c.system == system, t.c.entity == entity, t.c.external_id.in_(part))
                    .where(t.c.deleted.is_(False))
                    .values(deleted=True, dirty=True)
                    .returning(t.c.external_id)
                )
                done.extend(c.execute(stmt).scalars())
        return sorted(done)

    def seen_versions(
        self, system: str, entity: str, *, conn: Connection | None = None
    ) -> Iterator[tuple[str, str | None, bool]]:
        """``(external_id, version, deleted)`` of every seen record, streamed in external_id order."""
        query = (
            sa.select(t.c.external_id, t.c.version, t.c.deleted)
            .where(t.c.system == system, t.c.entity == entity)
            .order_by(t.c.external_id)
        )
        with self._read(conn) as c:
            yield from c.execution_options(yield_per=5000).execute(query).tuples()

    def versions_of(
        self, system: str, entity: str, external_ids: Iterable[str], *, conn: Connection | None = None
    ) -> dict[str, str | None]:
        """``external_id → version`` of the given records that are in staging (tombstones included)."""
        ids = sorted(set(external_ids))
        base = sa.select(t.c.external_id, t.c.version).where(t.c.system == system, t.c.entity == entity)
        out: dict[str, str | None] = {}
        with self._read(conn) as c:
            for part in chunks(ids):
                out.update((i, v) for i, v in c.execute(base.where(t.c.external_id.in_(part))))
        return out

    def not_seen_since(
        self, system: str, entity: str, since: datetime, *, conn: Connection | None = None
    ) -> list[str]:
        """Live records not read again since ``since`` (after a full listing: deleted at the source)."""
        query = sa.select(t.c.external_id).where(
            t.c.system == system, t.c.entity == entity, t.c.deleted.is_(False), t.c.last_seen < since
        )
        with self._read(conn) as c:
            return list(c.execute(query).scalars())

    def dirty_records(
        self,
        system: str,
        entity: str,
        *,
        limit: int = 500,
        after: str | None = None,
        conn: Connection | None = None,
    ) -> list[SeenRecord]:
        """Up to ``limit`` records waiting for the planner (new, changed or tombstoned) with external_id
        greater than ``after``, by external_id."""
        query = (
            sa.select(t)
            .where(t.c.system == system, t.c.entity == entity, t.c.dirty.is_(True))
            .order_by(t.c.external_id)
            .limit(limit)
        )
        if after is not None:
            query = query.where(t.c.external_id > after)
        with self._read(conn) as c:
            return [SeenRecord(**r._mapping) for r in c.execute(query)]

    def set_dirty(
        self,
        system: str,
        entity: str,
        external_ids: Iterable[str],
        dirty: bool,
        *,
        conn: Connection | None = None,
    ) -> None:
        """Flag records for the planner again (``dirty=True``) or as handled (``False``)."""
        ids = sorted(set(external_ids))
        with self._write(conn) as c:
            for part in chunks(ids):
                c.execute(
                    sa.update(t)
                    .where(t.c.system == system, t.c.entity == entity, t.c.external_id.in_(part))
                    .values(dirty=dirty)
                )

    def clear_dirty(
        self,
        system: str,
        entity: str,
        *,
        match_keys: Iterable[str | None] | None = None,
        conn: Connection | None = None,
    ) -> None:
        """Flag as handled every dirty record of one system/entity, or only those carrying one of
        ``match_keys`` (None: the records without a match key)."""
        base = (
            sa.update(t)
            .where(t.c.system == system, t.c.entity == entity, t.c.dirty.is_(True))
            .values(dirty=False)
        )
        with self._write(conn) as c:
            if match_keys is None:
                c.execute(base)
                return
            wanted = set(match_keys)
            for part in chunks(sorted(k for k in wanted if k is not None)):
                c.execute(base.where(t.c.match_key.in_(part)))
            if None in wanted:
                c.execute(base.where(t.c.match_key.is_(None)))

    def without_match_key(
        self, system: str, entity: str, *, conn: Connection | None = None
    ) -> list[SeenRecord]:
        """Live (not tombstoned) records of one system/entity that carry no match key, by external_id."""
        query = sa.select(t).where(
            t.c.entity == entity, t.c.system == system, t.c.match_key.is_(None), t.c.deleted.is_(False)
        )
        with self._read(conn) as c:
            found = [SeenRecord(**r._mapping) for r in c.execute(query)]
        return sorted(found, key=lambda r: r.external_id)

    def by_match_key(
        self, system: str, entity: str, match_key: str, *, conn: Connection | None = None
    ) -> list[SeenRecord]:
        """Live (not tombstoned) records of one system that carry ``match_key``."""
        query = sa.select(t).where(
            t.c.entity == entity, t.c.system == system, t.c.match_key == match_key, t.c.deleted.is_(False)
        )  # no ORDER BY: SQLite would walk the primary key instead of the match_key index
        with self._read(conn) as c:
            found = [SeenRecord(**r._mapping) for r in c.execute(query)]
        return sorted(found, key=lambda r: r.external_id)

    def by_match_keys(
        self, system: str, entity: str, match_keys: Iterable[str], *, conn: Connection | None = None
    ) -> dict[str, list[SeenRecord]]:
        """:meth:`by_match_key` for many keys at once: ``key → records`` (every key given is in it)."""
        keys = sorted(set(match_keys))
        found: dict[str, list[SeenRecord]] = {key: [] for key in keys}
        base = sa.select(t).where(t.c.entity == entity, t.c.system == system, t.c.deleted.is_(False))
        with self._read(conn) as c:
            for part in chunks(keys):
                for r in c.execute(base.where(t.c.match_key.in_(part))):
                    found[r.match_key].append(SeenRecord(**r._mapping))
        for group in found.values():
            group.sort(key=lambda r: r.external_id)
        return found

    def _known(self, c: Connection, system: str, entity: str, ids: list[str]) -> dict[str, tuple[str, bool]]:
        known: dict[str, tuple[str, bool]] = {}
        base = sa.select(t.c.external_id, t.c.content_hash, t.c.deleted).where(
            t.c.system == system, t.c.entity == entity
        )
        for part in chunks(ids):
            for ext_id, digest, deleted in c.execute(base.where(t.c.external_id.in_(part))):
                known[ext_id] = (digest, deleted)
        return known

    def _upsert_statement(self) -> Any:
        stmt = self._insert(t)
        updated: tuple[str, ...] = ("version", "source_ts", "content_hash", "raw", "normalised", "deleted")
        updated += ("last_seen", "match_key", "dirty")
        return stmt.on_conflict_do_update(
            index_elements=list(_KEY), set_={name: stmt.excluded[name] for name in updated}
        )


def _last_per_id(records: Iterable[SeenInput]) -> tuple[dict[str, SeenInput], int]:
    batch: dict[str, SeenInput] = {}
    total = 0
    for rec in records:
        total += 1
        batch.pop(rec.external_id, None)  # re-insert so the dict keeps the order of last occurrence
        batch[rec.external_id] = rec
    return batch, total - len(batch)


def _classify(hashes: dict[str, str], known: dict[str, tuple[str, bool]], duplicates: int) -> UpsertResult:
    result = UpsertResult(duplicates=duplicates)
    for ext_id, digest in hashes.items():
        old = known.get(ext_id)
        if old is None:
            result.new.append(ext_id)
        elif old[1] or old[0] != digest:  # tombstoned, or different content
            result.changed.append(ext_id)
        else:
            result.unchanged.append(ext_id)
    return result


def _full_row(system: str, entity: str, rec: SeenInput, digest: str, now: datetime) -> dict[str, Any]:
    return {
        "system": system,
        "entity": entity,
        "external_id": rec.external_id,
        "version": rec.version,
        "source_ts": rec.source_ts,
        "content_hash": digest,
        "raw": rec.raw,
        "normalised": rec.normalised,
        "deleted": False,
        "first_seen": now,
        "last_seen": now,
        "match_key": rec.match_key,
        "dirty": rec.dirty,
    }


def _touch(system: str, entity: str, rec: SeenInput, now: datetime) -> dict[str, Any]:
    return {
        "k_system": system,
        "k_entity": entity,
        "k_external_id": rec.external_id,
        "version": rec.version,
        "source_ts": rec.source_ts,
        "last_seen": now,
    }


def _touch_statement() -> sa.Update:
    return (
        sa.update(t)
        .where(
            t.c.system == sa.bindparam("k_system"),
            t.c.entity == sa.bindparam("k_entity"),
            t.c.external_id == sa.bindparam("k_external_id"),
        )
        .values(
            version=sa.bindparam("version"),
            source_ts=sa.bindparam("source_ts"),
            last_seen=sa.bindparam("last_seen"),
        )
    )
