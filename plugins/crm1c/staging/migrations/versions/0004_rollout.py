"""Control plane: each entity's rollout mode, and the reconciliation reports.

* ``rollout_mode``: one row per entity (named as in DAG ids) once someone set its mode; without a row the
  default of ``include/mappings/rollout.yaml`` applies. Every change is also an ``audit_log`` row.
* ``reconciliation_report``: one row per reconciliation run (totals, differences, the HTML sent out).

Two new tables, nothing existing changes: the downgrade drops them (and the modes set since with them).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-12
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Ts = sa.DateTime(timezone=True)
MODES = "('off', 'shadow', 'pilot', 'read_only', 'review', 'on')"
STATUSES = "('clean', 'drift', 'failed')"


def upgrade() -> None:
    op.create_table(
        "rollout_mode",
        sa.Column("entity", sa.Text, nullable=False),
        sa.Column("mode", sa.Text, nullable=False),
        sa.Column("pilot_filter", sa.JSON, nullable=True),
        sa.Column("changed_by", sa.Text, nullable=False),
        sa.Column("changed_at", Ts, nullable=False),
        sa.PrimaryKeyConstraint("entity", name=op.f("pk_rollout_mode")),
        sa.CheckConstraint(f"mode IN {MODES}", name=op.f("ck_rollout_mode_mode")),
    )
    op.create_table(
        "reconciliation_report",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("started_at", Ts, nullable=False),
        sa.Column("finished_at", Ts, nullable=False),
        sa.Column("period_from", sa.Date, nullable=True),
        sa.Column("period_to", sa.Date, nullable=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("totals", sa.JSON, nullable=False),
        sa.Column("differences", sa.JSON, nullable=False),
        sa.Column("html", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_report")),
        sa.CheckConstraint(f"status IN {STATUSES}", name=op.f("ck_reconciliation_report_status")),
    )


def downgrade() -> None:
    op.drop_table("reconciliation_report")
    op.drop_table("rollout_mode")
