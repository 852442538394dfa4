"""Fixtures of the sync reliability tests: the contour (both emulators over HTTPS) and a staging database.

One contour per test module, re-seeded for every test (a re-seed takes milliseconds; starting and stopping
the two HTTPS servers takes about a second). Tests that turn fault knobs start a private one. The emulators'
SQLite files and the SQLite staging databases live on tmpfs when there is one (``/dev/shm``): these tests
are about what survives a crash of the sync, not of the disk, and an fsync per commit triples their time.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from crm1c.staging import Staging
from tests.contour_harness import RunningContour, start_contour
from tests.dbfixtures import pg_session_db, staging_url  # noqa: F401  (pytest fixtures)
from tests.sync.harness import ForkServer, close_clients, staging_for

REPO = Path(__file__).resolve().parents[2]
TMPFS = Path("/dev/shm")


def _scratch_dir() -> Iterator[Path]:
    where = TMPFS if TMPFS.is_dir() and os.access(TMPFS, os.W_OK) else None
    path = Path(tempfile.mkdtemp(prefix="crm1c-sync-test-", dir=where))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A private directory, on tmpfs when available."""
    yield from _scratch_dir()


@pytest.fixture(autouse=True)
def _quiet_engine_logs(caplog: pytest.LogCaptureFixture) -> None:
    """The engine warns for every held record and retried request: expected here, noise in a report."""
    caplog.set_level(logging.ERROR, logger="crm1c")
    caplog.set_level(logging.ERROR, logger="contour")


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    """Idle keep-alive connections would each hold an emulator thread until the module's contour stops."""
    yield
    close_clients()


@pytest.fixture(scope="module")
def shared_contour() -> Iterator[RunningContour]:
    for state_dir in _scratch_dir():
        running = start_contour(state_dir, profile=None)
        try:
            yield running
        finally:
            running.stop()


@pytest.fixture
def demo_contour(shared_contour: RunningContour) -> RunningContour:
    """Both emulators seeded with the demo data set (both-way records, branches and bad records)."""
    shared_contour.seed("demo")
    return shared_contour


@pytest.fixture
def empty_contour(shared_contour: RunningContour) -> RunningContour:
    """Both emulators with no counterparties: the test creates exactly what it needs."""
    shared_contour.seed("empty")
    return shared_contour


@pytest.fixture
def private_contour(scratch: Path) -> Iterator[RunningContour]:
    """A demo contour of the test's own, for tests that turn its fault or rate-limit knobs."""
    running = start_contour(scratch / "contour", profile="demo")
    try:
        yield running
    finally:
        running.stop()


def _disposed(url: str) -> Iterator[Staging]:
    repo = staging_for(url)
    try:
        yield repo
    finally:
        repo.engine.dispose()


@pytest.fixture
def staging(staging_url: str, scratch: Path) -> Iterator[Staging]:  # noqa: F811
    """A migrated, empty staging database, once on SQLite and once on PostgreSQL.

    Its URL (for a child process): ``staging.engine.url.render_as_string(hide_password=False)``.
    """
    if staging_url.startswith("sqlite"):
        staging_url = f"sqlite:///{scratch / 'staging.db'}"
    yield from _disposed(staging_url)


@pytest.fixture
def sqlite_staging(scratch: Path) -> Iterator[Staging]:
    """A migrated, empty SQLite staging database (for tests where the backend does not matter)."""
    yield from _disposed(f"sqlite:///{scratch / 'staging.db'}")


def child_env(**extra: str) -> dict[str, str]:
    """Environment of a sync process started from a test: the repository's import paths."""
    paths = os.pathsep.join([str(REPO / "plugins"), str(REPO)])
    return {**os.environ, "PYTHONPATH": paths, **extra}


@pytest.fixture(scope="module")
def fork_server() -> Iterator[ForkServer]:
    """Starts sync processes without paying the interpreter start-up each time (see :class:`ForkServer`)."""
    server = ForkServer(REPO, child_env())
    try:
        yield server
    finally:
        server.close()
