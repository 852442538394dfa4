"""Rollout modes per entity: ``off``, ``shadow``, ``pilot``, ``read_only``, ``review``, ``on``.

Plain Python, no Airflow import. :mod:`.modes` says what a mode means for a run (:class:`RunPolicy`),
:mod:`.defaults` reads the fresh-installation defaults (``include/mappings/rollout.yaml``), :mod:`.pilot`
checks pilot filters; :func:`effective_policy` combines them with the mode set in staging (which wins).
"""

from __future__ import annotations

from typing import Any

from crm1c.rollout.defaults import (
    RolloutConfigError,
    RolloutDefaults,
    active_profile,
    load_rollout_defaults,
)
from crm1c.rollout.modes import Mode, RunPolicy, policy_for
from crm1c.rollout.pilot import PilotFilter, check_pilot_filter, pilot_predicate

__all__ = [
    "Mode",
    "PilotFilter",
    "RolloutConfigError",
    "RolloutDefaults",
    "RunPolicy",
    "active_profile",
    "check_pilot_filter",
    "effective_policy",
    "load_rollout_defaults",
    "pilot_predicate",
    "policy_for",
]


def effective_policy(
    staging: Any,
    entity: str,
    defaults: RolloutDefaults,
    *,
    profile: str | None = None,
    dry_run: bool = False,
    posts_documents: bool = False,
) -> RunPolicy:
    """The policy of a run of ``entity``: the mode set in staging if any, else the default of ``profile``."""
    row = staging.get_mode(entity)
    if row is not None:
        source = f"set by {row.changed_by} at {row.changed_at:%Y-%m-%d %H:%M} UTC"
        mode, pilot_filter = row.mode, row.pilot_filter
    else:
        source = f"default of {defaults.source} (profile {profile or 'defaults'})"
        mode, pilot_filter = defaults.mode(entity, profile), None
    return policy_for(
        entity,
        mode,
        pilot_filter=pilot_filter,
        source=source,
        dry_run=dry_run,
        posts_documents=posts_documents,
    )
