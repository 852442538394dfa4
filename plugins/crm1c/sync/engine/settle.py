"""Settling write intents after the external calls: link, remember, audit — or hold the record."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from crm1c.domain.issues import Issue
from crm1c.staging import Completion, SeenInput, WriteIntent, Xref
from crm1c.sync.engine.lookups import BatchLookups
from crm1c.sync.engine.records import base_moved, intent_payload
from crm1c.sync.runtime import OTHER, SyncEnv, log
from crm1c.sync.spec import EntitySpec, Outcome


def unexpected(intent: WriteIntent, exc: Exception, *, sent: bool = False) -> Outcome:
    """An error nobody foresaw while writing one record: hold that record (with the error), go on.

    ``sent``: the external call may have happened. A create then keeps its (tried) intent, so the next
    attempt looks the record up before anything is created again: never a duplicate."""
    log.exception(
        "intent %s (%s in %s of %s %s:%s): unexpected error",
        intent.id,
        intent.op,
        intent.target_system,
        intent.entity,
        intent.source_system,
        intent.source_id,
    )
    what = f"{type(exc).__name__}: {exc}"
    issue = Issue(
        "*",
        "unexpected_error",
        f"Непредвиденная ошибка при записи ({what}); запись ждёт разбора, обмен продолжается",
        f"Unexpected error while writing ({what}); the record waits for a look, the exchange goes on",
    )
    return Outcome(issue=issue, keep=sent and intent.op == "create")


def _nothing() -> None:
    return None


def settle_all(
    spec: EntitySpec,
    env: SyncEnv,
    outcomes: Sequence[tuple[WriteIntent, Outcome]],
    on_settled: Callable[[], None] = _nothing,
) -> None:
    """Record a chunk of outcomes in ONE staging transaction: the links and queued intents they touch are
    read up front, the written records and the audit rows are stored together at the end."""
    with env.timed("settle", len(outcomes)), env.staging.batch() as staging:
        chunk = _Chunk(spec, replace(env, staging=staging), outcomes)
        for intent, outcome in outcomes:
            chunk.settle(intent, outcome)
            on_settled()
        chunk.flush()


class _Chunk:
    """The bookkeeping of one chunk of outcomes, inside the transaction :func:`settle_all` opened."""

    def __init__(
        self, spec: EntitySpec, env: SyncEnv, outcomes: Sequence[tuple[WriteIntent, Outcome]]
    ) -> None:
        self.spec, self.env = spec, env
        self.look = BatchLookups(env.staging, spec.key)
        self.seen: dict[str, list[SeenInput]] = {"crm": [], "onec": []}
        self.audit: list[dict[str, Any]] = []
        self.relinks: list[Completion] = []  # completed at flush, with the rest of the chunk
        self.links: list[Completion] = []
        ids: dict[str, set[str]] = {"crm": set(), "onec": set()}
        written: dict[str, list[str]] = {"crm": [], "onec": []}
        retried: dict[str, list[str]] = {"crm": [], "onec": []}  # sources whose write was tried before
        for intent, outcome in outcomes:
            for system in ("crm", "onec"):
                ids[system].add(intent.payload.get(f"{system}_id") or "")
            if outcome.target_id:
                ids[intent.target_system].add(outcome.target_id)
                written[intent.target_system].append(outcome.target_id)
            if intent.tried_at is not None:
                retried[intent.source_system].append(intent.source_id)
        for system in ("crm", "onec"):
            self.look.prefetch_xrefs(system, sorted(ids[system] - {""}))
            self.look.prefetch_pending(OTHER[system], written[system])
            self.look.prefetch_held(system, retried[system])

    def settle(self, intent: WriteIntent, outcome: Outcome) -> None:
        env, target = self.env, intent.target_system
        if outcome.retry is not None:
            env.count(f"{target}_left_pending")
            log.warning(
                "intent %s (%s in %s of %s %s:%s) left pending: %s",
                intent.id,
                intent.op,
                target,
                intent.entity,
                intent.source_system,
                intent.source_id,
                outcome.retry,
            )
            return
        if outcome.issue is not None or outcome.replan:
            self.give_up(intent, outcome)
            return
        spec = self.spec
        ids = {
            "crm": intent.payload.get("crm_id"),
            "onec": intent.payload.get("onec_id"),
            target: outcome.target_id,
        }
        update = {spec.link_slots[system]: ids[system] for system in ("crm", "onec")}
        merged = spec.model(**intent.payload["merged"]).model_copy(update=update)
        if (issue := self.link_conflict(ids)) is not None:  # hold this pair for a human, load the rest
            self.give_up(intent, Outcome(issue=issue))
            return
        partner_pending = self.look.pending_intent(OTHER[target], outcome.target_id or "")
        link = self.look.xref("crm", ids["crm"]) if ids["crm"] else None
        keep = link is not None and (partner_pending is not None or base_moved(intent, link))
        base = link.base if keep and link is not None else merged.model_dump(mode="json")
        digest = spec.content_hash(merged)
        env.checkpoint("before_xref_commit")
        done = Completion(
            intent.id, outcome.target_id or "", ids["crm"], ids["onec"], base, digest, digest, intent.role
        )
        if link is not None and (link.crm_id, link.onec_id) == (ids["crm"], ids["onec"]):
            self.relinks.append(done)  # linked already (an update)
            self.look.linked(replace(link, base=base, crm_hash=digest, onec_hash=digest))
        else:
            self.links.append(done)
            self.look.linked(_new_link(spec.key, done))
        if outcome.seen is not None:
            self.seen[target].append(outcome.seen)
        if intent.tried_at is not None:  # held while its earlier attempt's result was unknown: not now
            self.look.release(intent.source_system, intent.source_id)
        if intent.op == "create" and intent.source_system in spec.writers:  # a master keeps no link slot
            self.link_back(intent, merged, ids, base)
        detail = {"intent": intent.id, "crm_id": ids["crm"], "onec_id": ids["onec"]}
        detail["fields"] = sorted(intent.payload["fields"])
        result = "adopted" if outcome.adopted else "done"
        self.note(f"{target}:{outcome.target_id}", intent.op, target, result, detail)
        env.count(f"{target}_{'adopted' if outcome.adopted else intent.op}")

    def link_conflict(self, ids: dict) -> Issue | None:
        """An issue when linking these two records would break the 1:1 cross-reference."""
        by_crm = self.look.xref("crm", ids["crm"]) if ids["crm"] else None
        by_onec = self.look.xref("onec", ids["onec"]) if ids["onec"] else None
        pair = (ids["crm"], ids["onec"])
        taken = [x for x in (by_crm, by_onec) if x is not None and (x.crm_id, x.onec_id) != pair]
        return _link_conflict_issue(ids, taken[0]) if taken else None

    def link_back(self, intent: WriteIntent, merged: Any, ids: dict, base: Any) -> None:
        """A record created in the target: write its new id into the source's slot for it."""
        source, target = intent.source_system, intent.target_system
        field = self.spec.link_slots[target]
        self.look.open_intent(
            source,
            "update",
            ids[target],
            intent_payload({field: ids[target]}, merged, ids["crm"], ids["onec"], base=base),
            match_key=intent.match_key,
            target_id=ids[source],
            run_id=self.env.run_id,
        )

    def give_up(self, intent: WriteIntent, outcome: Outcome) -> None:
        """The target refused the write for good (or changed under us): close the intent and say why."""
        env, source = self.env, intent.source_system
        if outcome.issue is not None:
            issue = outcome.issue
            if not outcome.keep:
                env.staging.fail_intent(intent.id, issue.reason_en)
            self.look.quarantine(
                source, intent.source_id, issue.field, issue.reason_ru, issue.reason_en, intent.payload
            )
            env.count("quarantined")
            log.warning(
                "held %s %s:%s, field %s: %s (intent %s: %s in %s, code %s)",
                self.spec.key,
                source,
                intent.source_id,
                issue.field,
                issue.reason_en,
                intent.id,
                intent.op,
                intent.target_system,
                issue.code,
            )
        else:  # re-plan once the target's new state has been read again
            log.info(
                "intent %s (%s in %s of %s %s:%s) planned again: the target changed since it was read",
                intent.id,
                intent.op,
                intent.target_system,
                intent.entity,
                source,
                intent.source_id,
            )
            env.staging.abandon_intent(intent.id, "target changed since it was read; planned again")
            env.staging.set_dirty(source, self.spec.key, [intent.source_id], True)
            env.count(f"{intent.target_system}_replanned")
        result = "rejected" if outcome.issue else "replanned"
        reason = outcome.issue.reason_en if outcome.issue else None
        detail = {"intent": intent.id, "reason": reason}
        self.note(f"{source}:{intent.source_id}", intent.op, intent.target_system, result, detail)

    def note(self, key: str, op: str, system: str, result: str, detail: dict) -> None:
        env = self.env
        row = {"actor": env.actor, "run_id": env.run_id, "entity": self.spec.key, "entity_key": key}
        self.audit.append(row | {"op": op, "system": system, "result": result, "detail": detail})

    def flush(self) -> None:
        self.env.staging.complete_many_and_link(self.spec.key, self.links)
        self.env.staging.complete_many_and_relink(self.spec.key, self.relinks)
        for system, records in self.seen.items():
            if records:
                self.env.staging.upsert_seen(system, self.spec.key, records)
        self.env.staging.audit_many(self.audit)


def _new_link(entity: str, done: Completion) -> Xref:
    """The link a completion makes, as the rest of the chunk sees it before it is stored at flush."""
    now = datetime.now(UTC)
    return Xref(
        0, entity, done.crm_id, done.onec_id, done.crm_hash, done.onec_hash, done.base, now, now, done.role
    )


def _link_conflict_issue(ids: dict, taken: Any) -> Issue:
    other = f"CRM {taken.crm_id} / 1C {taken.onec_id}"
    return Issue(
        "*",
        "xref_conflict",
        f"Записи CRM {ids['crm']} и 1С {ids['onec']} нельзя связать: одна из них уже связана ({other}); "
        "объедините дубли вручную",
        f"CRM {ids['crm']} and 1C {ids['onec']} cannot be linked: one is already linked ({other}); "
        "merge the duplicates by hand",
    )
