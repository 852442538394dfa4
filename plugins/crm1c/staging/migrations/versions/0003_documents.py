"""Documents: link and intent roles, post/unpost intents, watermark sub-cursors with a pending value.

* ``xref.role`` and ``write_intent.role`` (``''`` = the one-to-one link every earlier entity uses): one CRM
  deal links to an invoice AND a sale in 1C. Links are unique by ``(entity, crm_id, role)`` (was
  ``(entity, crm_id)``) and still by ``(entity, onec_id)``; ``uq_write_intent_pending`` gains ``role``.
* ``write_intent.op`` also allows ``post`` and ``unpost``.
* ``watermark`` is keyed ``(system, entity, cursor)``; ``pending_value`` holds what a run read up to until its
  publish promotes it. The old encoded keys are converted: ``"E.sub"`` → entity ``E``, cursor ``sub``;
  ``"X:pending"`` → the ``pending_value`` of X's row. The downgrade converts back.

The downgrade refuses (and changes nothing) while rows exist that 0002 cannot hold: links or intents with a
role, post/unpost intents. Dropping them would make the next sync write those documents to 1C again.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

PENDING_SUFFIX = ":pending"
OPS_0002 = "('create', 'update', 'mark_deleted')"
OPS_0003 = "('create', 'update', 'mark_deleted', 'post', 'unpost')"
PENDING_WHERE = "state = 'pending'"
INTENT_SOURCE = ["entity", "target_system", "source_system", "source_id"]

# Lightweight views of the watermark table for the data conversion: untyped columns pass values through
# exactly as the driver stores and returns them (SQLite keeps datetimes as text).
_WM_0002 = sa.table("watermark", *map(sa.column, ("system", "entity", "value", "updated_at")))
_WM_0003 = sa.table(
    "watermark", *map(sa.column, ("system", "entity", "cursor", "value", "pending_value", "updated_at"))
)


def upgrade() -> None:
    _upgrade_xref()
    _upgrade_write_intent()
    _upgrade_watermark()


def downgrade() -> None:
    _refuse_rows_0002_cannot_hold()
    _downgrade_watermark()
    _downgrade_write_intent()
    _downgrade_xref()


# ------------------------------------------------------------------------------------------------- xref


def _upgrade_xref() -> None:
    with op.batch_alter_table("xref") as batch:
        batch.add_column(sa.Column("role", sa.Text, nullable=False, server_default=""))
        batch.drop_constraint(op.f("uq_xref_entity_crm_id"), type_="unique")
        batch.create_unique_constraint(op.f("uq_xref_entity_crm_id_role"), ["entity", "crm_id", "role"])


def _downgrade_xref() -> None:
    with op.batch_alter_table("xref") as batch:
        batch.drop_constraint(op.f("uq_xref_entity_crm_id_role"), type_="unique")
        batch.create_unique_constraint(op.f("uq_xref_entity_crm_id"), ["entity", "crm_id"])
        batch.drop_column("role")


# ----------------------------------------------------------------------------------------- write_intent


def _pending_index(columns: list[str]) -> None:
    op.create_index(
        "uq_write_intent_pending",
        "write_intent",
        columns,
        unique=True,
        sqlite_where=sa.text(PENDING_WHERE),
        postgresql_where=sa.text(PENDING_WHERE),
    )


def _upgrade_write_intent() -> None:
    op.drop_index("uq_write_intent_pending", "write_intent")
    with op.batch_alter_table("write_intent") as batch:
        batch.add_column(sa.Column("role", sa.Text, nullable=False, server_default=""))
        batch.drop_constraint(op.f("ck_write_intent_op"), type_="check")
        batch.create_check_constraint(op.f("ck_write_intent_op"), f"op IN {OPS_0003}")
    _pending_index([*INTENT_SOURCE, "role"])


def _downgrade_write_intent() -> None:
    op.drop_index("uq_write_intent_pending", "write_intent")
    with op.batch_alter_table("write_intent") as batch:
        batch.drop_constraint(op.f("ck_write_intent_op"), type_="check")
        batch.create_check_constraint(op.f("ck_write_intent_op"), f"op IN {OPS_0002}")
        batch.drop_column("role")
    _pending_index(INTENT_SOURCE)


# -------------------------------------------------------------------------------------------- watermark


def _take_rows(table: sa.TableClause) -> list[dict[str, Any]]:
    """Every row of ``table``, deleted from it (to be put back converted once the table is altered)."""
    rows = [r._asdict() for r in op.get_bind().execute(sa.select(table))]
    op.get_bind().execute(sa.delete(table))
    return rows


def _put_rows(table: sa.TableClause, rows: list[dict[str, Any]]) -> None:
    if rows:
        op.get_bind().execute(sa.insert(table), rows)


def _upgrade_watermark() -> None:
    rows = _take_rows(_WM_0002)
    with op.batch_alter_table("watermark") as batch:
        batch.drop_constraint(op.f("pk_watermark"), type_="primary")
        batch.add_column(sa.Column("cursor", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("pending_value", sa.Text, nullable=True))
        batch.alter_column("value", existing_type=sa.Text, nullable=True)
        batch.create_primary_key(op.f("pk_watermark"), ["system", "entity", "cursor"])
    _put_rows(_WM_0003, _split_encoded_keys(rows))


def _split_encoded_keys(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """0002 rows → 0003 rows: ``"E.sub"`` → (E, sub); ``"X:pending"`` → pending_value of X's row."""
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in rows:
        is_pending = row["entity"].endswith(PENDING_SUFFIX)
        entity, _, cursor = row["entity"].removesuffix(PENDING_SUFFIX).partition(".")
        key = {"system": row["system"], "entity": entity, "cursor": cursor}
        new = out.setdefault((row["system"], entity, cursor), key | {"value": None, "pending_value": None})
        new["pending_value" if is_pending else "value"] = row["value"]
        # the later of the two rows' times (same type and format within one database)
        new["updated_at"] = max(new.get("updated_at", row["updated_at"]), row["updated_at"])
    return list(out.values())


def _downgrade_watermark() -> None:
    rows = _take_rows(_WM_0003)
    with op.batch_alter_table("watermark") as batch:
        batch.drop_constraint(op.f("pk_watermark"), type_="primary")
        batch.drop_column("pending_value")
        batch.drop_column("cursor")
        batch.alter_column("value", existing_type=sa.Text, nullable=False)
        batch.create_primary_key(op.f("pk_watermark"), ["system", "entity"])
    _put_rows(_WM_0002, _join_encoded_keys(rows))


def _join_encoded_keys(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """0003 rows → 0002 rows: the value under ``"E"``/``"E.sub"``, the pending value under ``"…:pending"``."""
    out = []
    for row in rows:
        name = f"{row['entity']}.{row['cursor']}" if row["cursor"] else row["entity"]
        for key, value in ((name, row["value"]), (name + PENDING_SUFFIX, row["pending_value"])):
            if value is not None:
                kept = {"system": row["system"], "value": value, "updated_at": row["updated_at"]}
                out.append(kept | {"entity": key})
    return out


# ---------------------------------------------------------------------------------------------- guard


def _refuse_rows_0002_cannot_hold() -> None:
    checks = {
        "links with a role": "SELECT count(*) FROM xref WHERE role <> ''",
        "write intents with a role": "SELECT count(*) FROM write_intent WHERE role <> ''",
        "post/unpost write intents": "SELECT count(*) FROM write_intent WHERE op IN ('post', 'unpost')",
    }
    bind = op.get_bind()
    found = {what: n for what, sql in checks.items() if (n := bind.execute(sa.text(sql)).scalar_one())}
    if found:
        counts = "; ".join(f"{n} {what}" for what, n in found.items())
        raise RuntimeError(
            f"cannot downgrade the staging DB to 0002: {counts}. Revision 0002 cannot hold them, and "
            "dropping them would make the next sync write those 1C documents again; remove them first."
        )
