"""A staging database for the crm1c page, made by real syncs against the contour.

The audit tests' scenario (a hold fixed at the source, a company created in 1C, a rename on both sides: a
conflict), then a company that stays held (wrong ИНН), a drifted name and a real reconciliation report, a
mode set by someone — and error texts holding the contour's credentials, as a failed call could leave
them in staging (a quarantine reason, a failed write, an audit row, a report), which the page must mask.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from contour.profiles import inn10
from crm1c import reconcile as rc
from crm1c.staging import Staging
from tests.audit.scenario import ENTITY, Scenario, play
from tests.contour_harness import BITRIX_TOKEN, ONEC_PASSWORD, ONEC_USER
from tests.sync.harness import add_crm_company, clients, rename_in_onec, run_sync

MODE_SETTER = "ui-test"
HELD_NAME = 'ООО "Дельта"'


def leak(contour: Any) -> str:
    """An error text as a failed call could word it: the webhook URL and the 1C URL with its password."""
    webhook = f"{contour.bitrix_base}/rest/1/{BITRIX_TOKEN}/crm.company.update.json"
    onec = contour.onec_url.replace("https://", f"https://{ONEC_USER}:{ONEC_PASSWORD}@")
    return f"POST {webhook} → 502; retried via {onec}Catalog_Контрагенты?password={ONEC_PASSWORD}"


@dataclass(frozen=True)
class Seeded:
    scenario: Scenario
    held_crm: str  # a CRM company held for a wrong ИНН, still waiting
    bad_inn: str
    renamed_ref: str  # renamed in 1C behind crm1c's back: the reconciliation's drift
    reports: list[int] = field(default_factory=list)  # oldest first


def seed(contour: Any, staging: Staging) -> Seeded:
    """Syncs, the leaks, a real report and one with markup it must not render; the mode set by a person."""
    scenario = play(contour, staging)
    crm, onec = clients(contour)
    good = inn10("771234567")
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    held = add_crm_company(crm, HELD_NAME, bad, "771201001")
    run_sync(staging, crm, onec)
    _leaks(contour, staging, held)
    rename_in_onec(onec, scenario.created_ref, 'ООО "Бета-1С"')
    reports = [_real_report(staging, crm, onec), _hostile_report(contour, staging)]
    staging.set_mode("counterparties", "read_only", actor=MODE_SETTER)
    return Seeded(scenario, held, bad, scenario.created_ref, reports)


def _leaks(contour: Any, staging: Staging, held: str) -> None:
    text = leak(contour)
    staging.quarantine(ENTITY, "crm", held, "phone", f"ошибка записи: {text}", f"write failed: {text}")
    intent = staging.open_intent(ENTITY, "crm", "update", "onec", "leak-ref", {"phone": "+7"}, target_id=held)
    staging.fail_intent(intent.id, text)
    staging.audit(MODE_SETTER, None, ENTITY, f"crm:{held}", "update", "crm", "error", {"error": text})


def _real_report(staging: Staging, crm: Any, onec: Any) -> int:
    """A reconciliation as the DAG keeps it (the comparison and its HTML; read-only on both systems)."""
    links = rc.SystemLinks.of(crm.base_url, onec.base_url)
    config = rc.load_reconciliation_config()
    report = rc.reconcile(rc.ReconcileEnv(crm, onec, staging, config, links, rc.Period(), uuid.uuid4().hex))
    return staging.save_report(
        started_at=report.started_at, finished_at=report.finished_at, status=report.status,
        totals=report.totals(), differences=report.found(), html=rc.html_report(report),
    )  # fmt: skip


def _hostile_report(contour: Any, staging: Staging) -> int:
    """The newest report, with what must never run or show: a script, a handler, a javascript: link."""
    text = leak(contour)
    markup = (
        "<h2>Сверка / reconciliation</h2><script>document.title='pwned'</script>"
        f'<p onclick="alert(1)">Ошибка / error: {text}</p>'
        '<table><tr><th>Поле</th><th>CRM</th></tr><tr><td>ИНН</td><td><a href="javascript:alert(1)">x</a>'
        f'<a href="{contour.bitrix_webhook}crm.company.list">CRM</a></td></tr></table>'
        '<img src="x" onerror="alert(1)"><iframe src="https://example.com"></iframe>'
    )
    now = datetime.now(UTC)
    totals, differences = {"error": text, "status": "drift"}, [{"note": text}]
    return staging.save_report(
        started_at=now, finished_at=now, status="drift", totals=totals, differences=differences, html=markup
    )
