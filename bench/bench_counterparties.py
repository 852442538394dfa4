#!/usr/bin/env python
"""Benchmark of the counterparty sync against the contour: full and incremental runs at N counterparties.

    .venv/bin/python bench/bench_counterparties.py --sizes 10000 100000 --pools 1 2 4 8

For every N the script seeds a fresh contour (profile ``scale``), serves it in a SEPARATE process
(``python -m contour serve --rate-plan standard``) and runs the sync in a fresh worker subprocess, so the
emulators' CPU and memory do not pollute the sync's figures and peak RSS is per size. It prints what the
issue asks for (records/s, HTTP requests, Bitrix24 reads/writes against the rate-limit ceiling, 1C writes/s
against pool ÷ latency, the API calls of a no-change run, peak RSS) with target and pass/fail.

Scenario of one worker (see bench/README.md for how each figure is computed):

A   first full sync, step by step, Bitrix24 bucket fresh (as a production run starts);
    load_onec: 1C latency set to 20 ms, one slice of intents per pool size, then the rest at 0 ms;
    load_crm: ``--crm-write-window`` seconds at the standard plan with the client bucket saturated at the
    start (steady state), then the rest with the limit off.
C*  incremental runs until a run writes nothing (overlap 1 s, each started > 1 s after the previous).
N0  one more incremental run: the measured no-change run.
I1  1 % of counterparties edited in each system (comment), then an incremental run (+ echo runs).
B   a full re-sync (reconciliation) started with the client bucket saturated: steady-state reads.

``--profile`` runs the worker under cProfile (figures then are slower) and prints the hot spots per step;
``--profile-contour`` profiles the emulators' request handlers too.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import logging
import math
import os
import pstats
import resource
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
for _p in (REPO / "plugins", REPO):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

# Contour credentials (the same as tests/contour_harness.py; copied so the bench does not import tests).
ONEC_USER, ONEC_PASSWORD = "Интеграция", "contour"
BITRIX_USER, BITRIX_TOKEN = "1", "contour0webhook0token"
STEPS = ("extract_crm", "extract_onec", "plan", "load_onec", "load_crm", "publish")

# The ceilings of reliability.md §4 (Bitrix24 standard plan) and the targets.
DRAIN = 2.0  # requests/s
BURST = 50  # requests before the bucket blocks
ROWS_PER_READ = 50 * 50  # 50 list calls × 50 rows in one batch request
READ_CEILING = ROWS_PER_READ * DRAIN  # 5,000 rows/s
CMDS_PER_WRITE = 50
WRITE_CEILING = CMDS_PER_WRITE * DRAIN  # 100 commands/s
ONEC_LATENCY_MS = 20.0
TARGET_READ, TARGET_WRITE, TARGET_ONEC = 0.90, 0.90, 0.80
TARGET_NOCHANGE_CALLS = 5
TARGET_RSS_RATIO = 1.5

PY = sys.executable
log = logging.getLogger("bench")


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ================================================================================================ contour


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ContourProcess:
    """The two emulators seeded and served in a subprocess of their own."""

    def __init__(self, state_dir: Path, size: int, profile_to: Path | None = None, nodelay: bool = False):
        self.state_dir, self.size, self.profile_to, self.nodelay = state_dir, size, profile_to, nodelay
        self.onec_port, self.bitrix_port = free_port(), free_port()
        self.env = {
            **os.environ,
            "CONTOUR_STATE_DIR": str(state_dir),
            "CONTOUR_ONEC_PORT": str(self.onec_port),
            "CONTOUR_BITRIX_PORT": str(self.bitrix_port),
            "PYTHONPATH": str(REPO),
        }
        self.proc: subprocess.Popen | None = None
        self.log = state_dir / "contour.out"

    def seed(self) -> float:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        with open(self.log, "ab") as out:
            subprocess.run(
                [PY, "-m", "contour", "seed", "--profile", "scale", "--size", str(self.size)],
                cwd=REPO,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                check=True,
            )
        return time.perf_counter() - started

    def start(self) -> None:
        serve = ["serve", "--rate-plan", "standard", "--latency-ms", "0"]
        if self.profile_to or self.nodelay:
            extra = ["--profile-out", str(self.profile_to)] if self.profile_to else []
            extra += ["--nodelay"] if self.nodelay else []
            cmd = [PY, str(Path(__file__).resolve()), "--serve-wrapped", *extra, *serve]
        else:
            cmd = [PY, "-m", "contour", *serve]
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                cmd, cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"contour exited with {self.proc.returncode}; see {self.log}")
            if all(self._healthy(p) for p in (self.onec_port, self.bitrix_port)):
                return
            time.sleep(0.2)
        raise RuntimeError(f"contour not healthy in 60 s; see {self.log}")

    def _healthy(self, port: int) -> bool:
        ca = self.state_dir / "ca.pem"
        if not ca.exists():
            return False
        try:
            ctx = ssl.create_default_context(cafile=str(ca))
            with urllib.request.urlopen(
                f"https://127.0.0.1:{port}/_contour/health", timeout=2, context=ctx
            ) as resp:
                return resp.status == 200
        except (OSError, ssl.SSLError):
            return False

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)  # only the process this script started, by its pid
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Admin:
    """The contour's admin endpoints (knobs, Bitrix24 stats) as the worker sees them."""

    def __init__(self, state_dir: Path, onec_port: int, bitrix_port: int) -> None:
        self.ctx = ssl.create_default_context(cafile=str(state_dir / "ca.pem"))
        self.ports = {"onec": onec_port, "bitrix": bitrix_port}

    def _call(self, app: str, path: str, payload: Any = None, method: str = "GET") -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        req = urllib.request.Request(
            f"https://127.0.0.1:{self.ports[app]}/_contour/{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10, context=self.ctx) as resp:  # noqa: S310
            return json.load(resp)

    def knobs(self, app: str, **changes: Any) -> dict:
        return self._call(app, "knobs", changes, "POST")

    def bitrix_stats(self, reset: bool = False) -> dict:
        return self._call("bitrix", "stats", {} if reset else None, "POST" if reset else "GET")


# ================================================================================================ worker


class LimiterProbe:
    """Wraps the client's limiter to learn how long each request waited for the bucket."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.local = threading.local()

    def acquire(self) -> float:
        waited = self.inner.acquire()
        self.local.waited = waited
        return waited

    def penalize(self) -> None:
        self.inner.penalize()


@dataclass
class CrmEvent:
    sent: float  # perf_counter when the request left (after the limiter)
    done: float
    rows: int  # list rows returned (all sub-commands)
    cmds: int  # commands in a batch (1 for a plain call)
    write: bool
    waited: float
    server_s: float  # the portal's own "processing" time
    wasted: int = 0  # rows of chained list calls past the end (returned, discarded by the client)


class Recorder:
    """Per-request instrumentation of both clients (Bitrix24: one event per request; 1C: counters only,
    so that 100k writes do not inflate the RSS being measured)."""

    def __init__(self, crm: Any, onec: Any, trace: bool = False) -> None:
        from crm1c.clients.bitrix24 import is_read_method

        self.trace = trace
        self.crm_events: list[CrmEvent] = []
        self.crm_errors: Counter[str] = Counter()
        self.onec: Counter[str] = Counter()
        self.onec_time: defaultdict[str, float] = defaultdict(float)  # seconds by verb
        self._lock = threading.Lock()
        self.probe = LimiterProbe(crm.limiter)
        crm.limiter = self.probe
        crm_attempt, onec_attempt = crm._attempt, onec._attempt

        def crm_wrapped(method: str, payload: Any) -> Any:
            self.probe.local.waited = 0.0
            t0 = time.perf_counter()
            try:
                body = crm_attempt(method, payload)
            except Exception as exc:
                self.crm_errors[type(exc).__name__] += 1
                raise
            t1 = time.perf_counter()
            rows, wasted, cmds, write = 0, 0, 1, not is_read_method(method)
            names: Counter[str] = Counter()
            if method == "batch":
                cmd = payload.get("cmd") or {}
                cmds = len(cmd)
                names.update(str(c).split("?", 1)[0] for c in cmd.values())
                write = any(not is_read_method(m) for m in names)
                inner = (body.get("result") or {}).get("result") or {}
                results = inner if isinstance(inner, dict) else {str(i): x for i, x in enumerate(inner)}
                short = False  # a chained list call after a short page re-reads what the client discards
                for key, text in cmd.items():
                    value = results.get(str(key))
                    n_rows = len(value) if isinstance(value, list) else 0
                    if short and "$result[" in str(text):
                        wasted += n_rows
                        continue
                    rows += n_rows
                    short = "$result[" in str(text) or str(key) == "p0"
                    short = short and n_rows < 50
            else:
                names[method] += 1
                if isinstance(body.get("result"), list):
                    rows = len(body["result"])
            waited = float(getattr(self.probe.local, "waited", 0.0) or 0.0)
            server = float((body.get("time") or {}).get("processing") or 0.0)
            self.crm_events.append(CrmEvent(t0 + waited, t1, rows, cmds, write, waited, server, wasted))
            if self.trace:
                log.info(
                    "B24 %s %s rows=%d wasted=%d waited=%.2f http=%.3f server=%.3f",
                    method,
                    dict(names),
                    rows,
                    wasted,
                    waited,
                    t1 - t0 - waited,
                    server,
                )
            return body

        def onec_attempt_wrapped(
            verb: str, url: str, what: str, body: Any = None, headers: Any = None
        ) -> Any:
            t0 = time.perf_counter()
            try:
                answer = onec_attempt(verb, url, what, body, headers)
            except Exception as exc:
                with self._lock:
                    self.onec[f"error_{type(exc).__name__}"] += 1
                raise
            dt = time.perf_counter() - t0
            rows = (
                len(answer["value"])
                if isinstance(answer, dict) and isinstance(answer.get("value"), list)
                else 0
            )
            if self.trace:
                log.info("1C %s %s rows=%d http=%.3f", verb, what, rows, dt)
            with self._lock:
                self.onec[verb] += 1
                self.onec["rows"] += rows
                self.onec_time[verb] += dt
            return answer

        crm._attempt = crm_wrapped
        onec._attempt = onec_attempt_wrapped

    def onec_snapshot(self) -> tuple[dict, dict]:
        with self._lock:
            return dict(self.onec), dict(self.onec_time)


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def current_rss_mb() -> float:
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


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


@dataclass
class Phase:
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
    settle_s: float = 0.0
    switched_at: float | None = None  # when the Bitrix24 limit was lifted inside this step
    planned: int = 0  # records through plan._plan_one
    cpu: dict = field(default_factory=dict)
    settled: int = 0  # intents through outcome.settle_all

    @property
    def seconds(self) -> float:
        return self.t1 - self.t0


class CappedStaging:
    """The staging repository, but ``pending_intents`` of one target stops after ``cap`` intents or after
    ``deadline`` (perf_counter): lets the bench measure a load step on a slice of the queue."""

    def __init__(self, inner: Any, target: str, cap: int | None = None, deadline: float | None = None):
        self._inner, self._target, self._cap, self._deadline = inner, target, cap, deadline
        self.given = 0
        self.stopped = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def pending_intents(self, entity: str, target_system: str, **kw: Any) -> list:
        if target_system == self._target:
            if self._deadline is not None and time.perf_counter() >= self._deadline:
                self.stopped = True
                return []
            if self._cap is not None:
                left = self._cap - self.given
                if left <= 0:
                    self.stopped = True
                    return []
                kw["limit"] = min(kw.get("limit") or left, left)
        rows = self._inner.pending_intents(entity, target_system, **kw)
        if target_system == self._target:
            self.given += len(rows)
        return rows


class Interrupted(BaseException):
    """The orchestrator's time budget ran out (SIGTERM): stop, keep what was measured."""


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
        self.calls: Counter[str] = Counter()

    def add(self, name: str, dt: float) -> None:
        if self._sink is not None:
            self._sink.add(name, dt)
            return
        with self._lock:
            self.seconds[name] += dt
            self.calls[name] += 1

    def snapshot(self) -> tuple[dict, dict]:
        with self._lock:
            return dict(self.seconds), dict(self.calls)

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


class Worker:
    def __init__(self, args: argparse.Namespace) -> None:
        from crm1c.clients.retry import RetryPolicy
        from crm1c.mapping.loader import load_counterparty_mapping
        from crm1c.staging import Staging, make_engine, migrate
        from crm1c.staging.ratelimit import make_limiter

        self.args = args
        self.n = args.size
        state = Path(args.state_dir)
        self.ca = str(state / "ca.pem")
        self.admin = Admin(state, args.onec_port, args.bitrix_port)
        self.bitrix_base = f"https://127.0.0.1:{args.bitrix_port}"
        self.onec_url = f"https://127.0.0.1:{args.onec_port}/accounting/odata/standard.odata/"
        self.retry = RetryPolicy(base_delay=0.05, max_delay=0.5)
        self._make_limiter = make_limiter
        self.crm, self.onec = self.new_clients()
        self.rec = Recorder(self.crm, self.onec, trace=args.trace)
        migrate(args.staging_url)
        self.staging = TimedStaging(Staging(make_engine(args.staging_url)))
        self.timers: defaultdict[str, float] = defaultdict(float)  # seconds and counts
        self._timers_lock = threading.Lock()
        self._wrap_settle()
        self.result: dict[str, Any] = {"n": self.n, "partial": True, "phases": []}
        self.mapping = load_counterparty_mapping()
        self.overlap = timedelta(seconds=1)
        self.phases: list[Phase] = []
        self.profiles: dict[str, pstats.Stats] = {}
        self._profiler: cProfile.Profile | None = None
        self.run_counters: dict[tuple[str, str], Counter] = {}
        self.t_start = time.perf_counter()

    # -- primitives -----------------------------------------------------------------------------------

    def new_clients(self) -> tuple[Any, Any]:
        """A Bitrix24 client (standard plan limiter) and a 1C client against the contour."""
        from crm1c.clients.bitrix24 import Bitrix24Client
        from crm1c.clients.onec import OneCClient

        crm = Bitrix24Client(
            self.bitrix_base,
            BITRIX_USER,
            BITRIX_TOKEN,
            verify=self.ca,
            limiter=self._make_limiter("standard"),
            retry=self.retry,
            timeout=60,
        )
        onec = OneCClient(
            self.onec_url, ONEC_USER, ONEC_PASSWORD, verify=self.ca, retry=self.retry, timeout=60
        )
        return crm, onec

    def _wrap_settle(self) -> None:
        """Time the serial bookkeeping after the external writes (``outcome.settle_all``, once per chunk) in
        both loaders."""
        import importlib

        for module in (
            importlib.import_module("crm1c.sync.counterparties.load_onec"),
            importlib.import_module("crm1c.sync.counterparties.load_crm"),
        ):
            original = module.settle_all

            def timed(env: Any, outcomes: Any, *rest: Any, _orig: Callable = original) -> Any:
                t0 = time.perf_counter()
                try:
                    return _orig(env, outcomes, *rest)
                finally:
                    with self._timers_lock:
                        self.timers["settle"] += time.perf_counter() - t0
                        self.timers["settled"] += len(outcomes)

            vars(module)["settle_all"] = timed

        plan_module = importlib.import_module("crm1c.sync.counterparties.plan")
        plan_one = plan_module._plan_one

        def counted(*args: Any, _orig: Callable = plan_one) -> Any:
            self.timers["planned_records"] += 1
            return _orig(*args)

        vars(plan_module)["_plan_one"] = counted

    def save(self) -> None:
        self.result["peak_rss_mb"] = maxrss_mb()
        self.result["wall_s"] = time.perf_counter() - self.t_start
        Path(self.args.out).write_text(json.dumps(self.result, ensure_ascii=False, indent=1, default=str))

    @contextlib.contextmanager
    def phase(self, name: str, note: str = "") -> Iterator[Phase]:
        if self.args.trace:
            log.info("---- phase %s", name)
        ph = Phase(name, time.perf_counter(), crm_i0=len(self.rec.crm_events), note=note)
        onec0, onec_t0 = self.rec.onec_snapshot()
        st0, _calls0 = self.staging.snapshot()
        settle0 = self.timers["settle"]
        planned0, settled0 = self.timers["planned_records"], self.timers["settled"]
        cpu0 = cpu_times(self.args.contour_pid)
        if self.args.profile:
            self._profiler = cProfile.Profile()
            self._profiler.enable()
        try:
            yield ph
        except Interrupted:
            ph.note = (ph.note + "; " if ph.note else "") + "INTERRUPTED by the time budget"
            raise
        finally:
            if self._profiler is not None:
                self._profiler.disable()
                stats = pstats.Stats(self._profiler)
                key = name.split(".")[0] + "." + name.split(".")[1] if name.count(".") else name
                if key in self.profiles:
                    self.profiles[key].add(stats)
                else:
                    self.profiles[key] = stats
                self._profiler = None
            ph.t1 = time.perf_counter()
            ph.crm_i1 = len(self.rec.crm_events)
            onec1, onec_t1 = self.rec.onec_snapshot()
            ph.onec = {k: v - onec0.get(k, 0) for k, v in onec1.items() if v - onec0.get(k, 0)}
            ph.onec_time = {k: v - onec_t0.get(k, 0) for k, v in onec_t1.items()}
            ph.maxrss_mb, ph.rss_mb = maxrss_mb(), current_rss_mb()
            st1, _calls1 = self.staging.snapshot()
            ph.staging = {k: v - st0.get(k, 0.0) for k, v in st1.items() if v - st0.get(k, 0.0) > 0.0005}
            ph.settle_s = self.timers["settle"] - settle0
            cpu1 = cpu_times(self.args.contour_pid)
            wall = max(ph.t1 - ph.t0, 1e-9)
            own, contour_cpu = cpu1[1] - cpu0[1], cpu1[2] - cpu0[2]
            ph.cpu = {
                "sync": own / wall,
                "contour": contour_cpu / wall,
                "others": max(0.0, (cpu1[0] - cpu0[0]) - own - contour_cpu) / wall,
            }
            ph.planned = int(self.timers["planned_records"] - planned0)
            ph.settled = int(self.timers["settled"] - settled0)
            if "INTERRUPTED" in ph.note and (ph.planned or ph.settled):
                ph.note += f" after {ph.planned} planned / {ph.settled} settled records"
            self.phases.append(ph)
            self.result["phases"].append(self.phase_summary(ph))
            if self.args.profile and self.profiles:
                self.result["profile"] = {
                    k: _profile_text(v, self.args.profile_top) for k, v in self.profiles.items()
                }
            self.save()
            say(
                f"N={self.n} {name}: {ph.seconds:.1f}s, bitrix {ph.crm_i1 - ph.crm_i0} req, "
                f"1C {sum(v for k, v in ph.onec.items() if k.isupper())} req, "
                f"{_fmt_counters(ph.counters)} rss {ph.rss_mb:.0f}MB peak {ph.maxrss_mb:.0f}MB"
            )

    def step(self, name: str, run_id: str, mode: str = "incremental", staging: Any = None, **kw: Any) -> dict:
        from crm1c.sync import counterparties as flow
        from crm1c.sync.runtime import SyncEnv

        env = SyncEnv(
            staging=staging or self.staging,
            mapping=self.mapping,
            run_id=run_id,
            crm=self.crm,
            onec=self.onec,
            overlap=self.overlap,
            **kw,
        )
        started = self.staging._now()
        fn = getattr(flow, name)
        out = fn(env, mode) if name.startswith("extract") else fn(env)
        if name != "publish":  # as the DAG's tasks do; split load steps add up under one key
            total = self.run_counters.setdefault((run_id, name), Counter())
            total.update(env.counters)
            self.staging.record_run_stats(
                run_id, "counterparty", name, started, self.staging._now(), dict(total)
            )
        return dict(env.counters) if name != "publish" else out

    def timed_step(self, label: str, name: str, run_id: str, mode: str = "incremental", **kw: Any) -> Phase:
        with self.phase(label) as ph:
            ph.counters = self.step(name, run_id, mode, **kw)
        return ph

    def set_standard_plan(self, on: bool) -> None:
        from crm1c.clients.ratelimit import NoLimit

        self.admin.knobs("bitrix", rate_plan="standard" if on else "off")
        self.rec.probe.inner = self._make_limiter("standard") if on else NoLimit()
        if on:  # the portal's bucket may still hold the burst sent before the switch: assume it is full
            self.rec.probe.penalize()

    def pending(self, target: str) -> int:
        """Pending intents of one target, counted in SQL (loading them would put 100k payloads into the
        very RSS being measured)."""
        import sqlalchemy as sa

        query = sa.text(
            "SELECT count(*) FROM write_intent WHERE entity = 'counterparty' AND target_system = :t "
            "AND state = 'pending'"
        )
        with self.staging.engine.connect() as conn:
            return int(conn.execute(query, {"t": target}).scalar_one())

    # -- runs -------------------------------------------------------------------------------------------

    def sync_run(self, label: str, mode: str, *, saturate: bool = False) -> list[Phase]:
        """One plain run of all steps (no slicing)."""
        run_id = uuid.uuid4().hex
        out = []
        for name in STEPS:
            if name == "extract_crm" and saturate:
                self.rec.probe.penalize()  # the client's bucket is full: every request is rate-bound
            if name == "extract_crm":
                out.append(self.extract_crm_windowed(f"{label}.{name}", run_id, mode))
            else:
                out.append(self.timed_step(f"{label}.{name}", name, run_id, mode))
            if name == "extract_onec" and self.args.analyze_staging:
                self.analyze()
        return out

    def early_probe(self, run_id: str) -> None:
        """``--early-probe`` (for sizes whose full sync does not fit the budget): right after A's extracts, an
        incremental extract_onec (X). Nothing has changed in 1C, so X is the 1C part of a no-change run, and
        it
        shows the memory of an incremental 1C version scan at this N. (The CRM part cannot be probed this way:
        seeded companies share one DATE_MODIFY, so the overlap window would re-read all of them.)"""
        self.timed_step("X.extract_onec", "extract_onec", uuid.uuid4().hex, "incremental")

    def analyze(self) -> None:
        """What-if (``--analyze-staging``): planner statistics for the staging DB, which the engine never
        gathers; SQLite then picks the match_key index in ``by_match_key`` (see README)."""
        with self.staging.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")

    def extract_crm_windowed(self, label: str, run_id: str, mode: str) -> Phase:
        """extract_crm; a full one runs ``--crm-read-window`` s at the standard plan, then with the limit off
        (figures are taken over the standard-plan part only)."""
        window = self.args.crm_read_window
        if mode != "full" or not window:
            return self.timed_step(label, "extract_crm", run_id, mode)
        switched: dict[str, float] = {}

        def lift() -> None:
            switched["t"] = time.perf_counter()
            self.set_standard_plan(False)

        timer = threading.Timer(window, lift)
        timer.daemon = True
        with self.phase(label) as ph:
            timer.start()
            try:
                ph.counters = self.step("extract_crm", run_id, mode)
            finally:
                timer.cancel()
                timer.join()
            if "t" in switched:
                ph.switched_at = switched["t"]
                ph.note = f"standard plan for the first {window:.0f}s, then limit off"
        if "t" in switched:
            self.set_standard_plan(True)
        return ph

    def first_full_sync(self) -> None:
        run_id = uuid.uuid4().hex
        self.extract_crm_windowed("A.extract_crm", run_id, "full")
        self.timed_step("A.extract_onec", "extract_onec", run_id, "full")
        if self.args.early_probe:
            self.early_probe(run_id)
        if self.args.analyze_staging:
            self.analyze()
        self.timed_step("A.plan", "plan", run_id, "full")
        self.onec_pool_samples(run_id)
        self.timed_step("A.load_onec.rest", "load_onec", run_id, onec_pool=max(self.args.pools))
        self.crm_write_window(run_id)
        self.timed_step("A.publish", "publish", run_id)

    def onec_pool_samples(self, run_id: str) -> None:
        """load_onec at 1C latency 20 ms on a slice of the queue per pool size."""
        pools = self.args.pools
        queue = self.pending("onec")
        self.result["onec_rtt_ms"] = {"0": self.onec_rtt()}
        self.admin.knobs("onec", latency_ms=ONEC_LATENCY_MS)
        self.result["onec_rtt_ms"][str(ONEC_LATENCY_MS)] = self.onec_rtt()
        try:
            per_pool_s = self.args.onec_sample_s
            for k in pools:
                cap = math.ceil(per_pool_s * k / (ONEC_LATENCY_MS / 1000.0))
                cap = max(50, min(cap, queue // (2 * len(pools)) or 50))
                capped = CappedStaging(self.staging, "onec", cap=cap)
                with self.phase(f"A.load_onec.p{k}", note=f"pool {k}, cap {cap} intents") as ph:
                    ph.counters = self.step("load_onec", run_id, staging=capped, onec_pool=k)
        finally:
            self.admin.knobs("onec", latency_ms=0)

    def onec_rtt(self, samples: int = 40) -> dict:
        """Round trip of one small 1C read on its own client (not counted): median and mean ms. The emulator
        answers ``latency_ms`` after the request arrived (its work included): the rest is the client's."""
        from crm1c.clients.onec import OneCClient
        from crm1c.clients.retry import NO_RETRY

        client = OneCClient(
            self.onec_url, ONEC_USER, ONEC_PASSWORD, verify=self.ca, retry=NO_RETRY, timeout=30
        )
        ref = next(client.list("Catalog_Контрагенты", select=["Ref_Key"], page_size=1))[0]["Ref_Key"]
        times = []
        for _ in range(samples):
            t0 = time.perf_counter()
            client.get("Catalog_Контрагенты", ref, select=["Ref_Key", "DataVersion"])
            times.append(1000 * (time.perf_counter() - t0))
        client.close()
        times.sort()
        return {"median": times[len(times) // 2], "mean": sum(times) / len(times)}

    def crm_write_window(self, run_id: str) -> None:
        """load_crm at the standard plan for the window, then (if anything is left) with the limit off."""
        deadline = time.perf_counter() + self.args.crm_write_window
        capped = CappedStaging(self.staging, "crm", deadline=deadline)
        self.rec.probe.penalize()  # bucket full from the start: every write request is rate-bound (steady)
        with self.phase("A.load_crm.standard", note="client bucket saturated at the start") as ph:
            ph.counters = self.step("load_crm", run_id, staging=capped)
        if capped.stopped and self.pending("crm"):
            self.set_standard_plan(False)
            try:
                self.timed_step("A.load_crm.unlimited", "load_crm", run_id)
            finally:
                self.set_standard_plan(True)

    def wrote(self, phases: list[Phase]) -> int:
        crm = sum(1 for ph in phases for e in self.rec.crm_events[ph.crm_i0 : ph.crm_i1] if e.write)
        onec = sum(ph.onec.get(v, 0) for ph in phases for v in ("POST", "PATCH", "PUT", "DELETE", "MERGE"))
        return crm + onec

    def converge(self, label: str, limit: int = 6) -> list[list[Phase]]:
        runs = []
        for i in range(1, limit + 1):
            time.sleep(self.overlap.total_seconds() + 0.2)  # start after the overlap window has passed
            run = self.sync_run(f"{label}{i}", "incremental")
            runs.append(run)
            if self.wrote(run) == 0:
                break
        return runs

    def _every_100th(self, system: str, offset: int) -> list[tuple[str, str]]:
        """``(external_id, version)`` of every 100th live seen record, picked in SQL (cheap on memory)."""
        import sqlalchemy as sa

        query = sa.text(  # CRM ids are numbers: every 100th in numeric order
            "SELECT external_id, version FROM (SELECT external_id, version, row_number() OVER (ORDER BY "
            "CASE WHEN :s = 'crm' THEN CAST(external_id AS INTEGER) END, external_id) - 1 AS rn "
            "FROM seen_record WHERE system = :s AND entity = 'counterparty' AND NOT deleted) AS numbered "
            "WHERE rn % 100 = :o ORDER BY rn"
        )
        with self.staging.engine.connect() as conn:
            return [(str(i), str(v)) for i, v in conn.execute(query, {"s": system, "o": offset})]

    def edit_one_percent(self) -> dict:
        """Change the comment of 1 % of counterparties in the CRM and of another 1 % in 1C, through clients
        of their own (not counted) as users would; then let the Bitrix24 bucket drain."""
        from concurrent.futures import ThreadPoolExecutor

        crm, onec = self.new_clients()
        stamp = time.strftime("%H%M%S")
        crm_ids = [i for i, _v in self._every_100th("crm", 0)]
        onec_rows = self._every_100th("onec", 50)
        started = time.perf_counter()
        for part in range(0, len(crm_ids), 50):
            chunk = crm_ids[part : part + 50]
            cmds = {
                f"u{n}": (
                    "crm.company.update",
                    {"id": cid, "fields": {"COMMENTS": f"bench edit {stamp} {cid}"}},
                )
                for n, cid in enumerate(chunk)
            }
            result = crm.batch(cmds, write=True)
            if result.errors:
                raise RuntimeError(f"CRM edit failed: {next(iter(result.errors.values()))}")

        def patch(item: tuple[str, str]) -> None:
            ref, version = item
            onec.update("Catalog_Контрагенты", ref, {"Комментарий": f"bench edit {stamp}"}, version)

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(patch, onec_rows))
        crm_requests = crm.stats.requests
        time.sleep(crm_requests / DRAIN + 1)  # the portal's bucket is back to empty
        return {
            "crm_edited": len(crm_ids),
            "onec_edited": len(onec_rows),
            "seconds": round(time.perf_counter() - started, 1),
        }

    def scenario(self) -> dict:
        result = self.result
        self.admin.bitrix_stats(reset=True)
        say(f"N={self.n}: A, first full sync")
        self.first_full_sync()
        result["pending_after_A"] = {"onec": self.pending("onec"), "crm": self.pending("crm")}
        say(f"N={self.n}: C, converging")
        result["converge_runs"] = len(self.converge("C"))
        say(f"N={self.n}: N0, no-change incremental run")
        time.sleep(self.overlap.total_seconds() + 0.2)
        self.sync_run("N0", "incremental")
        if not self.args.skip_edits:
            say(f"N={self.n}: I1, 1% edited on each side")
            result["edits"] = self.edit_one_percent()
            self.sync_run("I1", "incremental")
            result["echo_runs"] = len(self.converge("I1e"))
        say(f"N={self.n}: B, full re-sync with a saturated bucket")
        time.sleep(self.overlap.total_seconds() + 0.2)
        self.sync_run("B", "full", saturate=True)
        result["partial"] = False
        return result

    def finish(self) -> None:
        result = self.result
        with contextlib.suppress(Exception):
            result["bitrix_server"] = self.admin.bitrix_stats()
        result["crm_client_stats"] = self.crm.stats.snapshot()
        result["onec_client_stats"] = self.onec.stats.snapshot()
        result["crm_errors"] = dict(self.rec.crm_errors)
        self.save()

    def phase_summary(self, ph: Phase) -> dict:
        events = self.rec.crm_events[ph.crm_i0 : ph.crm_i1]
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
            "crm_cmds_written": sum(e.cmds for e in writes),
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
        out["read_steady"] = _steady(std, cut, lambda e: e.rows)
        out["write_steady"] = _steady(writes, ph.t1, lambda e: e.cmds)
        return out


def _steady(events: list[CrmEvent], t_end: float, amount: Callable[[CrmEvent], int]) -> dict | None:
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


def _fmt_counters(c: dict) -> str:
    keys = [
        k for k in sorted(c) if isinstance(c.get(k), int | float) and c.get(k) and not k.startswith("open_")
    ]
    return ", ".join(f"{k}={c[k]}" for k in keys[:12]) + ("; " if keys else "")


def worker_main(args: argparse.Namespace) -> int:
    logging.basicConfig(
        filename=args.log_file, level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )

    def _budget(*_: Any) -> None:
        raise Interrupted

    signal.signal(signal.SIGTERM, _budget)
    worker = Worker(args)
    worker.result["code"] = code_fingerprint()  # after Worker() imported the engine: what is measured
    try:
        worker.scenario()
    except Interrupted:
        say(f"N={worker.n}: time budget over, stopping (partial results kept)")
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        worker.finish()
    return 0


def _profile_text(stats: pstats.Stats, top: int) -> str:
    buf = io.StringIO()
    stats.stream = buf  # type: ignore[attr-defined]
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(r"crm1c|contour|bench", top)
    return _shorten(buf.getvalue())


def _shorten(text: str) -> str:
    text = text.replace(str(REPO / "plugins") + "/", "").replace(str(REPO) + "/", "")
    return text.replace(str(REPO / ".venv" / "lib" / "python3.11" / "site-packages") + "/", "")


# ================================================================================== profiled contour


def serve_wrapped(argv: list[str]) -> int:
    """``python -m contour serve`` with bench-side options, without touching contour/:
    ``--profile-out PATH``: a cProfile per handler thread, merged into PATH at exit;
    ``--nodelay``: TCP_NODELAY on the emulators' sockets (what-if: see README, Nagle + delayed ACK)."""
    from contour import __main__ as contour_main
    from contour import web

    profile_out: Path | None = None
    while argv and argv[0] != "serve":
        opt = argv.pop(0)
        if opt == "--profile-out":
            profile_out = Path(argv.pop(0))
        elif opt == "--nodelay":
            web._Handler.disable_nagle_algorithm = True
    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()
    local = threading.local()
    original = web._Handler._dispatch

    def dispatch(self: Any) -> None:
        prof = getattr(local, "prof", None)
        if prof is None:
            prof = local.prof = cProfile.Profile()
            with lock:
                profiles.append(prof)
        prof.enable()
        try:
            original(self)
        finally:
            prof.disable()

    if profile_out:
        for verb in ("GET", "POST", "PATCH", "PUT", "DELETE", "MERGE", "HEAD"):
            setattr(web._Handler, f"do_{verb}", dispatch)
    try:
        return contour_main.main(argv)
    finally:
        merged = None
        with lock:
            for prof in profiles:
                with contextlib.suppress(TypeError, ValueError):
                    if merged is None:
                        merged = pstats.Stats(prof)
                    else:
                        merged.add(prof)
        if merged is not None and profile_out:
            merged.dump_stats(str(profile_out))


# ====================================================================================== orchestrator


def code_fingerprint() -> dict:
    """Which engine and contour were measured: git HEAD, uncommitted files, and a hash of their sources
    (others may be changing plugins/ and contour/ while the bench runs)."""
    import hashlib

    digest = hashlib.sha1()  # noqa: S324 - a fingerprint, not security
    for root in (REPO / "plugins" / "crm1c", REPO / "contour"):
        for path in sorted(root.rglob("*.py")):
            digest.update(str(path.relative_to(REPO)).encode())
            digest.update(path.read_bytes())

    def git(*cmd: str) -> str:
        try:
            return subprocess.run(
                ["git", *cmd], cwd=REPO, capture_output=True, text=True, check=False
            ).stdout.rstrip()
        except OSError:
            return ""

    dirty = [line[3:] for line in git("status", "--porcelain", "plugins", "contour").splitlines() if line]
    head = git("rev-parse", "--short", "HEAD").strip()
    return {"head": head, "dirty": dirty, "sources_sha1": digest.hexdigest()[:12]}


def run_size(args: argparse.Namespace, n: int, workdir: Path) -> dict:
    state = workdir / f"contour_{n}"
    contour_prof = workdir / f"contour_{n}.prof" if args.profile_contour else None
    contour = ContourProcess(state, n, contour_prof, nodelay=args.contour_nodelay)
    say(f"N={n}: seeding the contour (profile scale) in {state}")
    seed_s = contour.seed()
    say(f"N={n}: seeded in {seed_s:.1f}s; starting it (rate plan standard)")
    staging_url = (
        args.staging_url.format(n=n) if args.staging_url else f"sqlite:///{workdir}/staging_{n}.sqlite3"
    )
    if args.staging_url and args.staging_url.startswith("postgres"):
        _recreate_pg(staging_url)
    out = workdir / f"result_{n}.json"
    code_before = code_fingerprint()
    contour.start()
    try:
        cmd = [
            PY,
            str(Path(__file__).resolve()),
            "--worker",
            "--size",
            str(n),
            "--state-dir",
            str(state),
            "--onec-port",
            str(contour.onec_port),
            "--bitrix-port",
            str(contour.bitrix_port),
            "--staging-url",
            staging_url,
            "--out",
            str(out),
            "--log-file",
            str(workdir / f"worker_{n}.log"),
            "--pools",
            *map(str, args.pools),
            "--onec-sample-s",
            str(args.onec_sample_s),
            "--crm-write-window",
            str(args.crm_write_window),
            "--profile-top",
            str(args.profile_top),
            "--crm-read-window",
            str(args.crm_read_window),
            "--contour-pid",
            str(contour.proc.pid if contour.proc else 0),
        ]
        if args.analyze_staging:
            cmd.append("--analyze-staging")
        if args.early_probe:
            cmd.append("--early-probe")
        if args.profile:
            cmd.append("--profile")
        if args.skip_edits:
            cmd.append("--skip-edits")
        if args.trace:
            cmd.append("--trace")
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=REPO)
        try:
            proc.wait(timeout=args.budget_min * 60 if args.budget_min else None)
        except subprocess.TimeoutExpired:
            say(f"N={n}: budget of {args.budget_min} min over; asking the worker (pid {proc.pid}) to stop")
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if not out.exists():
            raise RuntimeError(
                f"worker for N={n} failed with {proc.returncode}; see {workdir}/worker_{n}.log"
            )
        result = json.loads(out.read_text())
        result["worker_wall_s"] = time.perf_counter() - started
        result["seed_s"] = seed_s
        result["staging"] = staging_url.split(":", 1)[0]
        result["contour_nodelay"] = bool(args.contour_nodelay)
        result.setdefault("code", code_before)
        code_after = code_fingerprint()
        result["code_changed_during_run"] = code_after["sources_sha1"] != result["code"]["sources_sha1"]
        result["analyze_staging"] = bool(args.analyze_staging)
    finally:
        contour.stop()
    if contour_prof and contour_prof.exists():
        stats = pstats.Stats(str(contour_prof))
        result["contour_profile"] = _profile_text(stats, args.profile_top)
    return result


def _recreate_pg(url: str) -> None:
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    target = sa.make_url(url)
    admin = sa.create_engine(
        target.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{target.database}"')
    admin.dispose()


# ================================================================================================ report


def _ph(result: dict, name: str) -> dict | None:
    return next((p for p in result["phases"] if p["name"] == name), None)


def _phs(result: dict, prefix: str) -> list[dict]:
    return [p for p in result["phases"] if p["name"].startswith(prefix + ".")]


def _sum(phases: list[dict], key: str) -> float:
    return sum(p[key] for p in phases)


def _onec_calls(phases: list[dict]) -> int:
    return sum(v for p in phases for k, v in p["onec"].items() if k.isupper())


def _onec_writes(phases: list[dict]) -> int:
    return sum(p["onec"].get(v, 0) for p in phases for v in ("POST", "PATCH", "PUT", "DELETE", "MERGE"))


def _run_records(phases: list[dict]) -> int:
    return sum(p["counters"].get("crm_read", 0) + p["counters"].get("onec_read", 0) for p in phases)


def _steady_fraction(st: dict | None, fill: float, ceiling: float) -> float | None:
    """Steady rate ÷ ceiling. A pipeline-bound rate above what the ceiling allows at this fill means the
    engine is faster than the portal: in a long run the bucket binds, at ``fill × ceiling``."""
    if not st:
        return None
    rate = st["per_s"]
    if str(st.get("kind", "")).startswith("pipeline"):
        rate = min(rate, fill * ceiling)
    return rate / ceiling


def _cpu(p: dict) -> str:
    c = p.get("cpu") or {}
    if not c:
        return "-"
    return f"{c['sync']:.2f}/{c['contour']:.2f}/{c['others']:.2f}"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, ...]] = []

    def add(self, *cells: Any) -> None:
        self.rows.append(tuple(str(c) for c in cells))

    def render(self, header: tuple[str, ...]) -> str:
        rows = [header, *self.rows]
        widths = [max(len(r[i]) for r in rows if i < len(r)) for i in range(len(header))]
        line = "  ".join("-" * w for w in widths)
        out = ["  ".join(c.ljust(w) for c, w in zip(rows[0], widths, strict=False)), line]
        out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) for r in rows[1:]]
        return "\n".join(out)


def report(results: list[dict], pools: list[int]) -> str:
    parts: list[str] = []
    verdicts = Table()
    for r in results:
        n = r["n"]
        nodelay = ", contour with TCP_NODELAY (what-if)" if r.get("contour_nodelay") else ""
        nodelay += ", staging ANALYZEd (what-if)" if r.get("analyze_staging") else ""
        parts.append(
            f"\n================ N = {n:,} counterparties (staging: {r['staging']}{nodelay}) ================"
        )
        code = r.get("code") or {}
        parts.append(
            f"code: git {code.get('head')}, uncommitted {', '.join(code.get('dirty') or []) or 'none'}; "
            f"sources sha1 {code.get('sources_sha1')}"
            + (
                "  (plugins/ or contour/ changed on disk during the run; figures: code loaded at start)"
                if r.get("code_changed_during_run")
                else ""
            )
        )
        server = r.get("bitrix_server") or {}
        parts.append(
            f"seed {r['seed_s']:.0f}s; worker wall {r['worker_wall_s']:.0f}s; "
            f"peak RSS {r['peak_rss_mb']:.0f} MB; "
            f"Bitrix24 server: {server.get('requests')} requests, "
            f"{server.get('rejected_503')} × 503, {server.get('rejected_429')} × 429, "
            f"max {server.get('max_requests_per_1s')} req in 1 s; "
            f"client errors {r.get('crm_errors') or 'none'}"
        )
        if r.get("partial"):
            parts.append(
                "PARTIAL: the time budget ran out during "
                f"{r['phases'][-1]['name'] if r['phases'] else 'set-up'}; "
                "figures below cover the steps that ran"
            )
        # -- runs overview
        t = Table()
        for label, title in (
            ("A", "A full sync (first)"),
            ("N0", "N0 incremental, no change"),
            ("I1", "I1 incremental, 1% edited each side"),
            ("B", "B full re-sync, nothing to write"),
        ):
            phs = _phs(r, label)
            if not phs:
                continue
            secs = _sum(phs, "seconds")
            recs = _run_records(phs)
            t.add(
                title,
                f"{secs:.1f}",
                f"{recs:,}",
                f"{recs / secs:,.0f}" if secs else "-",
                f"{n / secs:,.0f}" if secs and label in ("A", "B") else "-",
                int(_sum(phs, "crm_requests")),
                _onec_calls(phs),
                int(_sum(phs, "crm_write_requests")),
                _onec_writes(phs),
            )
        for i in range(1, 10):
            phs = _phs(r, f"C{i}")
            if phs:
                t.add(
                    f"C{i} incremental (converging)",
                    f"{_sum(phs, 'seconds'):.1f}",
                    f"{_run_records(phs):,}",
                    "-",
                    "-",
                    int(_sum(phs, "crm_requests")),
                    _onec_calls(phs),
                    int(_sum(phs, "crm_write_requests")),
                    _onec_writes(phs),
                )
        parts.append(
            t.render(
                (
                    "run",
                    "seconds",
                    "records read",
                    "records/s",
                    "N/s",
                    "B24 HTTP",
                    "1C HTTP",
                    "B24 write req",
                    "1C write req",
                )
            )
        )
        # -- steps of A
        t = Table()
        for p in _phs(r, "A"):
            t.add(
                p["name"],
                f"{p['seconds']:.1f}",
                p["crm_requests"],
                p["crm_rows"],
                p["crm_cmds_written"],
                f"{p['crm_waited_s']:.1f}",
                f"{p['crm_http_s'] - p['crm_server_s']:.1f}",
                f"{p['crm_server_s']:.1f}",
                _onec_calls([p]),
                _onec_writes([p]),
                p["onec"].get("rows", 0),
                f"{sum(p['onec_time'].values()):.1f}",
                f"{p.get('staging_s', 0):.1f}",
                f"{p.get('settle_s', 0):.1f}",
                f"{p['maxrss_mb']:.0f}",
                _cpu(p),
                p["note"] or _fmt_counters(p["counters"]).rstrip("; "),
            )
        parts.append("\nSteps of run A (first full sync):")
        parts.append(
            t.render(
                (
                    "step",
                    "s",
                    "B24 req",
                    "B24 rows",
                    "B24 cmds w",
                    "B24 limiter s",
                    "B24 transport s",
                    "B24 server s",
                    "1C req",
                    "1C writes",
                    "1C rows",
                    "1C http s (Σ threads)",
                    "staging s",
                    "settle s",
                    "peak MB",
                    f"cores sync/contour/others (of {os.cpu_count()})",
                    "note / engine counters",
                )
            )
        )
        if r.get("pending_after_A"):
            parts.append(f"pending intents after A: {r['pending_after_A']}")
        parts.append("Staging time by repository method (top 4 per step of A; seconds, summed over threads):")
        for p in _phs(r, "A"):
            top = ", ".join(f"{k} {v:.1f}" for k, v in list((p.get("staging_top") or {}).items())[:4])
            throughput = ""
            if p.get("planned"):
                throughput = f"; {p['planned'] / p['seconds']:.0f} records/s through plan"
            elif p.get("settled"):
                throughput = f"; {p['settled'] / p['seconds']:.0f} intents/s settled"
            parts.append(f"  {p['name']:<22} {top or '-'}{throughput}")
        # -- Bitrix reads
        a_ex, b_ex = _ph(r, "A.extract_crm"), _ph(r, "B.extract_crm")
        parts.append(
            "\nBitrix24 reads (extract_crm, full): ceiling 2,500 rows/request × 2 req/s = 5,000 rows/s"
        )
        t = Table()
        read_fraction, read_source = None, "-"
        for label, p in (("A whole run, fresh bucket", a_ex), ("B saturated bucket", b_ex)):
            if not p:
                continue
            std = p.get("read_std") or {
                "requests": p["crm_read_requests"],
                "rows": p["crm_rows"],
                "seconds": p["seconds"],
                "switched": False,
            }
            if std["switched"]:
                label += f" (first {std['seconds']:.0f}s, standard plan)"
            reqs, rows, secs = std["requests"], std["rows"], std["seconds"]
            fill = rows / (reqs * ROWS_PER_READ) if reqs else 0
            ideal = max(0, math.ceil(rows / ROWS_PER_READ) - BURST) / DRAIN
            st = p["read_steady"]
            steady = _steady_fraction(st, fill, READ_CEILING)
            if steady is not None and (label.startswith("B") or read_fraction is None):
                read_fraction, read_source = steady, label.split()[0]
            t.add(
                label,
                reqs,
                f"{rows:,}",
                f"{rows / reqs:,.0f}" if reqs else "-",
                _pct(fill),
                f"{secs:.1f}",
                f"{rows / secs:,.0f}" if secs else "-",
                f"{ideal:.1f}",
                f"{st['per_s']:,.0f} ({st['requests']} req / {st['window_s']:.1f}s"
                + (", pipeline-bound)" if st.get("kind", "").startswith("pipeline") else ")")
                if st
                else "n/a (all within burst)",
                _pct(steady),
            )
        parts.append(
            t.render(
                (
                    "measurement",
                    "requests",
                    "rows",
                    "rows/req",
                    "fill",
                    "s",
                    "rows/s whole",
                    "ideal s (fresh bucket)",
                    "steady rows/s",
                    "steady ÷ 5,000",
                )
            )
        )
        # -- Bitrix writes
        parts.append(
            "\nBitrix24 writes (load_crm, standard plan window): "
            "ceiling 50 commands/request × 2 req/s = 100/s"
        )
        p = _ph(r, "A.load_crm.standard")
        write_fraction = None
        if p:
            reqs, cmds = p["crm_write_requests"], p["crm_cmds_written"]
            st = p["write_steady"]
            write_fraction = _steady_fraction(
                st, cmds / (reqs * CMDS_PER_WRITE) if reqs else 0, WRITE_CEILING
            )
            t = Table()
            t.add(
                reqs,
                f"{cmds:,}",
                f"{cmds / reqs:.1f}" if reqs else "-",
                _pct(cmds / (reqs * CMDS_PER_WRITE)) if reqs else "-",
                f"{p['seconds']:.1f}",
                f"{cmds / p['seconds']:.1f}" if p["seconds"] else "-",
                f"{st['per_s']:.1f} ({st['requests']} req / {st['window_s']:.1f}s"
                + (", pipeline-bound)" if st.get("kind", "").startswith("pipeline") else ")")
                if st
                else "n/a",
                _pct(write_fraction),
                p["crm_read_requests"],
            )
            parts.append(
                t.render(
                    (
                        "write req",
                        "commands",
                        "cmds/req",
                        "fill",
                        "s",
                        "cmds/s whole",
                        "steady cmds/s",
                        "steady ÷ 100",
                        "read req in step",
                    )
                )
            )
            u = _ph(r, "A.load_crm.unlimited")
            if u:
                parts.append(
                    f"  (window over; the rest, {u['crm_cmds_written']:,} commands in "
                    f"{u['crm_write_requests']} "
                    f"requests, ran with the limit off in {u['seconds']:.1f}s: "
                    f"{u['crm_cmds_written'] / max(u['seconds'], 1e-9):.0f} cmds/s, engine+emulator bound)"
                )
        # -- 1C writes
        parts.append(f"\n1C writes (load_onec), 1C latency {ONEC_LATENCY_MS:.0f} ms: ceiling pool ÷ latency")
        rtt = r.get("onec_rtt_ms") or {}
        if rtt:
            parts.append(
                "  1C round trip of one small GET on an idle connection: "
                + ", ".join(f"latency {k} ms → median {v['median']:.1f} ms" for k, v in rtt.items())
                + " (the emulator answers latency_ms after a request arrives, its own work included)"
            )
        rtt20 = (rtt.get(str(ONEC_LATENCY_MS)) or {}).get("median")
        t = Table()
        onec_fracs = {}
        for k in pools:
            p = _ph(r, f"A.load_onec.p{k}")
            if not p:
                continue
            writes = _onec_writes([p])
            reads = _onec_calls([p]) - writes
            ceiling = k / (ONEC_LATENCY_MS / 1000.0)
            rate = writes / p["seconds"] if p["seconds"] else 0
            onec_fracs[k] = rate / ceiling
            mean_ms = 1000 * sum(p["onec_time"].get(v, 0) for v in ("POST", "PATCH")) / max(writes, 1)
            c = p["counters"]
            t.add(
                k,
                writes,
                reads,
                f"{p['seconds']:.2f}",
                f"{rate:.1f}",
                f"{ceiling:.0f}",
                _pct(rate / ceiling),
                _pct(rate / (k / (rtt20 / 1000.0))) if rtt20 else "-",
                f"{mean_ms:.1f}",
                f"{p['cpu'].get('sync', 0):.2f}" if p.get("cpu") else "-",
                f"create {c.get('onec_create', 0)}, update {c.get('onec_update', 0)}, "
                f"left {c.get('onec_left_pending', 0)}",
            )
        parts.append(
            t.render(
                (
                    "pool",
                    "writes",
                    "other 1C req",
                    "s",
                    "writes/s",
                    "pool÷latency",
                    "fraction",
                    "÷ (pool÷RTT@20ms)",
                    "mean write ms (client)",
                    "sync cores",
                    "intents",
                )
            )
        )
        # -- no-change
        n0 = _phs(r, "N0")
        n0_crm, n0_onec = int(_sum(n0, "crm_requests")), _onec_calls(n0)
        if n0:
            parts.append(
                f"\nNo-change incremental run N0: Bitrix24 {n0_crm} HTTP requests "
                f"({int(_sum(n0, 'crm_read_cmds'))} batch sub-commands), 1C {n0_onec} HTTP requests, "
                f"{_sum(n0, 'seconds'):.2f}s, re-read {_run_records(n0)} records (overlap window); "
                f"converged after {r.get('converge_runs')} incremental run(s)"
            )
        for p in n0:
            parts.append(
                f"  {p['name']:<18} {p['seconds']:6.2f}s  B24 {p['crm_requests']}  1C {_onec_calls([p])}"
            )
        xs = _phs(r, "X")
        if xs:
            x_onec = _onec_calls(xs)
            parts.append(
                "\nEarly probe X (incremental extract_onec right after A's extracts, "
                "nothing changed in 1C): "
                f"1C {x_onec} HTTP requests, {_sum(xs, 'seconds'):.2f}s, "
                f"re-read {_run_records(xs)} records; peak RSS after it "
                f"{max(p['maxrss_mb'] for p in xs):.0f} MB"
            )
            if not n0:
                verdicts.add(
                    n,
                    "no-change 1C scan (probe X), 1C HTTP",
                    x_onec,
                    "≤ 5",
                    _ok(x_onec <= TARGET_NOCHANGE_CALLS),
                )
        if r.get("edits"):
            parts.append(
                f"1% edits before I1: {r['edits']}; echo runs to converge after I1: {r.get('echo_runs')}"
            )
        # verdicts
        verdicts.add(
            n,
            f"Bitrix24 reads, steady ÷ 5,000 rows/s (run {read_source})",
            _pct(read_fraction),
            "≥ 90%",
            _ok(read_fraction is not None and read_fraction >= TARGET_READ),
        )
        reached = _ph(r, "A.load_crm.standard") is not None
        verdicts.add(
            n,
            "Bitrix24 writes, steady ÷ 100 cmds/s",
            _pct(write_fraction) if reached else "not reached",
            "≥ 90%",
            _ok(write_fraction is not None and write_fraction >= TARGET_WRITE) if reached else "n/a",
        )
        for k, f in onec_fracs.items():
            verdicts.add(n, f"1C writes pool {k} ÷ ({k}/20 ms)", _pct(f), "≥ 80%", _ok(f >= TARGET_ONEC))
        if n0:
            verdicts.add(
                n,
                "no-change run, Bitrix24 HTTP requests",
                n0_crm,
                "≤ 5",
                _ok(n0_crm <= TARGET_NOCHANGE_CALLS),
            )
            verdicts.add(
                n, "no-change run, 1C HTTP requests", n0_onec, "≤ 5", _ok(n0_onec <= TARGET_NOCHANGE_CALLS)
            )
        else:
            verdicts.add(n, "no-change run", "not reached", "≤ 5 per system", "n/a")
        verdicts.add(
            n,
            "peak RSS of the sync process" + (" (partial run)" if r.get("partial") else ""),
            f"{r['peak_rss_mb']:.0f} MB",
            "-",
            "",
        )
        if r.get("profile"):
            for name, text in r["profile"].items():
                parts.append(f"\n---- cProfile of the sync, {name} (N={n}) ----\n{text}")
        if r.get("contour_profile"):
            parts.append(f"\n---- cProfile of the contour handlers (N={n}) ----\n{r['contour_profile']}")
    by_n = {r["n"]: r for r in results}
    if len(by_n) >= 2:
        names = [p["name"] for p in results[0]["phases"]]
        common = [nm for nm in names if all(_ph(r, nm) for r in results)]
        t = Table()
        for nm in common:
            t.add(nm, *(f"{_ph(r, nm)['maxrss_mb']:.0f}" for r in results))
        parts.append("\nPeak RSS (MB) of the sync process after each step, by N (same steps only):")
        parts.append(t.render(("step", *(f"N={r['n']:,}" for r in results))))
        lo, hi = min(by_n), max(by_n)
        partial = by_n[lo].get("partial") or by_n[hi].get("partial")
        if partial and common:  # compare like with like: the peak over the steps both sizes ran
            peak = {k: max(_ph(by_n[k], nm)["maxrss_mb"] for nm in common) for k in (lo, hi)}
            what = f"peak RSS ratio {hi:,} ÷ {lo:,} over the {len(common)} steps both ran"
        else:
            peak = {k: by_n[k]["peak_rss_mb"] for k in (lo, hi)}
            what = f"peak RSS ratio {hi:,} ÷ {lo:,}"
        ratio = peak[hi] / peak[lo]
        verdicts.add(
            f"{lo}→{hi}",
            what,
            f"{ratio:.2f}× ({peak[hi]:.0f}/{peak[lo]:.0f} MB)",
            f"≤ {TARGET_RSS_RATIO}×",
            _ok(ratio <= TARGET_RSS_RATIO),
        )
    parts.append("\n================ targets ================")
    parts.append(verdicts.render(("N", "measure", "measured", "target", "result")))
    return "\n".join(parts)


def _ok(flag: bool) -> str:
    return "PASS" if flag else "FAIL"


# ================================================================================================ main


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--serve-wrapped"]:
        return serve_wrapped(argv[1:])
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--pools", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument(
        "--workdir", help="where contour state, staging DBs, logs and results go (default: temp)"
    )
    parser.add_argument(
        "--staging-url",
        help="staging DB URL, '{n}' replaced by the size; a postgresql URL's database is (re)created. "
        "Default: a fresh SQLite file per size",
    )
    parser.add_argument(
        "--onec-sample-s",
        type=float,
        default=5.0,
        help="ideal seconds of 1C writes per pool size (slice = s × pool ÷ 20 ms intents)",
    )
    parser.add_argument(
        "--crm-write-window",
        type=float,
        default=120.0,
        help="seconds of load_crm at the standard plan before the rest runs with the limit off",
    )
    parser.add_argument(
        "--crm-read-window",
        type=float,
        default=300.0,
        help="seconds of a full extract_crm at the standard plan before the limit is lifted",
    )
    parser.add_argument(
        "--analyze-staging",
        action="store_true",
        help="what-if: run ANALYZE on the staging DB after the extracts (the engine never does)",
    )
    parser.add_argument("--skip-edits", action="store_true", help="skip the 1%%-edited incremental run")
    parser.add_argument(
        "--early-probe",
        action="store_true",
        help="after A's extracts, an incremental extract_onec (X): the 1C part of a no-change "
        "run and its memory, without waiting for the full sync (for large N)",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the sync per step (slower figures)")
    parser.add_argument("--profile-contour", action="store_true", help="cProfile the emulators' handlers")
    parser.add_argument("--profile-top", type=int, default=25)
    parser.add_argument(
        "--contour-nodelay",
        action="store_true",
        help="what-if: serve the contour with TCP_NODELAY (set at start-up here; contour/ untouched)",
    )
    parser.add_argument("--json", help="also write all results to this file")
    parser.add_argument(
        "--report-from",
        nargs="+",
        metavar="JSON",
        help="print the report of saved results (files written by --json) and exit",
    )
    parser.add_argument(
        "--budget-min", type=float, help="stop a size's worker after this many minutes (partial)"
    )
    parser.add_argument("--trace", action="store_true", help="log every HTTP request to worker_<N>.log")
    # worker-only options
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--state-dir", help=argparse.SUPPRESS)
    parser.add_argument("--onec-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--bitrix-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--contour-pid", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--log-file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker_main(args)
    if args.report_from:
        saved = [r for f in args.report_from for r in json.loads(Path(f).read_text())]
        print(report(sorted(saved, key=lambda r: r["n"]), args.pools))
        return 0
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="crm1c-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    say(f"work directory {workdir}")
    results = []
    for n in args.sizes:
        started = time.perf_counter()
        results.append(run_size(args, n, workdir))
        say(f"N={n}: done in {time.perf_counter() - started:.0f}s")
        if args.json:
            Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=1, default=str))
    print(report(results, args.pools))
    return 0


if __name__ == "__main__":
    sys.exit(main())
