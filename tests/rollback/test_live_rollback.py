"""rollback_switch both ways under a running Airflow (api-server, scheduler, dag-processor; LocalExecutor),
against the contour: a real sync creates counterparties in 1C, a rollback triggered through the REST API
pauses sync_counterparties through the REST API, sets read_only and deletion-marks exactly what crm1c created
(not what was typed by hand), on-call gets a mail and a Slack post; a resume brings it all back and starts a
catch-up run."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

from crm1c.hooks.airflow_api import AirflowApiHook
from crm1c.staging import Staging, make_engine
from tests.airflow_live import LiveAirflow, contour_connections
from tests.contour_harness import BITRIX_TOKEN, ONEC_PASSWORD, ONEC_USER, RunningContour, start_contour
from tests.notify.servers import SLACK_TOKEN, LocalSlackReceiver, LocalSmtpServer, html_body

pytestmark = pytest.mark.airflow
SYNC, SWITCH = "sync_counterparties", "rollback_switch"
CATALOG = "Catalog_Контрагенты"
HAND_TYPED = {
    "Description": "ООО Набрано вручную", "ИНН": "7701234567", "КПП": "770101001",
    "ЮридическоеФизическоеЛицо": "ЮридическоеЛицо",
}  # fmt: skip


@pytest.fixture
def contour(tmp_path: Path) -> Iterator[RunningContour]:
    running = start_contour(tmp_path / "contour", profile="demo")
    yield running
    running.stop()


def _onec(contour: RunningContour, method: str = "GET", body: Any = None) -> Any:
    select = {"$select": "Ref_Key,Description,DeletionMark"} if method == "GET" else {}
    resp = requests.request(
        method, contour.onec_url + CATALOG, params={"$format": "json"} | select, json=body, timeout=10,
        verify=str(contour.ca_file), auth=(ONEC_USER.encode(), ONEC_PASSWORD.encode()),
    )  # fmt: skip
    resp.raise_for_status()
    return resp.json()


def _marks(contour: RunningContour) -> dict[str, bool]:
    return {r["Ref_Key"]: r["DeletionMark"] for r in _onec(contour)["value"]}


def _audit(staging: Staging, op: str) -> list[Any]:
    from crm1c.staging.schema import audit_log as at

    with staging.engine.connect() as conn:
        return list(conn.execute(at.select().where(at.c.op == op).order_by(at.c.id)))


def _run(airflow: LiveAirflow, dag_id: str, conf: dict[str, Any]) -> str:
    run_id = airflow.trigger(dag_id, conf)
    try:
        assert airflow.wait(dag_id, run_id, timeout=90, fail_fast=True)["state"] == "success"
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{airflow.logs()}") from None
    return run_id


def _xcom(airflow: LiveAirflow, run_id: str, task_id: str) -> Any:
    path = f"/dags/{SWITCH}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}/xcomEntries/return_value"
    return airflow.api("GET", path)["value"]


def test_rollback_and_resume_under_the_scheduler(
    tmp_path: Path,
    contour: RunningContour,
    smtp_server: LocalSmtpServer,
    slack_receiver: LocalSlackReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started = time.monotonic()
    staging_url = f"sqlite:///{tmp_path / 'staging.sqlite3'}"
    env = contour_connections(contour, staging_url) | {
        "AIRFLOW_CONN_SMTP_DEFAULT": smtp_server.connection(),
        "AIRFLOW_CONN_SLACK_DEFAULT": slack_receiver.connection(),
    }
    airflow = LiveAirflow(tmp_path / "airflow", env=env)
    api = {"conn_type": "http", "host": "127.0.0.1", "port": airflow.port, "schema": "http"}
    # the API connection is this Airflow's own (LiveAirflow makes port and password before it starts)
    api_conn = json.dumps(api | {"login": "admin", "password": airflow.password})
    airflow.env["AIRFLOW_CONN_AIRFLOW_API"] = api_conn
    monkeypatch.setenv("AIRFLOW_CONN_AIRFLOW_API", api_conn)  # for the hook called from this test
    secrets = (airflow.password, BITRIX_TOKEN, ONEC_PASSWORD, SLACK_TOKEN)
    typed_before = set(_marks(contour))
    with airflow:
        for dag_id in (SYNC, SWITCH):
            airflow.wait_for_dag(dag_id)
        since = datetime.now(UTC)
        _run(airflow, SYNC, {"mode": "full"})
        created = set(_marks(contour)) - typed_before
        typed_after = _onec(contour, "POST", HAND_TYPED)
        synced = time.monotonic()

        conf = {"action": "rollback", "entities": ["counterparties"], "target_mode": "read_only"}
        back = _run(airflow, SWITCH, conf | {"compensate": True, "since": since.isoformat()})
        assert airflow.states(SWITCH, back) == {"rollback": "success", "resume": "skipped"}
        assert airflow.api("GET", f"/dags/{SYNC}")["is_paused"] is True
        staging = Staging(make_engine(staging_url))
        assert staging.get_mode("counterparties").mode == "read_only"
        marks = _marks(contour)
        assert created and all(marks[ref] for ref in created), "every counterparty crm1c created is marked"
        assert not any(marks[ref] for ref in typed_before | {typed_after["Ref_Key"]}), "typed by hand: left"
        [rolled] = _audit(staging, "rollback")
        assert (rolled.actor, rolled.run_id) == ("admin", back)
        assert rolled.detail["from"] == "on" and rolled.detail["to"] == "read_only"
        compensated = _audit(staging, "compensate")
        assert {r.entity_key for r in compensated} == {f"onec:{ref}" for ref in created}
        assert {r.result for r in compensated} == {"marked"}
        [mail] = smtp_server.inbox.wait_for(1)
        [post] = slack_receiver.inbox.wait_for(1)
        body = html_body(mail)
        assert "rollback: counterparties → read_only" in mail["Subject"]
        assert f"Deletion-marked in 1C (crm1c created them; nothing was deleted) ({len(created)})" in body
        assert f"{len(created)} deletion-marked" in post["text"]
        rolled_back = time.monotonic()

        forth = _run(airflow, SWITCH, {"action": "resume", "entities": ["counterparties"]})
        assert airflow.states(SWITCH, forth) == {"rollback": "skipped", "resume": "success"}
        assert airflow.api("GET", f"/dags/{SYNC}")["is_paused"] is False
        assert staging.get_mode("counterparties").mode == "on"
        runs = [r["dag_run_id"] for r in airflow.runs(SYNC)]
        assert f"resume__{forth}" in runs, "a catch-up run"
        AirflowApiHook().trigger(SYNC, f"resume__{forth}", "a retry")  # the hook, as a task retry calls it
        assert [r["dag_run_id"] for r in airflow.runs(SYNC)] == runs, "triggered once"
        [resumed] = _audit(staging, "resume")
        assert resumed.detail["catch_up_run"] == f"resume__{forth}" and resumed.detail["to"] == "on"
        mails = smtp_server.inbox.wait_for(2)
        posts = slack_receiver.inbox.wait_for(2)
        assert "resume: counterparties back on" in mails[1]["Subject"]
        assert posts[1]["text"].startswith(":arrow_forward: crm1c resume by admin")
        assert staging.verify_audit_chain() == (True, None)
        staging.engine.dispose()
        xcoms = [_xcom(airflow, back, "rollback"), _xcom(airflow, forth, "resume")]
    assert xcoms[0]["entities"]["counterparties"]["compensated"] == {"marked": len(created)}
    assert xcoms[1]["entities"]["counterparties"]["catch_up_run"] == f"resume__{forth}"
    sent = [m["Subject"] + html_body(m) for m in mails] + [json.dumps(p, ensure_ascii=False) for p in posts]
    logs = [p.read_text() for p in (airflow.home / "logs" / f"dag_id={SWITCH}").rglob("*.log")]
    for secret in secrets:
        for where, texts in (("alert", sent), ("task log", logs), ("XCom", [json.dumps(xcoms)])):
            assert not any(secret in text for text in texts), f"a credential in a {where}"
    print(
        f"live rollback: sync {synced - started:.1f} s, rollback {rolled_back - synced:.1f} s, "
        f"resume {time.monotonic() - rolled_back:.1f} s"
    )
