"""Child-process body for the shared SQL bucket tests (imported by multiprocessing 'spawn' children)."""

from __future__ import annotations

import time

import sqlalchemy as sa

from crm1c.clients.ratelimit import BucketSpec
from crm1c.staging.ratelimit import SqlBucket


def hammer(url: str, key: str, drain: float, burst: int, n: int, start_at: float) -> list[float]:
    """Wait until ``start_at``, then acquire ``n`` slots; return the wall-clock send times."""
    engine = sa.create_engine(url)
    bucket = SqlBucket(engine, key, BucketSpec(drain, burst, margin=0))
    time.sleep(max(0.0, start_at - time.time()))
    sent = []
    for _ in range(n):
        bucket.acquire()
        sent.append(time.time())
    engine.dispose()
    return sent
