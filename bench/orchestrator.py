"""One size from start to end: seed and serve the contour, run the worker subprocess within the time
budget, collect its results (with where and on what code they were measured), stop the contour."""

from __future__ import annotations

import argparse
import json
import pstats
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from bench import PY, REPO, say
from bench.code_fingerprint import code_fingerprint
from bench.contour_process import ContourProcess
from bench.profiles import profile_text


@dataclass(frozen=True)
class BenchKind:
    """What differs between benches: the CLI the worker is started with (``--worker`` and its hidden
    options), how the contour is seeded for a size (``None``: the scale profile) and whether a preparing
    worker (``--prep``, not measured: e.g. the entities synced first) runs before the measured one."""

    cli: Path
    seed: Callable[[argparse.Namespace, int], list[str]] | None = None
    prep: bool = False


COUNTERPARTIES = BenchKind(Path(__file__).resolve().parent / "bench_counterparties.py")


def run_size(args: argparse.Namespace, n: int, workdir: Path, kind: BenchKind = COUNTERPARTIES) -> dict:
    """The results of size ``n`` (contour, staging DB, logs and results under ``workdir``)."""
    state = workdir / f"contour_{n}"
    contour_prof = workdir / f"contour_{n}.prof" if args.profile_contour else None
    contour = ContourProcess(state, n, contour_prof, nodelay=args.contour_nodelay)
    seed_cmd = kind.seed(args, n) if kind.seed else None
    say(f"N={n}: seeding the contour ({' '.join(seed_cmd) if seed_cmd else 'profile scale'}) in {state}")
    seed_s = contour.seed(seed_cmd)
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
        prep_s = _prepare(kind, args, n, workdir, state, contour, staging_url) if kind.prep else None
        cmd = _worker_command(kind, args, n, state, contour, staging_url, out, workdir / f"worker_{n}.log")
        started = time.perf_counter()
        returncode = _run_worker(cmd, n, args.budget_min)
        if not out.exists():
            raise RuntimeError(f"worker for N={n} failed with {returncode}; see {workdir}/worker_{n}.log")
        result = json.loads(out.read_text())
        result["worker_wall_s"] = time.perf_counter() - started
        result["seed_s"] = seed_s
        if prep_s is not None:
            result["prep_s"] = prep_s
        result["staging"] = staging_url.split(":", 1)[0]
        result["contour_nodelay"] = bool(args.contour_nodelay)
        result.setdefault("code", code_before)
        code_after = code_fingerprint()
        result["code_changed_during_run"] = code_after["sources_sha1"] != result["code"]["sources_sha1"]
        result["analyze_staging"] = bool(args.analyze_staging)
    finally:
        contour.stop()
    if contour_prof and contour_prof.exists():
        result["contour_profile"] = profile_text(pstats.Stats(str(contour_prof)), args.profile_top)
    return result


def _prepare(
    kind: BenchKind,
    args: argparse.Namespace,
    n: int,
    workdir: Path,
    state: Path,
    contour: ContourProcess,
    staging_url: str,
) -> float:
    """Run the preparing worker (``--prep``) to its end; the seconds it took."""
    say(f"N={n}: preparing (not measured)")
    log_file = workdir / f"prep_{n}.log"
    cmd = _worker_command(kind, args, n, state, contour, staging_url, workdir / f"prep_{n}.json", log_file)
    started = time.perf_counter()
    returncode = subprocess.run([*cmd, "--prep"], cwd=REPO, check=False).returncode
    if returncode:
        raise RuntimeError(f"preparing N={n} failed with {returncode}; see {log_file}")
    return time.perf_counter() - started


def _worker_command(
    kind: BenchKind,
    args: argparse.Namespace,
    n: int,
    state: Path,
    contour: ContourProcess,
    staging_url: str,
    out: Path,
    log_file: Path,
) -> list[str]:
    cmd = [
        PY,
        str(kind.cli),
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
        str(log_file),
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
    for flag in ("analyze_staging", "early_probe", "profile", "skip_edits", "trace"):
        if getattr(args, flag, False):
            cmd.append("--" + flag.replace("_", "-"))
    return cmd


def _run_worker(cmd: list[str], n: int, budget_min: float | None) -> int | None:
    """Run the worker; past the budget ask it to stop (SIGTERM: it saves what it measured). Its exit code."""
    proc = subprocess.Popen(cmd, cwd=REPO)
    try:
        proc.wait(timeout=budget_min * 60 if budget_min else None)
    except subprocess.TimeoutExpired:
        say(f"N={n}: budget of {budget_min} min over; asking the worker (pid {proc.pid}) to stop")
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def _recreate_pg(url: str) -> None:
    target = sa.make_url(url)
    admin = sa.create_engine(
        target.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{target.database}"')
    admin.dispose()
