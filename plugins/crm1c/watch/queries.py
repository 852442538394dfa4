"""The staging lookups the run checks need and the repository has no method for (read-only)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from crm1c.staging.models import AuditEntry
from crm1c.staging.schema import audit_log as at
from crm1c.staging.schema import xref as xt


def previous_run(staging: Any, key: str, run_id: str) -> AuditEntry | None:
    """The newest published run summary (``run`` audit row) of the staging entity ``key`` from another run
    than ``run_id`` (a retried publish may have written this run's already)."""
    query = (
        sa.select(at)
        .where(at.c.entity == key, at.c.op == "run", at.c.run_id != run_id)
        .order_by(at.c.id.desc())
        .limit(1)
    )
    with staging.engine.connect() as conn:
        row = conn.execute(query).first()
    return None if row is None else AuditEntry(**row._mapping)


def linked_count(staging: Any, key: str) -> int:
    """How many links (CRM record ⇄ 1C record) staging holds for ``key``."""
    query = sa.select(sa.func.count()).select_from(xt).where(xt.c.entity == key)
    with staging.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())
