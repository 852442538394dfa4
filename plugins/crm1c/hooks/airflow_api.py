"""Airflow hook for this deployment's own REST API (v2): pause, unpause, list running runs, trigger.

Connection ``airflow_api`` (type ``http``): host/port/schema of the API server (plain http only to a
loopback host), login/password of an Airflow user allowed to edit DAGs and trigger runs; extra
``{"ca_bundle": "/path/ca.pem", "timeout": 30}``. The password buys a JWT at ``POST /auth/token``; both are
masked in logs, and neither appears in an error message.

.. code-block:: python

    api = AirflowApiHook()
    api.set_paused("sync_counterparties", True)
    api.trigger("sync_counterparties", "resume__manual__2026-05-04", note="catch-up")
"""

from __future__ import annotations

from functools import cached_property
from typing import Any
from urllib.parse import quote

import requests
from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowNotFoundException
from airflow.sdk.log import mask_secret

from crm1c.hooks._connection import base_url, float_extra, verify_setting


class AirflowApiHook(BaseHook):
    """The REST calls of the ``rollback_switch`` (and anything else that drives Airflow from a task)."""

    conn_name_attr = "airflow_conn_id"
    default_conn_name = "airflow_api"
    conn_type = "http"
    hook_name = "Airflow REST API"

    def __init__(self, airflow_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.airflow_conn_id = airflow_conn_id
        self.base_url = ""
        self.timeout = 30.0

    # -- what callers use -----------------------------------------------------------------------

    def is_paused(self, dag_id: str) -> bool:
        return bool(self._call("GET", f"/api/v2/dags/{quote(dag_id)}")["is_paused"])

    def set_paused(self, dag_id: str, paused: bool) -> None:
        """``PATCH /api/v2/dags/{dag_id}`` with ``is_paused`` (only that field)."""
        body = {"is_paused": paused}
        self._call("PATCH", f"/api/v2/dags/{quote(dag_id)}?update_mask=is_paused", body)

    def running_runs(self, dag_id: str) -> list[str]:
        """Ids of the runs of ``dag_id`` in state ``running`` (pausing a DAG lets them finish)."""
        found = self._call("GET", f"/api/v2/dags/{quote(dag_id)}/dagRuns?state=running&limit=100")
        return [str(run["dag_run_id"]) for run in found["dag_runs"]]

    def trigger(self, dag_id: str, run_id: str, note: str) -> str:
        """Run ``dag_id`` now as ``run_id`` (``logical_date`` null); a run of that id already there is kept
        (a retry triggers nothing twice). Returns ``run_id``."""
        path = f"/api/v2/dags/{quote(dag_id)}/dagRuns"
        if self._call("GET", f"{path}/{quote(run_id, safe='')}", ok=(200, 404)) is None:
            self._call("POST", path, {"dag_run_id": run_id, "logical_date": None, "conf": {}, "note": note})
        return run_id

    # -- internals ------------------------------------------------------------------------------

    @cached_property
    def session(self) -> requests.Session:
        """A Session carrying the bearer token of the connection's user."""
        conn = self.get_connection(self.airflow_conn_id)
        if not conn.login or not conn.password:
            raise AirflowNotFoundException(f"connection '{self.airflow_conn_id}' needs a login and password")
        mask_secret(conn.password)
        extra = dict(conn.extra_dejson)
        self.base_url = base_url(conn).rstrip("/")
        self.timeout = float_extra(conn, extra, "timeout", 30.0)
        session = requests.Session()
        session.verify = verify_setting(conn, extra)
        answer = session.post(
            self.base_url + "/auth/token",
            json={"username": conn.login, "password": conn.password},
            timeout=self.timeout,
        )
        if answer.status_code not in (200, 201):
            raise AirflowFailException(
                f"connection '{self.airflow_conn_id}': POST /auth/token → HTTP {answer.status_code}; "
                "check the login and password"
            )
        token = str(answer.json()["access_token"])
        mask_secret(token)
        session.headers["Authorization"] = f"Bearer {token}"
        return session

    def _call(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200,)) -> Any:
        """The decoded answer (None for a 404 the caller accepts); any other status raises."""
        session = self.session
        answer = session.request(method, self.base_url + path, json=body, timeout=self.timeout)
        if answer.status_code not in ok:
            what = f"{method} {path.split('?')[0]} → HTTP {answer.status_code}: {answer.text[:300]}"
            if answer.status_code in (401, 403):
                raise AirflowFailException(f"connection '{self.airflow_conn_id}' may not do this: {what}")
            raise AirflowException(what)
        return None if answer.status_code == 404 else answer.json()
