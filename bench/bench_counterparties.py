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
import sys
from pathlib import Path

_REPO = Path(__file__).resolve().parent.parent
for _path in (_REPO / "plugins", _REPO):  # run as a script: bench and crm1c importable
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from bench.cli import command_line as common_command_line  # noqa: E402
from bench.cli import run_bench  # noqa: E402
from bench.orchestrator import COUNTERPARTIES  # noqa: E402
from bench.report import report  # noqa: E402
from bench.worker import worker_main  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Run the sizes and print the report (or re-print saved results, or be the worker)."""
    return run_bench(argv, command_line(), COUNTERPARTIES, worker_main, report)


def command_line() -> argparse.ArgumentParser:
    """The common command line (:mod:`bench.cli`) and the counterparty bench's own options."""
    parser = common_command_line(__doc__)
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
    return parser


if __name__ == "__main__":
    sys.exit(main())
