"""Retry policy: full-jitter backoff, read vs write rules, 429 waits until reset."""

from __future__ import annotations

import pytest

from crm1c.clients.errors import (
    NotFound,
    OutcomeUnknown,
    RateLimited,
    RetryableError,
)
from crm1c.clients.retry import RetryPolicy
from crm1c.clients.stats import ClientStats


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0
        self.sleeps: list[float] = []

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.t += s

    def now(self) -> float:
        return self.t


def failing(*errors):
    seq = list(errors)

    def fn():
        if seq:
            raise seq.pop(0)
        return "ok"

    return fn


def run(policy, fn, write=False, stats=None):
    clock = Clock()
    result = policy.run(fn, write=write, stats=stats, sleep=clock.sleep, clock=clock.now, wall=clock.now)
    return result, clock


def err(**kw):
    return RetryableError("boom", system="bitrix24", status=500, **kw)


def test_backoff_is_full_jitter_within_exponential_cap():
    policy = RetryPolicy(base_delay=0.5, max_delay=8)
    assert policy.backoff(1, rng=lambda lo, hi: hi) == 0.5
    assert policy.backoff(4, rng=lambda lo, hi: hi) == 4.0
    assert policy.backoff(10, rng=lambda lo, hi: hi) == 8.0
    assert policy.backoff(3, rng=lambda lo, hi: lo) == 0.0
    samples = [policy.backoff(3) for _ in range(500)]
    assert min(samples) >= 0 and max(samples) <= 2.0 and len(set(samples)) > 100


def test_reads_retry_transient_errors():
    stats = ClientStats()
    result, clock = run(RetryPolicy(), failing(err(), err(), err()), stats=stats)
    assert result == "ok" and len(clock.sleeps) == 3 and stats.retries == 3


def test_reads_give_up_after_max_attempts():
    with pytest.raises(RetryableError):
        run(RetryPolicy(max_attempts=3), failing(*[err() for _ in range(5)]))


def test_non_retryable_errors_pass_through_at_once():
    with pytest.raises(NotFound):
        run(RetryPolicy(), failing(NotFound("gone", system="onec", status=404)))


def test_write_with_unknown_outcome_is_never_retried():
    stats = ClientStats()
    calls = []

    def fn():
        calls.append(1)
        raise err()

    with pytest.raises(OutcomeUnknown) as info:
        run(RetryPolicy(), fn, write=True, stats=stats)
    assert len(calls) == 1 and info.value.cause.status == 500 and stats.outcome_unknown == 1
    assert "look it up by its key" in str(info.value)


def test_write_is_retried_when_the_error_proves_it_was_not_applied():
    result, clock = run(RetryPolicy(), failing(err(not_applied=True), err(not_applied=True)), write=True)
    assert result == "ok" and len(clock.sleeps) == 2


def test_rate_limited_waits_until_reset():
    clock = Clock()
    limited = RateLimited("blocked", system="bitrix24", status=429, reset_at=clock.t + 42)
    stats = ClientStats()
    result = RetryPolicy().run(
        failing(limited), write=True, stats=stats, sleep=clock.sleep, clock=clock.now, wall=clock.now
    )
    assert result == "ok" and clock.sleeps == [43.0] and stats.waits_429 == 1


def test_rate_limited_beyond_the_cap_raises():
    clock = Clock()
    limited = RateLimited("blocked", system="bitrix24", status=429, reset_at=clock.t + 5000)
    with pytest.raises(RateLimited):
        RetryPolicy().run(failing(limited), write=False, sleep=clock.sleep, clock=clock.now, wall=clock.now)


def test_errors_pickle_with_their_fields():
    import pickle

    e = pickle.loads(  # noqa: S301 - our own bytes
        pickle.dumps(
            RateLimited("x", system="bitrix24", status=429, code="OPERATION_TIME_LIMIT", reset_at=5.0)
        )
    )
    assert (e.system, e.status, e.code, e.reset_at, e.not_applied) == (
        "bitrix24",
        429,
        "OPERATION_TIME_LIMIT",
        5.0,
        True,
    )
