"""Run bookkeeping: incremental ``watermark`` cursors and per-task ``run_stats`` counters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crm1c.staging.models import RunStats
from crm1c.staging.repo.base import StagingBase
from crm1c.staging.schema import run_stats as rt
from crm1c.staging.schema import watermark as wt


class Bookkeeping(StagingBase):
    def get_watermark(self, system: str, entity: str, *, conn: Connection | None = None) -> str | None:
        """The stored cursor, or None before the first run."""
        query = sa.select(wt.c.value).where(wt.c.system == system, wt.c.entity == entity)
        with self._read(conn) as c:
            return c.execute(query).scalar_one_or_none()

    def set_watermark(self, system: str, entity: str, value: str, *, conn: Connection | None = None) -> None:
        """Store the cursor; pass the batch's ``conn`` so it only advances when the batch commits."""
        stmt = self._insert(wt).values(system=system, entity=entity, value=value, updated_at=self._now())
        stmt = stmt.on_conflict_do_update(
            index_elements=["system", "entity"],
            set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
        )
        with self._write(conn) as c:
            c.execute(stmt)

    def record_run_stats(
        self,
        run_id: str,
        entity: str,
        task: str,
        started_at: datetime,
        finished_at: datetime | None,
        counters: dict[str, Any],
        *,
        conn: Connection | None = None,
    ) -> None:
        """Store a task's counters; a retry of the same run/entity/task overwrites them."""
        stmt = self._insert(rt).values(
            run_id=run_id, entity=entity, task=task, started_at=started_at, finished_at=finished_at,
            counters=counters,
        )  # fmt: skip
        stmt = stmt.on_conflict_do_update(
            index_elements=["run_id", "entity", "task"],
            set_={k: stmt.excluded[k] for k in ("started_at", "finished_at", "counters")},
        )
        with self._write(conn) as c:
            c.execute(stmt)

    def run_stats(self, run_id: str, *, conn: Connection | None = None) -> list[RunStats]:
        """All counters recorded for one run."""
        query = sa.select(rt).where(rt.c.run_id == run_id).order_by(rt.c.entity, rt.c.task)
        with self._read(conn) as c:
            return [RunStats(**r._mapping) for r in c.execute(query)]
