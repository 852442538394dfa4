"""The crm1c page as one server-rendered HTML document (no Airflow import; every text escaped and scrubbed).

Links to Airflow's own pages (the ``rollout`` and ``rollback_switch`` DAGs) carry ``data-airflow``: inside
Airflow's frame, which may not navigate its parent, the small script hands them to the UI's router.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from crm1c.ui import sections
from crm1c.ui.data import Overview, StoryResult
from crm1c.ui.fmt import esc, when

CSS = (Path(__file__).with_name("page.css")).read_text(encoding="utf-8")
ACTIONS = (
    ("rollout", "Сменить режим / Change a mode"),
    ("rollback_switch", "Откат или возврат / Roll back or resume"),
)
# Inside Airflow's frame (same origin, no top navigation allowed): push the URL to the UI's router.
SCRIPT = """
document.addEventListener("click", function (event) {
  var link = event.target.closest && event.target.closest("a[data-airflow]");
  if (!link || window.top === window) return;
  try {
    var history = window.top.history, state = history.state || {};
    var next = {usr: null, key: Math.random().toString(36).slice(2, 10), idx: (state.idx || 0) + 1};
    history.pushState(next, "", link.href);
    window.top.dispatchEvent(new PopStateEvent("popstate", {state: next}));
    event.preventDefault();
  } catch (error) { /* another origin: the link opens as usual */ }
});
"""


def render(
    page: Overview | None,
    found: StoryResult | None,
    state: dict[str, Any],
    airflow: str,
    problems: list[str],
    now: datetime,
) -> str:
    """The whole page; ``page`` is None when staging cannot be read (``problems`` says why)."""
    problems = problems + (page.problems if page else [])
    body = [_header(state, airflow, now, page), _problems(problems)]
    if found is not None:
        body.append(_section("story", "История записи / Story of a record", _story(found)))
    if page is not None:
        modes = sections.modes(page, _dag_link(airflow))
        held = f"Карантин / Quarantine ({page.held_total})"
        conflicts = f"Конфликты / Open conflicts ({page.conflicts_total})"
        body += [
            _section("modes", "Режимы и последние запуски / Modes and last runs", modes),
            _section("quarantine", held, sections.quarantine(page, state)),
            _section("conflicts", conflicts, sections.conflicts(page)),
            _section("reconciliation", "Сверка / Reconciliation", sections.reconciliation(page, state)),
        ]
    return (
        '<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>crm1c</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head>'
        f"<body>{''.join(body)}<script>{SCRIPT}</script></body></html>"
    )


def _dag_link(airflow: str) -> Any:
    return lambda dag_id: f"{airflow}/dags/{quote(dag_id, safe='')}"


def _header(state: dict[str, Any], airflow: str, now: datetime, page: Overview | None) -> str:
    dag = _dag_link(airflow)
    actions = "".join(
        f'<a class="button" href="{esc(dag(dag_id))}" target="_top" data-airflow '
        f'title="DAG {esc(dag_id)}: Trigger">{esc(label)} ({esc(dag_id)})</a>'
        for dag_id, label in ACTIONS
    )
    search = (
        '<form class="search" method="get" action="#story">'
        f'<input type="search" name="q" value="{esc(state.get("q") or "")}" '
        'placeholder="CRM id, 1C Ref_Key или ИНН" aria-label="CRM id, 1C Ref_Key or INN">'
        '<button type="submit">История / Story</button></form>'
    )
    toc = ""
    if page is not None:
        links = (
            ("modes", "Режимы / Modes"), ("quarantine", f"Карантин / Quarantine ({page.held_total})"),
            ("conflicts", f"Конфликты / Conflicts ({page.conflicts_total})"),
            ("reconciliation", "Сверка / Reconciliation"),
        )  # fmt: skip
        toc = '<nav class="toc">' + "".join(f'<a href="#{a}">{esc(t)}</a>' for a, t in links) + "</nav>"
    return (
        "<header><div><h1>crm1c</h1>"
        f'<div class="sub">Bitrix24 ⇄ 1С · только чтение / read-only · {esc(when(now))}</div>'
        f'<nav class="actions">{actions}</nav></div>{search}</header>{toc}'
    )


def _problems(problems: list[str]) -> str:
    if not problems:
        return ""
    return '<div class="problems">' + "".join(f"<div>{esc(p)}</div>" for p in problems) + "</div>"


def _section(anchor: str, title: str, content: str) -> str:
    return f'<section id="{anchor}"><h2>{esc(title)}</h2>{content}</section>'


def _story(found: StoryResult) -> str:
    if found.error:
        return f'<p class="error">{esc(found.error)}</p>'
    if not found.found:
        head = f'<p class="empty">В staging нет записи {esc(found.asked)} / no record matches.</p>'
        return head + f'<pre class="story">{esc(found.text)}</pre>'
    return f'<pre class="story">{esc(found.text)}</pre>'
