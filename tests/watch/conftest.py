"""Watch tests: the rollout tests' fixtures (the demo contour, one per module and re-seeded per test; a
SQLite staging DB per test; env Connections to both), the real local SMTP server and Slack receiver, and
the DAG tests' Airflow fixtures."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.dags.conftest import airflow_db, bag  # noqa: F401  (pytest fixtures)
from tests.notify.servers import alert_connections, slack_receiver, smtp_server  # noqa: F401
from tests.rollout.conftest import connections, staging, staging_url  # noqa: F401
from tests.sync.conftest import demo_contour, shared_contour  # noqa: F401
from tests.sync.harness import close_clients


@pytest.fixture(autouse=True)
def _quiet(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.ERROR, logger="contour")
    caplog.set_level(logging.ERROR, logger="crm1c")
    yield
    close_clients()
