"""What on-call reads after a rollback or a resume: the subject, the HTML e-mail and the Slack line.

Plain Python; the texts carry no credential (names, modes, 1C titles and Ref_Keys only), and the alert
sender redacts them once more. Long lists are cut at :data:`MAX_ITEMS`: the audit log has every row.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

from crm1c.rollback.compensate import ALREADY, GONE, LISTED, MARKED, REFUSED, Compensated
from crm1c.rollback.switch import Resumed, RolledBack
from crm1c.rollout.modes import policy_for

MAX_ITEMS = 200
_SECTIONS = (
    (MARKED, "Deletion-marked in 1C (crm1c created them; nothing was deleted)"),
    (LISTED, "For the accountant: posted documents crm1c created — NOT touched, decide by hand"),
    (REFUSED, "Not compensated: 1C refused the deletion mark"),
    (ALREADY, "Deletion-marked already (left as they were)"),
    (GONE, "No longer in 1C"),
)


@dataclass(frozen=True)
class Message:
    subject: str
    html: str
    text: str


@dataclass(frozen=True)
class Who:
    """Who switched, when, in which run, and the link to it in Airflow."""

    actor: str
    at: datetime
    run_id: str
    link: str


def rollback_message(who: Who, done: Sequence[RolledBack], since: datetime | None) -> Message:
    names = ", ".join(r.entity for r in done)
    modes = ", ".join(sorted({r.mode_to for r in done}))
    subject = f"[crm1c] rollback: {names} → {modes}, DAGs paused"
    rows = [
        (r.entity, r.dag_id, f"{r.mode_from} → {r.mode_to}", _paused(r), _counts(r.compensated)) for r in done
    ]
    parts = [_head(subject, who), _table(("Entity", "DAG", "Mode", "DAG state", "Compensation"), rows)]
    parts += [_meaning(r.entity, r.mode_to) for r in done]
    if since is not None:
        parts.append(f"<p>Compensation: what crm1c created in 1C since {escape(_ts(since))}.</p>")
    for r in done:
        if r.still_running:
            runs = escape(", ".join(r.still_running))
            parts.append(
                f"<p><b>Still running</b> in {escape(r.dag_id)}: {runs} — it may write until it ends; "
                "run the rollback again afterwards to compensate its writes.</p>"
            )
    parts += _sections([c for r in done for c in r.compensated or []])
    tally = Counter(c.result for r in done for c in r.compensated or [])
    comp = "" if since is None else f"; 1C: {tally[MARKED]} deletion-marked, {tally[LISTED]} posted listed"
    comp += f", {tally[REFUSED]} refused" if tally[REFUSED] else ""
    text = f":rewind: crm1c rollback by {who.actor}: {names} → {modes}, DAGs paused{comp}"
    return Message(subject, "".join(parts), _slack(text, who.link))


def resume_message(who: Who, done: Sequence[Resumed]) -> Message:
    names = ", ".join(r.entity for r in done)
    subject = f"[crm1c] resume: {names} back on, DAGs unpaused"
    rows = [(r.entity, r.dag_id, f"{r.mode_from} → {r.mode_to}", r.catch_up_run) for r in done]
    parts = [_head(subject, who), _table(("Entity", "DAG", "Mode", "Catch-up run"), rows)]
    parts += [_meaning(r.entity, r.mode_to) for r in done]
    modes = ", ".join(f"{r.entity} {r.mode_to}" for r in done)
    text = f":arrow_forward: crm1c resume by {who.actor}: {modes}; DAGs unpaused, catch-up runs started"
    return Message(subject, "".join(parts), _slack(text, who.link))


def _head(subject: str, who: Who) -> str:
    link = escape(who.link, quote=True)
    return (
        f"<h3>{escape(subject)}</h3><p>By {escape(who.actor)} at {escape(_ts(who.at))}, "
        f'run <a href="{link}">{escape(who.run_id)}</a>.</p>'
    )


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    th = "".join(f'<th align="left">{escape(h)}</th>' for h in head)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def _meaning(entity: str, mode: str) -> str:
    english, russian = policy_for(entity, mode).explain()
    return f"<p>{escape(english)}<br>{escape(russian)}</p>"


def _paused(done: RolledBack) -> str:
    return "paused (it was already)" if done.was_paused else "paused"


def _counts(items: list[Compensated] | None) -> str:
    if items is None:
        return "not asked for"
    tally = Counter(c.result for c in items)
    return ", ".join(f"{n} {result.replace('_', ' ')}" for result, n in sorted(tally.items())) or "nothing"


def _sections(items: list[Compensated]) -> list[str]:
    out = []
    for result, heading in _SECTIONS:
        found = [c for c in items if c.result == result]
        if not found:
            continue
        lines = "".join(
            f"<li>{escape(c.entity_set)} «{escape(c.title)}» <code>{escape(c.ref_key)}</code>"
            + (f" — {escape(c.reason)}" if c.reason else "")
            + "</li>"
            for c in found[:MAX_ITEMS]
        )
        left = len(found) - MAX_ITEMS
        more = f"<li>… and {left} more (audit log, op=compensate)</li>" if left > 0 else ""
        out.append(f"<h4>{escape(heading)} ({len(found)})</h4><ul>{lines}{more}</ul>")
    return out


def _slack(text: str, link: str) -> str:
    safe = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"{safe} · <{link}|run>"


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
