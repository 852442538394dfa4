"""Run one step of an entity's sync inside an Airflow task.

The DAG file only wires tasks; each task calls :func:`run_step`, which builds the clients from the
connections, validates the mapping, runs the plain-Python step and records its counters.
"""

from __future__ import annotations

import importlib
import logging
from datetime import UTC, datetime
from typing import Any

from airflow.sdk.exceptions import AirflowException, AirflowFailException

from crm1c.clients.errors import AuthError
from crm1c.hooks.bitrix24 import Bitrix24Hook
from crm1c.hooks.onec import OneCODataHook
from crm1c.hooks.staging import StagingHook
from crm1c.mapping.loader import MappingError, load_counterparty_mapping
from crm1c.sync.runtime import SyncEnv

log = logging.getLogger("crm1c.tasks")

ENTITIES = {"counterparty": ("crm1c.sync.counterparties", load_counterparty_mapping)}
#: Which systems a step talks to (the others are not even connected).
STEP_SYSTEMS = {
    "extract_crm": ("crm",),
    "extract_onec": ("onec",),
    "plan": (),
    "load_onec": ("onec",),
    "load_crm": ("crm",),
    "publish": (),
}


def run_step(entity: str, step: str, *, run_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """Run ``step`` of ``entity`` for this DAG run; returns the step's counters (small: safe for XCom)."""
    module_name, load_mapping = ENTITIES[entity]
    try:
        mapping = load_mapping()
    except MappingError as exc:
        raise AirflowFailException(f"the mapping is invalid, nothing was synced:\n{exc}") from None
    staging = StagingHook().get_staging()
    systems = STEP_SYSTEMS[step]
    env = SyncEnv(
        staging=staging,
        mapping=mapping,
        run_id=run_id,
        crm=Bitrix24Hook().get_client() if "crm" in systems else None,
        onec=OneCODataHook().get_client() if "onec" in systems else None,
        dry_run=bool(params.get("dry_run")),
        onec_pool=int(params.get("onec_pool", 4)),
    )
    fn = getattr(importlib.import_module(module_name), step)
    started = datetime.now(UTC)
    try:
        result = fn(env, params.get("mode", "incremental")) if step.startswith("extract") else fn(env)
    except AuthError as exc:
        raise AirflowFailException(str(exc)) from None  # retrying cannot fix credentials
    finally:
        if step != "publish":
            staging.record_run_stats(run_id, entity, step, started, datetime.now(UTC), dict(env.counters))
    left = sum(v for k, v in env.counters.items() if k.endswith("_left_pending"))
    if left:
        raise AirflowException(
            f"{left} write(s) could not be confirmed; the retry looks them up before writing"
        )
    log.info("%s %s: %s", entity, step, dict(result))
    return dict(result)
