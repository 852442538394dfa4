"""End to end: the real sync_counterparties under ``dag.test()`` with a wrong Bitrix24 webhook token. The
extract fails at once (no retry can fix credentials) and on-call gets a mail and a Slack post (real local
SMTP server and webhook receiver) naming the failure, with neither the wrong token nor a real credential."""

from __future__ import annotations

import json

import pytest

from tests.airflow_live import contour_connections
from tests.contour_harness import BITRIX_TOKEN, ONEC_PASSWORD, start_contour
from tests.notify.servers import SLACK_TOKEN, html_body, slack_receiver, smtp_server  # noqa: F401

pytestmark = pytest.mark.airflow
WRONG_TOKEN = "wr0ng0webhook0token0f0r0alerts"
SECRETS = (WRONG_TOKEN, BITRIX_TOKEN, ONEC_PASSWORD, SLACK_TOKEN)


@pytest.fixture
def wrong_token_env(tmp_path, monkeypatch, smtp_server, slack_receiver):  # noqa: F811
    running = start_contour(tmp_path / "contour", profile="demo")
    env = contour_connections(running, f"sqlite:///{tmp_path / 'staging.sqlite3'}", bitrix_token=WRONG_TOKEN)
    env |= {
        "AIRFLOW_CONN_SMTP_DEFAULT": smtp_server.connection(),
        "AIRFLOW_CONN_SLACK_DEFAULT": slack_receiver.connection(),
        "AIRFLOW__API__BASE_URL": "http://airflow.test:8080/",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    yield smtp_server, slack_receiver
    running.stop()


def test_a_wrong_webhook_token_fails_extract_and_tells_on_call(bag, airflow_db, wrong_token_env):
    from airflow.utils.state import DagRunState, TaskInstanceState

    smtp, slack = wrong_token_env
    run = bag.dags["sync_counterparties"].test(run_conf={"mode": "full"})

    assert run.state == DagRunState.FAILED
    extract = run.get_task_instance("extract_crm")
    assert extract.state == TaskInstanceState.FAILED and extract.try_number == 1, "failed without retrying"
    assert run.get_task_instance("extract_onec").state == TaskInstanceState.SUCCESS

    [mail] = smtp.inbox.wait_for(1)
    assert mail["Subject"] == "[crm1c] sync_counterparties.extract_crm failed (counterparties)"
    body = html_body(mail)
    for part in ("sync_counterparties", "extract_crm", "AirflowFailException", "HTTP 401", run.run_id):
        assert part in body, part
    [post] = slack.inbox.wait_for(1)
    assert "sync_counterparties.extract_crm failed (counterparties)" in post["text"]
    assert "HTTP 401" in post["text"]

    for text in (mail.as_string(), body, json.dumps(post, ensure_ascii=False)):
        for secret in SECRETS:
            assert secret not in text
