#!/usr/bin/env python
"""Benchmark of the document chain against the contour: deals → 1C documents (``sync_invoices``) and 1C
receipts → the deals' payment fields (``sync_payments``), at N deals.

    .venv/bin/python bench/bench_invoices.py --sizes 10000 100000 --pools 1 2 4 8

For every N the script seeds a fresh contour with :mod:`bench.invoice_dataset` (N deals × 3 product rows at
WON — a payment invoice and a sale each —, N ÷ 10 companies and items in both systems, a receipt without a
breakdown for two deals in three), serves it in a separate process, syncs counterparties and nomenclature in
a preparing worker (not measured, Bitrix24 limit off), then runs the measured worker (peak RSS is its own):

I     first full sync_invoices: extract_crm at the standard plan for ``--crm-read-window`` s, then with the
      limit off; load_onec at 1C latency 20 ms on one slice of documents per pool size, the rest at 0 ms.
IC*   incremental sync_invoices until a run writes nothing.
P     first full sync_payments: load_crm at the standard plan for ``--crm-write-window`` s with the client
      bucket saturated at the start (steady state), the rest with the limit off.
PC*   incremental sync_payments until a run writes nothing.
IR*/PR*  incremental runs of both again (the payment fields changed the deals' DATE_MODIFY, so
      sync_invoices reads those deals once more; limit off), until neither writes.
IN0, PN0  one more incremental run of each: the measured no-change runs (HTTP requests per system).

``--profile`` runs the worker under cProfile and prints the hot spots per step.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

_REPO = Path(__file__).resolve().parent.parent
for _path in (_REPO / "plugins", _REPO):  # run as a script: bench and crm1c importable
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from bench import say  # noqa: E402
from bench.cli import command_line as common_command_line  # noqa: E402
from bench.cli import run_bench  # noqa: E402
from bench.invoice_report import report  # noqa: E402
from bench.orchestrator import BenchKind  # noqa: E402
from bench.worker import Worker, worker_main  # noqa: E402


class InvoiceWorker(Worker):
    """The scenario of the document chain (module docstring); ``--prep``: the entities it needs, synced."""

    def scenario(self) -> dict:
        if self.args.prep:
            return self.prepare()
        result = self.result
        self.admin.bitrix_stats(reset=True)
        self.use("invoices")
        say(f"N={self.n}: I, first full sync_invoices")
        self.first_full_invoices()
        result["pending_after_I"] = self.pending("onec")
        result["converge_invoices"] = len(self.converge("IC"))
        self.use("payments")
        say(f"N={self.n}: P, first full sync_payments")
        self.first_full_payments()
        result["pending_after_P"] = self.pending("crm")
        result["converge_payments"] = len(self.converge("PC"))
        say(f"N={self.n}: IR/PR, both again until neither writes (limit off)")
        self.set_standard_plan(False)
        try:
            result["rounds_after_payments"] = self.settle_both()
        finally:
            self.set_standard_plan(True)
        for name, label in (("invoices", "IN0"), ("payments", "PN0")):
            say(f"N={self.n}: {label}, no-change run of sync_{name}")
            self.use(name)
            time.sleep(self.overlap.total_seconds() + 0.2)
            self.sync_run(label, "incremental")
        result["partial"] = False
        return result

    def prepare(self) -> dict:
        """Counterparties (twice: 1C-born ones get their CRM id) and nomenclature, limit off."""
        self.set_standard_plan(False)
        self.args.crm_read_window = 0
        for name, runs in (("counterparties", 2), ("nomenclature", 1)):
            self.use(name)
            for i in range(runs):
                say(f"N={self.n}: preparing, sync_{name} run {i + 1}")
                self.sync_run(f"prep-{name}{i}", "full")
        self.set_standard_plan(True)
        self.result["partial"] = False
        return self.result

    def first_full_invoices(self) -> None:
        run_id = uuid.uuid4().hex
        self.extract_crm_windowed("I.extract_crm", run_id, "full")
        self.timed_step("I.extract_onec", "extract_onec", run_id, "full")
        self.timed_step("I.plan", "plan", run_id, "full")
        self.onec_pool_samples("I", run_id)
        self.timed_step("I.load_onec.rest", "load_onec", run_id, onec_pool=max(self.args.pools))
        self.timed_step("I.publish", "publish", run_id)

    def first_full_payments(self) -> None:
        run_id = uuid.uuid4().hex
        self.timed_step("P.extract_onec", "extract_onec", run_id, "full")
        self.timed_step("P.extract_crm", "extract_crm", run_id, "full")
        self.timed_step("P.plan", "plan", run_id, "full")
        self.crm_write_window("P", run_id)
        self.timed_step("P.publish", "publish", run_id)

    def settle_both(self, limit: int = 4) -> int:
        """Incremental runs of invoices, then payments, until a round writes nothing; the rounds run."""
        for i in range(1, limit + 1):
            wrote = 0
            for name, label in (("invoices", "IR"), ("payments", "PR")):
                self.use(name)
                time.sleep(self.overlap.total_seconds() + 0.2)
                wrote += self.wrote(self.sync_run(f"{label}{i}", "incremental"))
            if not wrote:
                return i
        return limit


def main(argv: list[str] | None = None) -> int:
    """Run the sizes and print the report (or re-print saved results, or be a worker)."""
    kind = BenchKind(Path(__file__).resolve(), seed=_seed_command, prep=True)
    return run_bench(argv, command_line(), kind, _worker, report)


def _worker(args: argparse.Namespace) -> int:
    return worker_main(args, InvoiceWorker)


def _seed_command(args: argparse.Namespace, n: int) -> list[str]:
    return ["-m", "bench.invoice_dataset", "--size", str(n), "--rows", str(args.rows), "--stage", args.stage]


def command_line() -> argparse.ArgumentParser:
    """The common command line (:mod:`bench.cli`) and this bench's own options."""
    parser = common_command_line(__doc__)
    parser.add_argument("--rows", type=int, default=3, help="product rows per deal")
    parser.add_argument("--stage", default="WON", help="the deals' stage (WON: an invoice and a sale each)")
    parser.add_argument("--prep", action="store_true", help=argparse.SUPPRESS)
    parser.set_defaults(crm_read_window=30.0, analyze_staging=False, skip_edits=False, early_probe=False)
    return parser


if __name__ == "__main__":
    sys.exit(main())
