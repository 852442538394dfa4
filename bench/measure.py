"""What one step is measured by: memory and CPU of the process, the engine's stage timings, the wall time of
the staging repository's calls, and the summary of a step (a phase) that goes into the results."""

from __future__ import annotations

import contextlib
import os
import resource
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.ceilings import BURST, DRAIN

ONEC_WRITE_VERBS = ("POST", "PATCH", "PUT", "DELETE", "MERGE")
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def maxrss_mb() -> float:
    """Peak RSS of this process so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def current_rss_mb() -> float:
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def cpu_times(contour_pid: int | None) -> tuple[float, float, float]:
    """(busy CPU seconds of the whole machine, of this process, of the contour process). The difference is
    what other processes used: the machine is shared, so each step reports it as a noise indicator."""
    busy = own = contour = 0.0
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        values = [int(x) for x in fields]
        busy = (sum(values[:8]) - values[3] - values[4]) / CLK_TCK  # minus idle and iowait
    usage = resource.getrusage(resource.RUSAGE_SELF)
    own = usage.ru_utime + usage.ru_stime
    if contour_pid:
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = Path(f"/proc/{contour_pid}/stat").read_text().rsplit(")", 1)[1].split()
            contour = (int(stat[11]) + int(stat[12])) / CLK_TCK
    return busy, own, contour


class StageTimers:
    """The engine's metrics hook (``SyncEnv.timings``): seconds and records of each stage (``plan`` per
    batch, ``settle`` per chunk of written records), summed; called from the load steps' pool threads too."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.records: Counter[str] = Counter()

    def __call__(self, stage: str, seconds: float, records: int) -> None:
        with self._lock:
            self.seconds[stage] += seconds
            self.records[stage] += records

    def snapshot(self) -> tuple[dict[str, float], dict[str, int]]:
        with self._lock:
            return dict(self.seconds), dict(self.records)


class _TimedContext:
    """A staging context manager (``transaction()`` or ``batch()``): its enter and its exit (the commit) are
    timed; a ``batch()`` view is wrapped so that the calls made through it are timed too."""

    def __init__(self, cm: Any, owner: TimedStaging, name: str, wrap: bool) -> None:
        self._cm, self._owner, self._name, self._wrap = cm, owner, name, wrap

    def __enter__(self) -> Any:
        t0 = time.perf_counter()
        try:
            value = self._cm.__enter__()
        finally:
            self._owner.add(self._name, time.perf_counter() - t0)
        return TimedStaging(value, sink=self._owner) if self._wrap else value

    def __exit__(self, *exc: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return self._cm.__exit__(*exc)
        finally:
            self._owner.add(f"{self._name}(commit)", time.perf_counter() - t0)


class TimedStaging:
    """The staging repository with the wall time of every call added up per method (thread-safe):
    attributes time to the database without cProfile's overhead. ``sink``: add to another instance's sums
    (the view of a ``batch()``)."""

    def __init__(self, inner: Any, sink: TimedStaging | None = None) -> None:
        self._inner = inner
        self._sink = sink
        self._lock = threading.Lock()
        self.seconds: defaultdict[str, float] = defaultdict(float)

    def add(self, name: str, dt: float) -> None:
        if self._sink is not None:
            self._sink.add(name, dt)
            return
        with self._lock:
            self.seconds[name] += dt

    def snapshot(self) -> dict[str, float]:
        with self._lock:
            return dict(self.seconds)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr) or name.startswith("_"):
            return attr
        if name in ("transaction", "batch"):
            return lambda *a, **k: _TimedContext(attr(*a, **k), self, name, wrap=name == "batch")

        def timed(*a: Any, **k: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return attr(*a, **k)
            finally:
                self.add(name, time.perf_counter() - t0)

        return timed


@dataclass
class CrmEvent:
    """One Bitrix24 request."""

    sent: float  # perf_counter when the request left (after the limiter)
    done: float
    rows: int  # list rows returned (all sub-commands)
    cmds: int  # commands in a batch (1 for a plain call)
    write: bool
    waited: float
    server_s: float  # the portal's own "processing" time
    wasted: int = 0  # rows of chained list calls past the end (returned, discarded by the client)
    written: int = 0  # write sub-commands of a batch (a writer's read-backs in the same batch left out)


@dataclass
class Phase:
    """One measured step (or slice of a step) of a run."""

    name: str
    t0: float
    t1: float = 0.0
    crm_i0: int = 0
    crm_i1: int = 0
    onec: dict = field(default_factory=dict)
    onec_time: dict = field(default_factory=dict)
    counters: dict = field(default_factory=dict)
    note: str = ""
    maxrss_mb: float = 0.0
    rss_mb: float = 0.0
    staging: dict = field(default_factory=dict)
    settle_s: float = 0.0  # seconds of the engine's "settle" stage
    switched_at: float | None = None  # when the Bitrix24 limit was lifted inside this step
    planned: int = 0  # records through the engine's "plan" stage
    cpu: dict = field(default_factory=dict)
    settled: int = 0  # records through the engine's "settle" stage

    @property
    def seconds(self) -> float:
        return self.t1 - self.t0


def phase_summary(ph: Phase, events: list[CrmEvent]) -> dict:
    """The figures of a phase as saved in the results; ``events``: its Bitrix24 requests."""
    reads = [e for e in events if not e.write]
    writes = [e for e in events if e.write]
    out = {
        "name": ph.name,
        "note": ph.note,
        "seconds": ph.seconds,
        "counters": ph.counters,
        "maxrss_mb": ph.maxrss_mb,
        "rss_mb": ph.rss_mb,
        "crm_requests": len(events),
        "crm_read_requests": len(reads),
        "crm_write_requests": len(writes),
        "crm_rows": sum(e.rows for e in reads),
        "crm_wasted_rows": sum(e.wasted for e in reads),
        "crm_cmds_written": sum(e.written for e in writes),
        "crm_cmds_in_writes": sum(e.cmds for e in writes),
        "crm_read_cmds": sum(e.cmds for e in reads),
        "crm_waited_s": sum(e.waited for e in events),
        "crm_server_s": sum(e.server_s for e in events),
        "crm_http_s": sum(e.done - e.sent for e in events),
        "onec": ph.onec,
        "onec_time": ph.onec_time,
        "staging_s": sum(v for k, v in ph.staging.items()),
        "staging_top": dict(sorted(ph.staging.items(), key=lambda kv: -kv[1])[:6]),
        "settle_s": ph.settle_s,
        "planned": ph.planned,
        "settled": ph.settled,
        "cpu": ph.cpu,
    }
    cut = ph.switched_at or ph.t1
    std = [e for e in reads if e.sent < cut]
    out["read_std"] = {
        "requests": len(std),
        "rows": sum(e.rows for e in std),
        "seconds": cut - ph.t0,
        "switched": ph.switched_at is not None,
    }
    out["read_steady"] = steady(std, cut, lambda e: e.rows)
    out["write_steady"] = steady(writes, ph.t1, lambda e: e.written)
    return out


def steady(events: list[CrmEvent], t_end: float, amount: Callable[[CrmEvent], int]) -> dict | None:
    """Rate over the rate-bound part: from the send of the first request that waited for the bucket to the
    end of the step, plus one drain interval (the bucket slot of that first request). With a full bucket
    and no other cost that is exactly ``amount per request × DRAIN``."""
    first = next((i for i, e in enumerate(events) if e.waited > 0.01), None)
    kind = "rate-bound"
    if first is None:
        if len(events) <= BURST + 1:
            return None  # all within the burst: nothing to say about the steady state
        # more requests than the burst and none waited: the client + portal pipeline is slower than the
        # ceiling, so its own rate after the burst is the steady rate
        first, kind = BURST, "pipeline-bound (no request waited)"
    tail = events[first:]
    window = t_end - tail[0].sent + 1.0 / DRAIN
    total = sum(amount(e) for e in tail)
    return {"requests": len(tail), "amount": total, "window_s": window, "per_s": total / window, "kind": kind}


def fmt_counters(c: dict) -> str:
    """The engine's non-zero counters, ``k=v, …; `` (the first 12)."""
    keys = [
        k for k in sorted(c) if isinstance(c.get(k), int | float) and c.get(k) and not k.startswith("open_")
    ]
    return ", ".join(f"{k}={c[k]}" for k in keys[:12]) + ("; " if keys else "")
