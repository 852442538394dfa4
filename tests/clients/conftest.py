"""Fixtures of the client tests: a throw-away PostgreSQL database (skipped off-CI when PG is down)."""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa

PG_ADMIN_URL = os.environ.get(
    "CRM1C_TEST_PG_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="session")
def pg_url():
    """URL of a fresh database created for this test session and dropped after it."""
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required on CI but unreachable: {exc}")
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is not reachable")
    name = f"crm1c_clients_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
