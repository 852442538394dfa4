"""Alerts other than task failures (reports, rollbacks, mass changes) reach on-call by e-mail and Slack."""

from __future__ import annotations

import socket

from crm1c.notify.alerts import Alert, send_alert
from tests.notify.servers import SLACK_TOKEN, html_body, smtp_connection

TOKEN = "w3bh00kT0ken"
ALERT = Alert(
    subject="[crm1c] reconciliation: 2 differences",
    html=f"<p>2 differences; see https://portal.example/rest/1/{TOKEN}/crm.company.get?id=5</p>",
    text=f"2 differences · https://user:{TOKEN}@portal.example/",
)


def test_an_alert_arrives_by_mail_and_slack_without_credentials(alert_connections) -> None:
    smtp, slack = alert_connections

    assert send_alert(ALERT) == {"email": True, "slack": True}

    (mail,) = smtp.inbox.wait_for(1)
    (post,) = slack.inbox.wait_for(1)
    assert mail["Subject"] == ALERT.subject and "2 differences" in html_body(mail)
    assert post["text"].startswith("2 differences")
    for sent in (html_body(mail), post["text"]):
        assert TOKEN not in sent and SLACK_TOKEN not in sent


def test_one_channel_down_does_not_stop_the_other(alert_connections, monkeypatch) -> None:
    _smtp, slack = alert_connections
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_connection(closed, timeout=2))

    assert send_alert(ALERT) == {"email": False, "slack": True}
    assert len(slack.inbox.wait_for(1)) == 1
