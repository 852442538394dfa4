"""The engine's four entry points, one per DAG step, for any entity (plain Python, no Airflow import).

Each takes the :class:`~crm1c.sync.entities.EntityRef` and a ready :class:`~crm1c.sync.runtime.SyncEnv`
(clients, staging, validated mapping), runs the generic engine (:mod:`crm1c.sync.engine`) on the entity's
:class:`~crm1c.sync.spec.EntitySpec` and returns the step's counters (small: fit for XCom).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crm1c.sync.engine.load_crm import load_crm
from crm1c.sync.engine.load_onec import load_onec
from crm1c.sync.engine.plan import plan as engine_plan
from crm1c.sync.engine.publish import publish as engine_publish
from crm1c.sync.entities import EntityRef
from crm1c.sync.runtime import SyncEnv

#: The systems a pipeline function accepts as ``system``.
SYSTEMS = ("crm", "onec")
#: The extract modes.
MODES = ("incremental", "full")


def extract(entity: EntityRef, env: SyncEnv, system: str, mode: str) -> dict[str, Any]:
    """Read what changed in ``system`` (``"crm"`` | ``"onec"``) into staging; ``mode`` full also
    detects deletions."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    reader = _for_system(entity.spec().readers, system)
    if reader is not None:
        reader(env, mode)
    return dict(env.counters)


def plan(entity: EntityRef, env: SyncEnv) -> dict[str, Any]:
    """Validate, match and merge what was extracted; queue the writes (write intents)."""
    return engine_plan(entity.spec(), env)


def load(entity: EntityRef, env: SyncEnv, system: str) -> dict[str, Any]:
    """Execute the queued writes into ``system`` exactly once (nothing when the entity never writes there)."""
    spec = entity.spec()
    if _for_system(spec.writers, system) is None:
        return dict(env.counters)
    return load_crm(spec, env) if system == "crm" else load_onec(spec, env)


def publish(entity: EntityRef, env: SyncEnv) -> dict[str, Any]:
    """Advance the cursors, verify the audit chain and return the run's totals."""
    return engine_publish(entity.spec(), env)


def _for_system(parts: Mapping[str, Any], system: str) -> Any:
    if system not in SYSTEMS:
        raise ValueError(f"system must be one of {', '.join(SYSTEMS)}, got {system!r}")
    return parts.get(system)
