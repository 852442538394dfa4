"""A money check: reads the money sides once per run (:func:`~crm1c.reconcile.money_sources.money_sides`)
and compares them with a pure function of the sides, the period, the tolerances and the record links."""

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
    """A :class:`~crm1c.reconcile.env.Check` made of a comparison (``compare_invoices``, …)."""

    name: str
    compare: Compare

    def run(self, env: ReconcileEnv) -> CheckResult:
        sides = money_sides(env)
        return self.compare(sides, env.period, env.config.money, MoneyRefs(env.links, sides))
