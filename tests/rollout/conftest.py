"""Rollout tests: the sync tests' contour (one per module, re-seeded per test), a staging DB per test, env
Connections to both, and the Airflow fixtures of the DAG tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from crm1c.staging import Staging
from tests.airflow_live import contour_connections
from tests.contour_harness import RunningContour
from tests.dags.conftest import airflow_db, bag  # noqa: F401  (pytest fixtures)
from tests.sync.conftest import demo_contour, shared_contour  # noqa: F401  (pytest fixtures)
from tests.sync.harness import close_clients, staging_for


@pytest.fixture
def staging_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'staging.sqlite3'}"


@pytest.fixture
def staging(staging_url: str) -> Iterator[Staging]:
    repo = staging_for(staging_url)
    yield repo
    repo.engine.dispose()


@pytest.fixture
def connections(
    demo_contour: RunningContour,  # noqa: F811  (the imported fixture)
    staging_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> RunningContour:
    """``bitrix24_default``, ``onec_default`` and ``crm1c_staging`` as env Connections to the demo contour."""
    for name, value in contour_connections(demo_contour, staging_url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CRM1C_ROLLOUT_PROFILE", raising=False)
    return demo_contour


@pytest.fixture(autouse=True)
def _quiet(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.ERROR, logger="contour")
    yield
    close_clients()
