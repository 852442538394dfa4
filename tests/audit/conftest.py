"""Fixtures of the audit story tests: the contour and staging fixtures of the sync tests, re-exported."""

from __future__ import annotations

from tests.dbfixtures import pg_session_db  # noqa: F401  (pytest fixture)
from tests.sync.conftest import (  # noqa: F401  (pytest fixtures)
    _close_clients,
    _quiet_engine_logs,
    demo_contour,
    empty_contour,
    scratch,
    shared_contour,
    sqlite_staging,
)
