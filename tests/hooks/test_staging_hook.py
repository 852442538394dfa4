"""StagingHook: a postgres Connection resolves through the postgres provider's PostgresHook, a sqlite one to
its file; get_staging() migrates and opens the database. Connections are env vars, as the providers test."""

from __future__ import annotations

import json
import os

import pytest
import sqlalchemy as sa
from airflow.providers.postgres.hooks.postgres import PostgresHook

from tests.dbfixtures import require_postgres, temp_pg_database


def set_staging(monkeypatch, conn_id: str = "crm1c_staging", **fields) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(fields))


@pytest.fixture
def provider_urls(monkeypatch):
    """The connections whose URL PostgresHook.sqlalchemy_url built."""
    seen: list[str] = []
    original = PostgresHook.sqlalchemy_url

    def spy(self):
        seen.append(self.postgres_conn_id)
        return original.fget(self)

    monkeypatch.setattr(PostgresHook, "sqlalchemy_url", property(spy))
    return seen


def test_postgres_connection_resolves_through_postgres_hook(monkeypatch, provider_urls):
    from crm1c.hooks.staging import StagingHook

    set_staging(
        monkeypatch, conn_type="postgres", host="db.example", port=5433, login="crm1c", password="p@ss:w/rd",
        schema="crm1c_staging", extra={"sslmode": "require", "connect_timeout": 5},
    )  # fmt: skip
    url = sa.make_url(StagingHook().get_url())
    assert provider_urls == ["crm1c_staging"]
    assert (url.drivername, url.username, url.password) == ("postgresql+psycopg2", "crm1c", "p@ss:w/rd")
    assert (url.host, url.port, url.database) == ("db.example", 5433, "crm1c_staging")
    assert dict(url.query) == {"sslmode": "require", "connect_timeout": "5"}


def test_postgres_hooks_own_extras_are_honoured(monkeypatch, provider_urls):
    from crm1c.hooks.staging import StagingHook

    set_staging(
        monkeypatch, "staging_pg3", conn_type="postgres", host="db.example", schema="s",
        extra={"sqlalchemy_scheme": "postgresql+psycopg", "sqlalchemy_query": {"sslmode": "verify-full"},
               "sslmode": "disable"},
    )  # fmt: skip
    url = sa.make_url(StagingHook("staging_pg3").get_url())
    assert provider_urls == ["staging_pg3"]
    assert url.drivername == "postgresql+psycopg" and dict(url.query) == {"sslmode": "verify-full"}


def test_sqlite_connection_is_the_file_in_host(monkeypatch, tmp_path, provider_urls):
    from crm1c.hooks.staging import StagingHook

    path = tmp_path / "staging.sqlite3"
    set_staging(monkeypatch, "staging_file", conn_type="sqlite", host=str(path))
    hook = StagingHook("staging_file")
    assert hook.get_url() == f"sqlite:///{path}"
    staging = hook.get_staging()
    assert staging.engine.dialect.name == "sqlite" and path.exists()
    assert {"rate_limit_bucket", "xref", "audit_log"} <= set(sa.inspect(staging.engine).get_table_names())
    staging.engine.dispose()
    assert provider_urls == []


def test_other_connection_types_are_refused(monkeypatch):
    from crm1c.hooks.staging import StagingHook

    set_staging(monkeypatch, "staging_mysql", conn_type="mysql", host="db.example")
    with pytest.raises(ValueError, match="postgres or sqlite"):
        StagingHook("staging_mysql").get_url()


@pytest.mark.postgres
def test_postgres_staging_migrates_and_opens(monkeypatch, provider_urls):
    from crm1c.hooks.staging import StagingHook

    require_postgres()
    with temp_pg_database(f"crm1c_hooks_{os.getpid()}") as url:
        set_staging(
            monkeypatch, "staging_pg", conn_type="postgres", host=url.host, port=url.port,
            login=url.username, password=url.password, schema=url.database,
        )  # fmt: skip
        staging = StagingHook("staging_pg").get_staging()
        try:
            assert staging.engine.url.drivername == "postgresql+psycopg2"
            tables = set(sa.inspect(staging.engine).get_table_names())
            assert {"rate_limit_bucket", "xref", "audit_log", "staging_alembic_version"} <= tables
        finally:
            staging.engine.dispose()
    assert provider_urls == ["staging_pg"]
