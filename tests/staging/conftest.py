"""Fixtures for the staging package tests: every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from crm1c.staging import Staging, make_engine, migrate
from tests.dbfixtures import pg_session_db, staging_url  # noqa: F401  (pytest fixtures)


@pytest.fixture
def engine(staging_url: str) -> Iterator[sa.Engine]:  # noqa: F811
    """A migrated staging database."""
    eng = make_engine(staging_url)
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def staging(engine: sa.Engine) -> Staging:
    return Staging(engine)
