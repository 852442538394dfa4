"""A failing task tells on-call by e-mail and Slack, for real (local SMTP server and webhook receiver).

Airflow only logs a callback's exception, so every test asserts on what arrived.
"""

from __future__ import annotations

import json
import socket
from datetime import datetime
from types import SimpleNamespace

import pytest

from crm1c.notify import failure_notifiers
from tests.notify.dagrun import run_inline_dag
from tests.notify.servers import SLACK_TOKEN, html_body, smtp_connection

pytestmark = pytest.mark.airflow

BITRIX_TOKEN = "s3cr3tT0ken"
PASSWORD = "Pa55-w0rd-from-a-connection"
LITERAL_TEMPLATE = "{{ conn.smtp_default.host }}"
ERROR = (
    f"GET https://portal.example/rest/1/{BITRIX_TOKEN}/crm.company.list: 401; "
    f"login with password {PASSWORD} refused; template {LITERAL_TEMPLATE}"
)


def failing_dag(dag_id: str, entity: str | None = "counterparties"):
    """One task that registers a secret (as reading a connection does) and fails with it in the message."""
    from airflow.sdk import dag, task
    from airflow.sdk.log import mask_secret

    @dag(
        dag_id=dag_id, schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["crm1c", "probe"]
    )
    def probe():
        @task(on_failure_callback=failure_notifiers(entity))
        def extract():
            mask_secret(PASSWORD)
            raise ConnectionError(ERROR)

        extract()

    return probe()


def run_failing(dag_id: str, entity: str | None = "counterparties"):
    dag_run = run_inline_dag(failing_dag(dag_id, entity))
    ti = dag_run.get_task_instance("extract")
    assert ti is not None
    assert ti.state == "failed"
    return dag_run


def assert_names_the_failure(text: str, dag_id: str, entity: str) -> None:
    for part in (dag_id, "extract", entity, "ConnectionError", "crm.company.list: 401", LITERAL_TEMPLATE):
        assert part in text, part
    assert f"/dags/{dag_id}/runs/" in text
    assert "/tasks/extract?try_number=1" in text


def assert_no_credential(text: str) -> None:
    for secret in (BITRIX_TOKEN, PASSWORD, SLACK_TOKEN):
        assert secret not in text
    assert "/rest/***/***/crm.company.list" in text
    assert "password *** refused" in text


def test_a_failed_task_mails_and_posts_to_slack_without_credentials(
    airflow_db, alert_connections, monkeypatch
):
    smtp, slack = alert_connections
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "http://airflow.test:8080/")

    dag_run = run_failing("notify_probe")

    [mail] = smtp.messages
    assert mail["Subject"] == "[crm1c] notify_probe.extract failed (counterparties)"
    assert mail["To"] == "oncall@localhost"
    assert mail["From"] == "crm1c@localhost"
    body = html_body(mail)
    assert_names_the_failure(body, "notify_probe", "counterparties")
    assert dag_run.run_id in body
    assert '<a href="http://airflow.test:8080/dags/notify_probe/runs/' in body
    assert_no_credential(mail.as_string() + body)

    [post] = slack.posts
    text = post["text"]
    assert "\n" not in text
    assert "<http://airflow.test:8080/dags/notify_probe/runs/" in text
    assert_names_the_failure(text, "notify_probe", "counterparties")
    assert_no_credential(json.dumps(post, ensure_ascii=False))
    assert slack.paths == [f"/slack/{SLACK_TOKEN}"]  # the token only ever travels in the webhook URL


def test_entity_falls_back_to_the_dag_tag(airflow_db, alert_connections):
    smtp, slack = alert_connections

    run_failing("notify_probe_tag", entity=None)

    assert smtp.messages[0]["Subject"] == "[crm1c] notify_probe_tag.extract failed (probe)"
    assert "failed (probe)" in slack.posts[0]["text"]


def test_smtp_down_does_not_stop_the_slack_alert(airflow_db, alert_connections, monkeypatch):
    _, slack = alert_connections
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", _smtp_connection_to_nowhere())

    run_failing("notify_probe_smtp_down")

    [post] = slack.posts
    assert "notify_probe_smtp_down.extract failed" in post["text"]


def test_slack_outage_does_not_stop_the_mail(airflow_db, alert_connections):
    smtp, slack = alert_connections
    slack.status = 500

    run_failing("notify_probe_slack_down")

    assert slack.posts == []
    [mail] = smtp.messages
    assert mail["Subject"] == "[crm1c] notify_probe_slack_down.extract failed (counterparties)"


def _smtp_connection_to_nowhere() -> str:
    """Connection-refused SMTP (retries off, so the callback gives up at once)."""
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return smtp_connection(port, timeout=2)


@pytest.mark.parametrize("conn", ["unreachable", "undefined"])
def test_a_notifier_that_cannot_send_logs_and_returns(monkeypatch, slack_receiver, conn):
    if conn == "unreachable":
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", _smtp_connection_to_nowhere())
    else:
        monkeypatch.delenv("AIRFLOW_CONN_SMTP_DEFAULT", raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_DEFAULT", slack_receiver.connection())
    ti = SimpleNamespace(
        dag_id="d", task_id="t", run_id="r", try_number=1, max_tries=0, log_url="http://ui/x"
    )
    context = {"ti": ti, "run_id": "r", "exception": ValueError("boom")}

    for notifier in failure_notifiers("payments"):
        notifier(context)  # the e-mail one fails inside and must not raise

    [post] = slack_receiver.posts
    assert "d.t failed (payments)" in post["text"]
