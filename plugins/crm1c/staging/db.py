"""Engine factory and schema migration for the staging database (SQLite file or PostgreSQL).

SQLite engines run in WAL mode with foreign keys on and a 30 s busy timeout. SQLAlchemy emits ``BEGIN``
itself (the recipe in the SQLAlchemy SQLite docs, "Enabling Non-Legacy SQLite Transactional Modes"), and
every transaction starts with ``BEGIN IMMEDIATE``: it takes the write lock up front, so two writers queue on
the busy timeout instead of deadlocking on a lock upgrade. Transactions on a :func:`read_only` engine view
start with ``BEGIN DEFERRED`` and never block writers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from crm1c.hashing import canonical_json

READ_ONLY_OPTION = "crm1c_read_only"
BUSY_TIMEOUT_MS = 30_000
VERSION_TABLE = "staging_alembic_version"
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# pg_advisory_xact_lock keys (arbitrary constants, unique to crm1c).
MIGRATION_LOCK_KEY = 0x63726D3163_01
AUDIT_LOCK_KEY = 0x63726D3163_02


def make_engine(url: str | sa.URL, **kwargs: Any) -> Engine:
    """Create an engine for the staging DB: SQLite (WAL, FK, busy timeout, BEGIN IMMEDIATE) or PostgreSQL.

    JSON columns are written as canonical JSON (sorted keys; Decimal, UUID and datetime as strings).
    """
    url = _normalise_url(url)
    kwargs.setdefault("json_serializer", canonical_json)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url, **kwargs)
    kwargs.setdefault("pool_pre_ping", True)
    return sa.create_engine(url, **kwargs)


def read_only(engine: Engine) -> Engine:
    """Return a view of ``engine`` for read-only transactions (SQLite: ``BEGIN DEFERRED``, no write lock)."""
    return engine.execution_options(**{READ_ONLY_OPTION: True})


def migrate(target: str | sa.URL | Engine, revision: str = "head") -> str | None:
    """Upgrade the staging schema to ``revision`` and return the resulting revision.

    Idempotent and safe to run at every task start, also from concurrent processes: the whole upgrade runs
    in one transaction that holds the migration lock (PostgreSQL advisory lock, SQLite ``BEGIN IMMEDIATE``).
    """
    engine = target if isinstance(target, Engine) else make_engine(target)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            command.upgrade(alembic_config(conn), revision)
            return current_revision(conn)
    finally:
        if engine is not target:
            engine.dispose()


def alembic_config(connection: Connection | None = None) -> Config:
    """Build the Alembic config in code (no alembic.ini); ``env.py`` uses ``connection`` when given."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


def current_revision(conn: Connection) -> str | None:
    """The revision the database is at, or None before the first migration."""
    return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()


def head_revision() -> str | None:
    """The newest revision shipped with this package."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _normalise_url(url: str | sa.URL) -> sa.URL:
    url = sa.make_url(url)
    if url.drivername == "postgres":  # Heroku-style scheme that SQLAlchemy does not accept
        url = url.set(drivername="postgresql")
    return url


def _sqlite_engine(url: sa.URL, **kwargs: Any) -> Engine:
    if url.database and url.database != ":memory:" and not url.query.get("uri"):
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, **kwargs)
    event.listen(engine, "connect", _on_sqlite_connect)
    event.listen(engine, "begin", _on_sqlite_begin)
    return engine


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # the driver must not emit BEGIN; _on_sqlite_begin does
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
    finally:
        cursor.close()


def _on_sqlite_begin(conn: Connection) -> None:
    mode = "DEFERRED" if conn.get_execution_options().get(READ_ONLY_OPTION) else "IMMEDIATE"
    conn.exec_driver_sql(f"BEGIN {mode}")
