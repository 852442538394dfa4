"""Staging database between Bitrix24 and 1C: schema, migrations and the :class:`Staging` repository.

Plain Python + SQLAlchemy (no Airflow imports). SQLite file by default, PostgreSQL in production::

    from crm1c.staging import Staging, make_engine, migrate

    migrate(url)  # idempotent; run at each task start
    staging = Staging(make_engine(url))
"""

from __future__ import annotations

from crm1c.hashing import canonical_json, content_hash
from crm1c.staging.db import make_engine, migrate, read_only
from crm1c.staging.errors import IntentStateError, NotFoundError, StagingError, XrefConflictError
from crm1c.staging.models import (
    AuditEntry,
    Completion,
    Conflict,
    QuarantineItem,
    ReconciliationReport,
    RolloutMode,
    RunStats,
    SeenInput,
    SeenRecord,
    UpsertResult,
    WriteIntent,
    Xref,
)
from crm1c.staging.ratelimit import SqlBucket, make_limiter
from crm1c.staging.repo.review import RECORD_LEVEL
from crm1c.staging.store import Staging

__all__ = [
    "RECORD_LEVEL",
    "AuditEntry",
    "Completion",
    "Conflict",
    "IntentStateError",
    "NotFoundError",
    "QuarantineItem",
    "ReconciliationReport",
    "RolloutMode",
    "RunStats",
    "SeenInput",
    "SeenRecord",
    "SqlBucket",
    "Staging",
    "StagingError",
    "UpsertResult",
    "WriteIntent",
    "Xref",
    "XrefConflictError",
    "canonical_json",
    "content_hash",
    "make_engine",
    "make_limiter",
    "migrate",
    "read_only",
]
