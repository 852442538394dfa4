"""Initial staging schema: seen records, xref, outbox, quarantine, conflicts, audit log, bookkeeping.

Revision ID: 0001
Revises:
Create Date: 2025-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Ts = sa.DateTime(timezone=True)
SYSTEMS = "('crm', 'onec')"


def _id() -> sa.Column:
    return sa.Column("id", Id, primary_key=True, autoincrement=True)


def _partial_unique(name: str, table: str, columns: list[str], where: str) -> None:
    op.create_index(
        name, table, columns, unique=True, sqlite_where=sa.text(where), postgresql_where=sa.text(where)
    )


def upgrade() -> None:
    _create_records()
    _create_outbox_and_review()
    _create_audit_log()
    _create_bookkeeping()


def _create_records() -> None:
    op.create_table(
        "seen_record",
        sa.Column("system", sa.Text, nullable=False),
        sa.Column("entity", sa.Text, nullable=False),
        sa.Column("external_id", sa.Text, nullable=False),
        sa.Column("version", sa.Text, nullable=True),
        sa.Column("source_ts", Ts, nullable=True),
        sa.Column("content_hash", sa.Text, nullable=False),
        sa.Column("raw", sa.JSON, nullable=False),
        sa.Column("normalised", sa.JSON, nullable=True),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("first_seen", Ts, nullable=False),
        sa.Column("last_seen", Ts, nullable=False),
        sa.PrimaryKeyConstraint("system", "entity", "external_id", name="pk_seen_record"),
        sa.CheckConstraint(f"system IN {SYSTEMS}", name=op.f("ck_seen_record_system")),
    )
    op.create_table(
        "xref",
        _id(),
        sa.Column("entity", sa.Text, nullable=False),
        sa.Column("crm_id", sa.Text, nullable=False),
        sa.Column("onec_id", sa.Text, nullable=False),
        sa.Column("crm_hash", sa.Text, nullable=True),
        sa.Column("onec_hash", sa.Text, nullable=True),
        sa.Column("base", sa.JSON, nullable=True),
        sa.Column("created_at", Ts, nullable=False),
        sa.Column("updated_at", Ts, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_xref"),
        sa.UniqueConstraint("entity", "crm_id", name="uq_xref_entity_crm_id"),
        sa.UniqueConstraint("entity", "onec_id", name="uq_xref_entity_onec_id"),
    )


def _create_outbox_and_review() -> None:
    op.create_table(
        "write_intent",
        _id(),
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
        sa.Column("created_at", Ts, nullable=False),
        sa.Column("updated_at", Ts, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_write_intent"),
        sa.CheckConstraint(f"target_system IN {SYSTEMS}", name=op.f("ck_write_intent_target_system")),
        sa.CheckConstraint(f"source_system IN {SYSTEMS}", name=op.f("ck_write_intent_source_system")),
        sa.CheckConstraint("op IN ('create', 'update', 'mark_deleted')", name=op.f("ck_write_intent_op")),
        sa.CheckConstraint(
            "state IN ('pending', 'done', 'failed', 'abandoned')", name=op.f("ck_write_intent_state")
        ),
        sa.CheckConstraint("source_system <> target_system", name=op.f("ck_write_intent_direction")),
    )
    op.create_index(
        "ix_write_intent_entity_target_system_state", "write_intent", ["entity", "target_system", "state"]
    )
    _partial_unique(
        "uq_write_intent_pending",
        "write_intent",
        ["entity", "target_system", "source_system", "source_id"],
        "state = 'pending'",
    )
    op.create_table(
        "quarantine",
        _id(),
        sa.Column("entity", sa.Text, nullable=False),
        sa.Column("system", sa.Text, nullable=False),
        sa.Column("external_id", sa.Text, nullable=False),
        sa.Column("field", sa.Text, nullable=False),
        sa.Column("reason_ru", sa.Text, nullable=False),
        sa.Column("reason_en", sa.Text, nullable=False),
        sa.Column("payload", sa.JSON, nullable=True),
        sa.Column("first_seen", Ts, nullable=False),
        sa.Column("last_seen", Ts, nullable=False),
        sa.Column("occurrences", sa.Integer, nullable=False),
        sa.Column("resolved_at", Ts, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_quarantine"),
        sa.CheckConstraint(f"system IN {SYSTEMS}", name=op.f("ck_quarantine_system")),
    )
    _partial_unique(
        "uq_quarantine_open",
        "quarantine",
        ["entity", "system", "external_id", "field"],
        "resolved_at IS NULL",
    )
    op.create_table(
        "conflict",
        _id(),
        sa.Column("entity", sa.Text, nullable=False),
        sa.Column("crm_id", sa.Text, nullable=False),
        sa.Column("onec_id", sa.Text, nullable=False),
        sa.Column("field", sa.Text, nullable=False),
        sa.Column("crm_value", sa.JSON, nullable=True),
        sa.Column("onec_value", sa.JSON, nullable=True),
        sa.Column("base_value", sa.JSON, nullable=True),
        sa.Column("detected_at", Ts, nullable=False),
        sa.Column("resolved_at", Ts, nullable=True),
        sa.Column("resolution", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_conflict"),
    )
    _partial_unique(
        "uq_conflict_open", "conflict", ["entity", "crm_id", "onec_id", "field"], "resolved_at IS NULL"
    )


def _create_audit_log() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger, autoincrement=False, nullable=False),
        sa.Column("ts", Ts, nullable=False),
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
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
        sa.UniqueConstraint("hash", name="uq_audit_log_hash"),
    )
    op.create_index("ix_audit_log_entity_entity_key", "audit_log", ["entity", "entity_key"])
    for statement in _append_only_triggers(op.get_bind().dialect.name):
        op.execute(statement)


def _append_only_triggers(dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [
            """
            CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'audit_log is append-only: % rejected', TG_OP;
            END
            $$
            """,
            "CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
        ]
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
            f"BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: {verb} rejected'); END"
            for verb in ("UPDATE", "DELETE")
        ]
    return []


def _create_bookkeeping() -> None:
    op.create_table(
        "watermark",
        sa.Column("system", sa.Text, nullable=False),
        sa.Column("entity", sa.Text, nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at", Ts, nullable=False),
        sa.PrimaryKeyConstraint("system", "entity", name="pk_watermark"),
        sa.CheckConstraint(f"system IN {SYSTEMS}", name=op.f("ck_watermark_system")),
    )
    op.create_table(
        "run_stats",
        sa.Column("run_id", sa.Text, nullable=False),
        sa.Column("entity", sa.Text, nullable=False),
        sa.Column("task", sa.Text, nullable=False),
        sa.Column("started_at", Ts, nullable=False),
        sa.Column("finished_at", Ts, nullable=True),
        sa.Column("counters", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "entity", "task", name="pk_run_stats"),
    )


def downgrade() -> None:
    for table in ("run_stats", "watermark", "audit_log", "conflict", "quarantine", "write_intent", "xref"):
        op.drop_table(table)
    op.drop_table("seen_record")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
