"""The retry policy used at each client's single request choke point.

Reads are retried on every :class:`RetryableError`. Writes are retried only when the error proves the
request was not applied (``err.not_applied``: connect failure, 503 QUERY_LIMIT_EXCEEDED, 429); any other
failure of a write becomes :class:`OutcomeUnknown`, and the caller must look the object up by key.
Backoff is exponential with full jitter; a 429 waits until its ``reset_at``.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from crm1c.clients.errors import OutcomeUnknown, RateLimited, RetryableError
from crm1c.clients.stats import ClientStats

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds of the retry loop; ``max_rate_limit_wait`` caps a wait for a 429 reset (Bitrix: ≤10 min)."""

    max_attempts: int = 8
    max_elapsed: float = 300.0
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_rate_limit_wait: float = 660.0
    rate_limit_fallback: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)
    wall: Callable[[], float] = field(default=time.time, repr=False, compare=False)

    def backoff(self, attempt: int, rng: Callable[[float, float], float] = random.uniform) -> float:
        """Full-jitter delay before retry number ``attempt`` (1-based): uniform(0, min(cap, base·2^(n-1)))."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** max(attempt - 1, 0)))
        return rng(0.0, ceiling)

    def rate_limit_delay(self, err: RateLimited, now: float) -> float:
        """Seconds to wait for a 429: until ``reset_at`` (+1 s slack), else the fallback."""
        if err.reset_at is None:
            return self.rate_limit_fallback
        return max(0.0, err.reset_at - now) + 1.0

    def run(
        self,
        attempt_fn: Callable[[], T],
        *,
        write: bool,
        stats: ClientStats | None = None,
        what: str = "request",
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
        wall: Callable[[], float] | None = None,
    ) -> T:
        """Call ``attempt_fn`` until it succeeds or the policy gives up (re-raising the last error)."""
        sleep, clock, wall = sleep or self.sleep, clock or self.clock, wall or self.wall
        started = clock()
        attempt = 0
        while True:
            attempt += 1
            try:
                return attempt_fn()
            except RetryableError as err:
                if write and not err.not_applied:
                    if stats:
                        stats.incr("outcome_unknown")
                    raise OutcomeUnknown(
                        f"{what}: the write may or may not have been applied ({err.message}); "
                        "look it up by its key before retrying",
                        system=err.system,
                        status=err.status,
                        code=err.code,
                        cause=err,
                    ) from None
                delay = self._delay(err, attempt, wall)
                spent = clock() - started
                if attempt >= self.max_attempts or spent + delay > self._budget(err):
                    raise
                if stats:
                    stats.incr("retries")
                    if isinstance(err, RateLimited):
                        stats.incr("waits_429")
                        stats.add("wait_429_seconds", delay)
                log.warning("%s failed (%s); retry %d in %.2fs", what, err, attempt, delay)
                sleep(delay)

    def _delay(self, err: RetryableError, attempt: int, wall: Callable[[], float]) -> float:
        if isinstance(err, RateLimited):
            return self.rate_limit_delay(err, wall())
        return self.backoff(attempt)

    def _budget(self, err: RetryableError) -> float:
        if isinstance(err, RateLimited):
            return self.max_elapsed + self.max_rate_limit_wait
        return self.max_elapsed


NO_RETRY = RetryPolicy(max_attempts=1)
