"""What every sync step gets: clients, staging, mapping, run identity, progress logging and kill points."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from crm1c.hashing import jsonable

if TYPE_CHECKING:
    from crm1c.staging import SeenRecord

log = logging.getLogger("crm1c.sync")

#: The other side of each system.
OTHER = {"crm": "onec", "onec": "crm"}

#: Named points where a crash is most dangerous; tests stop the process there (``CRM1C_KILL_AT``).
KILL_POINTS = ("after_intent", "after_external_create", "before_xref_commit", "before_watermark")

#: A dry run lists at most this many would-be writes (the ``would_write_*`` counters count them all).
DIFF_CAP = 1000


def checkpoint(name: str, hook: Callable[[str], None] | None = None) -> None:
    """A crash-test point: ``CRM1C_KILL_AT=<name>`` ends the process here as SIGKILL would; ``hook`` may
    raise instead (in-process tests). A no-op in production."""
    if hook is not None:
        hook(name)
    if os.environ.get("CRM1C_KILL_AT") == name:
        log.warning("CRM1C_KILL_AT=%s: stopping the process here", name)
        os._exit(137)


@dataclass
class SyncEnv:
    """Everything a step needs. ``crm``/``onec`` are the plain clients; ``staging`` the repository."""

    staging: Any
    mapping: Any
    run_id: str
    crm: Any = None
    onec: Any = None
    dry_run: bool = False
    onec_pool: int = 4
    overlap: timedelta = timedelta(minutes=5)
    actor: str = "crm1c"
    kill_hook: Callable[[str], None] | None = None
    counters: Counter[str] = field(default_factory=Counter)
    #: Metrics hook (benchmarks): called with a stage's name, its seconds and how many records it handled.
    timings: Callable[[str, float, int], None] | None = None
    #: A pilot: the plan only handles the dirty records this accepts; the others stay dirty (None: all).
    pilot: Callable[[SeenRecord], bool] | None = None
    #: A dry run's would-be writes, up to :data:`DIFF_CAP` (see :meth:`would_write`).
    diff: list[dict[str, Any]] = field(default_factory=list)
    diff_keys: set[tuple[str, str | None, str | None]] = field(default_factory=set, repr=False)
    #: The date that decides date-dependent values (VAT rate, current price); None: today.
    run_date: date | None = None
    #: What a step reads once and its parts share (e.g. the CRM catalog's units and VAT rates), by name.
    memo: dict[str, Any] = field(default_factory=dict, repr=False)
    memo_lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def today(self) -> date:
        return self.run_date or date.today()

    def once(self, name: str, read: Callable[[], Any]) -> Any:
        """``read()`` the first time ``name`` is asked for in this step, the same value after (the
        writers' pool threads included: one of them reads, the others wait for its value)."""
        if name not in self.memo:
            with self.memo_lock:
                if name not in self.memo:
                    self.memo[name] = read()
        return self.memo[name]

    def checkpoint(self, name: str) -> None:
        checkpoint(name, self.kill_hook)

    @contextmanager
    def timed(self, stage: str, items: int = 0) -> Iterator[None]:
        """Report how long ``stage`` took to :attr:`timings` (free when no hook is set). Stages: ``plan``
        (one batch of dirty records), ``settle`` (one chunk of written records, in either load step)."""
        if self.timings is None:
            yield
            return
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings(stage, time.perf_counter() - started, items)

    def count(self, name: str, n: int = 1) -> None:
        self.counters[name] += n

    def would_write(
        self, target: str, op: str, crm_id: str | None, onec_id: str | None, fields: dict[str, Any]
    ) -> None:
        """Note a write a dry run would make, once per pair and target (a dry run handles nothing, so a
        pair comes up from both sides); logged with ids and field names only (no personal data)."""
        key = (target, crm_id, onec_id)
        if key in self.diff_keys:
            return
        self.diff_keys.add(key)
        self.count(f"would_write_{target}")
        if len(self.diff) >= DIFF_CAP:
            self.count("would_write_unlisted")
            return
        self.diff.append(
            {"target": target, "op": op, "crm_id": crm_id, "onec_id": onec_id, "fields": jsonable(fields)}
        )
        log.info("would %s in %s: crm %s, 1C %s: %s", op, target, crm_id, onec_id, ", ".join(sorted(fields)))


class Progress:
    """Logs ``done / total (pct), rate`` at most every ``every`` seconds and once at the end."""

    def __init__(
        self, label: str, total: int | None = None, every: float = 5.0, logger: logging.Logger = log
    ):
        self.label, self.total, self.every, self.log = label, total, every, logger
        self.done = 0
        self.started = self._last = time.monotonic()

    def advance(self, n: int = 1) -> None:
        self.done += n
        if time.monotonic() - self._last >= self.every:
            self._report()

    def finish(self) -> float:
        self._report()
        return self.rate

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    def _report(self) -> None:
        self._last = time.monotonic()
        total = f"/{self.total} ({100 * self.done / self.total:.0f}%)" if self.total else ""
        self.log.info("%s: %d%s records, %.1f records/s", self.label, self.done, total, self.rate)
