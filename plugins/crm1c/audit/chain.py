"""Verify the audit log's hash chain and say where it breaks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm1c.staging.models import AuditEntry


@dataclass(frozen=True)
class ChainCheck:
    """``ok`` and the number of rows, or the first row the chain does not verify from."""

    ok: bool
    rows: int
    first_bad: AuditEntry | None = None
    first_bad_id: int | None = None


def check_chain(staging: Any) -> ChainCheck:
    """Recompute the whole chain (:meth:`Staging.verify_audit_chain`)."""
    ok, bad_id = staging.verify_audit_chain()
    rows = staging.audit_count()
    if ok:
        return ChainCheck(True, rows)
    bad = staging.audit_entry(bad_id) if bad_id is not None else None
    return ChainCheck(False, rows, bad, bad_id)
