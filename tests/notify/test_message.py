"""The alert's content: facts from the callback context, redacted, laid out for e-mail and Slack."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from crm1c.notify.context import describe_error, entity_from_tags, failure_alert
from crm1c.notify.message import FailureAlert, build_log_url, email_html, slack_text

ALERT = FailureAlert(
    dag_id="sync_counterparties",
    task_id="extract_crm",
    entity="counterparties",
    run_id="manual__2026-01-01T00:00:00+00:00",
    try_number=4,
    max_tries=3,
    error="HTTPError: 503 <Service> & co\nsecond line",
    log_url="http://localhost:8080/dags/sync_counterparties/runs/r/tasks/extract_crm?try_number=4",
)


def test_subject_is_plain_and_on_one_line():
    assert ALERT.subject == "[crm1c] sync_counterparties.extract_crm failed (counterparties)"
    assert FailureAlert(**{**ALERT.__dict__, "entity": "a\r\nBcc: x@y"}).subject.count("\n") == 0


def test_email_html_escapes_the_error_and_links_the_log():
    body = email_html(ALERT)

    assert "HTTPError: 503 &lt;Service&gt; &amp; co\nsecond line" in body
    assert f'<a href="{ALERT.log_url}">' in body
    for value in ("sync_counterparties", "extract_crm", "counterparties", "4 of 4"):
        assert f"<td>{value}</td>" in body


def test_slack_text_is_one_line_with_the_link():
    text = slack_text(ALERT)

    assert "\n" not in text
    assert text.startswith(":red_circle: [crm1c] sync_counterparties.extract_crm failed (counterparties)")
    assert "HTTPError: 503 &lt;Service&gt; &amp; co second line" in text
    assert text.endswith(f"<{ALERT.log_url}|log>")


def test_slack_text_shortens_a_long_error():
    text = slack_text(FailureAlert(**{**ALERT.__dict__, "error": "x" * 5000}))

    assert len(text) < 600
    assert "x…" in text


@pytest.mark.parametrize(
    ("try_number", "map_index", "tail"),
    [
        (2, None, "/tasks/plan?try_number=2"),
        (1, 3, "/tasks/plan/mapped/3?try_number=1"),
        (None, -1, "/tasks/plan"),
    ],
)
def test_build_log_url_is_the_airflow3_ui_path(try_number, map_index, tail):
    url = build_log_url(
        "http://af.example/", "sync", "manual__2026-01-01T00:00:00+00:00", "plan", try_number, map_index
    )

    assert url == f"http://af.example/dags/sync/runs/manual__2026-01-01T00%3A00%3A00%2B00%3A00{tail}"


def test_describe_error():
    assert describe_error(ConnectionError("refused")) == "ConnectionError: refused"
    assert describe_error(KeyError()) == "KeyError"
    assert describe_error("zombie") == "zombie"
    assert describe_error(None) == "(no exception recorded)"


def test_entity_from_tags():
    assert entity_from_tags(["crm1c", "counterparties"]) == "counterparties"
    assert entity_from_tags({"crm1c"}) == "-"
    assert entity_from_tags(None) == "-"


def test_failure_alert_builds_the_link_from_api_base_url_and_redacts(monkeypatch):
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example/")
    ti = SimpleNamespace(dag_id="sync_x", task_id="load", run_id="scheduled__1", try_number=2, max_tries=1)
    dag = SimpleNamespace(dag_id="sync_x", tags=["crm1c", "invoices"])
    error = RuntimeError("POST https://u:pw@portal.example/rest/1/t0ken/crm.invoice.add: 500")

    alert = failure_alert({"ti": ti, "dag": dag, "run_id": "scheduled__1", "exception": error})

    assert alert.entity == "invoices"
    assert alert.log_url == "https://airflow.example/dags/sync_x/runs/scheduled__1/tasks/load?try_number=2"
    assert alert.error == "RuntimeError: POST https://***@portal.example/rest/***/***/crm.invoice.add: 500"
    assert alert.attempt == "2 of 2"


def test_failure_alert_prefers_the_runtime_log_url_and_the_given_entity():
    ti = SimpleNamespace(
        dag_id="d", task_id="t", run_id="r", try_number=1, max_tries=0, log_url="http://ui/x"
    )

    alert = failure_alert({"ti": ti, "exception": ValueError("bad")}, entity="payments")

    assert (alert.log_url, alert.entity, alert.error) == ("http://ui/x", "payments", "ValueError: bad")
