"""Cloud limits and the counters benchmarks read.

* Leaky bucket per webhook + client IP: +1 per HTTP request (a ``batch`` is one), drains continuously;
  a request that would lift it above the burst gets ``503 QUERY_LIMIT_EXCEEDED`` (and is not added).
* Operating time per webhook + method: execution seconds (+ ``operating_cost_s``) in ten one-minute baskets;
  above ``operating_limit_s`` the method answers ``429 OPERATION_TIME_LIMIT`` until ``operating_reset_at``,
  the moment the oldest basket leaves the ten-minute window.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

PLANS = {"standard": (2.0, 50), "enterprise": (5.0, 250)}  # drain per second, burst
WINDOW_MIN = 10


class Limits:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}
        self._baskets: dict[tuple[str, str], dict[int, float]] = {}
        self.reset_stats()

    # -- statistics ---------------------------------------------------------------------------------------
    def reset_stats(self) -> None:
        with self._lock:
            self._stats: dict[str, Any] = {
                "requests": 0,
                "rejected_503": 0,
                "rejected_429": 0,
                "errors": 0,
                "max_requests_per_1s": 0,
                "events_sent": 0,
                "events_failed": 0,
                "methods": {},
                "since": time.time(),
            }
            self._window: deque[float] = deque()

    def count(self, key: str, amount: int = 1) -> None:
        with self._lock:
            self._stats[key] += amount

    def request_seen(self) -> None:
        now = time.monotonic()
        with self._lock:
            self._stats["requests"] += 1
            self._window.append(now)
            while self._window and self._window[0] <= now - 1.0:
                self._window.popleft()
            self._stats["max_requests_per_1s"] = max(self._stats["max_requests_per_1s"], len(self._window))

    def stats(self) -> dict[str, Any]:
        with self._lock:
            snap = {k: val for k, val in self._stats.items() if k != "methods"}
            snap["methods"] = {m: dict(s) for m, s in sorted(self._stats["methods"].items())}
            return snap

    def reset_limits(self) -> None:
        """Empty the leaky buckets and the operating-time baskets (statistics stay)."""
        with self._lock:
            self._buckets.clear()
            self._baskets.clear()

    # -- leaky bucket -------------------------------------------------------------------------------------
    def admit(self, key: str, plan: str) -> bool:
        plan = plan.lower()
        if plan not in PLANS:
            return True
        drain, burst = PLANS[plan]
        now = time.monotonic()
        with self._lock:
            level, last = self._buckets.get(key, (0.0, now))
            level = max(0.0, level - (now - last) * drain)
            if level + 1 > burst:
                self._buckets[key] = (level, now)
                self._stats["rejected_503"] += 1
                return False
            self._buckets[key] = (level + 1, now)
            return True

    # -- operating time -----------------------------------------------------------------------------------
    def _window_state(self, key: tuple[str, str], now: float) -> tuple[float, int]:
        minute = int(now // 60)
        baskets = self._baskets.setdefault(key, {})
        for old in [m for m in baskets if m <= minute - WINDOW_MIN]:
            del baskets[old]
        total = sum(baskets.values())
        reset_at = (min(baskets) + WINDOW_MIN) * 60 if baskets else int(now) + WINDOW_MIN * 60
        return total, reset_at

    def operating(self, webhook: str, method: str) -> tuple[float, int]:
        with self._lock:
            return self._window_state((webhook, method), time.time())

    def blocked(self, webhook: str, method: str, limit: float) -> tuple[float, int] | None:
        """``(operating, reset_at)`` when the method is over its limit, else ``None``."""
        with self._lock:
            total, reset_at = self._window_state((webhook, method), time.time())
            if total > limit:
                self._stats["rejected_429"] += 1
                return total, reset_at
            return None

    def charge(self, webhook: str, method: str, seconds: float) -> tuple[float, int]:
        now = time.time()
        with self._lock:
            baskets = self._baskets.setdefault((webhook, method), {})
            minute = int(now // 60)
            baskets[minute] = baskets.get(minute, 0.0) + seconds
            per_method = self._stats["methods"].setdefault(method, {"calls": 0, "operating_s": 0.0})
            per_method["calls"] += 1
            per_method["operating_s"] = round(per_method["operating_s"] + seconds, 6)
            return self._window_state((webhook, method), now)
