"""Alert tests: the session's Airflow DB (the DAG tests' fixture) and the local receivers."""

from __future__ import annotations

from tests.dags.conftest import airflow_db  # noqa: F401 - the same session fixture, reused
from tests.notify.servers import alert_connections, slack_receiver, smtp_server  # noqa: F401
