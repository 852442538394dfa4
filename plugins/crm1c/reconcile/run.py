"""The reconciliation's entry point: run every check, collect a :class:`~crm1c.reconcile.model.Report`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from crm1c.reconcile.counterparties import CounterpartyCheck
from crm1c.reconcile.env import Check, ReconcileEnv
from crm1c.reconcile.model import Report

#: The checks a reconciliation runs, in report order (money checks join with the money flows).
CHECKS: tuple[Check, ...] = (CounterpartyCheck(),)


def reconcile(
    env: ReconcileEnv,
    checks: Sequence[Check] = CHECKS,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Report:
    """Run ``checks`` against ``env``; nothing is written anywhere (storing and sending are the caller's)."""
    started = clock()
    results = [check.run(env) for check in checks]
    return Report(env.run_id, started, clock(), env.period, results)
