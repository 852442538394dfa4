"""What on-call reads when a task fails: the subject, the HTML e-mail and the one-line Slack text.

Plain Python. Every field of :class:`FailureAlert` is expected to be redacted already
(see :func:`crm1c.notify.context.failure_alert`); here it is only escaped and laid out.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from urllib.parse import quote

EMAIL_ERROR_CHARS = 4000
SLACK_ERROR_CHARS = 300


@dataclass(frozen=True)
class FailureAlert:
    """One failed task instance, as on-call needs it."""

    dag_id: str
    task_id: str
    entity: str
    run_id: str
    try_number: int | None
    max_tries: int | None
    error: str
    log_url: str

    @property
    def subject(self) -> str:
        """``[crm1c] <dag_id>.<task_id> failed (<entity>)``, on one line."""
        return _one_line(f"[crm1c] {self.dag_id}.{self.task_id} failed ({self.entity})")

    @property
    def attempt(self) -> str:
        """``3 of 4`` (or just ``3`` when the retry budget is unknown)."""
        if self.try_number is None:
            return "-"
        if self.max_tries is None:
            return str(self.try_number)
        return f"{self.try_number} of {self.max_tries + 1}"


def build_run_url(base_url: str, dag_id: str, run_id: str) -> str:
    """The Airflow 3 UI page of a DAG run: ``/dags/{d}/runs/{r}``."""
    return f"{base_url.rstrip('/')}/dags/{dag_id}/runs/{quote(run_id, safe='')}"


def build_log_url(
    base_url: str,
    dag_id: str,
    run_id: str,
    task_id: str,
    try_number: int | None,
    map_index: int | None = None,
) -> str:
    """The Airflow 3 UI page of a task try: ``/dags/{d}/runs/{r}/tasks/{t}[/mapped/{i}]?try_number=N``."""
    url = f"{base_url.rstrip('/')}/dags/{dag_id}/runs/{quote(run_id)}/tasks/{task_id}"
    if map_index is not None and map_index >= 0:
        url += f"/mapped/{map_index}"
    if try_number:
        url += f"?try_number={try_number}"
    return url


def email_html(alert: FailureAlert) -> str:
    """HTML body: a table of the facts, the error verbatim (escaped), a link to the task log."""
    rows = [
        ("DAG", alert.dag_id),
        ("Task", alert.task_id),
        ("Entity", alert.entity),
        ("Run", alert.run_id),
        ("Try", alert.attempt),
    ]
    cells = "".join(
        f'<tr><th align="left">{name}</th><td>{html.escape(value)}</td></tr>' for name, value in rows
    )
    error = html.escape(_shorten(alert.error, EMAIL_ERROR_CHARS))
    link = html.escape(alert.log_url, quote=True)
    return (
        f"<h3>{html.escape(alert.subject)}</h3>"
        f"<table>{cells}</table>"
        f"<p><b>Error</b></p><pre>{error}</pre>"
        f'<p><a href="{link}">Task log in Airflow</a> ({html.escape(alert.log_url)})</p>'
    )


def slack_text(alert: FailureAlert) -> str:
    """One line: what failed, run, try, the error (shortened), then the log link."""
    error = _slack_escape(_shorten(_one_line(alert.error), SLACK_ERROR_CHARS))
    head = _slack_escape(alert.subject)
    facts = f"run {_slack_escape(alert.run_id)}, try {alert.attempt}"
    return f":red_circle: {head} · {facts} · {error} · <{alert.log_url}|log>"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _slack_escape(text: str) -> str:
    """Slack mrkdwn control characters (``&``, ``<``, ``>``)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
