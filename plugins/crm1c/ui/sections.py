"""The page's tables: modes and last runs, quarantine, conflicts, reconciliation (every text escaped)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from crm1c.staging.models import Conflict, ReconciliationReport
from crm1c.ui.data import EntityRow, Held, Overview
from crm1c.ui.fmt import esc, moment, record, self_link, value, waited, when
from crm1c.ui.sanitize import sanitize

WRITES = (
    ("create", "created"),
    ("update", "updated"),
    ("mark_deleted", "marked deleted"),
    ("adopted", "adopted"),
)
SORTS = (("oldest", "сначала старые / oldest first"), ("newest", "сначала новые / newest first"))


def table(head: Iterable[str], rows: Iterable[str], css: str = "") -> str:
    """A table with the given header cells (already HTML) and rows (each ``<tr>…</tr>``)."""
    cells = "".join(f"<th>{h}</th>" for h in head)
    return f'<table class="{css}"><thead><tr>{cells}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def row(*cells: str, css: str = "") -> str:
    return f'<tr class="{css}">' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def badge(text: str, kind: str) -> str:
    return f'<span class="badge {esc(kind)}">{esc(text)}</span>'


# ----------------------------------------------------------------------------- modes and last runs


def modes(page: Overview, dag_link: Callable[[str], str]) -> str:
    head = (
        "Сущность / Entity", "Режим / Mode", "Последний запуск / Last run", "Прочитано / Read",
        "Записано / Written", "Карантин / Quarantine", "Конфликты / Conflicts", "Журнал / Audit chain",
    )  # fmt: skip
    return table(head, (_entity(e, page, dag_link) for e in page.entities), "modes")


def _entity(e: EntityRow, page: Overview, dag_link: Callable[[str], str]) -> str:
    name = f'<a href="{esc(dag_link(f"sync_{e.name}"))}" target="_top" data-airflow>{esc(e.name)}</a>'
    en, ru = e.meaning
    mode = f'<span title="{esc(ru)} / {esc(en)}">{badge(e.mode, "mode-" + e.mode)}</span>'
    mode += f'<div class="note">{esc(e.source)}</div>'
    if e.last_run is None:
        never = '<span class="muted">не было / none yet</span>'
        return row(name, mode, never + _unpublished(e), "—", "—", "—", "—", "—")
    counts = e.last_run.detail if isinstance(e.last_run.detail, dict) else {}
    ago = waited(page.now - e.last_run.ts)
    run = f'{moment(e.last_run.ts)} <span class="muted">({esc(ago)} ago)</span>'
    run += f'<div class="note">run {esc(e.last_run.run_id)}</div>' + _unpublished(e)
    read = f"CRM {_n(counts, 'crm_read')} · 1C {_n(counts, 'onec_read')}"
    held = f"{_n(counts, 'quarantined')} held · {_n(counts, 'open_quarantine')} open"
    conflicts = f"{_n(counts, 'conflicts')} new · {_n(counts, 'open_conflicts')} open"
    chain = badge("OK", "ok") if counts.get("audit_chain_ok") else badge("BROKEN", "bad")
    return row(name, mode, run, esc(read), _written(counts), esc(held), esc(conflicts), chain)


def _unpublished(e: EntityRow) -> str:
    """A newer run than the last published one (a dry run, shadow mode or a run still going)."""
    task = e.last_task
    if task is None or (e.last_run is not None and task.run_id == e.last_run.run_id):
        return ""
    at = when(task.finished_at or task.started_at)
    text = f"newer run {task.run_id} ({task.task} at {at}) published nothing yet"
    return f'<div class="note warn">{esc(text)}</div>'


def _written(counts: dict[str, Any]) -> str:
    parts = []
    for system, name in (("onec", "1C"), ("crm", "CRM")):
        done = [f"{counts[f'{system}_{op}']} {label}" for op, label in WRITES if counts.get(f"{system}_{op}")]
        parts.append(f"{name}: {', '.join(done) or 'nothing'}")
    return "<br>".join(esc(p) for p in parts)


def _n(counts: dict[str, Any], key: str) -> Any:
    return counts.get(key) or 0


# ----------------------------------------------------------------------------- quarantine and conflicts


def quarantine(page: Overview, state: dict[str, Any]) -> str:
    if not page.held:
        return '<p class="empty">Карантин пуст / nothing is held.</p>'
    head = (
        "Ждёт / Waiting", "Сущность / Entity", "Запись / Record", "Поле / Field",
        "Причина / Reason", "Впервые / First seen", "Последний раз / Last seen",
    )  # fmt: skip
    rows = (_held_row(h) for h in page.held)
    return _sorts(page, state) + table(head, rows, "quarantine") + _more(len(page.held), page.held_total)


def _held_row(h: Held) -> str:
    q = h.item
    return row(
        f'<b class="wait">{esc(waited(h.waited))}</b>',
        esc(q.entity),
        record(q.system, q.external_id),
        f"<code>{esc(q.field)}</code>",
        f'<div class="reason">{esc(q.reason_ru)}<div class="en">{esc(q.reason_en)}</div></div>',
        moment(q.first_seen),
        f"{moment(q.last_seen)} ×{q.occurrences}",
        css="held",
    )


def _sorts(page: Overview, state: dict[str, Any]) -> str:
    links = []
    for sort, label in SORTS:
        href = esc(self_link({**state, "sort": sort}, "quarantine"))
        links.append(f"<b>{label}</b>" if page.sort == sort else f'<a href="{href}">{label}</a>')
    return '<p class="note">' + " · ".join(links) + "</p>"


def conflicts(page: Overview) -> str:
    if not page.conflicts:
        return '<p class="empty">Открытых конфликтов нет / no open conflicts.</p>'
    head = (
        "Сущность / Entity", "CRM", "1C", "Поле / Field", "Значение CRM / CRM value",
        "Значение 1С / 1C value", "База / Base", "Обнаружен / Detected",
    )  # fmt: skip
    rows = (_conflict_row(c) for c in page.conflicts)
    return table(head, rows, "conflicts") + _more(len(page.conflicts), page.conflicts_total)


def _conflict_row(c: Conflict) -> str:
    return row(
        esc(c.entity),
        record("crm", c.crm_id),
        record("onec", c.onec_id),
        f"<code>{esc(c.field)}</code>",
        value(c.crm_value),
        value(c.onec_value),
        value(c.base_value),
        moment(c.detected_at),
        css="conflict",
    )


def _more(shown: int, total: int) -> str:
    return f'<p class="note">… {total - shown} more not shown</p>' if total > shown else ""


# ----------------------------------------------------------------------------- reconciliation


def reconciliation(page: Overview, state: dict[str, Any]) -> str:
    if not page.reports:
        return '<p class="empty">Сверок ещё не было / no reconciliation has run yet.</p>'
    head = ("Дата / Date", "Статус / Status", "Расхождений / Differences", "Период / Period", "")
    current = page.report.id if page.report else None
    rows = (_history_row(r, r.id == current, state) for r in page.reports)
    parts = [table(head, rows, "history")]
    if page.report is not None:
        parts.append(_report(page.report))
    return "".join(parts)


def _history_row(r: ReconciliationReport, current: bool, state: dict[str, Any]) -> str:
    status = badge(r.status, f"status-{r.status}")
    error = r.totals.get("error") if isinstance(r.totals, dict) else None
    count = esc(len(r.differences)) + (f'<div class="note">{esc(error)}</div>' if error else "")
    period = (
        "всё / all"
        if not (r.period_from or r.period_to)
        else f"{r.period_from or '…'} — {r.period_to or '…'}"
    )
    show = "показан / shown" if current else "показать / show"
    link = f'<a href="{esc(self_link({**state, "report": r.id}, "reconciliation"))}">{show}</a>'
    return row(moment(r.finished_at), status, count, esc(period), link, css="current" if current else "")


def _report(r: ReconciliationReport) -> str:
    title = f"<h3>Отчёт / Report #{r.id} · {esc(when(r.finished_at))}</h3>"
    if not r.html:
        return title + '<p class="empty">HTML не сохранён / no HTML kept for this run.</p>'
    return title + f'<div class="report">{sanitize(r.html)}</div>'
