"""Security and operability checks (issue 9 §6, the guide's checks 8 and 9): the DAG tests' Airflow fixtures,
the sync tests' scratch folders, the local SMTP and Slack receivers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.dags.conftest import airflow_db, bag  # noqa: F401  (pytest fixtures)
from tests.notify.servers import slack_receiver, smtp_server  # noqa: F401  (pytest fixtures)
from tests.sync.conftest import scratch  # noqa: F401  (pytest fixture)
from tests.sync.harness import close_clients


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    """Idle keep-alive connections would each hold an emulator thread until the contour stops."""
    yield
    close_clients()
