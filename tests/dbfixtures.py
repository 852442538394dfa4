"""Reusable database fixtures: a throw-away PostgreSQL database per test session, and ``staging_url``.

Import the fixtures into any ``conftest.py``::

    from tests.dbfixtures import pg_session_db, staging_url  # noqa: F401  (pytest fixtures)

``staging_url`` is parametrised over ``sqlite`` (a fresh file per test) and ``postgres`` (the session database
with an empty ``public`` schema per test). Environment:

* ``CRM1C_TEST_PG_URL``: admin URL of the server (default ``postgresql://postgres@127.0.0.1:5432/postgres``).
* ``CI=true``: PostgreSQL is mandatory; an unreachable server fails the tests instead of skipping them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

PG_URL_ENV = "CRM1C_TEST_PG_URL"
DEFAULT_PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
HOW_TO_START_PG = (
    "start it with `pg_ctlcluster 15 main start` (or `service postgresql start`), or run "
    "`docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:15`, "
    f"or point {PG_URL_ENV} at a server where you may create databases"
)


def on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def pg_admin_url() -> sa.URL:
    return sa.make_url(os.environ.get(PG_URL_ENV, DEFAULT_PG_ADMIN_URL))


def _admin_engine(admin_url: sa.URL) -> sa.Engine:
    return sa.create_engine(
        admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool, connect_args={"connect_timeout": 3}
    )


def pg_unreachable_reason(admin_url: sa.URL | None = None) -> str | None:
    """None when the server answers, else a one-line reason."""
    engine = _admin_engine(admin_url or pg_admin_url())
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.DBAPIError as exc:
        return str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    finally:
        engine.dispose()
    return None


def create_pg_database(name: str, admin_url: sa.URL | None = None) -> sa.URL:
    """(Re)create database ``name``; returns its URL."""
    admin_url = admin_url or pg_admin_url()
    drop_pg_database(name, admin_url)
    engine = _admin_engine(admin_url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        engine.dispose()
    return admin_url.set(database=name)


def drop_pg_database(name: str, admin_url: sa.URL | None = None) -> None:
    """Drop database ``name`` if it exists, disconnecting its sessions."""
    engine = _admin_engine(admin_url or pg_admin_url())
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        engine.dispose()


def reset_pg_schema(url: sa.URL) -> None:
    """Empty the ``public`` schema (tables, functions, triggers) of a test database."""
    engine = _admin_engine(url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
    finally:
        engine.dispose()


@contextmanager
def temp_pg_database(name: str | None = None) -> Iterator[sa.URL]:
    """A database that exists for the duration of the ``with`` block."""
    name = name or f"crm1c_test_{os.getpid()}"
    url = create_pg_database(name)
    try:
        yield url
    finally:
        drop_pg_database(name)


def require_postgres() -> None:
    """Skip the calling test when PostgreSQL is unreachable (fail instead when ``CI=true``)."""
    reason = pg_unreachable_reason()
    if reason is None:
        return
    message = f"PostgreSQL at {pg_admin_url().render_as_string(hide_password=True)} unreachable ({reason})"
    if on_ci():
        pytest.fail(f"{message}; CI=true requires it", pytrace=False)
    pytest.skip(f"{message}: {HOW_TO_START_PG}")


@pytest.fixture(scope="session")
def pg_session_db() -> Iterator[sa.URL]:
    """URL of a database ``crm1c_test_<pid>`` created for this test session and dropped at its end."""
    require_postgres()
    with temp_pg_database() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def staging_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An empty staging database URL, once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('staging') / 'staging.db'}"
    url: sa.URL = request.getfixturevalue("pg_session_db")
    reset_pg_schema(url)
    return url.render_as_string(hide_password=False)
