"""
### Deals → 1C documents (Bitrix24 → 1С:Бухгалтерия)

A deal at a stage the mapping names becomes a 1C document: `PREPAYMENT_INVOICE` / `FINAL_INVOICE` a
payment invoice (`Document_СчетНаОплатуПокупателю`), `WON` a sale (`Document_РеализацияТоваровУслуг`, and
the invoice if the deal never had one). Rows are computed as 1C computes them (price, amount, VAT rate for
the document date, VAT per row rounded half up; discounts kept so the total equals the deal's), goods and
services in their tables, the currency's rate for the document date from 1C. Documents are created
**unposted** and carry `crm1c:deal:<ID>` in `Комментарий`. A later deal edit updates the document while
it is unposted; a posted document (or one in a closed period) is never overwritten: the change becomes an
item for the accountant. A lost deal marks an unposted document for deletion (never a physical delete).

* **rollout_gate** reads the entity's rollout mode (DAG `rollout`).
* **extract_crm / extract_onec** read changed deals (rows, stage history) and the 1C documents.
* **plan** validates, matches by the deal and queues the writes; **mass_change_breaker** guards them.
* **load_onec** writes each document exactly once (a retry finds the one an interrupted try made).
* **publish** emits `crm1c://invoices` for `sync_payments`.

Runs when counterparties or nomenclature publish, and hourly (a paused entity catches up when resumed).
A deal waiting for an item or a counterparty that is not synced yet, or for a currency rate, waits in
quarantine with the reason and goes as soon as that is there. Rules: `include/mappings/invoices.yaml`.
"""

from __future__ import annotations

from airflow.sdk import Asset, dag

from crm1c.operators import (
    Bitrix24ExtractOperator,
    MassChangeBreakerOperator,
    OneCExtractOperator,
    OneCLoadOperator,
    RolloutGateOperator,
    SyncPlanOperator,
    SyncPublishOperator,
)
from crm1c.operators.entity_dag import after_entities, entity_dag_settings
from crm1c.sync.entities import entity

INVOICES = entity("invoices")
SCHEDULE = after_entities(entity("counterparties"), entity("nomenclature"), cron="15 * * * *")


@dag(**entity_dag_settings(INVOICES, schedule=SCHEDULE, doc_md=__doc__))
def sync_invoices():
    mode, pool = "{{ params.mode }}", "{{ params.onec_pool }}"
    rollout_gate = RolloutGateOperator(task_id="rollout_gate")
    extract_crm = Bitrix24ExtractOperator(task_id="extract_crm", mode=mode)
    extract_onec = OneCExtractOperator(task_id="extract_onec", mode=mode, onec_pool=pool)
    plan = SyncPlanOperator(task_id="plan")
    breaker = MassChangeBreakerOperator(task_id="mass_change_breaker")
    load_onec = OneCLoadOperator(task_id="load_onec", onec_pool=pool)
    publish = SyncPublishOperator(task_id="publish", outlets=[Asset(INVOICES.asset_uri)])

    rollout_gate >> [extract_crm, extract_onec]
    [extract_crm, extract_onec] >> plan >> breaker >> load_onec >> publish


sync_invoices()
