"""
### Payments from 1C to the CRM deals (1С:Бухгалтерия → Bitrix24)

How far each deal is paid, as 1C's bank statement says: the customer receipts
(`Document_ПоступлениеНаРасчетныйСчет`, `ОплатаПокупателя`, by their `РасшифровкаПлатежа`) are allocated to
the invoices crm1c made for the deals (`crm1c:deal:<ID>` in `Комментарий`) — a named invoice first, else the
contract's invoices, else the counterparty's oldest unpaid invoice — and four deal user fields show the
result: the 1C documents («Счет … от …; Реализация … от …»), the status (unpaid, partially_paid, paid,
overpaid), the sum paid and the date of the last payment. Unposted and deletion-marked receipts do not
count; re-running never counts a payment twice. 1C is the master: a CRM edit of these fields is listed as a
conflict and overwritten; nothing is written to 1C.

* **rollout_gate** reads the entity's rollout mode (DAG `rollout`).
* **extract_onec** scans the receipts, invoices and sales by version (three requests when nothing changed)
  and recomputes the deals of the counterparties whose documents changed (every deal on a `full` run).
* **extract_crm** checks the four user fields at the start (a missing one is created) and reads their
  values on the deals 1C knows (after extract_onec: it needs their ids).
* **plan** merges (1C wins) and queues the writes; **mass_change_breaker** guards them.
* **load_crm** writes the changed fields (`crm.deal.update` in batches) and reads each deal back: a value
  the portal did not keep holds the deal with the field named.
* **publish** emits `crm1c://payments`.

Runs when `sync_invoices` publishes (new documents), and every 30 minutes (new receipts come from the bank
statement, not from crm1c). Params: `mode` = incremental | full (full recomputes every deal), `dry_run`.
Rules: `include/mappings/payments.yaml`.
"""

from __future__ import annotations

from airflow.sdk import Asset, dag

from crm1c.operators import (
    Bitrix24ExtractOperator,
    Bitrix24LoadOperator,
    MassChangeBreakerOperator,
    OneCExtractOperator,
    RolloutGateOperator,
    SyncPlanOperator,
    SyncPublishOperator,
)
from crm1c.operators.entity_dag import after_entities, entity_dag_settings
from crm1c.sync.entities import entity

PAYMENTS = entity("payments")
SCHEDULE = after_entities(entity("invoices"), cron="*/30 * * * *")


@dag(**entity_dag_settings(PAYMENTS, schedule=SCHEDULE, doc_md=__doc__))
def sync_payments():
    mode, pool = "{{ params.mode }}", "{{ params.onec_pool }}"
    rollout_gate = RolloutGateOperator(task_id="rollout_gate")
    extract_onec = OneCExtractOperator(task_id="extract_onec", mode=mode, onec_pool=pool)
    extract_crm = Bitrix24ExtractOperator(task_id="extract_crm", mode=mode)
    plan = SyncPlanOperator(task_id="plan")
    breaker = MassChangeBreakerOperator(task_id="mass_change_breaker")
    load_crm = Bitrix24LoadOperator(task_id="load_crm")
    publish = SyncPublishOperator(task_id="publish", outlets=[Asset(PAYMENTS.asset_uri)])

    rollout_gate >> extract_onec >> extract_crm >> plan >> breaker >> load_crm >> publish


sync_payments()
