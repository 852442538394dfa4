"""Reconciliation CRM ⇄ staging ⇄ 1C (plain Python, no Airflow import; the DAG ``reconcile`` runs it).

Reads both systems in full through the clients' list methods and staging's links, never writing to either
system; each comparison is a check: :mod:`.counterparties` (as they are now), and the money checks for the
period, per counterparty — :mod:`.invoices`, :mod:`.revenue`, :mod:`.payments` and :mod:`.receivables`
(as it is now), which share one read of both systems (:mod:`.money_sources`)::

    config, links = load_reconciliation_config(), SystemLinks.of(crm.base_url, onec.base_url)
    env = ReconcileEnv(crm, onec, staging, config, links, Period.default(today), run_id)
    report = reconcile(env)
    html_report(report), slack_summary(report), report.totals()

Tolerances: ``include/mappings/reconciliation.yaml`` (:mod:`.config`).
"""

from __future__ import annotations

from crm1c.reconcile.config import (
    ReconciliationConfig,
    ReconciliationConfigError,
    load_reconciliation_config,
)
from crm1c.reconcile.env import Check, ReconcileEnv
from crm1c.reconcile.links import SystemLinks
from crm1c.reconcile.model import CheckResult, Difference, Period, RecordRef, Report, Total
from crm1c.reconcile.render import html_report, slack_summary, subject
from crm1c.reconcile.run import CHECKS, reconcile

__all__ = [
    "CHECKS",
    "Check",
    "CheckResult",
    "Difference",
    "Period",
    "ReconcileEnv",
    "ReconciliationConfig",
    "ReconciliationConfigError",
    "RecordRef",
    "Report",
    "SystemLinks",
    "Total",
    "html_report",
    "load_reconciliation_config",
    "reconcile",
    "slack_summary",
    "subject",
]
