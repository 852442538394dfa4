"""The worker subprocess of one size: the scenario of runs (A, C…, N0, I1, B; see bench/README.md), so that
peak RSS belongs to the sync alone and to one N."""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import sqlalchemy as sa

from bench import say
from bench.ceilings import DRAIN
from bench.code_fingerprint import code_fingerprint
from bench.sync_runner import Interrupted, SyncRunner


class Worker(SyncRunner):
    """The scenario of one size on top of the measured sync."""

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
        """Add the server's and the clients' own counts to the result and save it."""
        result = self.result
        with contextlib.suppress(Exception):
            result["bitrix_server"] = self.admin.bitrix_stats()
        result["crm_client_stats"] = self.crm.stats.snapshot()
        result["onec_client_stats"] = self.onec.stats.snapshot()
        result["crm_errors"] = dict(self.rec.crm_errors)
        self.save()

    # -- run A ------------------------------------------------------------------------------------------

    def first_full_sync(self) -> None:
        """Run A step by step: Bitrix24 bucket fresh for the extract, 1C pool samples, the Bitrix24 write
        window."""
        run_id = uuid.uuid4().hex
        self.extract_crm_windowed("A.extract_crm", run_id, "full")
        self.timed_step("A.extract_onec", "extract_onec", run_id, "full")
        if self.args.early_probe:
            self.early_probe()
        if self.args.analyze_staging:
            self.analyze()
        self.timed_step("A.plan", "plan", run_id, "full")
        self.onec_pool_samples("A", run_id)
        self.timed_step("A.load_onec.rest", "load_onec", run_id, onec_pool=max(self.args.pools))
        self.crm_write_window("A", run_id)
        self.timed_step("A.publish", "publish", run_id)

    def early_probe(self) -> None:
        """``--early-probe`` (for sizes whose full sync does not fit the budget): right after A's extracts, an
        incremental extract_onec (X). Nothing has changed in 1C, so X is the 1C part of a no-change run, and
        it shows the memory of an incremental 1C version scan at this N. (The CRM part cannot be probed this
        way: seeded companies share one DATE_MODIFY, so the overlap window would re-read all of them.)"""
        self.timed_step("X.extract_onec", "extract_onec", uuid.uuid4().hex, "incremental")

    # -- run I1 -----------------------------------------------------------------------------------------

    def edit_one_percent(self) -> dict:
        """Change the comment of 1 % of counterparties in the CRM and of another 1 % in 1C, through clients
        of their own (not counted) as users would; then let the Bitrix24 bucket drain."""
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
        time.sleep(crm.stats.requests / DRAIN + 1)  # the portal's bucket is back to empty
        return {
            "crm_edited": len(crm_ids),
            "onec_edited": len(onec_rows),
            "seconds": round(time.perf_counter() - started, 1),
        }

    def _every_100th(self, system: str, offset: int) -> list[tuple[str, str]]:
        """``(external_id, version)`` of every 100th live seen record, picked in SQL (cheap on memory)."""
        query = sa.text(  # CRM ids are numbers: every 100th in numeric order
            "SELECT external_id, version FROM (SELECT external_id, version, row_number() OVER (ORDER BY "
            "CASE WHEN :s = 'crm' THEN CAST(external_id AS INTEGER) END, external_id) - 1 AS rn "
            "FROM seen_record WHERE system = :s AND entity = :e AND NOT deleted) AS numbered "
            "WHERE rn % 100 = :o ORDER BY rn"
        )
        with self.staging.engine.connect() as conn:
            rows = conn.execute(query, {"s": system, "e": self.entity.key, "o": offset})
            return [(str(i), str(v)) for i, v in rows]


def worker_main(args: argparse.Namespace, worker_class: type[Worker] | None = None) -> int:
    """The worker's entry (``--worker``): the scenario of ``worker_class`` (default :class:`Worker`) until
    done or SIGTERM (the budget), results saved."""
    logging.basicConfig(
        filename=args.log_file, level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )

    def _budget(*_: Any) -> None:
        raise Interrupted

    signal.signal(signal.SIGTERM, _budget)
    worker = (worker_class or Worker)(args)
    worker.result["code"] = code_fingerprint()  # the engine is imported by now: what is measured
    try:
        worker.scenario()
    except Interrupted:
        say(f"N={worker.n}: time budget over, stopping (partial results kept)")
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        worker.finish()
    return 0
