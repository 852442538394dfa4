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

PY = sys.executable
log = logging.getLogger("bench")

from bench.ceilings import DRAIN, ONEC_LATENCY_MS  # noqa: E402
from bench.measure import (  # noqa: E402
    ONEC_WRITE_VERBS,
    CrmEvent,
    Phase,
    TimedStaging,
    cpu_times,
    current_rss_mb,
    fmt_counters,
    maxrss_mb,
    phase_summary,
)
from bench.report import load_saved, report  # noqa: E402


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
        st0 = self.staging.snapshot()
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
            st1 = self.staging.snapshot()
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
            self.result["phases"].append(phase_summary(ph, self.rec.crm_events[ph.crm_i0 : ph.crm_i1]))
            if self.args.profile and self.profiles:
                self.result["profile"] = {
                    k: _profile_text(v, self.args.profile_top) for k, v in self.profiles.items()
                }
            self.save()
            say(
                f"N={self.n} {name}: {ph.seconds:.1f}s, bitrix {ph.crm_i1 - ph.crm_i0} req, "
                f"1C {sum(v for k, v in ph.onec.items() if k.isupper())} req, "
                f"{fmt_counters(ph.counters)} rss {ph.rss_mb:.0f}MB peak {ph.maxrss_mb:.0f}MB"
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
        onec = sum(ph.onec.get(v, 0) for ph in phases for v in ONEC_WRITE_VERBS)
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
        print(report(load_saved(args.report_from), args.pools))
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
