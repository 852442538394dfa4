"""SQLAlchemy engines for the shared rate-limit bucket, from an Airflow Connection (one per database)."""

from __future__ import annotations

import threading
from typing import Any

import sqlalchemy as sa
from airflow.sdk import BaseHook
from sqlalchemy.engine import Engine

_ENGINES: dict[str, Engine] = {}
_LOCK = threading.Lock()
_PG_QUERY_KEYS = ("sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout", "application_name")


def url_for_connection(conn: Any) -> sa.URL:
    """SQLAlchemy URL of a ``postgres`` or ``sqlite`` Connection (host = file path for SQLite)."""
    kind = (conn.conn_type or "").lower()
    if kind in ("postgres", "postgresql"):
        extra = conn.extra_dejson
        return sa.URL.create(
            "postgresql+psycopg2", username=conn.login or None, password=conn.password or None,
            host=conn.host or None, port=conn.port or None, database=conn.schema or None,
            query={k: str(extra[k]) for k in _PG_QUERY_KEYS if k in extra},
        )  # fmt: skip
    if kind == "sqlite":
        return sa.URL.create("sqlite", database=conn.host)
    raise ValueError(f"connection '{conn.conn_id}': the shared limiter needs a postgres or sqlite connection")


def engine_for_connection(conn_id: str) -> Engine:
    """Engine for the database of ``conn_id``, shared by every hook of this process."""
    url = url_for_connection(BaseHook.get_connection(conn_id))
    key = url.render_as_string(hide_password=False)
    with _LOCK:
        if key not in _ENGINES:
            _ENGINES[key] = sa.create_engine(url, pool_pre_ping=True)
        return _ENGINES[key]
