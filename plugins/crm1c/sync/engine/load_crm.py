"""Load into Bitrix24: pending intents as ``batch`` requests of up to 50 commands, the writer's shared
commands (a read-back of every record written, say) once at the end of each.

Before each request its intents are marked *tried* (committed). Creates tried before by an interrupted
attempt are looked up first (the entity's writer knows how) and adopted if found: never a second record.
An update whose target changed since it was planned is planned again instead of written.
"""

from __future__ import annotations

from typing import Any

from crm1c.clients.errors import ExternalSystemError, OutcomeUnknown, RetryableError
from crm1c.domain.issues import Issue, IssueError
from crm1c.staging import WriteIntent
from crm1c.sync.engine.records import target_moved
from crm1c.sync.engine.settle import settle_all, unexpected
from crm1c.sync.runtime import Progress, SyncEnv
from crm1c.sync.spec import CrmWriter, Current, EntitySpec, Outcome

MAX_COMMANDS = 50  # per batch request


def load_crm(spec: EntitySpec, env: SyncEnv) -> dict[str, Any]:
    """Execute every pending CRM intent, packing each batch request with up to 50 commands."""
    if env.dry_run:
        return dict(env.counters)
    writer: CrmWriter = spec.writers["crm"]
    progress = Progress("load_crm")
    after = 0
    while page := env.staging.pending_intents(spec.key, "crm", after_id=after, limit=MAX_COMMANDS):
        targets = [i.target_id for i in page if i.target_id]
        seen = env.staging.seen_records("crm", spec.key, external_ids=targets, include_deleted=True)
        current = {r.external_id: r for r in seen}
        intents = _fill_one_batch(writer, env, page, current)
        after = intents[-1].id
        outcomes = _run_chunk(writer, env, intents, current)
        settle_all(spec, env, outcomes, progress.advance)  # one commit per chunk
    progress.finish()
    return dict(env.counters)


def _fill_one_batch(
    writer: CrmWriter, env: SyncEnv, intents: list[WriteIntent], current: Current
) -> list[WriteIntent]:
    """The leading intents whose commands fit in one batch request, beside the writer's shared ones."""
    taken: list[WriteIntent] = []
    total = writer.shared_size
    for intent in intents:
        try:
            size = writer.size(env, intent, current)
        except Exception:  # its commands fail to build: it is held when the chunk runs
            size = 0
        if taken and total + size > MAX_COMMANDS:
            break
        taken.append(intent)
        total += size
    return taken


def _run_chunk(
    writer: CrmWriter, env: SyncEnv, intents: list[WriteIntent], current: Current
) -> list[tuple[WriteIntent, Outcome]]:
    tried_before = [i for i in intents if i.tried_at is not None and i.op == "create"]
    env.staging.mark_tried([i.id for i in intents])
    env.checkpoint("after_intent")
    try:
        found, settled = writer.lookup(env, tried_before) if tried_before else ({}, {})
        plans: list[tuple[WriteIntent, dict]] = []
        for n, i in enumerate(intents):
            if i.op != "create" and target_moved(i, current.get(i.target_id or "")):
                settled[i.id] = Outcome(replan=True)
            commands: dict[str, Any] = {}
            if i.id not in settled:
                try:
                    commands = writer.commands(env, i, n, found.get(i.id), current)
                except IssueError as exc:  # the writer says why this record cannot be written: held
                    settled[i.id] = Outcome(issue=exc.issue)
                except Exception as exc:  # one record's surprise must not stop the exchange
                    settled[i.id] = unexpected(i, exc)
            plans.append((i, commands))
        batch = {k: v for _, cmds in plans for k, v in cmds.items()}
        batch |= writer.shared(env, batch)
        result = env.crm.batch(batch, write=True) if batch else None
    except (OutcomeUnknown, RetryableError) as exc:
        return [(i, Outcome(retry=str(exc))) for i in intents]
    env.checkpoint("after_external_create")
    out = []
    for n, (i, cmds) in enumerate(plans):
        if i.id in settled:
            out.append((i, settled[i.id]))
            continue
        try:
            out.append((i, writer.outcome(env, i, n, cmds, result, found.get(i.id), current)))
        except Exception as exc:  # one record's surprise must not stop the exchange: hold it, go on
            out.append((i, unexpected(i, exc, sent=bool(cmds))))
    return out


def failed(exc: ExternalSystemError) -> Outcome:
    """What a Bitrix24 error answered for one record means: wait and retry, or hold the record."""
    if isinstance(exc, OutcomeUnknown | RetryableError):
        return Outcome(retry=str(exc))
    return Outcome(
        issue=Issue(
            "*",
            f"crm_{exc.code or exc.status}",
            f"Битрикс24 отклонил запись: {exc.message}",
            f"Bitrix24 rejected the write: {exc.message}",
        )
    )
