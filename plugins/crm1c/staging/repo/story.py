"""Read-only queries for the story of one record (``crm1c.audit``): everything staging holds about it.

A record is named by its system and external id (``"crm", "42"``; ``"onec", "<Ref_Key>"``); audit rows name
it ``"crm:42"`` / ``"onec:<Ref_Key>"`` in ``entity_key``. ``entity=None`` means every entity. Nothing here
writes; on a large audit log the lookups by ``entity_key`` alone and by ``run_id`` scan the table.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crm1c.staging.models import AuditEntry, Conflict, QuarantineItem, SeenRecord, WriteIntent
from crm1c.staging.repo.base import StagingBase, chunks
from crm1c.staging.schema import audit_log as at
from crm1c.staging.schema import conflict as ct
from crm1c.staging.schema import quarantine as qt
from crm1c.staging.schema import seen_record as st
from crm1c.staging.schema import write_intent as wt
from crm1c.staging.schema import xref as xt


def record_key(system: str, external_id: str) -> str:
    """How audit rows name a record: ``"crm:42"``, ``"onec:<Ref_Key>"``."""
    return f"{system}:{external_id}"


class StoryQueries(StagingBase):
    def entities_of_record(
        self, system: str, external_id: str, *, conn: Connection | None = None
    ) -> list[str]:
        """The entities under which staging knows this record (seen, linked, held, written or audited)."""
        linked = xt.c.crm_id if system == "crm" else xt.c.onec_id
        query = sa.union(
            sa.select(st.c.entity).where(st.c.system == system, st.c.external_id == external_id),
            sa.select(xt.c.entity).where(linked == external_id),
            sa.select(qt.c.entity).where(qt.c.system == system, qt.c.external_id == external_id),
            sa.select(wt.c.entity).where(_intent_touches(system, [external_id])),
            sa.select(at.c.entity).where(
                at.c.entity_key == record_key(system, external_id), at.c.entity.is_not(None)
            ),
        )
        with self._read(conn) as c:
            return sorted(c.execute(query).scalars())

    def seen_with_key_prefix(
        self, prefix: str, entity: str | None = None, *, conn: Connection | None = None
    ) -> list[SeenRecord]:
        """Seen records (both systems, tombstones included) whose ``match_key`` is ``prefix`` or starts with
        ``prefix + "/"`` (e.g. ``inn:7707083893`` finds ``inn:7707083893/kpp:770701001``)."""
        keyed = sa.or_(st.c.match_key == prefix, st.c.match_key.startswith(f"{prefix}/", autoescape=True))
        query = sa.select(st).where(keyed, *_of_entity(st, entity)).order_by(st.c.system, st.c.external_id)
        with self._read(conn) as c:
            return [SeenRecord(**r._mapping) for r in c.execute(query)]

    def audit_of_records(
        self, entity: str, keys: Iterable[str], *, conn: Connection | None = None
    ) -> list[AuditEntry]:
        """Audit rows whose ``entity_key`` is one of ``keys`` (see :func:`record_key`), oldest first."""
        query = sa.select(at).where(at.c.entity == entity)
        return self._audit_rows(query, at.c.entity_key, keys, conn)

    def run_summaries(
        self, entity: str, run_ids: Iterable[str], *, conn: Connection | None = None
    ) -> list[AuditEntry]:
        """The ``run`` audit rows (publish's summary) of these runs of one entity, oldest first."""
        query = sa.select(at).where(at.c.entity == entity, at.c.op == "run")
        return self._audit_rows(query, at.c.run_id, run_ids, conn)

    def audit_entry(self, entry_id: int, *, conn: Connection | None = None) -> AuditEntry | None:
        """One audit row by id, or None."""
        with self._read(conn) as c:
            row = c.execute(sa.select(at).where(at.c.id == entry_id)).first()
        return None if row is None else AuditEntry(**row._mapping)

    def audit_count(self, *, conn: Connection | None = None) -> int:
        with self._read(conn) as c:
            return int(c.execute(sa.select(sa.func.count()).select_from(at)).scalar_one())

    def intents_of_records(
        self, entity: str, ids: dict[str, list[str]], *, conn: Connection | None = None
    ) -> list[WriteIntent]:
        """Every write intent (any state) from or to these records (``system → external ids``), by id."""
        touches = [_intent_touches(system, sorted(set(found))) for system, found in ids.items() if found]
        if not touches:
            return []
        query = sa.select(wt).where(wt.c.entity == entity, sa.or_(*touches)).order_by(wt.c.id)
        with self._read(conn) as c:
            return [WriteIntent(**r._mapping) for r in c.execute(query)]

    def quarantine_of_records(
        self, entity: str, ids: dict[str, list[str]], *, conn: Connection | None = None
    ) -> list[QuarantineItem]:
        """Every quarantine row (open and resolved) of these records (``system → external ids``), by id."""
        held = [
            sa.and_(qt.c.system == system, qt.c.external_id.in_(sorted(set(found))))
            for system, found in ids.items()
            if found
        ]
        if not held:
            return []
        query = sa.select(qt).where(qt.c.entity == entity, sa.or_(*held)).order_by(qt.c.id)
        with self._read(conn) as c:
            return [QuarantineItem(**r._mapping) for r in c.execute(query)]

    def conflicts_of_records(
        self, entity: str, crm_ids: Iterable[str], onec_ids: Iterable[str], *, conn: Connection | None = None
    ) -> list[Conflict]:
        """Every conflict (open and resolved) on a pair with one of these CRM or 1C ids, by id."""
        query = sa.select(ct).where(
            ct.c.entity == entity,
            sa.or_(ct.c.crm_id.in_(sorted(set(crm_ids))), ct.c.onec_id.in_(sorted(set(onec_ids)))),
        )
        with self._read(conn) as c:
            return [Conflict(**r._mapping) for r in c.execute(query.order_by(ct.c.id))]

    def _audit_rows(
        self, query: Any, column: Any, values: Iterable[str], conn: Connection | None
    ) -> list[AuditEntry]:
        found: dict[int, AuditEntry] = {}
        with self._read(conn) as c:
            for part in chunks(sorted(set(values))):
                for r in c.execute(query.where(column.in_(part))):
                    found[r.id] = AuditEntry(**r._mapping)
        return [found[i] for i in sorted(found)]


def _intent_touches(system: str, ids: list[str]) -> sa.ColumnElement[bool]:
    """An intent written from one of these records of ``system``, or to one of them."""
    return sa.or_(
        sa.and_(wt.c.source_system == system, wt.c.source_id.in_(ids)),
        sa.and_(wt.c.target_system == system, wt.c.target_id.in_(ids)),
    )


def _of_entity(table: sa.Table, entity: str | None) -> tuple[sa.ColumnElement[bool], ...]:
    return () if entity is None else (table.c.entity == entity,)
