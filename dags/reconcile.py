"""
### Reconciliation CRM ⇄ staging ⇄ 1С (daily, and on demand)

Reads both systems in full — **read only, nothing is written to the CRM or to 1C** — and compares them with
the links the sync keeps in staging. Counterparties: a linked record gone or deletion-marked on one side,
requisites that differ (ИНН, КПП, name, full name), records without a link although the other system has
their ИНН+КПП; quarantined records are counted. Money, per counterparty for the period: invoices (missing in
1C, amount differs, an invoice of a cancelled deal, a document made by hand in 1C), revenue (posted sales
against won deals), payments (each deal's paid sum against 1C's receipts) and receivables (62.01 + 62.02
against what is unpaid in the CRM, as it is now).

The report (an HTML table with links into both systems) goes by e-mail and as a one-line Slack summary to
the recipients of `include/mappings/alerts.yaml`, and is kept in staging; a clean run says "no drift".
Tolerances: `include/mappings/reconciliation.yaml`. Params: `period_from` / `period_to` for the money checks
(both empty: the previous and the current month; one given: the other end is open), `send` = mail and post
the report (it is stored either way).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Param, dag

from crm1c.operators import ReconcileOperator


@dag(
    dag_id="reconcile",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["crm1c", "reconciliation"],
    default_args={"owner": "crm1c", "retries": 2, "retry_delay": timedelta(minutes=5)},
    params={
        "period_from": Param(
            None,
            type=["null", "string"],
            format="date",
            description="first day; both empty: the previous and the current month",
        ),
        "period_to": Param(None, type=["null", "string"], format="date", description="last day, or empty"),
        "send": Param(True, type="boolean", description="mail and post the report (it is stored either way)"),
    },
)
def reconcile():
    ReconcileOperator(
        task_id="reconcile",
        period_from="{{ params.period_from }}",
        period_to="{{ params.period_to }}",
        send="{{ params.send }}",
    )


reconcile()
