"""Rows that need a human: ``quarantine`` (invalid records) and ``conflict`` (both sides edited a field)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crm1c.hashing import canonical_json
from crm1c.staging.errors import NotFoundError, StagingError
from crm1c.staging.models import Conflict, QuarantineItem
from crm1c.staging.repo.base import StagingBase, chunks
from crm1c.staging.schema import conflict as ct
from crm1c.staging.schema import quarantine as qt

RECORD_LEVEL = "*"  # ``field`` value for problems with the record as a whole
SUPERSEDED = "superseded"
_OPEN = sa.text("resolved_at IS NULL")


class Review(StagingBase):
    def quarantine(
        self,
        entity: str,
        system: str,
        external_id: str,
        field: str,
        reason_ru: str,
        reason_en: str,
        payload: Any = None,
        *,
        conn: Connection | None = None,
    ) -> QuarantineItem:
        """Hold back an invalid record (``field=RECORD_LEVEL`` for the whole record).

        Repeats of an unresolved problem bump ``occurrences`` and ``last_seen`` and refresh reasons/payload.
        """
        now = self._now()
        stmt = self._insert(qt).values(
            entity=entity, system=system, external_id=external_id, field=field, reason_ru=reason_ru,
            reason_en=reason_en, payload=payload, first_seen=now, last_seen=now, occurrences=1,
        )  # fmt: skip
        stmt = stmt.on_conflict_do_update(
            index_elements=["entity", "system", "external_id", "field"],
            index_where=_OPEN,
            set_={
                "reason_ru": stmt.excluded.reason_ru,
                "reason_en": stmt.excluded.reason_en,
                "payload": stmt.excluded.payload,
                "last_seen": stmt.excluded.last_seen,
                "occurrences": qt.c.occurrences + 1,
            },
        ).returning(*qt.c)
        with self._write(conn) as c:
            return QuarantineItem(**c.execute(stmt).one()._mapping)

    def resolve_quarantine(
        self, entity: str, system: str, external_id: str, *, conn: Connection | None = None
    ) -> int:
        """Resolve every open quarantine row of a record (it is valid now); returns how many."""
        stmt = (
            sa.update(qt)
            .where(qt.c.entity == entity, qt.c.system == system, qt.c.external_id == external_id)
            .where(qt.c.resolved_at.is_(None))
            .values(resolved_at=self._now())
        )
        with self._write(conn) as c:
            return c.execute(stmt).rowcount

    def quarantined_ids(
        self, entity: str, system: str, external_ids: Iterable[str], *, conn: Connection | None = None
    ) -> set[str]:
        """Which of the given records of one system have an open quarantine row."""
        base = sa.select(qt.c.external_id).where(
            qt.c.entity == entity, qt.c.system == system, qt.c.resolved_at.is_(None)
        )
        found: set[str] = set()
        with self._read(conn) as c:
            for part in chunks(sorted(set(external_ids))):
                found.update(c.execute(base.where(qt.c.external_id.in_(part))).scalars())
        return found

    def open_quarantine(
        self, entity: str | None = None, *, conn: Connection | None = None
    ) -> list[QuarantineItem]:
        """Unresolved quarantine rows (of one entity, or all), oldest first."""
        query = sa.select(qt).where(qt.c.resolved_at.is_(None)).order_by(qt.c.id)
        if entity is not None:
            query = query.where(qt.c.entity == entity)
        with self._read(conn) as c:
            return [QuarantineItem(**r._mapping) for r in c.execute(query)]

    def record_conflict(
        self,
        entity: str,
        crm_id: str,
        onec_id: str,
        field: str,
        crm_value: Any,
        onec_value: Any,
        base_value: Any = None,
        *,
        conn: Connection | None = None,
    ) -> Conflict:
        """Record a field conflict. An identical open one is returned as is; a different open one for the
        same field is closed as ``superseded`` and replaced."""
        key = {"entity": entity, "crm_id": crm_id, "onec_id": onec_id, "field": field}
        values = {"crm_value": crm_value, "onec_value": onec_value, "base_value": base_value}
        with self._write(conn) as c:
            for _attempt in range(2):
                current = self._open_conflict(c, key)
                if current is not None and _same_values(current, values):
                    return current
                if current is not None:
                    self._close_conflict(c, current.id, SUPERSEDED)
                stmt = (
                    self._insert(ct)
                    .values(**key, **values, detected_at=self._now())
                    .on_conflict_do_nothing(index_elements=list(key), index_where=_OPEN)
                    .returning(*ct.c)
                )
                row = c.execute(stmt).first()
                if row is not None:
                    return Conflict(**row._mapping)
        raise StagingError(f"{entity} {crm_id}/{onec_id}: could not record conflict on {field} (concurrent)")

    def open_conflicts(self, entity: str | None = None, *, conn: Connection | None = None) -> list[Conflict]:
        """Unresolved conflicts (of one entity, or all), oldest first."""
        query = sa.select(ct).where(ct.c.resolved_at.is_(None)).order_by(ct.c.id)
        if entity is not None:
            query = query.where(ct.c.entity == entity)
        with self._read(conn) as c:
            return [Conflict(**r._mapping) for r in c.execute(query)]

    def resolve_conflict(
        self, conflict_id: int, resolution: str, *, conn: Connection | None = None
    ) -> Conflict:
        """Close a conflict with a resolution note (e.g. 'crm_wins', 'onec_wins', 'manual')."""
        with self._write(conn) as c:
            return self._close_conflict(c, conflict_id, resolution)

    def _open_conflict(self, c: Connection, key: dict[str, str]) -> Conflict | None:
        query = sa.select(ct).where(*(ct.c[k] == v for k, v in key.items()), ct.c.resolved_at.is_(None))
        row = c.execute(query.with_for_update() if self.is_postgres else query).first()
        return None if row is None else Conflict(**row._mapping)

    def _close_conflict(self, c: Connection, conflict_id: int, resolution: str) -> Conflict:
        stmt = (
            sa.update(ct)
            .where(ct.c.id == conflict_id, ct.c.resolved_at.is_(None))
            .values(resolved_at=self._now(), resolution=resolution)
            .returning(*ct.c)
        )
        row = c.execute(stmt).first()
        if row is None:
            raise NotFoundError(f"no open conflict with id {conflict_id}")
        return Conflict(**row._mapping)


def _same_values(current: Conflict, values: dict[str, Any]) -> bool:
    stored = {
        "crm_value": current.crm_value,
        "onec_value": current.onec_value,
        "base_value": current.base_value,
    }
    return canonical_json(stored) == canonical_json(values)
