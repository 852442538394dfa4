"""The reconciliation's entry point: run every check, collect a :class:`~crm1c.reconcile.model.Report`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from crm1c.reconcile.counterparties import CounterpartyCheck
from crm1c.reconcile.env import Check, ReconcileEnv
from crm1c.reconcile.invoices import INVOICE_CHECK
from crm1c.reconcile.model import Report
from crm1c.reconcile.payments import PAYMENT_CHECK
from crm1c.reconcile.receivables import RECEIVABLES_CHECK
from crm1c.reconcile.revenue import REVENUE_CHECK

#: The checks a reconciliation runs, in report order; the money ones share one read (``money_sources``).
CHECKS: tuple[Check, ...] = (
    CounterpartyCheck(),
    INVOICE_CHECK,
    REVENUE_CHECK,
    PAYMENT_CHECK,
    RECEIVABLES_CHECK,
)
COUNTERPARTIES_ONLY: tuple[Check, ...] = (CounterpartyCheck(),)


def reconcile(
    env: ReconcileEnv,
    checks: Sequence[Check] = CHECKS,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Report:
    """Run ``checks`` against ``env``; nothing is written anywhere (storing and sending are the caller's)."""
    started = clock()
    results = [check.run(env) for check in checks]
    return Report(env.run_id, started, clock(), env.period, results)
