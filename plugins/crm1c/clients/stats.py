"""Thread-safe request counters of a client (``client.stats``), read by benchmarks and task summaries."""

from __future__ import annotations

import threading
from collections import Counter


class ClientStats:
    """Counters such as ``requests``, ``retries``, ``http_503``, ``waits_429``, ``limiter_wait_seconds``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: Counter[str] = Counter()

    def incr(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._values[name] += n

    def add(self, name: str, amount: float) -> None:
        with self._lock:
            self._values[name] += amount  # type: ignore[assignment]

    def __getitem__(self, name: str) -> float:
        with self._lock:
            return self._values[name]

    def __getattr__(self, name: str) -> float:
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    def snapshot(self) -> dict[str, float]:
        with self._lock:
            return dict(self._values)

    def reset(self) -> None:
        with self._lock:
            self._values.clear()

    def __repr__(self) -> str:
        return f"ClientStats({self.snapshot()})"
