"""A money check: reads the money sides once per run (:func:`~crm1c.reconcile.money_sources.money_sides`)
and compares them with a pure function of the sides, the period, the tolerances and the record links.

It compares only once the entities it checks are synced in full: each entity it ``needs`` must be in a
rollout mode that writes the given system for every record (``invoices`` writing 1C: ``on`` or ``review``;
``payments`` writing the CRM: also ``read_only``). Before that — ``off``, ``shadow``, ``pilot`` — a deal
without a document in 1C is no drift, so the check is reported as not checked, with the modes (the mode set
in staging, else the default of ``include/mappings/rollout.yaml`` and ``CRM1C_ROLLOUT_PROFILE``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from crm1c.reconcile.config import MoneyTolerances
from crm1c.reconcile.env import ReconcileEnv
from crm1c.reconcile.model import CheckResult, Period
from crm1c.reconcile.money_refs import MoneyRefs
from crm1c.reconcile.money_sources import MoneySides, money_sides

Compare = Callable[[MoneySides, Period, MoneyTolerances, MoneyRefs], CheckResult]


@dataclass(frozen=True)
class MoneyCheck:
    """A :class:`~crm1c.reconcile.env.Check` made of a comparison (``compare_invoices``, …); ``needs``:
    ``(entity, system)`` pairs that must be synced in full (see the module docstring)."""

    name: str
    title: tuple[str, str]
    compare: Compare
    needs: tuple[tuple[str, str], ...] = (("invoices", "onec"),)

    def run(self, env: ReconcileEnv) -> CheckResult:
        waiting = not_synced(env, self.needs)
        if waiting:
            return CheckResult.not_checked(self.name, self.title, f"not synced yet: {', '.join(waiting)}")
        sides = money_sides(env)
        return self.compare(sides, env.period, env.config.money, MoneyRefs(env.links, sides))


def not_synced(env: ReconcileEnv, needs: tuple[tuple[str, str], ...]) -> list[str]:
    """``sync_<entity> <mode>`` for each needed entity whose mode does not write ``system`` in full."""
    from crm1c.rollout import Mode, active_profile, effective_policy, load_rollout_defaults

    if "rollout" not in env.cache:
        env.cache["rollout"] = (load_rollout_defaults(), active_profile())
    defaults, profile = env.cache["rollout"]
    waiting = []
    for entity, system in needs:
        policy = effective_policy(env.staging, entity, defaults, profile=profile)
        if policy.mode in (Mode.OFF, Mode.SHADOW, Mode.PILOT) or not policy.writes(system):
            waiting.append(f"sync_{entity} {policy.mode}")
    return waiting
