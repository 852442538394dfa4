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
import json
import sys
import tempfile
import time
from pathlib import Path

_REPO = Path(__file__).resolve().parent.parent
for _path in (_REPO / "plugins", _REPO):  # run as a script: bench and crm1c importable
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from bench import say  # noqa: E402
from bench.orchestrator import run_size  # noqa: E402
from bench.report import load_saved, report  # noqa: E402
from bench.worker import worker_main  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Run the sizes and print the report (or re-print saved results, or be the worker)."""
    args = command_line().parse_args(argv)
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


def command_line() -> argparse.ArgumentParser:
    """The command line (and the worker's hidden options)."""
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
    return parser


if __name__ == "__main__":
    sys.exit(main())
