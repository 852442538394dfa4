"""The two on-call notifiers; each sends through the smtp / slack provider's own notifier.

They differ from using those notifiers directly in three ways:

* the text is built in Python from the callback context and redacted; it never goes through Jinja
  (an exception message containing ``{{ ... }}`` must not be rendered: that could expose secrets);
* a notifier that cannot send logs why (redacted) and returns: it never hides the other notifier or
  the task's own error;
* the providers are imported when an alert is sent, not when a DAG file is parsed (the Slack one
  alone costs ~0.3 s of imports).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from airflow.sdk import BaseNotifier

from crm1c.notify.context import describe_error, failure_alert
from crm1c.notify.message import FailureAlert, email_html, slack_text
from crm1c.notify.redaction import redact


class FailureNotifier(BaseNotifier):
    """Base: ``__call__`` without template rendering, guarded; subclasses implement :meth:`send_alert`."""

    medium = "?"

    def __init__(self, *, entity: str | None) -> None:
        super().__init__()
        self.entity = entity

    def __call__(self, *args: Any) -> None:
        context = args[0] if len(args) == 1 else {"dag": args[0]}
        self.notify(context)

    def notify(self, context: Any) -> None:
        """Build the alert from ``context`` and send it; a failure is logged, never raised."""
        try:
            self.send_alert(failure_alert(context, self.entity), context)
        except Exception as exc:
            why = redact(describe_error(exc))
            self.log.error("crm1c: the %s failure alert was not sent: %s", self.medium, why)

    def send_alert(self, alert: FailureAlert, context: Any) -> None:
        raise NotImplementedError


class EmailFailureNotifier(FailureNotifier):
    """HTML e-mail to on-call through an SMTP connection (``SmtpNotifier``)."""

    medium = "e-mail"

    def __init__(
        self,
        *,
        entity: str | None,
        to: Iterable[str],
        smtp_conn_id: str = "smtp_default",
        from_email: str | None = None,
    ) -> None:
        super().__init__(entity=entity)
        self.to = list(to)
        self.smtp_conn_id = smtp_conn_id
        self.from_email = from_email  # None: the connection's ``from_email`` extra

    def send_alert(self, alert: FailureAlert, context: Any) -> None:
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        mail = SmtpNotifier(
            to=self.to,
            from_email=self.from_email,
            smtp_conn_id=self.smtp_conn_id,
            subject=alert.subject,
            html_content=email_html(alert),
        )
        mail.notify(context)


class SlackFailureNotifier(FailureNotifier):
    """One-line Slack message through an incoming-webhook connection (``SlackWebhookNotifier``)."""

    medium = "Slack"

    def __init__(
        self, *, entity: str | None, slack_webhook_conn_id: str = "slack_default", channel: str | None = None
    ) -> None:
        super().__init__(entity=entity)
        self.slack_webhook_conn_id = slack_webhook_conn_id
        self.channel = channel  # only legacy webhooks honour it; modern ones post to their own channel

    def send_alert(self, alert: FailureAlert, context: Any) -> None:
        from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

        text = slack_text(alert)
        options: dict[str, Any] = {"unfurl_links": False, "unfurl_media": False}
        post = SlackWebhookNotifier(slack_webhook_conn_id=self.slack_webhook_conn_id, text=text, **options)
        if self.channel:
            post.hook.send(text=text, channel=self.channel, **options)
        else:
            post.notify(context)
