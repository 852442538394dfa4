"""Failure notifications for on-call: every crm1c task's ``on_failure_callback``.

.. code-block:: python

    from crm1c.notify import failure_notifiers

    @task(on_failure_callback=failure_notifiers("counterparties"))
    def extract_crm(): ...

Recipients and connections come from ``include/mappings/alerts.yaml`` (read when this is called,
i.e. at DAG parse: a typo there is an import error naming the file and key). Messages name the
DAG, task, entity, run, try, error and a link to the task log, and never carry a credential.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crm1c.notify.config import AlertsConfig, AlertsConfigError, load_alerts_config
from crm1c.notify.notifiers import EmailFailureNotifier, FailureNotifier, SlackFailureNotifier

if TYPE_CHECKING:
    from airflow.sdk import BaseNotifier

__all__ = [
    "AlertsConfig",
    "AlertsConfigError",
    "EmailFailureNotifier",
    "FailureNotifier",
    "SlackFailureNotifier",
    "failure_notifiers",
    "load_alerts_config",
]


def failure_notifiers(entity: str | None = None, *, config: AlertsConfig | None = None) -> list[BaseNotifier]:
    """Notifiers that tell on-call a task failed: e-mail (smtp_default) and Slack (slack_default).

    :param entity: named in the message; default: the DAG's tag other than ``crm1c``, else ``-``.
    :param config: default: :func:`load_alerts_config` (``include/mappings/alerts.yaml``).
    """
    config = config or load_alerts_config()
    notifiers: list[BaseNotifier] = []
    if config.email is not None:
        notifiers.append(
            EmailFailureNotifier(
                entity=entity,
                to=config.email.to,
                smtp_conn_id=config.email.conn_id,
                from_email=config.email.from_email,
            )
        )
    if config.slack is not None:
        notifiers.append(
            SlackFailureNotifier(
                entity=entity, slack_webhook_conn_id=config.slack.conn_id, channel=config.slack.channel
            )
        )
    return notifiers
