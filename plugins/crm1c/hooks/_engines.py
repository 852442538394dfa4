"""SQLAlchemy URLs and engines from an Airflow Connection: ``postgres`` through the postgres provider's
``PostgresHook``, ``sqlite`` with the file path in ``host``.

Used by :class:`crm1c.hooks.staging.StagingHook` and by the shared rate-limit bucket (one engine per
database and process).
"""

from __future__ import annotations

import threading
from typing import Any

import sqlalchemy as sa
from airflow.providers.postgres.hooks.postgres import PostgresHook
from airflow.sdk import BaseHook
from sqlalchemy.engine import Engine

_ENGINES: dict[str, Engine] = {}
_LOCK = threading.Lock()
#: The driver crm1c is tested with (``requirements.txt``); extra ``sqlalchemy_scheme`` may choose another.
PG_DRIVER = "postgresql+psycopg2"
#: libpq options crm1c has always read from the extras; PostgresHook passes them to its own DB-API
#: connections only, so they are added to the URL here (``sqlalchemy_query`` wins on a clash).
_PG_QUERY_KEYS = ("sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout", "application_name")


def postgres_url(conn: Any) -> sa.URL:
    """``PostgresHook.sqlalchemy_url`` of ``conn`` (login, password, host, port, database = schema, extras
    ``sqlalchemy_query``, ``sqlalchemy_scheme``, ``iam``), psycopg2 by default, plus the libpq extras."""
    extra = conn.extra_dejson
    scheme = None if extra.get("sqlalchemy_scheme") else PG_DRIVER
    hook = PostgresHook(postgres_conn_id=conn.conn_id, connection=conn, sqlalchemy_scheme=scheme)
    url = hook.sqlalchemy_url
    libpq = {key: str(extra[key]) for key in _PG_QUERY_KEYS if key in extra and key not in url.query}
    return url.update_query_dict(libpq) if libpq else url


def url_for_connection(conn: Any) -> sa.URL:
    """SQLAlchemy URL of a ``postgres`` or ``sqlite`` Connection (host = file path for SQLite)."""
    kind = (conn.conn_type or "").lower()
    if kind in ("postgres", "postgresql"):
        return postgres_url(conn)
    if kind == "sqlite":
        return sa.URL.create("sqlite", database=conn.host)
    raise ValueError(f"connection '{conn.conn_id}': a postgres or sqlite connection is needed, got {kind!r}")


def engine_for_connection(conn_id: str) -> Engine:
    """Engine for the database of ``conn_id``, shared by every hook of this process."""
    url = url_for_connection(BaseHook.get_connection(conn_id))
    key = url.render_as_string(hide_password=False)
    with _LOCK:
        if key not in _ENGINES:
            _ENGINES[key] = sa.create_engine(url, pool_pre_ping=True)
        return _ENGINES[key]
