"""The sync as the worker runs it: recorded clients against the contour, a timed staging DB, each step
through :mod:`crm1c.sync.pipeline` measured as a phase, and the plain runs of all steps."""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import logging
import math
import pstats
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench import say
from bench.ceilings import ONEC_LATENCY_MS
from bench.contour_process import Admin
from bench.http_recorder import Recorder
from bench.measure import (
    ONEC_WRITE_VERBS,
    Phase,
    StageTimers,
    TimedStaging,
    cpu_times,
    current_rss_mb,
    fmt_counters,
    maxrss_mb,
    phase_summary,
)
from bench.profiles import profile_text
from crm1c.clients.bitrix24 import Bitrix24Client
from crm1c.clients.onec import OneCClient
from crm1c.clients.ratelimit import NoLimit
from crm1c.clients.retry import NO_RETRY, RetryPolicy
from crm1c.staging import Staging, make_engine, migrate
from crm1c.staging.ratelimit import make_limiter
from crm1c.sync import pipeline
from crm1c.sync.entities import EntityRef, entity
from crm1c.sync.runtime import SyncEnv

# Contour credentials (the same as tests/contour_harness.py; copied so the bench does not import tests).
ONEC_USER, ONEC_PASSWORD = "Интеграция", "contour"
BITRIX_USER, BITRIX_TOKEN = "1", "contour0webhook0token"
#: The steps of a run, by their DAG task names.
STEPS = ("extract_crm", "extract_onec", "plan", "load_onec", "load_crm", "publish")
#: The steps of each entity's DAG, in its order (payments: the CRM reader needs the deal ids 1C knows).
STEPS_OF = {
    "counterparties": STEPS,
    "nomenclature": ("extract_crm", "extract_onec", "plan", "load_crm", "publish"),
    "invoices": ("extract_crm", "extract_onec", "plan", "load_onec", "publish"),
    "payments": ("extract_onec", "extract_crm", "plan", "load_crm", "publish"),
}

log = logging.getLogger("bench")


class Interrupted(BaseException):
    """The orchestrator's time budget ran out (SIGTERM): stop, keep what was measured."""


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


class SyncRunner:
    """The sync of one entity (:meth:`use` switches it; counterparties at first) at one size against the
    served contour, every step measured as a phase whose summary goes into ``result`` (saved to ``--out``
    after each phase)."""

    def __init__(self, args: argparse.Namespace, entity_name: str = "counterparties") -> None:
        self.args = args
        self.n = args.size
        self.entity = entity(entity_name)
        self.steps = STEPS_OF[entity_name]
        state = Path(args.state_dir)
        self.ca = str(state / "ca.pem")
        self.admin = Admin(state, args.onec_port, args.bitrix_port)
        self.bitrix_base = f"https://127.0.0.1:{args.bitrix_port}"
        self.onec_url = f"https://127.0.0.1:{args.onec_port}/accounting/odata/standard.odata/"
        self.retry = RetryPolicy(base_delay=0.05, max_delay=0.5)
        self.rec = Recorder(make_limiter("standard"), trace=args.trace)
        self.crm, self.onec = self.new_clients(self.rec)
        migrate(args.staging_url)
        self.staging = TimedStaging(Staging(make_engine(args.staging_url)))
        self.timers = StageTimers()
        self.result: dict[str, Any] = {"n": self.n, "partial": True, "phases": []}
        self.mapping = self.entity.load_mapping()
        self.overlap = timedelta(seconds=1)
        self.profiles: dict[str, pstats.Stats] = {}
        self._profiler: cProfile.Profile | None = None
        self._thread_profilers: list[cProfile.Profile] = []
        self.run_counters: dict[tuple[str, str], Counter] = {}
        self.t_start = time.perf_counter()

    def use(self, entity_name: str) -> None:
        """Run entity ``entity_name`` from now on (its mapping and its DAG's steps)."""
        self.entity = entity(entity_name)
        self.steps = STEPS_OF[entity_name]
        self.mapping = self.entity.load_mapping()

    # -- clients and staging ------------------------------------------------------------------------------

    def new_clients(self, recorder: Recorder | None = None) -> tuple[Bitrix24Client, OneCClient]:
        """A Bitrix24 client (standard plan limiter) and a 1C client against the contour; with ``recorder``
        their requests are recorded (through its limiter and sessions)."""
        crm = Bitrix24Client(
            self.bitrix_base,
            BITRIX_USER,
            BITRIX_TOKEN,
            verify=self.ca,
            limiter=recorder.probe if recorder else make_limiter("standard"),
            retry=self.retry,
            timeout=60,
            session_factory=recorder.crm_sessions(self.bitrix_base) if recorder else None,
        )
        onec = OneCClient(
            self.onec_url,
            ONEC_USER,
            ONEC_PASSWORD,
            verify=self.ca,
            retry=self.retry,
            timeout=60,
            observer=recorder.onec_observer if recorder else None,
        )
        return crm, onec

    def set_standard_plan(self, on: bool) -> None:
        """The Bitrix24 rate limit on (standard plan) or off, on the server knob and the client alike."""
        self.admin.knobs("bitrix", rate_plan="standard" if on else "off")
        self.rec.probe.inner = make_limiter("standard") if on else NoLimit()
        if on:  # the portal's bucket may still hold the burst sent before the switch: assume it is full
            self.rec.probe.penalize()

    def pending(self, target: str) -> int:
        """Pending intents of one target, counted in SQL (loading them would put 100k payloads into the
        very RSS being measured)."""
        query = sa.text(
            "SELECT count(*) FROM write_intent WHERE entity = :e AND target_system = :t AND state = 'pending'"
        )
        with self.staging.engine.connect() as conn:
            return int(conn.execute(query, {"e": self.entity.key, "t": target}).scalar_one())

    def analyze(self) -> None:
        """What-if (``--analyze-staging``): planner statistics for the staging DB, which the engine never
        gathers (see README)."""
        with self.staging.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")

    def save(self) -> None:
        self.result["peak_rss_mb"] = maxrss_mb()
        self.result["wall_s"] = time.perf_counter() - self.t_start
        Path(self.args.out).write_text(json.dumps(self.result, ensure_ascii=False, indent=1, default=str))

    # -- one step ---------------------------------------------------------------------------------------

    def step(self, name: str, run_id: str, mode: str = "incremental", staging: Any = None, **kw: Any) -> dict:
        """Run step ``name`` of run ``run_id`` through the pipeline; its run stats are recorded as the DAG's
        tasks record them (split load steps add up under one task). Returns the engine's counters (publish:
        the run's totals)."""
        env = SyncEnv(
            staging=staging or self.staging,
            mapping=self.mapping,
            run_id=run_id,
            crm=self.crm,
            onec=self.onec,
            overlap=self.overlap,
            timings=self.timers,
            **kw,
        )
        started = datetime.now(UTC)
        out = run_step(self.entity, env, name, mode)
        if name == "publish":
            return out
        total = self.run_counters.setdefault((run_id, name), Counter())
        total.update(env.counters)
        self.staging.record_run_stats(run_id, self.entity.key, name, started, datetime.now(UTC), dict(total))
        return dict(env.counters)

    def timed_step(self, label: str, name: str, run_id: str, mode: str = "incremental", **kw: Any) -> Phase:
        with self.phase(label) as ph:
            ph.counters = self.step(name, run_id, mode, **kw)
        return ph

    @contextlib.contextmanager
    def phase(self, name: str, note: str = "") -> Iterator[Phase]:
        """Measure what runs inside as phase ``name``: requests, staging time, the engine's stage timings,
        CPU, memory (and a cProfile with ``--profile``); its summary is saved at once."""
        if self.args.trace:
            log.info("---- phase %s", name)
        ph = Phase(name, time.perf_counter(), crm_i0=len(self.rec.crm_events), note=note)
        onec0, onec_t0 = self.rec.onec_snapshot()
        st0 = self.staging.snapshot()
        seconds0, records0 = self.timers.snapshot()
        cpu0 = cpu_times(self.args.contour_pid)
        if self.args.profile:
            self._profiler = cProfile.Profile()
            self._profiler.enable()
            threading.setprofile(self._profile_new_thread)  # the engine's pool threads too
        try:
            yield ph
        except Interrupted:
            ph.note = (ph.note + "; " if ph.note else "") + "INTERRUPTED by the time budget"
            raise
        finally:
            self._keep_profile(name)
            ph.t1 = time.perf_counter()
            ph.crm_i1 = len(self.rec.crm_events)
            onec1, onec_t1 = self.rec.onec_snapshot()
            ph.onec = {k: v - onec0.get(k, 0) for k, v in onec1.items() if v - onec0.get(k, 0)}
            ph.onec_time = {k: v - onec_t0.get(k, 0) for k, v in onec_t1.items()}
            ph.maxrss_mb, ph.rss_mb = maxrss_mb(), current_rss_mb()
            st1 = self.staging.snapshot()
            ph.staging = {k: v - st0.get(k, 0.0) for k, v in st1.items() if v - st0.get(k, 0.0) > 0.0005}
            seconds1, records1 = self.timers.snapshot()
            ph.settle_s = seconds1.get("settle", 0.0) - seconds0.get("settle", 0.0)
            ph.planned = records1.get("plan", 0) - records0.get("plan", 0)
            ph.settled = records1.get("settle", 0) - records0.get("settle", 0)
            cpu1 = cpu_times(self.args.contour_pid)
            wall = max(ph.t1 - ph.t0, 1e-9)
            own, contour_cpu = cpu1[1] - cpu0[1], cpu1[2] - cpu0[2]
            ph.cpu = {
                "sync": own / wall,
                "contour": contour_cpu / wall,
                "others": max(0.0, (cpu1[0] - cpu0[0]) - own - contour_cpu) / wall,
            }
            if "INTERRUPTED" in ph.note and (ph.planned or ph.settled):
                ph.note += f" after {ph.planned} planned / {ph.settled} settled records"
            self._record_phase(ph)

    def _keep_profile(self, name: str) -> None:
        """Stop this phase's profiler; its stats add up per step (``A.load_onec.p1`` → ``A.load_onec``)."""
        if self._profiler is None:
            return
        self._profiler.disable()
        threading.setprofile(None)
        stats = pstats.Stats(self._profiler)
        while self._thread_profilers:  # threads started in the phase (their stats count once each)
            stats.add(pstats.Stats(self._thread_profilers.pop()))
        key = name.split(".")[0] + "." + name.split(".")[1] if name.count(".") else name
        if key in self.profiles:
            self.profiles[key].add(stats)
        else:
            self.profiles[key] = stats
        self._profiler = None

    def _profile_new_thread(self, *_event: Any) -> None:
        """The first profile event of a thread started in a profiled phase: profile it on its own
        (``cProfile`` then replaces this hook in that thread)."""
        profiler = cProfile.Profile()
        self._thread_profilers.append(profiler)
        profiler.enable()

    def _record_phase(self, ph: Phase) -> None:
        self.result["phases"].append(phase_summary(ph, self.rec.crm_events[ph.crm_i0 : ph.crm_i1]))
        if self.args.profile and self.profiles:
            self.result["profile"] = {
                k: profile_text(v, self.args.profile_top) for k, v in self.profiles.items()
            }
        self.save()
        say(
            f"N={self.n} {ph.name}: {ph.seconds:.1f}s, bitrix {ph.crm_i1 - ph.crm_i0} req, "
            f"1C {sum(v for k, v in ph.onec.items() if k.isupper())} req, "
            f"{fmt_counters(ph.counters)} rss {ph.rss_mb:.0f}MB peak {ph.maxrss_mb:.0f}MB"
        )

    # -- load steps measured on slices -------------------------------------------------------------------

    def onec_pool_samples(self, label: str, run_id: str) -> None:
        """load_onec at 1C latency 20 ms on a slice of the queue per pool size (phases
        ``<label>.load_onec.p<K>``)."""
        pools = self.args.pools
        queue = self.pending("onec")
        self.result["onec_rtt_ms"] = {"0": self.onec_rtt()}
        self.admin.knobs("onec", latency_ms=ONEC_LATENCY_MS)
        self.result["onec_rtt_ms"][str(ONEC_LATENCY_MS)] = self.onec_rtt()
        try:
            for k in pools:
                cap = math.ceil(self.args.onec_sample_s * k / (ONEC_LATENCY_MS / 1000.0))
                cap = max(50, min(cap, queue // (2 * len(pools)) or 50))
                capped = CappedStaging(self.staging, "onec", cap=cap)
                with self.phase(f"{label}.load_onec.p{k}", note=f"pool {k}, cap {cap} intents") as ph:
                    ph.counters = self.step("load_onec", run_id, staging=capped, onec_pool=k)
        finally:
            self.admin.knobs("onec", latency_ms=0)

    def onec_rtt(self, samples: int = 40) -> dict:
        """Round trip of one small 1C read on its own client (not counted): median and mean ms. The emulator
        answers ``latency_ms`` after the request arrived (its work included): the rest is the client's."""
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

    def crm_write_window(self, label: str, run_id: str) -> None:
        """load_crm at the standard plan for the window, then (if anything is left) with the limit off (phases
        ``<label>.load_crm.standard`` and ``<label>.load_crm.unlimited``)."""
        deadline = time.perf_counter() + self.args.crm_write_window
        capped = CappedStaging(self.staging, "crm", deadline=deadline)
        self.rec.probe.penalize()  # bucket full from the start: every write request is rate-bound (steady)
        with self.phase(f"{label}.load_crm.standard", note="client bucket saturated at the start") as ph:
            ph.counters = self.step("load_crm", run_id, staging=capped)
        if capped.stopped and self.pending("crm"):
            self.set_standard_plan(False)
            try:
                self.timed_step(f"{label}.load_crm.unlimited", "load_crm", run_id)
            finally:
                self.set_standard_plan(True)

    # -- plain runs ---------------------------------------------------------------------------------------

    def sync_run(self, label: str, mode: str, *, saturate: bool = False) -> list[Phase]:
        """One plain run of all steps (no slicing); ``saturate``: the client's bucket starts full."""
        run_id = uuid.uuid4().hex
        out = []
        for name in self.steps:
            if name == "extract_crm" and saturate:
                self.rec.probe.penalize()  # the client's bucket is full: every request is rate-bound
            if name == "extract_crm":
                out.append(self.extract_crm_windowed(f"{label}.{name}", run_id, mode))
            else:
                out.append(self.timed_step(f"{label}.{name}", name, run_id, mode))
            if name == "extract_onec" and self.args.analyze_staging:
                self.analyze()
        return out

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

    def converge(self, label: str, limit: int = 6) -> list[list[Phase]]:
        """Incremental runs (each started after the overlap window) until one writes nothing."""
        runs = []
        for i in range(1, limit + 1):
            time.sleep(self.overlap.total_seconds() + 0.2)
            run = self.sync_run(f"{label}{i}", "incremental")
            runs.append(run)
            if self.wrote(run) == 0:
                break
        return runs

    def wrote(self, phases: list[Phase]) -> int:
        """Write requests of these phases, both systems."""
        crm = sum(1 for ph in phases for e in self.rec.crm_events[ph.crm_i0 : ph.crm_i1] if e.write)
        onec = sum(ph.onec.get(v, 0) for ph in phases for v in ONEC_WRITE_VERBS)
        return crm + onec


def run_step(ref: EntityRef, env: SyncEnv, name: str, mode: str) -> dict[str, Any]:
    """Step ``name`` (a DAG task name, see :data:`STEPS`) through the engine's public entry points."""
    kind, _, system = name.partition("_")
    if kind == "extract":
        return pipeline.extract(ref, env, system, mode)
    if kind == "load":
        return pipeline.load(ref, env, system)
    if name == "plan":
        return pipeline.plan(ref, env)
    if name == "publish":
        return pipeline.publish(ref, env)
    raise ValueError(f"unknown step {name!r}; steps: {', '.join(STEPS)}")
