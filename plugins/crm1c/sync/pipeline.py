"""The engine's four entry points, one per DAG step, for any entity (plain Python, no Airflow import).

Each takes the :class:`~crm1c.sync.entities.EntityRef` and a ready :class:`~crm1c.sync.runtime.SyncEnv`
(clients, staging, validated mapping) and returns the step's counters (small: fit for XCom).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
    steps = _steps(entity)
    return dict(_pick(steps.extract_crm, steps.extract_onec, system)(env, mode))


def plan(entity: EntityRef, env: SyncEnv) -> dict[str, Any]:
    """Validate, match and merge what was extracted; queue the writes (write intents)."""
    return dict(_steps(entity).plan(env))


def load(entity: EntityRef, env: SyncEnv, system: str) -> dict[str, Any]:
    """Execute the queued writes into ``system`` exactly once."""
    steps = _steps(entity)
    return dict(_pick(steps.load_crm, steps.load_onec, system)(env))


def publish(entity: EntityRef, env: SyncEnv) -> dict[str, Any]:
    """Advance the watermarks, verify the audit chain and return the run's totals."""
    return dict(_steps(entity).publish(env))


def _steps(entity: EntityRef) -> Any:
    if entity.name != "counterparties":
        raise ValueError(f"no sync engine for entity {entity.name!r}")
    from crm1c.sync import counterparties

    return counterparties


def _pick(crm: Callable[..., Any], onec: Callable[..., Any], system: str) -> Callable[..., Any]:
    if system == "crm":
        return crm
    if system == "onec":
        return onec
    raise ValueError(f"system must be one of {', '.join(SYSTEMS)}, got {system!r}")
