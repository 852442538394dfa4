"""The control plane's tables: each entity's ``rollout_mode`` and the ``reconciliation_report`` history.

A mode change is stored together with its hash-chained audit row (``op="rollout"``, who, when, from → to)
in one transaction. What a mode means for a run lives in :mod:`crm1c.rollout`; an entity without a row
runs in the default of ``include/mappings/rollout.yaml``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crm1c.hashing import jsonable
from crm1c.staging.models import ReconciliationReport, RolloutMode
from crm1c.staging.repo.audit import AuditLog
from crm1c.staging.repo.base import to_model
from crm1c.staging.schema import REPORT_STATUSES, ROLLOUT_MODES
from crm1c.staging.schema import reconciliation_report as rt
from crm1c.staging.schema import rollout_mode as mt
from crm1c.staging.schema import write_intent as wt


class Control(AuditLog):
    def get_mode(self, entity: str, *, conn: Connection | None = None) -> RolloutMode | None:
        """The mode someone set for ``entity`` (as in DAG ids), or None (the yaml default applies)."""
        with self._read(conn) as c:
            return to_model(RolloutMode, c.execute(sa.select(mt).where(mt.c.entity == entity)).first())

    def modes(self, *, conn: Connection | None = None) -> dict[str, RolloutMode]:
        """Every mode someone set, by entity."""
        with self._read(conn) as c:
            return {
                r.entity: RolloutMode(**r._mapping) for r in c.execute(sa.select(mt).order_by(mt.c.entity))
            }

    def set_mode(
        self,
        entity: str,
        mode: str,
        *,
        pilot_filter: dict[str, Any] | None = None,
        actor: str,
        run_id: str | None = None,
        conn: Connection | None = None,
    ) -> RolloutMode:
        """Store ``entity``'s mode and audit the change (``detail``: from, to, pilot_filter), atomically.

        ``pilot_filter`` is required (non-empty) for ``pilot`` and refused for any other mode.
        """
        if mode not in ROLLOUT_MODES:
            raise ValueError(f"mode must be one of {', '.join(ROLLOUT_MODES)}, got {mode!r}")
        if (mode == "pilot") != bool(pilot_filter):
            raise ValueError("a pilot_filter is required for mode pilot, and only for it")
        stored = jsonable(pilot_filter) if pilot_filter else None
        new = RolloutMode(entity, mode, stored, actor, self._now())
        values = {"mode": mode, "pilot_filter": stored, "changed_by": actor, "changed_at": new.changed_at}
        stmt = self._insert(mt).values(entity=entity, **values)
        stmt = stmt.on_conflict_do_update(index_elements=["entity"], set_=values)
        with self._write(conn) as c:
            old = self.get_mode(entity, conn=c)
            c.execute(stmt)
            detail = {"from": old.mode if old else None, "to": mode, "pilot_filter": stored}
            self.audit(actor, run_id, entity, None, "rollout", None, "set", detail, conn=c)
        return new

    def pending_count(self, entity: str, target_system: str, *, conn: Connection | None = None) -> int:
        """How many writes to ``target_system`` wait in the outbox for ``entity`` (the staging name)."""
        query = sa.select(sa.func.count()).where(
            wt.c.entity == entity, wt.c.target_system == target_system, wt.c.state == "pending"
        )
        with self._read(conn) as c:
            return int(c.execute(query).scalar_one())

    def save_report(
        self,
        *,
        started_at: datetime,
        finished_at: datetime,
        status: str,
        totals: dict[str, Any],
        differences: list[Any],
        html: str | None = None,
        period_from: date | None = None,
        period_to: date | None = None,
        conn: Connection | None = None,
    ) -> int:
        """Keep one reconciliation run (``status``: clean | drift | failed); returns its id."""
        if status not in REPORT_STATUSES:
            raise ValueError(f"status must be one of {', '.join(REPORT_STATUSES)}, got {status!r}")
        values = {"started_at": started_at, "finished_at": finished_at, "status": status, "html": html}
        values |= {
            "totals": totals,
            "differences": differences,
            "period_from": period_from,
            "period_to": period_to,
        }
        with self._write(conn) as c:
            key = c.execute(sa.insert(rt).values(values).returning(rt.c.id)).scalar_one()
        return int(key)

    def latest_report(self, *, conn: Connection | None = None) -> ReconciliationReport | None:
        """The newest reconciliation report, or None before the first."""
        reports = self.reports(limit=1, conn=conn)
        return reports[0] if reports else None

    def reports(self, limit: int = 30, *, conn: Connection | None = None) -> list[ReconciliationReport]:
        """The newest ``limit`` reconciliation reports, newest first."""
        query = sa.select(rt).order_by(rt.c.id.desc()).limit(limit)
        with self._read(conn) as c:
            return [ReconciliationReport(**r._mapping) for r in c.execute(query)]
