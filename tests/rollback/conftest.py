"""Rollback tests: a migrated SQLite staging on a clock the test moves; the Airflow DB; alert receivers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crm1c.staging import Staging, make_engine, migrate
from tests.dags.conftest import airflow_db, bag  # noqa: F401  (pytest fixtures)
from tests.notify.servers import alert_connections, slack_receiver, smtp_server  # noqa: F401


class Clock:
    """Staging's clock: starts at 2026-05-04 09:00 UTC, advanced by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, minutes: int = 1) -> datetime:
        self.now += timedelta(minutes=minutes)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def staging(tmp_path: Path, clock: Clock) -> Iterator[Staging]:
    engine = make_engine(f"sqlite:///{tmp_path / 'staging.sqlite3'}")
    migrate(engine)
    yield Staging(engine, clock=clock)
    engine.dispose()
