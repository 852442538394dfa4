"""Reconciliation tests: the sync tests' contour and staging fixtures, the DAG tests' Airflow DB and DAG bag,
and the real local SMTP server and Slack webhook receiver."""

from __future__ import annotations

from tests.dags.conftest import airflow_db, bag  # noqa: F401  (pytest fixtures)
from tests.dbfixtures import pg_session_db, staging_url  # noqa: F401
from tests.notify.servers import slack_receiver, smtp_server  # noqa: F401
from tests.sync.conftest import (  # noqa: F401
    _close_clients,
    _quiet_engine_logs,
    demo_contour,
    empty_contour,
    scratch,
    shared_contour,
    sqlite_staging,
    staging,
)
