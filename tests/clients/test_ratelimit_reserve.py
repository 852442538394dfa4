"""The limiter's ``reserve``: the share of the portal's drain rate a sync leaves to the other apps and people
calling the same portal from the same IP (their requests fill the same leaky bucket, protocols.md C.13).

Arithmetic on a fake clock, for the in-process bucket and the SQL one; ``make_limiter(plan)`` without a
reserve keeps the whole rate (the benchmarks' meaning)."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from crm1c.clients.ratelimit import PLANS, BucketSpec, LocalBucket, plan_spec, reserve, saturate
from crm1c.staging.ratelimit import SqlBucket, make_limiter, metadata
from tests.clients.test_ratelimit import server_max_level


def test_the_reserve_is_a_share_of_the_drain_rate():
    standard = PLANS["standard"]
    assert (standard.reserve, standard.rate) == (0.0, 2.0), "the plans keep their whole rate"
    spec = plan_spec("standard", 0.25)
    assert spec == dataclasses.replace(standard, reserve=0.25)
    assert (spec.rate, spec.capacity, spec.burst) == (1.5, 45.0, 50), "only the drain is shared"
    assert plan_spec("enterprise", 0.2).rate == pytest.approx(4.0)
    assert plan_spec("standard", 0.0) is standard and plan_spec("off", 0.3) is None
    for bad in (-0.1, 1.0, 1.5, True, float("nan")):
        with pytest.raises(ValueError, match="0 <= reserve < 1"):
            BucketSpec(2.0, 50, reserve=bad)


def test_reserve_and_saturate_drain_at_our_share():
    spec = BucketSpec(2.0, 10, margin=0, reserve=0.5)  # ours: 1 request/s
    assert reserve(10, 100, 101, spec) == (10.0, 0.0)  # drained 1 in 1 s (not 2), +1
    assert reserve(10, 100, 100, spec) == (11.0, 1.0)  # one over: wait 1 s at our 1/s
    assert saturate(3, 0, 0, spec) == 10.0


def test_a_long_export_settles_at_drain_times_one_minus_reserve():
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    spec = plan_spec("standard", 0.25)
    assert spec is not None
    bucket = LocalBucket(spec, clock=lambda: now[0], sleep=sleep)
    ours = []
    for _ in range(200):
        bucket.acquire()
        ours.append(now[0])
    assert ours[44] == 0.0 and ours[45] == pytest.approx(1 / 1.5), "45 in the burst, then paced"
    steady = (len(ours) - 46) / (ours[-1] - ours[45])
    assert steady == pytest.approx(1.5), "75 % of the portal's 2 requests/s"
    # people working alongside at the reserved 25 % (0.5 requests/s) never lift the portal's bucket past
    # the capacity the limiter keeps (45) plus their one request in flight: nobody gets 503
    people = [t / 10 for t in range(0, int(ours[-1] * 10), 20)]
    assert server_max_level(ours + people, spec.drain) <= spec.capacity + 1 + 1e-9
    # without the reserve the same people would fill the bucket up to its 50 and beyond
    whole = LocalBucket(PLANS["standard"], clock=lambda: now[0], sleep=sleep)
    now[0], greedy = 0.0, []
    for _ in range(200):
        whole.acquire()
        greedy.append(now[0])
    people = [t / 10 for t in range(0, int(greedy[-1] * 10), 20)]
    assert server_max_level(greedy + people, 2.0) > PLANS["standard"].burst


def test_the_level_of_a_bucket_drains_at_our_share():
    now = [0.0]
    bucket = LocalBucket(BucketSpec(2.0, 50, reserve=0.2), clock=lambda: now[0], sleep=lambda s: None)
    for _ in range(10):
        bucket.acquire()
    now[0] = 2.0
    assert bucket.level == pytest.approx(10 - 2 * 1.6)


def test_the_sql_bucket_applies_the_reserve(tmp_path, monkeypatch):
    import crm1c.staging.ratelimit as sql_ratelimit

    now = [1000.0]
    monkeypatch.setattr(sql_ratelimit, "time", SimpleNamespace(time=lambda: now[0], sleep=None))
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'rl.db'}")
    metadata.create_all(engine)
    waits: list[float] = []
    spec = BucketSpec(2.0, 10, margin=0, reserve=0.5)  # ours: 1 request/s
    bucket = SqlBucket(engine, "bitrix24:portal", spec, sleep=waits.append)
    for _ in range(12):
        bucket.acquire()
    assert waits == [pytest.approx(1.0), pytest.approx(2.0)], "10 free, then each one waits its excess at 1/s"
    now[0] += 4.0
    assert bucket.level == pytest.approx(12.0 - 4.0), "drained at our 1/s, not the portal's 2/s"
    engine.dispose()


def test_make_limiter_keeps_the_whole_rate_unless_given_a_reserve(tmp_path):
    plain = make_limiter("standard")
    assert isinstance(plain, LocalBucket) and plain.spec == PLANS["standard"] and plain.spec.rate == 2.0
    private = make_limiter("standard", reserve=0.25)
    assert isinstance(private, LocalBucket) and private.spec.rate == 1.5
    key = "bitrix24:reserve.test"
    with_reserve = make_limiter("standard", key=key, reserve=0.2)
    assert with_reserve is make_limiter("standard", key=key, reserve=0.2)
    assert with_reserve is not make_limiter("standard", key=key), "another reserve, another bucket"
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'rl.db'}")
    sql = make_limiter("enterprise", engine=engine, key=key, reserve=0.2)
    assert isinstance(sql, SqlBucket) and sql.spec.rate == pytest.approx(4.0)
    with pytest.raises(ValueError, match="0 <= reserve < 1"):
        make_limiter("standard", reserve=1)
    engine.dispose()
