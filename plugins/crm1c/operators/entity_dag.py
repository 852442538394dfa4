"""What every entity DAG (``sync_<entity>``) shares: its default arguments and its Params.

A DAG file stays wiring only: ``@dag(**entity_dag_settings(ref, schedule=...))`` and its tasks.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Asset, AssetOrTimeSchedule, CronTriggerTimetable, Param

from crm1c.sync.entities import EntityRef


def after_entities(*upstream: EntityRef, cron: str) -> AssetOrTimeSchedule:
    """Run when any ``upstream`` entity publishes its asset, and on ``cron`` too: Airflow starts no
    asset-triggered run on unpause, so a paused entity catches up on its time schedule when resumed."""
    assets = Asset(upstream[0].asset_uri)
    for ref in upstream[1:]:
        assets = assets | Asset(ref.asset_uri)  # type: ignore[assignment]
    return AssetOrTimeSchedule(timetable=CronTriggerTimetable(cron, timezone="UTC"), assets=assets)


def entity_dag_settings(ref: EntityRef, *, schedule: Any, doc_md: str | None) -> dict[str, Any]:
    """The ``@dag`` keyword arguments of the entity's sync DAG: retries with backoff, one run at a time,
    and the Params ``mode`` (incremental | full), ``dry_run`` and ``onec_pool``."""
    return {
        "dag_id": f"sync_{ref.name}",
        "schedule": schedule,
        "start_date": datetime(2026, 1, 1),
        "catchup": False,
        "max_active_runs": 1,
        "doc_md": doc_md,
        "tags": ["crm1c", ref.name],
        "default_args": {
            "owner": "crm1c",
            "retries": 3,
            "retry_delay": timedelta(seconds=30),
            "retry_exponential_backoff": True,
            "max_retry_delay": timedelta(minutes=10),
            "entity": ref.name,
            "dry_run": "{{ params.dry_run }}",
        },
        "params": {
            "mode": Param(
                "incremental", enum=["incremental", "full"], description="full also detects deletions"
            ),
            "dry_run": Param(False, type="boolean", description="plan and report only; write nothing"),
            "onec_pool": Param(
                4, type="integer", minimum=1, maximum=16, description="parallel 1C connections"
            ),
        },
    }
