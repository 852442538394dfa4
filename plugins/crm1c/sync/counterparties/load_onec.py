"""Load into 1C: execute pending intents exactly once, through a small pool of parallel connections.

Before each chunk of external calls the intents are marked *tried* (committed). An intent that was
already tried by an earlier, interrupted attempt is looked up in 1C by its key before anything is
created, and adopted if found — so a crash or timeout at any point never creates a duplicate.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
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
from crm1c.clients.odata_filter import F
from crm1c.domain.counterparty import Counterparty
from crm1c.domain.counterparty_codec import CodecError, to_onec
from crm1c.domain.issues import Issue
from crm1c.staging import SeenRecord, WriteIntent
from crm1c.sync.counterparties.outcome import Outcome, settle_all, unexpected
from crm1c.sync.counterparties.records import ENTITY, ONEC_SET, onec_seen, target_moved
from crm1c.sync.runtime import Progress, SyncEnv

CHUNK = 200


def load_onec(env: SyncEnv) -> dict[str, Any]:
    """Execute every pending 1C intent; branches whose head is not in 1C yet get one more pass.

    Pipelined: while the pool writes one chunk to 1C, the previous chunk is settled in staging (one
    transaction per chunk)."""
    if env.dry_run:
        return dict(env.counters)
    progress = Progress("load_onec")
    waiting: list[WriteIntent] = []
    with ThreadPoolExecutor(max_workers=max(1, env.onec_pool), thread_name_prefix="onec") as pool:
        after, running = 0, None
        while intents := env.staging.pending_intents(ENTITY, "onec", after_id=after, limit=CHUNK):
            after = intents[-1].id
            started = _start_chunk(env, pool, intents, final=False)
            if running is not None:
                waiting += _settle_chunk(env, running, progress)
            running = started
        if running is not None:
            waiting += _settle_chunk(env, running, progress)
        if waiting:
            retry = _start_chunk(env, pool, [env.staging.get_intent(i.id) for i in waiting], final=True)
            _settle_chunk(env, retry, progress)
    progress.finish()
    return dict(env.counters)


Started = list[tuple[WriteIntent, Future]]


def _start_chunk(
    env: SyncEnv, pool: ThreadPoolExecutor, intents: list[WriteIntent], *, final: bool
) -> Started:
    """Mark the chunk tried (committed), then hand its writes to the pool with the records they update."""
    tried_before = {i.id for i in intents if i.tried_at is not None}
    targets = [i.target_id for i in intents if i.op != "create" and i.target_id]
    known = env.staging.seen_records("onec", ENTITY, external_ids=targets, include_deleted=True)
    current = {r.external_id: r for r in known}
    env.staging.mark_tried([i.id for i in intents])
    env.checkpoint("after_intent")
    return [
        (i, pool.submit(_apply, env, i, i.id in tried_before, final, current.get(i.target_id or "")))
        for i in intents
    ]


def _settle_chunk(env: SyncEnv, started: Started, progress: Progress) -> list[WriteIntent]:
    """Record the chunk's outcomes in one staging transaction; returns branches still waiting for a head."""
    outcomes = [(intent, future.result()) for intent, future in started]
    settle_all(env, [(i, o) for i, o in outcomes if o.retry != "head"], progress.advance)
    return [i for i, o in outcomes if o.retry == "head"]


def _apply(
    env: SyncEnv, intent: WriteIntent, maybe_written: bool, final: bool, current: SeenRecord | None
) -> Outcome:
    merged = Counterparty(**intent.payload["merged"])
    fields = intent.payload["fields"]
    try:
        head = _head_ref(env, merged)
        if intent.op == "create":
            if maybe_written:
                ours, others = _find(env, merged)
                if ours is not None:
                    return _written(env, ours, adopted=True)
                if others:  # typed in 1C meanwhile: match and merge it as a partner, never adopt it as ours
                    return Outcome(replan=True)
            row = env.onec.create(ONEC_SET, to_onec(merged, env.mapping, head))
            env.checkpoint("after_external_create")
            return _written(env, row)
        if current is None:
            return Outcome(retry="the 1C record is not in staging yet")
        if target_moved(intent, current):
            return Outcome(replan=True)
        body = to_onec(merged, env.mapping, head, only=fields, current=current.raw)
        return _written(env, env.onec.update(ONEC_SET, intent.target_id, body, current.version))
    except CodecError as exc:
        if exc.issue.code == "head_required" and not final:
            return Outcome(retry="head")
        return Outcome(issue=exc.issue)
    except PreconditionFailed:
        return Outcome(replan=True)
    except (PeriodClosed, ValidationRejected, NotFound) as exc:
        return Outcome(issue=_rejected(exc))
    except (OutcomeUnknown, RetryableError) as exc:
        return Outcome(retry=str(exc))
    except Exception as exc:  # one record's surprise must not stop the exchange: hold it, go on
        return unexpected(intent, exc)


def _written(env: SyncEnv, row: dict, adopted: bool = False) -> Outcome:
    return Outcome(
        target_id=str(row["Ref_Key"]), seen=onec_seen(row, env.mapping, dirty=False), adopted=adopted
    )


def _find(env: SyncEnv, cp: Counterparty) -> tuple[dict | None, list[dict]]:
    """Live counterparties in 1C with the same ИНН and КПП: ``(ours, others)``. ``ours`` is the one an
    earlier attempt created (tagged with our CRM id; untagged only if ``cp`` has no CRM id)."""
    rows = [
        r
        for r in env.onec.list_all(ONEC_SET, filter=(F("ИНН") == cp.inn) & (F("КПП") == (cp.kpp or "")))
        if not r.get("DeletionMark")
    ]
    if not cp.crm_id:
        return (rows[0], []) if len(rows) == 1 else (None, rows)
    tag = f"{env.mapping.links.onec.prefix}{cp.crm_id}"
    tagged = [r for r in rows if tag in str(r.get(env.mapping.links.onec.attribute) or "").split()]
    others = [r for r in rows if r not in tagged]
    return (tagged[0] if len(tagged) == 1 else None), others


def _head_ref(env: SyncEnv, cp: Counterparty) -> str | None:
    """A branch's head in 1C: its known Ref_Key, or the one non-branch counterparty with the same ИНН."""
    if cp.kind != "branch" or cp.head_ref:
        return cp.head_ref
    heads = [
        r
        for r in env.onec.list_all(
            ONEC_SET,
            select=["Ref_Key", "DeletionMark"],
            filter=(F("ИНН") == cp.inn) & ~F("ОбособленноеПодразделение"),
        )
        if not r.get("DeletionMark")
    ]
    return str(heads[0]["Ref_Key"]) if len(heads) == 1 else None


def _rejected(exc: ExternalSystemError) -> Issue:
    return Issue(
        "*",
        f"onec_{exc.code or exc.status}",
        f"1С отклонила запись: {exc.message}",
        f"1C rejected the write: {exc.message}",
    )
