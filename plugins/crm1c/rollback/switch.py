"""Rollback and resume, entity by entity: the DAG paused or unpaused, the mode, compensation, the audit rows.

The Airflow REST API is behind :class:`DagControl` (the operator passes ``AirflowApiHook``), staging is a
:class:`crm1c.staging.Staging`. Every step may run again (a task retry): pausing and setting a mode twice
change nothing, a second rollback keeps the mode the first remembered, an object marked already is skipped,
and the catch-up run has a fixed id (triggered once).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from crm1c.rollback.compensate import Compensated, compensate_one
from crm1c.rollback.history import (
    ModeBefore,
    created_in_onec,
    last_switch,
    mode_before_rollback,
    restore_target,
)
from crm1c.sync.engine.records import canonical
from crm1c.sync.entities import entity as entity_ref


class DagControl(Protocol):
    def is_paused(self, dag_id: str) -> bool: ...
    def set_paused(self, dag_id: str, paused: bool) -> None: ...
    def running_runs(self, dag_id: str) -> list[str]: ...
    def trigger(self, dag_id: str, run_id: str, note: str) -> str: ...


@dataclass
class SwitchEnv:
    """What a switch run works with. ``default_mode``: an entity's ``rollout.yaml`` default (no mode set);
    ``onec``: opens the 1C client (compensation only); ``wait_s``: how long a rollback waits for a sync run
    already running to finish before it compensates."""

    staging: Any
    dags: DagControl
    actor: str
    run_id: str
    default_mode: Callable[[str], str]
    onec: Callable[[], Any]
    wait_s: float = 600.0
    poll_s: float = 5.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic


@dataclass(frozen=True)
class RolledBack:
    entity: str
    dag_id: str
    was_paused: bool
    mode_from: str
    mode_to: str
    still_running: list[str] = field(default_factory=list)
    compensated: list[Compensated] | None = None  # None: compensation not asked for

    def summary(self) -> dict[str, Any]:
        """Modes and counts (the task's XCom)."""
        counts = None if self.compensated is None else dict(Counter(c.result for c in self.compensated))
        return {
            "from": self.mode_from,
            "to": self.mode_to,
            "compensated": counts,
            "running": self.still_running,
        }


@dataclass(frozen=True)
class Resumed:
    entity: str
    dag_id: str
    mode_from: str
    mode_to: str
    catch_up_run: str
    rollback_id: int | None  # the audit row the mode was restored from (None: no rollback on record)

    def summary(self) -> dict[str, Any]:
        return {"from": self.mode_from, "to": self.mode_to, "catch_up_run": self.catch_up_run}


def dag_id(entity: str) -> str:
    return f"sync_{entity}"


def roll_back(env: SwitchEnv, entity: str, target_mode: str, since: datetime | None) -> RolledBack:
    """Pause, wait for a running sync, set ``target_mode`` remembering the mode before (one transaction with
    the ``rollback`` audit row), then compensate what crm1c created in 1C since ``since`` (None: don't)."""
    dag = dag_id(entity)
    was_paused = env.dags.is_paused(dag)
    env.dags.set_paused(dag, True)
    running = _wait_idle(env, dag)
    before = mode_before_rollback(last_switch(env.staging, entity), _current(env, entity))
    detail: dict[str, Any] = {"from": before.mode, "pilot_filter": before.pilot_filter, "to": target_mode}
    detail |= {"dag_id": dag, "was_paused": was_paused, "since": since, "still_running": running}
    with env.staging.transaction() as conn:
        env.staging.set_mode(entity, target_mode, actor=env.actor, run_id=env.run_id, conn=conn)
        env.staging.audit(env.actor, env.run_id, entity, None, "rollback", None, "done", detail, conn=conn)
    done = None if since is None else _compensate(env, entity, since)
    return RolledBack(entity, dag, was_paused, before.mode, target_mode, running, done)


def resume(env: SwitchEnv, entity: str) -> Resumed:
    """Set the mode the last rollback remembered (``on`` without one), unpause, trigger a catch-up run (an
    unpaused DAG does not start the asset-triggered runs it missed), then the ``resume`` audit row."""
    dag = dag_id(entity)
    target, current = restore_target(last_switch(env.staging, entity)), _current(env, entity)
    env.staging.set_mode(
        entity, target.mode, pilot_filter=target.pilot_filter, actor=env.actor, run_id=env.run_id
    )
    env.dags.set_paused(dag, False)
    note = f"catch-up after resume by {env.actor} (rollback_switch {env.run_id})"
    run = env.dags.trigger(dag, f"resume__{env.run_id}", note)
    detail: dict[str, Any] = {"from": current.mode, "to": target.mode, "pilot_filter": target.pilot_filter}
    detail |= {"dag_id": dag, "catch_up_run": run, "rollback_audit_id": target.rollback_id}
    env.staging.audit(env.actor, env.run_id, entity, None, "resume", None, "done", detail)
    return Resumed(entity, dag, current.mode, target.mode, run, target.rollback_id)


def _current(env: SwitchEnv, entity: str) -> ModeBefore:
    row = env.staging.get_mode(entity)
    return ModeBefore(row.mode, row.pilot_filter) if row else ModeBefore(env.default_mode(entity))


def _wait_idle(env: SwitchEnv, dag: str) -> list[str]:
    """The runs of ``dag`` still running after up to ``wait_s`` seconds (pausing does not stop them)."""
    deadline = env.clock() + env.wait_s
    while (running := env.dags.running_runs(dag)) and env.clock() < deadline:
        env.sleep(env.poll_s)
    return running


def _compensate(env: SwitchEnv, entity: str, since: datetime) -> list[Compensated]:
    """Each 1C object crm1c created since ``since``, compensated and audited (``op=compensate``) in turn."""
    ref = entity_ref(entity)
    spec = ref.spec()
    writer = spec.writers.get("onec")
    refs = created_in_onec(env.staging, ref.key, since)
    if writer is None or not refs:  # never written to 1C, or nothing created since
        return []
    seen = env.staging.seen_records("onec", ref.key, external_ids=refs, include_deleted=True)
    values = {r.external_id: canonical(spec, r) for r in seen}  # the set each object lives in
    done: list[Compensated] = []
    onec = env.onec()
    try:
        for key in refs:
            item = compensate_one(onec, writer.entity_set(values.get(key)), key)
            detail = {"entity_set": item.entity_set, "title": item.title, "reason": item.reason}
            env.staging.audit(
                env.actor, env.run_id, ref.key, f"onec:{key}", "compensate", "onec", item.result, detail
            )
            done.append(item)
    finally:
        onec.close()
    return done
