"""
### Reconciliation CRM ⇄ staging ⇄ 1С (daily, and on demand)

Reads both systems in full — **read only, nothing is written to the CRM or to 1C** — and compares them with
the links the sync keeps in staging. Counterparties: a linked record gone or deletion-marked on one side,
requisites that differ (ИНН, КПП, name, full name), records without a link although the other system has
their ИНН+КПП; quarantined records are counted.

The report (an HTML table with links into both systems) goes by e-mail and as a one-line Slack summary to
the recipients of `include/mappings/alerts.yaml`, and is kept in staging; a clean run says "no drift".
Tolerances: `include/mappings/reconciliation.yaml`. Params: `period_from` / `period_to` (for the money
checks that come with invoices and payments), `send` = mail and post the report (it is stored either way).
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
        "period_from": Param(None, type=["null", "string"], format="date", description="first day, or empty"),
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
