"""What on-call reads from a run check: a subject, an HTML e-mail and a Slack line (plain Python).

Every value is escaped here; :func:`crm1c.notify.alerts.send_alert` redacts the texts once more.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class Message:
    """``subject`` (the mail's), ``html`` (the mail's body), ``text`` (the Slack line)."""

    subject: str
    html: str
    text: str


def table(head: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """An HTML table; every cell escaped."""
    th = "".join(f'<th align="left">{escape(h)}</th>' for h in head)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def heading(subject: str, link: str) -> str:
    """The mail's first lines: the subject and a link to the task in Airflow."""
    url = escape(link, quote=True)
    return f'<h3>{escape(subject)}</h3><p><a href="{url}">The task in Airflow</a> ({escape(link)})</p>'


def slack_line(icon: str, text: str, link: str) -> str:
    """``:icon: text · <link|run>``, Slack's control characters escaped."""
    safe = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f":{icon}: {safe} · <{link}|task>"


def percent(share: float) -> str:
    return f"{share:.0%}"
