"""Operator tests: one contour per module (re-seeded per test), env Connections to it, a task context."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.airflow_live import contour_connections
from tests.contour_harness import RunningContour, start_contour
from tests.sync.harness import close_clients


@pytest.fixture(scope="module")
def shared_contour(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningContour]:
    running = start_contour(tmp_path_factory.mktemp("operators") / "contour", profile=None)
    yield running
    running.stop()


@pytest.fixture
def demo_contour(shared_contour: RunningContour) -> RunningContour:
    shared_contour.seed("demo")
    shared_contour.knobs("onec", fault_timeout_rate=0.0, fault_5xx_rate=0.0)
    return shared_contour


@pytest.fixture
def empty_contour(shared_contour: RunningContour) -> RunningContour:
    shared_contour.seed("empty")
    shared_contour.knobs("onec", fault_timeout_rate=0.0, fault_5xx_rate=0.0)
    return shared_contour


@pytest.fixture
def staging_file(tmp_path: Path) -> Path:
    return tmp_path / "staging.sqlite3"


@pytest.fixture
def connections(
    demo_contour: RunningContour, staging_file: Path, monkeypatch: pytest.MonkeyPatch
) -> RunningContour:
    """``bitrix24_default``, ``onec_default`` and ``crm1c_staging`` as env Connections to the demo contour."""
    for name, value in contour_connections(demo_contour, f"sqlite:///{staging_file}").items():
        monkeypatch.setenv(name, value)
    return demo_contour


@pytest.fixture(autouse=True)
def _close_test_clients() -> Iterator[None]:
    yield
    close_clients()


@pytest.fixture(autouse=True)
def _quiet_engine_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="contour")


class OutletEvents(dict):
    """``context["outlet_events"]``: one event accessor (with an ``extra``) per asset, made on first use."""

    def __missing__(self, asset: Any) -> SimpleNamespace:
        self[asset] = SimpleNamespace(extra={})
        return self[asset]


def task_context(run_id: str | None = None) -> dict[str, Any]:
    """What ``execute`` reads from the Airflow context."""
    return {"run_id": run_id or f"test__{uuid.uuid4().hex[:8]}", "outlet_events": OutletEvents()}
