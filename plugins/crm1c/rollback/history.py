"""What the audit log says a rollback needs: the 1C objects crm1c created, and the mode before a rollback.

Rows the engine writes when it creates in 1C: ``op=create``, ``system=onec``, ``result`` done (or adopted: an
earlier attempt's creation found again), ``entity_key`` ``onec:<Ref_Key>``, ``entity`` the staging name
(e.g. ``counterparty``). The switch's own rows (``op`` rollback / resume) name the entity as in DAG ids.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from crm1c.staging import AuditEntry, read_only
from crm1c.staging.schema import audit_log as at

CREATED = frozenset({"done", "adopted"})
SWITCH_OPS = ("rollback", "resume")
RESUME_DEFAULT = "on"


@dataclass(frozen=True)
class ModeBefore:
    """The mode to come back to (``rollback_id``: the audit row it was read from, if any)."""

    mode: str
    pilot_filter: dict[str, Any] | None = None
    rollback_id: int | None = None


def created_refs(rows: Iterable[AuditEntry], key: str, since: datetime) -> list[str]:
    """Ref_Keys of the 1C objects of staging entity ``key`` that crm1c created at or after ``since``, oldest
    first, each once."""
    refs: dict[str, None] = {}
    for row in rows:
        if (row.entity, row.op, row.system) != (key, "create", "onec") or row.result not in CREATED:
            continue
        system, _, ref = (row.entity_key or "").partition(":")
        if system == "onec" and ref and row.ts >= since:
            refs[ref] = None
    return list(refs)


def created_in_onec(staging: Any, key: str, since: datetime) -> list[str]:
    """:func:`created_refs` over the audit log of ``staging``."""
    query = sa.select(at).where(at.c.entity == key, at.c.op == "create", at.c.ts >= since).order_by(at.c.id)
    with read_only(staging.engine).begin() as conn:
        rows = [AuditEntry(**r._mapping) for r in conn.execute(query)]
    return created_refs(rows, key, since)


def last_switch(staging: Any, entity: str) -> AuditEntry | None:
    """The newest rollback or resume row of ``entity`` (as in DAG ids), or None."""
    query = sa.select(at).where(at.c.entity == entity, at.c.op.in_(SWITCH_OPS)).order_by(at.c.id.desc())
    with read_only(staging.engine).begin() as conn:
        row = conn.execute(query.limit(1)).first()
    return None if row is None else AuditEntry(**row._mapping)


def mode_before_rollback(last: AuditEntry | None, current: ModeBefore) -> ModeBefore:
    """What a rollback remembers: the current mode, unless the entity is still in the mode its last rollback
    set (then the mode that rollback remembered: rolling back twice, or a retry, must not make ``read_only``
    the mode to resume to)."""
    still = last is not None and last.op == "rollback" and (last.detail or {}).get("to") == current.mode
    return restore_target(last) if still else current


def restore_target(last: AuditEntry | None) -> ModeBefore:
    """What a resume sets: the mode the last rollback remembered; after a resume, what that resume set (a
    second resume changes nothing); ``on`` when the log has neither."""
    if last is None:
        return ModeBefore(RESUME_DEFAULT)
    detail = last.detail or {}
    mode = detail.get("from") if last.op == "rollback" else detail.get("to")
    rollback_id = last.id if last.op == "rollback" else detail.get("rollback_audit_id")
    return ModeBefore(mode or RESUME_DEFAULT, detail.get("pilot_filter"), rollback_id)
