"""
### Rollback switch: a soft rollback of entities, and the way back

**rollback** pauses each chosen entity's DAG (`sync_<entity>`), sets its mode to `read_only` (1C → CRM only;
changes for 1C wait in the outbox) or `off`, and remembers the mode it had. With `compensate`, the 1C
objects crm1c **created** since `since` get a deletion mark (never a physical delete); posted documents are
never touched, they are listed for the accountant. On-call gets an e-mail and a Slack message; every step is
in the audit log (`op` rollback, compensate).

**resume** sets each mode back to what it was before the rollback (`on` if none is on record), unpauses the
DAG and starts a catch-up run (Airflow does not start the asset-triggered runs a paused DAG missed).

Params: `action`, `entities`, `target_mode`, `since` (ISO timestamp, required with `compensate`; no offset
means UTC), `compensate`. The task of the other action is skipped.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Param, dag

from crm1c.operators import ResumeOperator, RollbackOperator
from crm1c.sync.entities import ENTITY_NAMES

ENTITIES = list(ENTITY_NAMES)


@dag(
    dag_id="rollback_switch",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["crm1c", "rollout"],
    render_template_as_native_obj=True,
    default_args={"owner": "crm1c"},
    params={
        "action": Param("rollback", enum=["rollback", "resume"], description="roll back, or resume"),
        "entities": Param(
            ENTITIES, type="array", minItems=1, uniqueItems=True, examples=ENTITIES,
            items={"type": "string", "enum": ENTITIES}, description="as in the DAG ids sync_<entity>",
        ),
        "target_mode": Param(
            "read_only", enum=["read_only", "off"], description="rollback: read_only = 1C → CRM only; off"
        ),
        "since": Param(
            None, type=["null", "string"], format="date-time",
            description="rollback: undo what crm1c created in 1C from then on (required with compensate)",
        ),
        "compensate": Param(
            False, type="boolean", description="rollback: deletion marks on unposted 1C objects crm1c created"
        ),
    },
)  # fmt: skip
def rollback_switch():
    chosen = {"action": "{{ params.action }}", "entities": "{{ params.entities }}"}
    RollbackOperator(
        task_id="rollback",
        target_mode="{{ params.target_mode }}",
        since="{{ params.since }}",
        compensate="{{ params.compensate }}",
        **chosen,
    )
    ResumeOperator(task_id="resume", **chosen)


rollback_switch()
