"""Fixtures of the crm1c page tests: the sync tests' contour and staging, re-exported."""

from __future__ import annotations

from tests.sync.conftest import (  # noqa: F401  (pytest fixtures)
    _close_clients,
    _quiet_engine_logs,
    empty_contour,
    scratch,
    shared_contour,
    sqlite_staging,
)
