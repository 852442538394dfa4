"""Load into 1C: execute pending intents exactly once, through a small pool of parallel connections.

Before each chunk of external calls the intents are marked *tried* (committed). An intent that was
already tried by an earlier, interrupted attempt is looked up in 1C by its key before anything is
created, and adopted if found — so a crash or timeout at any point never creates a duplicate. An update
whose target changed since it was planned is planned again instead (never older data over a newer edit).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from crm1c.clients.errors import (
    ExternalSystemError,
    NotFound,
    OutcomeUnknown,
    PeriodClosed,
    PreconditionFailed,
    RetryableError,
    ValidationRejected,
)
from crm1c.domain.issues import DependencyPending, Issue, IssueError
from crm1c.staging import SeenRecord, WriteIntent
from crm1c.sync.engine.records import target_moved
from crm1c.sync.engine.settle import settle_all, unexpected
from crm1c.sync.runtime import Progress, SyncEnv
from crm1c.sync.spec import EntitySpec, OneCWriter, Outcome

CHUNK = 200
#: The first chunk's size; each next one doubles up to :data:`CHUNK`, so the first writes leave after a short
#: preparation and the preparation of each next chunk runs while the pool writes the one before.
FIRST_CHUNK = 25
#: The interpreter's thread switch interval while the pool writes (s); Python's default is 5 ms.
SWITCH_INTERVAL_S = 0.0005

Started = list[tuple[WriteIntent, Future]]


def load_onec(spec: EntitySpec, env: SyncEnv) -> dict[str, Any]:
    """Execute every pending 1C intent.

    Pipelined: while the pool writes one chunk to 1C, the previous chunk is settled in staging (one
    transaction per chunk) and the next one prepared; chunks start small (:data:`FIRST_CHUNK`). An intent
    that waits for another write of this step (a sale for its deal's invoice) sent nothing: it joins the
    next chunk, started once the chunk it waited in is settled; what still waits after the last chunk gets
    one more pass (then it is held)."""
    if env.dry_run:
        return dict(env.counters)
    loader = _Loader(spec, env)
    after, size = 0, FIRST_CHUNK
    running: Started | None = None  # the chunk the pool is writing
    waiting: list[WriteIntent] = []  # intents that waited in the chunk settled last
    with _quick_switching(), ThreadPoolExecutor(max(1, env.onec_pool), thread_name_prefix="onec") as pool:
        while fresh := env.staging.pending_intents(spec.key, "onec", after_id=after, limit=size):
            after, size = fresh[-1].id, min(CHUNK, 2 * size)
            started, held_back = loader.start(pool, waiting + fresh, final=False)
            waiting = (loader.settle(running) if running is not None else []) + held_back
            running = started
        if running is not None:
            waiting += loader.settle(running)
        if waiting:
            loader.settle(loader.start(pool, waiting, final=True)[0])
    loader.progress.finish()
    return dict(env.counters)


@contextmanager
def _quick_switching() -> Iterator[None]:
    """A short thread switch interval for the duration of the load. The pool's threads mostly wait for 1C;
    one whose answer has come waits for the interpreter lock held by a thread that is building a body or
    settling a chunk, by default up to 5 ms a time (measured at pool 8, 20 ms latency: writes took 27.7 ms
    instead of 24.7 ms with 0.5 ms, a tenth fewer documents a second)."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


class _Loader:
    def __init__(self, spec: EntitySpec, env: SyncEnv) -> None:
        self.spec, self.env = spec, env
        self.writer: OneCWriter = spec.writers["onec"]
        self.progress = Progress("load_onec")

    def start(
        self, pool: ThreadPoolExecutor, intents: list[WriteIntent], *, final: bool
    ) -> tuple[Started, list[WriteIntent]]:
        """Mark the chunk tried (committed), then hand its writes to the pool with the records they update;
        returns them and the intents the writer says wait for another write of this step (kept back, not
        tried; on the ``final`` pass none is kept back: each write then holds what still waits).

        ``tried_at`` is as the intent was read at the start of this step: an intent that only waited in an
        earlier chunk of the step sent nothing, so it is not looked up in 1C before its write."""
        env = self.env
        waits = self.writer.prepare(env, intents)
        held_back = [] if final else [i for i in intents if i.id in waits]
        intents = intents if final else [i for i in intents if i.id not in waits]
        tried_before = {i.id for i in intents if i.tried_at is not None}
        if lookups := sum(i.op == "create" for i in intents if i.id in tried_before):
            env.count("onec_lookups", lookups)  # creates an interrupted attempt may have made: found first
        targets = [i.target_id for i in intents if i.op != "create" and i.target_id]
        known = env.staging.seen_records("onec", self.spec.key, external_ids=targets, include_deleted=True)
        current = {r.external_id: r for r in known}
        env.staging.mark_tried([i.id for i in intents])
        env.checkpoint("after_intent")
        started = [
            (i, pool.submit(self.apply, i, i.id in tried_before, final, current.get(i.target_id or "")))
            for i in intents
        ]
        return started, held_back

    def settle(self, started: Started) -> list[WriteIntent]:
        """Record the chunk's outcomes in one staging transaction; returns the intents that wait."""
        outcomes = [(intent, future.result()) for intent, future in started]
        done = [(i, o) for i, o in outcomes if o.wait is None]
        settle_all(self.spec, self.env, done, self.progress.advance)
        return [i for i, o in outcomes if o.wait is not None]

    def apply(
        self, intent: WriteIntent, maybe_written: bool, final: bool, current: SeenRecord | None
    ) -> Outcome:
        env, writer = self.env, self.writer
        sending = False
        try:
            merged = self.spec.model(**intent.payload["merged"])
            if intent.op == "create":
                if maybe_written:
                    ours, others = writer.find(env, merged)
                    if ours is not None:
                        return self.written(ours, adopted=True)
                    if others:  # typed in 1C meanwhile: match and merge it as a partner, never adopt it
                        return Outcome(replan=True)
                body = writer.body(env, intent, merged, None)
                sending = True
                row = env.onec.create(writer.entity_set(merged), body)
                env.checkpoint("after_external_create")
                return self.written(row)
            if current is None:
                return Outcome(retry="the 1C record is not in staging yet")
            if target_moved(intent, current):
                return Outcome(replan=True)
            body = writer.body(env, intent, merged, current.raw)
            updated = env.onec.update(writer.entity_set(merged), intent.target_id, body, current.version)
            return self.written(updated)
        except DependencyPending as exc:
            return Outcome(issue=exc.issue) if final else Outcome(wait=exc.issue)
        except IssueError as exc:
            return Outcome(issue=exc.issue)
        except PreconditionFailed:
            return Outcome(replan=True)
        except (PeriodClosed, ValidationRejected, NotFound) as exc:
            return Outcome(issue=_rejected(exc))
        except (OutcomeUnknown, RetryableError) as exc:
            return Outcome(retry=str(exc))
        except Exception as exc:  # one record's surprise must not stop the exchange: hold it, go on
            return unexpected(intent, exc, sent=sending)

    def written(self, row: dict, adopted: bool = False) -> Outcome:
        seen = self.writer.seen(self.env, row)
        return Outcome(target_id=str(row["Ref_Key"]), seen=seen, adopted=adopted)


def _rejected(exc: ExternalSystemError) -> Issue:
    return Issue(
        "*",
        f"onec_{exc.code or exc.status}",
        f"1С отклонила запись: {exc.message}",
        f"1C rejected the write: {exc.message}",
    )
