"""Leaky-bucket math and the in-process bucket (the SQL bucket has its own multi-process tests)."""

from __future__ import annotations

import threading
import time

import pytest

from crm1c.clients.ratelimit import (
    PLANS,
    BucketSpec,
    LocalBucket,
    NoLimit,
    drained,
    plan_spec,
    reserve,
    saturate,
    shared_local_bucket,
)
from crm1c.staging.ratelimit import SqlBucket, make_limiter


def server_max_level(times: list[float], drain: float) -> float:
    """Highest level a server-side leaky bucket reaches for requests arriving at ``times``."""
    level, last, peak = 0.0, None, 0.0
    for t in sorted(times):
        if last is not None:
            level = max(0.0, level - (t - last) * drain)
        level += 1
        peak, last = max(peak, level), t
    return peak


def test_plans_and_margin():
    assert (PLANS["standard"].drain, PLANS["standard"].burst, PLANS["standard"].capacity) == (2.0, 50, 45.0)
    assert (PLANS["enterprise"].drain, PLANS["enterprise"].burst, PLANS["enterprise"].capacity) == (
        5.0,
        250,
        225.0,
    )
    assert BucketSpec(1, 3, margin=0).capacity == 3.0


def test_drain_and_reserve():
    spec = BucketSpec(2.0, 10, margin=0)
    assert drained(5, 1.0, 2.0) == 3.0 and drained(1, 10, 2.0) == 0.0
    assert reserve(0, 0, 0, spec) == (1.0, 0.0)
    assert reserve(9, 100, 100, spec) == (10.0, 0.0)
    assert reserve(10, 100, 100, spec) == (11.0, 0.5)
    assert reserve(12, 100, 101, spec) == (11.0, 0.5)  # drained 2 in 1 s
    assert saturate(3, 0, 0, spec) == 10.0


def test_local_bucket_paces_a_burst_with_a_fake_clock():
    now = [0.0]
    sent = []

    def sleep(s: float) -> None:
        now[0] += s

    bucket = LocalBucket(BucketSpec(2.0, 10, margin=2), clock=lambda: now[0], sleep=sleep)
    for _ in range(40):
        bucket.acquire()
        sent.append(now[0])
    assert sent[7] == 0.0 and sent[8] == pytest.approx(0.5)  # 8 in the burst, then 2/s
    assert sent[-1] == pytest.approx((40 - 8) / 2.0)
    assert server_max_level(sent, 2.0) <= 8.0 + 1e-9


def test_local_bucket_is_thread_safe():
    spec = BucketSpec(50.0, 10, margin=0)
    bucket = LocalBucket(spec)
    sent: list[float] = []
    lock = threading.Lock()

    def worker():
        for _ in range(15):
            bucket.acquire()
            with lock:
                sent.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(sent) == 60
    assert time.monotonic() - start >= (60 - 10) / 50.0 - 0.05
    assert server_max_level(sent, spec.drain) <= spec.burst + 0.5


def test_penalize_makes_the_next_request_wait():
    now = [0.0]
    waits = []
    bucket = LocalBucket(BucketSpec(2.0, 50), clock=lambda: now[0], sleep=waits.append)
    bucket.penalize()
    bucket.acquire()
    assert waits and waits[0] == pytest.approx((50 + 1 - 45) / 2.0)


def test_make_limiter():
    assert isinstance(make_limiter("off"), NoLimit) and isinstance(make_limiter(None), NoLimit)
    assert isinstance(make_limiter("enterprise"), LocalBucket)
    with pytest.raises(ValueError, match="plan must be one of"):
        make_limiter("gold")


def test_make_limiter_shares_a_local_bucket_per_key_and_plan():
    private = make_limiter("standard")
    assert private is not make_limiter("standard"), "no key: a bucket of its own"
    shared = make_limiter("standard", key="bitrix24:portal.test")
    assert shared is make_limiter("standard", key="bitrix24:portal.test")
    assert shared is shared_local_bucket("bitrix24:portal.test:standard", PLANS["standard"])
    assert make_limiter("enterprise", key="bitrix24:portal.test") is not shared


def test_make_limiter_with_an_engine_is_sql_backed(tmp_path):
    import sqlalchemy as sa

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'rl.db'}")
    limiter = make_limiter("enterprise", engine=engine, key="bitrix24:portal.test")
    assert isinstance(limiter, SqlBucket)
    assert (limiter.key, limiter.spec) == ("bitrix24:portal.test", PLANS["enterprise"])
    assert limiter.engine is engine
    assert make_limiter("standard", engine=engine).key == "bitrix24"
    assert isinstance(make_limiter("off", engine=engine), NoLimit)


def test_plan_spec():
    assert plan_spec("standard") == BucketSpec(2.0, 50)
    assert plan_spec("off") is None and plan_spec(None) is None
    with pytest.raises(ValueError, match="'gold'"):
        plan_spec("gold")
