"""Airflow operators of the crm1c sync: one per step and system, named ``<System><Verb>Operator``.

They build what a step needs from Airflow Connections (``bitrix24_default``, ``onec_default``,
``crm1c_staging``) and call the engine through :mod:`crm1c.sync.pipeline`; no HTTP code here.
Importing them is cheap (hooks, clients and SQLAlchemy are imported when a task runs).
"""

from __future__ import annotations

from crm1c.operators.base import SyncStepOperator
from crm1c.operators.bitrix24 import Bitrix24ExtractOperator, Bitrix24LoadOperator, Bitrix24Operator
from crm1c.operators.breaker import MassChangeBreakerOperator
from crm1c.operators.onec import OneCExtractOperator, OneCLoadOperator, OneCOperator
from crm1c.operators.reconcile import ReconcileOperator
from crm1c.operators.rollback import ResumeOperator, RollbackOperator, SwitchOperator
from crm1c.operators.rollout import RolloutGateOperator, RolloutSetModeOperator
from crm1c.operators.steps import ExtractStep, LoadStep, SyncPlanOperator, SyncPublishOperator

__all__ = [
    "Bitrix24ExtractOperator",
    "Bitrix24LoadOperator",
    "Bitrix24Operator",
    "ExtractStep",
    "LoadStep",
    "MassChangeBreakerOperator",
    "OneCExtractOperator",
    "OneCLoadOperator",
    "OneCOperator",
    "ReconcileOperator",
    "ResumeOperator",
    "RollbackOperator",
    "RolloutGateOperator",
    "RolloutSetModeOperator",
    "SwitchOperator",
    "SyncPlanOperator",
    "SyncPublishOperator",
    "SyncStepOperator",
]
