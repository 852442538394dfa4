"""Planner bookkeeping: match keys and dirty flags on seen records, attempt time on intents, rate buckets.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("seen_record") as batch:
        batch.add_column(sa.Column("match_key", sa.Text, nullable=True))
        batch.add_column(sa.Column("dirty", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_index(
        "ix_seen_record_entity_system_match_key", "seen_record", ["entity", "system", "match_key"]
    )
    op.create_index("ix_seen_record_system_entity_dirty", "seen_record", ["system", "entity", "dirty"])
    with op.batch_alter_table("write_intent") as batch:
        batch.add_column(sa.Column("tried_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "rate_limit_bucket",
        sa.Column("bucket_key", sa.Text, nullable=False),
        sa.Column("level", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("bucket_key", name="pk_rate_limit_bucket"),
    )


def downgrade() -> None:
    op.drop_table("rate_limit_bucket")
    with op.batch_alter_table("write_intent") as batch:
        batch.drop_column("tried_at")
    op.drop_index("ix_seen_record_system_entity_dirty", "seen_record")
    op.drop_index("ix_seen_record_entity_system_match_key", "seen_record")
    with op.batch_alter_table("seen_record") as batch:
        batch.drop_column("dirty")
        batch.drop_column("match_key")
