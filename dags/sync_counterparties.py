"""
### Counterparties both ways (Bitrix24 ⇄ 1С:Бухгалтерия)

Companies with their requisites from the CRM become `Catalog_Контрагенты` in 1C, and counterparties
that exist only in 1C appear in the CRM — matched by ИНН+КПП (ИП: ИНН), never duplicated.

* **rollout_gate** reads the entity's rollout mode (DAG `rollout` sets it) and logs what it means for
  this run: `off` skips the run, `shadow` plans and lists what would change without writing, `pilot`
  syncs only the pilot's records, `read_only` writes the CRM only (writes to 1C wait), `review`/`on` sync.
* **extract_crm / extract_onec** read what changed since the last run into the staging database.
* **plan** validates (ИНН/КПП, required fields), matches, merges edits made on both sides (the owning
  system wins, the other value goes to the conflict list) and queues the writes.
* **mass_change_breaker** lets an ordinary run through; one that would change more than a set share of the
  linked counterparties (`include/mappings/alerts.yaml`, `thresholds`) alerts on-call and waits for a
  person: *Required actions* → Approve (the writes go through) or Reject (nothing is written).
* **load_onec / load_crm** make each write exactly once (write intents; after a crash the record is
  looked up before anything is created again).
* **publish** advances the watermarks, emits the `crm1c://counterparties` asset for the next DAG and
  alerts on-call when the quarantine grows or the Bitrix24 rate budget runs out.

Records that cannot be synced wait in quarantine with a reason (see the task log of *plan*);
the rest of the exchange goes on. Params: `mode` = incremental | full (full also detects deletions),
`dry_run` = plan and report, write nothing. Rules: `include/mappings/counterparties.yaml`.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Asset, dag

from crm1c.operators import (
    Bitrix24ExtractOperator,
    Bitrix24LoadOperator,
    MassChangeBreakerOperator,
    OneCExtractOperator,
    OneCLoadOperator,
    RolloutGateOperator,
    SyncPlanOperator,
    SyncPublishOperator,
)
from crm1c.operators.entity_dag import entity_dag_settings
from crm1c.sync.entities import entity

COUNTERPARTIES = entity("counterparties")


@dag(**entity_dag_settings(COUNTERPARTIES, schedule=timedelta(hours=1), doc_md=__doc__))
def sync_counterparties():
    mode, pool = "{{ params.mode }}", "{{ params.onec_pool }}"
    rollout_gate = RolloutGateOperator(task_id="rollout_gate")
    extract_crm = Bitrix24ExtractOperator(task_id="extract_crm", mode=mode)
    extract_onec = OneCExtractOperator(task_id="extract_onec", mode=mode, onec_pool=pool)
    plan = SyncPlanOperator(task_id="plan")
    breaker = MassChangeBreakerOperator(task_id="mass_change_breaker")
    load_onec = OneCLoadOperator(task_id="load_onec", onec_pool=pool)
    load_crm = Bitrix24LoadOperator(task_id="load_crm")
    publish = SyncPublishOperator(task_id="publish", outlets=[Asset(COUNTERPARTIES.asset_uri)])

    rollout_gate >> [extract_crm, extract_onec]
    [extract_crm, extract_onec] >> plan >> breaker >> load_onec >> load_crm >> publish


sync_counterparties()
