"""The page's read-only lookups that the staging repository has no method for: an entity's last run."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from crm1c.staging.models import AuditEntry, RunStats
from crm1c.staging.schema import audit_log as at
from crm1c.staging.schema import run_stats as rt


def last_published_run(staging: Any, key: str) -> AuditEntry | None:
    """The newest ``run`` audit row (publish's summary) of the staging entity ``key``."""
    query = sa.select(at).where(at.c.entity == key, at.c.op == "run").order_by(at.c.id.desc()).limit(1)
    with staging.engine.connect() as conn:
        row = conn.execute(query).first()
    return None if row is None else AuditEntry(**row._mapping)


def last_task_stats(staging: Any, key: str) -> RunStats | None:
    """The newest task counters of ``key`` (``run_stats``): also runs that published nothing (dry runs)."""
    newest = sa.func.coalesce(rt.c.finished_at, rt.c.started_at)
    query = sa.select(rt).where(rt.c.entity == key).order_by(newest.desc()).limit(1)
    with staging.engine.connect() as conn:
        row = conn.execute(query).first()
    return None if row is None else RunStats(**row._mapping)
