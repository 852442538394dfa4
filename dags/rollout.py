"""
### Rollout: set an entity's mode (Trigger DAG w/ config)

Choose the **entity** (as in the DAG ids: `counterparties` is `sync_counterparties`) and the **mode**:

| mode | what the entity's next runs do |
|---|---|
| `off` | nothing: every task is skipped |
| `shadow` | read both systems, plan everything, write nothing; the *plan* task lists what would change |
| `pilot` | sync only the records matching **pilot_filter** (below); the others wait until the entity is on |
| `read_only` | 1C → CRM only; changes for 1C wait in the outbox and go out once the entity is back on |
| `review` | write, but 1C documents stay unposted and postings await approval (counterparties: as `on`) |
| `on` | sync both ways |

**pilot_filter** keys (any one matching is enough): `inn` (ИНН list), `companies` (Bitrix24 company ids),
`assigned_by` (the responsible user's id, `ASSIGNED_BY_ID`), e.g. `{"inn": ["7707083893", "7728145639"]}`.

The change is kept in the staging database and in the audit log (who triggered it, when, from → to).
Until someone sets a mode, the default of `include/mappings/rollout.yaml` applies. The pause toggle
of an entity's DAG still stops it outright.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Param, dag

from crm1c.operators import RolloutSetModeOperator
from crm1c.rollout import Mode
from crm1c.sync.entities import ENTITY_NAMES


@dag(
    dag_id="rollout",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["crm1c", "control"],
    render_template_as_native_obj=True,
    params={
        "entity": Param(type="string", enum=list(ENTITY_NAMES), description="the entity, as in DAG ids"),
        "mode": Param(type="string", enum=[m.value for m in Mode], description="the new rollout mode"),
        "pilot_filter": Param(
            {},
            type="object",
            description='mode pilot only: {"inn": [...]}, {"companies": [...]} or {"assigned_by": [...]}',
        ),
    },
)
def rollout():
    RolloutSetModeOperator(
        task_id="set_mode",
        entity="{{ params.entity }}",
        mode="{{ params.mode }}",
        pilot_filter="{{ params.pilot_filter }}",
    )


rollout()
