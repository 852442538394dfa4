"""
### Nomenclature from 1C to the CRM catalog (1С:Бухгалтерия → Bitrix24)

Goods and services of `Catalog_Номенклатура` (not folders) become products and services of the Bitrix24
catalog: name, article, unit (ОКЕИ), the VAT rate in force today (from the item's VAT kind and its
history, `include/mappings/vat.yaml`) and the current price of the configured 1C price type in its
currency. 1C is the master: a CRM edit of these fields is listed as a conflict and overwritten; a deletion
mark in 1C deactivates the CRM product. Matching: the stored link (the product's `xmlId` = 1C `Ref_Key`),
then the article, then the 1C code (the CRM product's symbolic code).

* **rollout_gate** reads the entity's rollout mode (DAG `rollout`) and logs what it means for this run.
* **extract_crm / extract_onec** read what changed (in 1C: items, and the price slice of today).
* **plan** validates, matches and merges (1C wins) and queues the writes to the CRM.
* **mass_change_breaker** stops a run that would change too many products and waits for a person.
* **load_crm** writes each product and its price exactly once (batched).
* **publish** advances the watermarks and emits `crm1c://nomenclature` for `sync_invoices`.

Params: `mode` = incremental | full (full also detects deletions and prices edited in the CRM),
`dry_run` = plan and report, write nothing. Rules: `include/mappings/nomenclature.yaml`.
"""

from __future__ import annotations

from datetime import timedelta

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
from crm1c.operators.entity_dag import entity_dag_settings
from crm1c.sync.entities import entity

NOMENCLATURE = entity("nomenclature")


@dag(**entity_dag_settings(NOMENCLATURE, schedule=timedelta(hours=1), doc_md=__doc__))
def sync_nomenclature():
    mode, pool = "{{ params.mode }}", "{{ params.onec_pool }}"
    rollout_gate = RolloutGateOperator(task_id="rollout_gate")
    extract_crm = Bitrix24ExtractOperator(task_id="extract_crm", mode=mode)
    extract_onec = OneCExtractOperator(task_id="extract_onec", mode=mode, onec_pool=pool)
    plan = SyncPlanOperator(task_id="plan")
    breaker = MassChangeBreakerOperator(task_id="mass_change_breaker")
    load_crm = Bitrix24LoadOperator(task_id="load_crm")
    publish = SyncPublishOperator(task_id="publish", outlets=[Asset(NOMENCLATURE.asset_uri)])

    rollout_gate >> [extract_crm, extract_onec]
    [extract_crm, extract_onec] >> plan >> breaker >> load_crm >> publish


sync_nomenclature()
