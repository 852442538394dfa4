"""What a check reads from (:class:`ReconcileEnv`) and what a check is (:class:`Check`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from crm1c.reconcile.config import ReconciliationConfig
from crm1c.reconcile.links import SystemLinks
from crm1c.reconcile.model import CheckResult, Period


@dataclass(frozen=True)
class ReconcileEnv:
    """The systems (plain clients, used for reads only), staging, the tolerances and the period."""

    crm: Any  # crm1c.clients.Bitrix24Client
    onec: Any  # crm1c.clients.OneCClient
    staging: Any  # crm1c.staging.Staging
    config: ReconciliationConfig
    links: SystemLinks
    period: Period
    run_id: str
    #: what a run read once and several checks use (e.g. the money checks' ``money`` sides)
    cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


class Check(Protocol):
    """One comparison of the reconciliation (counterparties, invoices, revenue, payments, receivables)."""

    @property
    def name(self) -> str:
        """The check's key in the report and its totals (``counterparties``, ``invoices``, …)."""
        ...

    def run(self, env: ReconcileEnv) -> CheckResult:
        """Read what it compares and return the differences with the totals."""
        ...
