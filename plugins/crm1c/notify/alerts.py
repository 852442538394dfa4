"""Alerts that are not a task's failure (a reconciliation report, quarantine growth, a rollback, a mass change
waiting for a person): one e-mail and one Slack message to on-call, through the smtp and slack providers.

Both texts are redacted (:func:`crm1c.notify.redaction.redact`) and never rendered as templates. A channel
that cannot send is logged, never raised: the other channel and the caller go on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from crm1c.notify.config import AlertsConfig, EmailAlerts, SlackAlerts, load_alerts_config
from crm1c.notify.context import describe_error
from crm1c.notify.redaction import redact

log = logging.getLogger("crm1c.notify")


@dataclass(frozen=True)
class Alert:
    """``subject`` (the mail's), ``html`` (the mail's body), ``text`` (the Slack line)."""

    subject: str
    html: str
    text: str


def send_alert(alert: Alert, config: AlertsConfig | None = None) -> dict[str, bool]:
    """Send ``alert`` on every configured channel; returns ``{"email": sent, "slack": sent}``."""
    config = config if config is not None else load_alerts_config()
    sent: dict[str, bool] = {}
    if config.email is not None:
        email = config.email
        sent["email"] = _guarded("e-mail", lambda: _mail(alert, email))
    if config.slack is not None:
        slack = config.slack
        sent["slack"] = _guarded("Slack", lambda: _slack(alert, slack))
    return sent


def _guarded(medium: str, send: Callable[[], None]) -> bool:
    try:
        send()
    except Exception as exc:
        log.error("crm1c: the %s alert was not sent: %s", medium, redact(describe_error(exc)))
        return False
    return True


def _mail(alert: Alert, email: EmailAlerts) -> None:
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    with SmtpHook(smtp_conn_id=email.conn_id) as smtp:
        smtp.send_email_smtp(
            to=list(email.to),
            subject=redact(alert.subject),
            html_content=redact(alert.html),
            from_email=email.from_email,
        )


def _slack(alert: Alert, slack: SlackAlerts) -> None:
    from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook

    SlackWebhookHook(slack_webhook_conn_id=slack.conn_id).send(
        text=redact(alert.text), channel=slack.channel or None, unfurl_links=False, unfurl_media=False
    )
