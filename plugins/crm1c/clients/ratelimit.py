"""Client-side leaky bucket matching the Bitrix24 one (protocols C.13): +1 per HTTP request, drains Y/s,
the portal answers 503 QUERY_LIMIT_EXCEEDED above X. Plans: standard Y=2, X=50; enterprise Y=5, X=250.

:meth:`acquire` *reserves* a slot: it adds 1 to the level and sleeps until the level, drained, is back at
the capacity (X minus a safety margin). One transaction per request, fair (FIFO by reservation), and
conservative: reserved-but-unsent requests already count. Backends share one interface:
:class:`LocalBucket` (threads of one process, here) and ``SqlBucket`` (every process and host using one
database, so all tasks hitting one portal share the budget, as the portal does), which lives with the
staging database in :mod:`crm1c.staging.ratelimit`, as does ``make_limiter``, the one way to build a limiter.
Pure Python: nothing here touches a database.

The portal's bucket is shared by every app and webhook calling it from one IP (people's integrations too), so
a spec may keep a ``reserve``: the share of the drain rate left for them. The bucket then drains for us at
``drain × (1 − reserve)`` (:attr:`BucketSpec.rate`): a long export settles at that rate, and the rest of the
portal's budget stays free.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol


@dataclass(frozen=True)
class BucketSpec:
    """Drain rate Y (requests/s), burst X, the safety margin kept below X, and the ``reserve``: the share of
    the portal's drain rate left for the other apps and people on the portal (0 ≤ reserve < 1)."""

    drain: float
    burst: int
    margin: int | None = None
    reserve: float = 0.0

    def __post_init__(self) -> None:
        if isinstance(self.reserve, bool) or not 0.0 <= self.reserve < 1.0:
            raise ValueError(
                f"reserve must be a share of the drain rate, 0 <= reserve < 1, not {self.reserve!r}"
            )

    @property
    def capacity(self) -> float:
        margin = self.margin if self.margin is not None else max(2, round(self.burst * 0.1))
        return max(1.0, float(self.burst - margin))

    @property
    def rate(self) -> float:
        """The drain rate that is ours: ``drain × (1 − reserve)`` requests/s."""
        return self.drain * (1.0 - self.reserve)


PLANS: dict[str, BucketSpec] = {"standard": BucketSpec(2.0, 50), "enterprise": BucketSpec(5.0, 250)}


def plan_spec(plan: str | None, reserve: float = 0.0) -> BucketSpec | None:
    """The bucket of a Bitrix24 plan ("standard" | "enterprise"), leaving ``reserve`` of its drain rate to
    others; None for "off" or no plan."""
    if not plan or plan == "off":
        return None
    if plan not in PLANS:
        raise ValueError(f"unknown Bitrix24 plan {plan!r}; the plan must be one of {sorted(PLANS)} or 'off'")
    return replace(PLANS[plan], reserve=reserve) if reserve else PLANS[plan]


def drained(level: float, elapsed: float, drain: float) -> float:
    """Level after ``elapsed`` seconds of draining (never below 0)."""
    return max(0.0, level - max(0.0, elapsed) * drain)


def reserve(level: float, updated_at: float, now: float, spec: BucketSpec) -> tuple[float, float]:
    """Reserve one request: return ``(new_level, wait)``; the caller may send after ``wait`` seconds.
    The level drains at our share of the rate (:attr:`BucketSpec.rate`)."""
    new_level = drained(level, now - updated_at, spec.rate) + 1.0
    return new_level, max(0.0, (new_level - spec.capacity) / spec.rate)


def saturate(level: float, updated_at: float, now: float, spec: BucketSpec) -> float:
    """Level to store after the portal said 503: assume its bucket is full (at least X)."""
    return max(drained(level, now - updated_at, spec.rate), float(spec.burst))


class RateLimiter(Protocol):
    """What the Bitrix24 client needs from a limiter."""

    def acquire(self) -> float:
        """Block until one request may be sent; return the seconds waited."""
        ...

    def penalize(self) -> None:
        """The server answered 503 QUERY_LIMIT_EXCEEDED: treat its bucket as full."""
        ...


class NoLimit:
    """A limiter that never waits (plan "off")."""

    def acquire(self) -> float:
        return 0.0

    def penalize(self) -> None:
        return None


class LocalBucket:
    """Thread-safe in-process bucket."""

    def __init__(
        self,
        spec: BucketSpec,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.spec = spec
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._level, self._updated = 0.0, clock()

    def acquire(self) -> float:
        with self._lock:
            now = self._clock()
            self._level, wait = reserve(self._level, self._updated, now, self.spec)
            self._updated = now
        if wait > 0:
            self._sleep(wait)
        return wait

    def penalize(self) -> None:
        with self._lock:
            now = self._clock()
            self._level, self._updated = saturate(self._level, self._updated, now, self.spec), now

    @property
    def level(self) -> float:
        with self._lock:
            return drained(self._level, self._clock() - self._updated, self.spec.rate)


_SHARED: dict[str, LocalBucket] = {}
_SHARED_LOCK = threading.Lock()


def shared_local_bucket(key: str, spec: BucketSpec) -> LocalBucket:
    """The in-process bucket of ``key`` (made on first use): every client of this process calling one portal
    keeps to one budget."""
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = LocalBucket(spec)
        return _SHARED[key]
