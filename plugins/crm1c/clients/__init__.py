"""Plain-Python clients of the external systems (no Airflow imports): Bitrix24 REST and 1C OData."""

from __future__ import annotations

from crm1c.clients.bitrix24 import Bitrix24Client
from crm1c.clients.bitrix24_batch import BatchResult
from crm1c.clients.errors import (
    AuthError,
    ExternalSystemError,
    NotFound,
    OutcomeUnknown,
    PeriodClosed,
    PreconditionFailed,
    RateLimited,
    RetryableError,
    ValidationRejected,
)
from crm1c.clients.onec import OneCClient
from crm1c.clients.ratelimit import PLANS, BucketSpec, LocalBucket, NoLimit, RateLimiter
from crm1c.clients.retry import RetryPolicy

__all__ = [
    "PLANS",
    "AuthError",
    "BatchResult",
    "Bitrix24Client",
    "BucketSpec",
    "ExternalSystemError",
    "LocalBucket",
    "NoLimit",
    "NotFound",
    "OneCClient",
    "OutcomeUnknown",
    "PeriodClosed",
    "PreconditionFailed",
    "RateLimited",
    "RateLimiter",
    "RetryPolicy",
    "RetryableError",
    "ValidationRejected",
]
