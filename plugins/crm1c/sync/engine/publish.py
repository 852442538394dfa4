"""Publish: promote the run's cursors (only now that its writes are done) and sum up the run."""

from __future__ import annotations

from typing import Any

from crm1c.sync.engine import cursors
from crm1c.sync.runtime import SyncEnv
from crm1c.sync.spec import EntitySpec

#: Counters every entity's run reports (an entity adds its own in ``EntitySpec.summed``); the ``crm_*``
#: request counters are the Bitrix24 client's, added by the operators (:mod:`crm1c.watch.budget`).
SUMMED = (
    "crm_read",
    "onec_read",
    "crm_changed",
    "onec_changed",
    "quarantined",
    "conflicts",
    "matched",
    "onec_create",
    "onec_update",
    "onec_mark_deleted",
    "onec_adopted",
    "onec_lookups",
    "crm_create",
    "crm_update",
    "crm_mark_deleted",
    "crm_adopted",
    "onec_left_pending",
    "crm_left_pending",
    "planned_changes_existing",
    "crm_requests",
    "crm_http_503",
    "crm_http_429",
    "crm_limiter_wait_ms",
)


def publish(spec: EntitySpec, env: SyncEnv) -> dict[str, Any]:
    """Advance the cursors, audit the run and return the counts for the asset event."""
    if not env.dry_run:
        env.checkpoint("before_watermark")
        cursors.promote(env, spec.key)
    totals: dict[str, Any] = dict.fromkeys((*SUMMED, *spec.summed), 0)
    for stats in env.staging.run_stats(env.run_id):
        for key, value in (stats.counters or {}).items():
            if key in totals:
                totals[key] += value
    totals["open_quarantine"] = len(env.staging.open_quarantine(spec.key))
    totals["open_conflicts"] = len(env.staging.open_conflicts(spec.key))
    totals["dry_run"] = env.dry_run
    ok, _bad = env.staging.verify_audit_chain()
    totals["audit_chain_ok"] = ok
    if not env.dry_run:
        env.staging.audit(env.actor, env.run_id, spec.key, None, "run", "crm1c", "published", totals)
    return totals
