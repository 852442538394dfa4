"""Engine set-up, migrations (idempotent, concurrent, locked) and schema == metadata."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from crm1c.staging import make_engine, migrate, read_only
from crm1c.staging.db import (
    MIGRATION_LOCK_KEY,
    VERSION_TABLE,
    alembic_config,
    current_revision,
    head_revision,
)
from crm1c.staging.schema import metadata

REPO = Path(__file__).resolve().parents[2]


def _diff(engine: sa.Engine, target: sa.MetaData) -> list:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "version_table": VERSION_TABLE})
        return compare_metadata(ctx, target)


def _revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return current_revision(conn)


def test_migrate_is_idempotent(staging_url):
    assert migrate(staging_url) == head_revision()
    assert migrate(staging_url) == head_revision()
    engine = make_engine(staging_url)
    assert _revision(engine) == head_revision()
    assert set(metadata.tables) <= set(sa.inspect(engine).get_table_names())
    engine.dispose()


def test_migrated_schema_equals_metadata(engine):
    assert _diff(engine, metadata) == []


def test_schema_comparison_would_notice_a_difference(engine):
    """Negative control: compare_metadata really looks at columns and indexes."""
    changed = sa.MetaData()
    for table in metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["xref"].append_column(sa.Column("extra", sa.Text))
    sa.Index("ix_extra", changed.tables["watermark"].c.value)
    kinds = {d[0] for d in _diff(engine, changed)}
    assert {"add_column", "add_index"} <= kinds


def _predicate(text: object) -> str:
    return "".join(ch for ch in str(text).lower().replace("::text", "") if ch not in " ()")


def _declared_where(table: sa.Table, dialect: str) -> dict[str, str]:
    return {ix.name: _predicate(ix.dialect_options[dialect]["where"]) for ix in table.indexes}


def _reflected_where(inspector: sa.Inspector, table: sa.Table, dialect: str) -> dict[str, str]:
    indexes = [ix for ix in inspector.get_indexes(table.name) if "duplicates_constraint" not in ix]
    return {ix["name"]: _predicate(ix.get("dialect_options", {}).get(f"{dialect}_where")) for ix in indexes}


def test_constraint_names_and_partial_indexes_match_metadata(engine):
    """What compare_metadata does not check: check-constraint names and partial-index predicates."""
    inspector = sa.inspect(engine)
    dialect = engine.dialect.name
    for table in metadata.tables.values():
        declared = {c.name for c in table.constraints if isinstance(c, sa.CheckConstraint)}
        assert {c["name"] for c in inspector.get_check_constraints(table.name)} == declared, table.name
        assert _reflected_where(inspector, table, dialect) == _declared_where(table, dialect), table.name
    write_intent = metadata.tables["write_intent"]
    assert _reflected_where(inspector, write_intent, dialect)["uq_write_intent_pending"] == "state='pending'"


def test_audit_log_triggers_exist(engine):
    if engine.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'"
    else:
        query = "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_log'::regclass AND NOT tgisinternal"
    with engine.connect() as conn:
        names = set(conn.exec_driver_sql(query).scalars())
    assert len(names) >= 2


def test_downgrade_to_base_and_up_again(engine):
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
    assert not set(metadata.tables) & set(sa.inspect(engine).get_table_names())
    assert migrate(engine) == head_revision()
    assert _diff(engine, metadata) == []


def test_concurrent_migrations_from_separate_processes(staging_url):
    code = "import sys; from crm1c.staging import migrate; print(migrate(sys.argv[1]))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "plugins"), str(REPO)])}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, staging_url], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err.decode()
        assert out.decode().strip() == head_revision()
    engine = make_engine(staging_url)
    assert _diff(engine, metadata) == []
    engine.dispose()


def test_migrate_waits_for_the_migration_lock(staging_url):
    """While another session holds the lock, migrate() blocks; it finishes once the lock is released."""
    holder = make_engine(staging_url)
    done = threading.Event()
    with holder.begin() as conn:
        if holder.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
        # on SQLite the BEGIN IMMEDIATE of this transaction already holds the write lock
        worker = threading.Thread(target=lambda: (migrate(staging_url), done.set()))
        worker.start()
        time.sleep(1.0)
        assert not done.is_set()
    worker.join(timeout=60)
    assert done.is_set()
    assert _revision(holder) == head_revision()
    holder.dispose()


def test_sqlite_engine_settings(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 'dir' / 's.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
    engine.dispose()


def test_sqlite_write_transactions_take_the_lock_up_front(tmp_path):
    path = tmp_path / "s.db"
    engine = make_engine(f"sqlite:///{path}")
    other = sqlite3.connect(path, timeout=0.2, isolation_level=None)
    # no statement in the transaction yet: BEGIN IMMEDIATE alone must hold the write lock
    with engine.begin(), pytest.raises(sqlite3.OperationalError, match="locked"):
        other.execute("BEGIN IMMEDIATE")
    with read_only(engine).begin() as conn:  # readers take no write lock
        conn.exec_driver_sql("SELECT 1")
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    other.close()
    engine.dispose()


def test_postgres_engine_settings():
    engine = make_engine("postgres://postgres@127.0.0.1:5432/postgres")
    assert engine.dialect.name == "postgresql"
    assert engine.pool._pre_ping is True
    engine.dispose()
