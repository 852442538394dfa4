"""The staging tables, defined once with SQLAlchemy Core.

The Alembic migrations (``migrations/versions/``, applied in order) produce exactly these tables; a test
compares the migrated database with this ``metadata``. All datetimes are timezone-aware UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from crm1c.staging import ratelimit

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SYSTEMS = ("crm", "onec")
INTENT_OPS = ("create", "update", "mark_deleted", "post", "unpost")  # post/unpost: 1C documents (0003)
# The ``role`` of a one-to-one link or intent (every entity up to counterparties). Documents have named roles,
# e.g. a deal's ``invoice`` and ``sale`` link (added in 0003).
NO_ROLE = ""
INTENT_STATES = ("pending", "done", "failed", "abandoned")
# An entity's rollout mode (0004); what each means for a run: :mod:`crm1c.rollout`.
ROLLOUT_MODES = ("off", "shadow", "pilot", "read_only", "review", "on")
REPORT_STATUSES = ("clean", "drift", "failed")


class UtcDateTime(sa.TypeDecorator[datetime]):
    """``DateTime(timezone=True)`` that only accepts aware datetimes and always returns aware UTC ones.

    SQLite keeps no offset, so values are converted to UTC before they are stored.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: staging stores timezone-aware UTC only")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


# Autoincrementing surrogate key: BIGINT identity on PostgreSQL, INTEGER (rowid alias) on SQLite.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

metadata = sa.MetaData(naming_convention=NAMING)

seen_record = sa.Table(
    "seen_record",
    metadata,
    sa.Column("system", sa.Text, primary_key=True),
    sa.Column("entity", sa.Text, primary_key=True),
    sa.Column("external_id", sa.Text, primary_key=True),
    sa.Column("version", sa.Text, nullable=True),
    sa.Column("source_ts", UtcDateTime, nullable=True),
    sa.Column("content_hash", sa.Text, nullable=False),
    sa.Column("raw", sa.JSON, nullable=False),
    sa.Column("normalised", sa.JSON, nullable=True),
    sa.Column("deleted", sa.Boolean, nullable=False),
    sa.Column("first_seen", UtcDateTime, nullable=False),
    sa.Column("last_seen", UtcDateTime, nullable=False),
    # Business key (e.g. ``inn:…/kpp:…``) for matching across systems; added in 0002.
    sa.Column("match_key", sa.Text, nullable=True),
    # Set when the record arrives new or changed, cleared once the planner has handled it; added in 0002.
    sa.Column("dirty", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.CheckConstraint(_in("system", SYSTEMS), name="system"),
    sa.Index("ix_seen_record_entity_system_match_key", "entity", "system", "match_key"),
    sa.Index("ix_seen_record_system_entity_dirty", "system", "entity", "dirty"),
)

xref = sa.Table(
    "xref",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("entity", sa.Text, nullable=False),
    sa.Column("crm_id", sa.Text, nullable=False),
    sa.Column("onec_id", sa.Text, nullable=False),
    sa.Column("crm_hash", sa.Text, nullable=True),
    sa.Column("onec_hash", sa.Text, nullable=True),
    sa.Column("base", sa.JSON, nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    # Which link of the CRM record this is: '' for one-to-one entities; one CRM deal has an ``invoice`` and a
    # ``sale`` link (added in 0003). 1:1 per role; a 1C record belongs to one CRM record in one role.
    sa.Column("role", sa.Text, nullable=False, server_default=NO_ROLE),
    # (entity, crm_id, role) rather than (entity, role, crm_id): the same rule, and its index also serves
    # "every link of this CRM record" (xrefs_by_crm).
    sa.UniqueConstraint("entity", "crm_id", "role"),
    sa.UniqueConstraint("entity", "onec_id"),
)

write_intent = sa.Table(
    "write_intent",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("entity", sa.Text, nullable=False),
    sa.Column("target_system", sa.Text, nullable=False),
    sa.Column("op", sa.Text, nullable=False),
    sa.Column("source_system", sa.Text, nullable=False),
    sa.Column("source_id", sa.Text, nullable=False),
    sa.Column("match_key", sa.Text, nullable=True),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("payload_hash", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("target_id", sa.Text, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("run_id", sa.Text, nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    # When a loader last started the external call; set means "may already be written" (added in 0002).
    sa.Column("tried_at", UtcDateTime, nullable=True),
    # The link role the intent writes (see ``xref.role``; added in 0003).
    sa.Column("role", sa.Text, nullable=False, server_default=NO_ROLE),
    sa.CheckConstraint(_in("target_system", SYSTEMS), name="target_system"),
    sa.CheckConstraint(_in("source_system", SYSTEMS), name="source_system"),
    sa.CheckConstraint(_in("op", INTENT_OPS), name="op"),
    sa.CheckConstraint(_in("state", INTENT_STATES), name="state"),
    sa.CheckConstraint("source_system <> target_system", name="direction"),
    sa.Index("ix_write_intent_entity_target_system_state", "entity", "target_system", "state"),
    # The outbox rule: at most one pending intent per source record, target and role.
    sa.Index(
        "uq_write_intent_pending",
        "entity",
        "target_system",
        "source_system",
        "source_id",
        "role",
        unique=True,
        sqlite_where=sa.text("state = 'pending'"),
        postgresql_where=sa.text("state = 'pending'"),
    ),
)

quarantine = sa.Table(
    "quarantine",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("entity", sa.Text, nullable=False),
    sa.Column("system", sa.Text, nullable=False),
    sa.Column("external_id", sa.Text, nullable=False),
    sa.Column("field", sa.Text, nullable=False),
    sa.Column("reason_ru", sa.Text, nullable=False),
    sa.Column("reason_en", sa.Text, nullable=False),
    sa.Column("payload", sa.JSON, nullable=True),
    sa.Column("first_seen", UtcDateTime, nullable=False),
    sa.Column("last_seen", UtcDateTime, nullable=False),
    sa.Column("occurrences", sa.Integer, nullable=False),
    sa.Column("resolved_at", UtcDateTime, nullable=True),
    sa.CheckConstraint(_in("system", SYSTEMS), name="system"),
    sa.Index(
        "uq_quarantine_open",
        "entity",
        "system",
        "external_id",
        "field",
        unique=True,
        sqlite_where=sa.text("resolved_at IS NULL"),
        postgresql_where=sa.text("resolved_at IS NULL"),
    ),
)

conflict = sa.Table(
    "conflict",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("entity", sa.Text, nullable=False),
    sa.Column("crm_id", sa.Text, nullable=False),
    sa.Column("onec_id", sa.Text, nullable=False),
    sa.Column("field", sa.Text, nullable=False),
    sa.Column("crm_value", sa.JSON, nullable=True),
    sa.Column("onec_value", sa.JSON, nullable=True),
    sa.Column("base_value", sa.JSON, nullable=True),
    sa.Column("detected_at", UtcDateTime, nullable=False),
    sa.Column("resolved_at", UtcDateTime, nullable=True),
    sa.Column("resolution", sa.Text, nullable=True),
    sa.Index(
        "uq_conflict_open",
        "entity",
        "crm_id",
        "onec_id",
        "field",
        unique=True,
        sqlite_where=sa.text("resolved_at IS NULL"),
        postgresql_where=sa.text("resolved_at IS NULL"),
    ),
)

# Append-only and hash-chained; triggers created by the migration reject UPDATE and DELETE.
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("ts", UtcDateTime, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("run_id", sa.Text, nullable=True),
    sa.Column("entity", sa.Text, nullable=True),
    sa.Column("entity_key", sa.Text, nullable=True),
    sa.Column("op", sa.Text, nullable=False),
    sa.Column("system", sa.Text, nullable=True),
    sa.Column("result", sa.Text, nullable=False),
    sa.Column("detail", sa.JSON, nullable=True),
    sa.Column("prev_hash", sa.Text, nullable=False),
    sa.Column("hash", sa.Text, nullable=False),
    sa.UniqueConstraint("hash"),
    sa.Index("ix_audit_log_entity_entity_key", "entity", "entity_key"),
)

# Incremental cursors: one row per system, entity and sub-cursor ('' = the entity's main cursor). ``value`` is
# what the next run starts from; ``pending_value`` is what this run read up to, promoted to ``value`` once its
# writes are done (cursor and pending_value added in 0003; value NULL = only a pending value so far).
watermark = sa.Table(
    "watermark",
    metadata,
    sa.Column("system", sa.Text, primary_key=True),
    sa.Column("entity", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=True),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("cursor", sa.Text, primary_key=True, server_default=""),
    sa.Column("pending_value", sa.Text, nullable=True),
    sa.CheckConstraint(_in("system", SYSTEMS), name="system"),
)

run_stats = sa.Table(
    "run_stats",
    metadata,
    sa.Column("run_id", sa.Text, primary_key=True),
    sa.Column("entity", sa.Text, primary_key=True),
    sa.Column("task", sa.Text, primary_key=True),
    sa.Column("started_at", UtcDateTime, nullable=False),
    sa.Column("finished_at", UtcDateTime, nullable=True),
    sa.Column("counters", sa.JSON, nullable=False),
)


# Each entity's rollout mode, by the entity's name in DAG ids, once someone set it (0004). Without a row the
# default of ``include/mappings/rollout.yaml`` applies; every change is also an ``audit_log`` row.
rollout_mode = sa.Table(
    "rollout_mode",
    metadata,
    sa.Column("entity", sa.Text, primary_key=True),
    sa.Column("mode", sa.Text, nullable=False),
    sa.Column("pilot_filter", sa.JSON, nullable=True),
    sa.Column("changed_by", sa.Text, nullable=False),
    sa.Column("changed_at", UtcDateTime, nullable=False),
    sa.CheckConstraint(_in("mode", ROLLOUT_MODES), name="mode"),
)

# One row per reconciliation run: what was compared, what differs, the HTML report sent out (0004).
reconciliation_report = sa.Table(
    "reconciliation_report",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("started_at", UtcDateTime, nullable=False),
    sa.Column("finished_at", UtcDateTime, nullable=False),
    sa.Column("period_from", sa.Date, nullable=True),
    sa.Column("period_to", sa.Date, nullable=True),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("totals", sa.JSON, nullable=False),
    sa.Column("differences", sa.JSON, nullable=False),
    sa.Column("html", sa.Text, nullable=True),
    sa.CheckConstraint(_in("status", REPORT_STATUSES), name="status"),
)


# The client-side leaky bucket shared by every task that calls one Bitrix24 portal (added in 0002). It is
# defined once, next to :class:`crm1c.staging.ratelimit.SqlBucket`, and copied into this metadata.
rate_limit_bucket = ratelimit.rate_limit_bucket.to_metadata(metadata)
