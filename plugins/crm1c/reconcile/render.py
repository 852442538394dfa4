"""The report as people read it: an HTML e-mail (totals, differences by kind with the records behind
each and links into both systems), its subject, and a one-line Slack summary. Every value is escaped."""

from __future__ import annotations

import html

from crm1c.reconcile.model import CheckResult, Difference, RecordRef, Report, Total

_SYSTEMS = (("crm", "CRM (Bitrix24)"), ("staging", "Staging"), ("onec", "1С"))
_TABLE = 'border="1" cellpadding="4" cellspacing="0" style="border-collapse:collapse"'
_COLUMNS = ("CRM", "1С", "Поле / field", "CRM", "Согласовано (staging) / agreed", "1С", "Примечание / note")


def subject(report: Report) -> str:
    day = report.started_at.date().isoformat()
    if report.status == "drift":
        return f"[crm1c] reconciliation {day}: DRIFT, {_count(report.differences)}"
    return f"[crm1c] reconciliation {day}: no drift"


def verdict(report: Report) -> str:
    """``no drift`` / ``drift: N differences`` (with the tolerated ones named)."""
    if report.status == "drift":
        return f"drift: {_count(report.differences)}"
    if report.differences:
        return f"no drift ({_count(report.differences)} within tolerance)"
    return "no drift"


def html_report(report: Report, max_rows_per_kind: int = 200) -> str:
    head = "Расхождений нет" if report.status == "clean" else "Есть расхождения"
    parts = [
        f"<h2>crm1c: сверка CRM ⇄ 1С / reconciliation — {head} / {_e(verdict(report))}</h2>",
        f"<p>Run <code>{_e(report.run_id)}</code>, {_e(_when(report))}; "
        f"период / period: {_e(str(report.period))} "
        "(контрагенты и дебиторка сравниваются на сейчас / counterparties and receivables are compared as "
        "they are now)</p>",
    ]
    for check in report.checks:
        parts += _check(check, max_rows_per_kind)
    return '<html><body style="font-family:sans-serif">' + "".join(parts) + "</body></html>"


def slack_summary(report: Report, top: int = 3, url: str | None = None) -> str:
    """One line: the verdict, each check's headline and counts by kind, the first ``top`` differences (drift
    first, taken from each check in turn)."""
    icon = ":warning:" if report.status == "drift" else ":white_check_mark:"
    parts = [f"{icon} crm1c reconciliation: {verdict(report)}"]
    for check in report.checks:
        kinds = ", ".join(f"{check.kind_title(k)[1]} ×{n}" for k, n in check.by_kind().items())
        parts.append(f"{check.title[1]}: {check.headline}" + (f"; {kinds}" if kinds else ""))
    found = _round_robin(report.checks)
    if top and found:
        named = "; ".join(_one_line(c, d) for c, d in found[:top])
        parts.append(named + ("; …" if len(found) > top else ""))
    text = " · ".join(_slack_escape(p) for p in parts)
    return text + (f" · <{url}|Airflow>" if url else "")


# ----------------------------------------------------------------------------- HTML parts


def _check(check: CheckResult, limit: int) -> list[str]:
    if check.skipped:
        return [
            f"<h3>{_e(check.title[0])} / {_e(check.title[1])} — не проверялось / not checked</h3>",
            f"<p>{_e(check.skipped)}</p>",
        ]
    state = "расхождений нет / no drift" if check.status == "clean" else "ДРЕЙФ / DRIFT"
    parts = [
        f"<h3>{_e(check.title[0])} / {_e(check.title[1])} — {state}</h3>",
        f"<table {_TABLE}><tr><th></th>{''.join(f'<th>{n}</th>' for _, n in _SYSTEMS)}</tr>",
        *(_total_row(t) for t in check.totals),
        "</table>",
    ]
    if not check.differences:
        return [*parts, "<p>Расхождений нет / no differences.</p>"]
    parts.append(
        f"<p>Расхождений / differences: {len(check.differences)}; дрейф / drift: "
        f"{len(check.drift_differences)} (допустимо / tolerated: {check.max_differences})</p>"
    )
    for kind, count in check.by_kind().items():
        ru, en = check.kind_title(kind)
        drift = "" if kind in check.drift_kinds else " (не дрейф / not drift)"
        rows = [d for d in check.differences if d.kind == kind]
        parts += [
            f"<h4>{_e(ru)} / {_e(en)} — {count}{drift}</h4>",
            f"<table {_TABLE}><tr>{''.join(f'<th>{_e(c)}</th>' for c in _COLUMNS)}</tr>",
            *(_difference_row(d) for d in rows[:limit]),
            "</table>",
        ]
        if len(rows) > limit:
            parts.append(f"<p>… и ещё / and {len(rows) - limit} more</p>")
    return parts


def _total_row(total: Total) -> str:
    values = (total.crm, total.staging, total.onec)
    cells = "".join(f'<td align="right">{"" if v is None else v}</td>' for v in values)
    return f"<tr><td>{_e(total.label)}</td>{cells}</tr>"


def _difference_row(diff: Difference) -> str:
    cells = [
        _record(diff.crm),
        _record(diff.onec),
        _e(diff.field or "—"),
        _value(diff.crm_value),
        _value(diff.agreed) if diff.field else "—",
        _value(diff.onec_value),
        _e(diff.note),
    ]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _record(ref: RecordRef | None) -> str:
    if ref is None:
        return "—"
    lines = [f"<b>{_e(ref.name or '—')}</b>"]
    requisites = " ".join(f"{label} {_e(v)}" for label, v in (("ИНН", ref.inn), ("КПП", ref.kpp)) if v)
    if requisites:
        lines.append(requisites)
    what = ref.what or ("компания / company" if ref.system == "crm" else "Ref_Key")
    ids = f"{_e(what)} {_e(ref.id)}"
    links = " · ".join(f'<a href="{_e(url)}">{_e(label)}</a>' for label, url in ref.links)
    lines.append(ids + (f" · {links}" if links else ""))
    return "<br>".join(lines)


def _value(value: str | None) -> str:
    return "<i>пусто / empty</i>" if value is None else _e(value)


def _when(report: Report) -> str:
    started = report.started_at.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    return f"{started}, {(report.finished_at - report.started_at).total_seconds():.1f} s"


# ----------------------------------------------------------------------------- Slack parts


def _drift_first(check: CheckResult) -> list[Difference]:
    return sorted(check.differences, key=lambda d: d.kind not in check.drift_kinds)


def _round_robin(checks: list[CheckResult]) -> list[tuple[CheckResult, Difference]]:
    """Drift before the rest, each check's first before any check's second (so the top names several)."""
    lists = [[(c, d) for d in _drift_first(c)] for c in checks]
    order = [(n, drift, i) for i, pairs in enumerate(lists) for n, (c, d) in enumerate(pairs)
             for drift in [d.kind not in c.drift_kinds]]  # fmt: skip
    return [lists[i][n] for n, _drift, i in sorted(order, key=lambda t: (t[1], t[0], t[2]))]


def _one_line(check: CheckResult, diff: Difference) -> str:
    refs = [r for r in (diff.crm, diff.onec) if r is not None]
    who = next((r.name for r in refs if r.name), None) or (refs[0].id if refs else "?")
    if diff.field and diff.crm_value != diff.onec_value:
        return f"{who}: {diff.field} CRM {diff.crm_value or '∅'} ≠ 1C {diff.onec_value or '∅'}"
    return f"{who}: {check.kind_title(diff.kind)[1]}"


def _count(n: int) -> str:
    return f"{n} difference" + ("" if n == 1 else "s")


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _slack_escape(text: str) -> str:
    return " ".join(text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").split())
