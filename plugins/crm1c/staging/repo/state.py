"""Run bookkeeping: incremental ``watermark`` cursors and per-task ``run_stats`` counters.

A watermark is keyed by system, entity and ``cursor`` (``''``: the entity's main cursor; e.g. ``"requisite"``
for a second listing of the same entity). ``value`` is where the next run starts; an extract stages what it
read up to with :meth:`Bookkeeping.stage_watermark` and publish promotes every staged cursor of the entity
with :meth:`Bookkeeping.promote_watermarks` once the run's writes are done.
(Before revision 0003 both were spelled into the entity name, ``"counterparty.requisite"`` and
``"counterparty:pending"``; the migration converted those rows, and such a name is refused now.)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crm1c.staging.models import RunStats
from crm1c.staging.repo.base import StagingBase
from crm1c.staging.schema import run_stats as rt
from crm1c.staging.schema import watermark as wt

MAIN_CURSOR = ""


class Bookkeeping(StagingBase):
    def get_watermark(
        self, system: str, entity: str, cursor: str = MAIN_CURSOR, *, conn: Connection | None = None
    ) -> str | None:
        """The cursor's value (where the next run starts), or None before the first one is set."""
        return self._read_watermark(system, _plain(entity), cursor, "value", conn)

    def set_watermark(
        self,
        system: str,
        entity: str,
        value: str,
        cursor: str = MAIN_CURSOR,
        *,
        conn: Connection | None = None,
    ) -> None:
        """Store the cursor's value; pass the batch's ``conn`` so it only advances when the batch commits."""
        self._write_watermark(system, _plain(entity), cursor, "value", value, conn)

    def stage_watermark(
        self,
        system: str,
        entity: str,
        value: str,
        cursor: str = MAIN_CURSOR,
        *,
        conn: Connection | None = None,
    ) -> None:
        """Stage ``value`` for the cursor (``pending_value``); :meth:`promote_watermarks` makes it current."""
        self._write_watermark(system, _plain(entity), cursor, "pending_value", value, conn)

    def staged_watermark(
        self, system: str, entity: str, cursor: str = MAIN_CURSOR, *, conn: Connection | None = None
    ) -> str | None:
        """The staged value of the cursor not yet promoted, or None."""
        return self._read_watermark(system, _plain(entity), cursor, "pending_value", conn)

    def promote_watermarks(
        self, system: str, entity: str, *, conn: Connection | None = None
    ) -> dict[str, str]:
        """For every cursor of ``entity`` with a staged value: value := staged value, staged := NULL.

        Returns the promoted cursors' new values, ``{cursor: value}`` (``''`` is the main cursor).
        """
        stmt = (
            sa.update(wt)
            .where(wt.c.system == system, wt.c.entity == _plain(entity), wt.c.pending_value.is_not(None))
            .values(value=wt.c.pending_value, pending_value=None, updated_at=self._now())
            .returning(wt.c.cursor, wt.c.value)
        )
        with self._write(conn) as c:
            return {row.cursor: row.value for row in c.execute(stmt)}

    def _read_watermark(
        self, system: str, entity: str, cursor: str, column: str, conn: Connection | None
    ) -> str | None:
        key = (wt.c.system == system, wt.c.entity == entity, wt.c.cursor == cursor)
        with self._read(conn) as c:
            return c.execute(sa.select(wt.c[column]).where(*key)).scalar_one_or_none()

    def _write_watermark(
        self, system: str, entity: str, cursor: str, column: str, value: str, conn: Connection | None
    ) -> None:
        stmt = self._insert(wt).values(
            {"system": system, "entity": entity, "cursor": cursor, column: value, "updated_at": self._now()}
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["system", "entity", "cursor"],
            set_={column: stmt.excluded[column], "updated_at": stmt.excluded.updated_at},
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



def _plain(entity: str) -> str:
    if "." in entity or ":" in entity:
        raise ValueError(f"watermark entity {entity!r}: give a sub-cursor as cursor=, not in the name")
    return entity
