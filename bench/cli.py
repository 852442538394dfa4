"""What the bench scripts share: the command line (sizes, pools, windows, profiles, budget, the worker's
hidden options) and the main loop (the sizes one by one, the report; or re-print saved results; or be the
worker)."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench import say
from bench.orchestrator import BenchKind, run_size
from bench.report import load_saved


def run_bench(
    argv: list[str] | None,
    parser: argparse.ArgumentParser,
    kind: BenchKind,
    worker: Callable[[argparse.Namespace], int],
    report: Callable[[list[dict], list[int]], str],
) -> int:
    """Run the sizes and print the report (or re-print saved results, or be the worker)."""
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)
    if args.report_from:
        print(report(load_saved(args.report_from), args.pools))
        return 0
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="crm1c-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    say(f"work directory {workdir}")
    results = []
    for n in args.sizes:
        started = time.perf_counter()
        results.append(run_size(args, n, workdir, kind))
        say(f"N={n}: done in {time.perf_counter() - started:.0f}s")
        if args.json:
            Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=1, default=str))
    print(report(results, args.pools))
    return 0


def command_line(description: str | None) -> argparse.ArgumentParser:
    """The options every bench has (and the worker's hidden ones); a bench adds its own."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
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
