"""Settling a write intent after the external call: link, remember, audit — or hold the record."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm1c.domain.counterparty import Counterparty, content_hash
from crm1c.domain.issues import Issue
from crm1c.staging import SeenInput, WriteIntent
from crm1c.sync.counterparties.records import ENTITY, intent_payload
from crm1c.sync.runtime import OTHER, SyncEnv, log


@dataclass
class Outcome:
    """What happened to one intent: ``target_id`` and ``seen`` when written or adopted; ``issue`` when the
    target rejected it for good; ``retry`` when the result is unknown or must wait (left pending)."""

    target_id: str | None = None
    seen: SeenInput | None = None
    adopted: bool = False
    issue: Issue | None = None
    retry: str | None = None
    replan: bool = False  # the target changed under us: plan this pair again after the next extract


def settle(env: SyncEnv, intent: WriteIntent, outcome: Outcome) -> None:
    """Record the outcome in staging: one transaction per intent."""
    target = intent.target_system
    if outcome.retry is not None:
        env.count(f"{target}_left_pending")
        log.warning("intent %s (%s %s) left pending: %s", intent.id, intent.op, target, outcome.retry)
        return
    if outcome.issue is not None or outcome.replan:
        _give_up(env, intent, outcome)
        return
    merged = Counterparty(**intent.payload["merged"])
    ids = {
        "crm": intent.payload.get("crm_id"),
        "onec": intent.payload.get("onec_id"),
        target: outcome.target_id,
    }
    merged = merged.model_copy(update={"crm_id": ids["crm"], "onec_ref": ids["onec"]})
    if (issue := _link_conflict(env, ids)) is not None:  # hold this pair for a human, load the rest
        _give_up(env, intent, Outcome(issue=issue))
        return
    partner_pending = env.staging.pending_intent(ENTITY, OTHER[target], target, outcome.target_id or "")
    link = env.staging.xref_by_crm(ENTITY, ids["crm"]) if ids["crm"] else None
    base = link.base if partner_pending is not None and link is not None else merged.model_dump(mode="json")
    digest = content_hash(merged)
    env.checkpoint("before_xref_commit")
    with env.staging.transaction() as conn:
        env.staging.complete_intent_and_link(
            intent.id, outcome.target_id, base=base, crm_hash=digest, onec_hash=digest, conn=conn
        )
        if outcome.seen is not None:
            env.staging.upsert_seen(target, ENTITY, [outcome.seen], conn=conn)
        if intent.op == "create":
            _link_back(env, intent, merged, ids, conn)
        result = "adopted" if outcome.adopted else "done"
        env.staging.audit(
            env.actor,
            env.run_id,
            ENTITY,
            f"{target}:{outcome.target_id}",
            intent.op,
            target,
            result,
            {
                "intent": intent.id,
                "crm_id": ids["crm"],
                "onec_id": ids["onec"],
                "fields": sorted(intent.payload["fields"]),
            },
            conn=conn,
        )
    env.count(f"{target}_{'adopted' if outcome.adopted else intent.op}")


def _link_conflict(env: SyncEnv, ids: dict) -> Issue | None:
    """An issue when linking these two records would break the 1:1 cross-reference."""
    by_crm = env.staging.xref_by_crm(ENTITY, ids["crm"]) if ids["crm"] else None
    by_onec = env.staging.xref_by_onec(ENTITY, ids["onec"]) if ids["onec"] else None
    taken = [
        x for x in (by_crm, by_onec) if x is not None and (x.crm_id, x.onec_id) != (ids["crm"], ids["onec"])
    ]
    if not taken:
        return None
    other = f"CRM {taken[0].crm_id} / 1C {taken[0].onec_id}"
    return Issue(
        "*",
        "xref_conflict",
        f"Записи CRM {ids['crm']} и 1С {ids['onec']} нельзя связать: одна из них уже связана ({other}); "
        "объедините дубли вручную",
        f"CRM {ids['crm']} and 1C {ids['onec']} cannot be linked: one is already linked ({other}); "
        "merge the duplicates by hand",
    )


def _link_back(env: SyncEnv, intent: WriteIntent, merged: Counterparty, ids: dict, conn: Any) -> None:
    """A record created in the target: write its new id into the source's slot for it."""
    source, target = intent.source_system, intent.target_system
    field = "onec_ref" if target == "onec" else "crm_id"
    env.staging.open_intent(
        ENTITY,
        source,
        "update",
        target,
        ids[target],
        intent_payload({field: ids[target]}, merged, ids["crm"], ids["onec"]),
        match_key=intent.match_key,
        target_id=ids[source],
        run_id=env.run_id,
        conn=conn,
    )


def _give_up(env: SyncEnv, intent: WriteIntent, outcome: Outcome) -> None:
    """The target refused the write for good (or changed under us): close the intent and say why."""
    source = intent.source_system
    with env.staging.transaction() as conn:
        if outcome.issue is not None:
            issue = outcome.issue
            env.staging.fail_intent(intent.id, issue.reason_en, conn=conn)
            env.staging.quarantine(
                ENTITY,
                source,
                intent.source_id,
                issue.field,
                issue.reason_ru,
                issue.reason_en,
                intent.payload,
                conn=conn,
            )
            env.count("quarantined")
            log.warning(
                "held %s %s:%s, field %s: %s", ENTITY, source, intent.source_id, issue.field, issue.reason_en
            )
        else:  # re-plan once the target's new state has been read again
            env.staging.abandon_intent(
                intent.id, "target changed since it was read; planned again", conn=conn
            )
            env.staging.set_dirty(source, ENTITY, [intent.source_id], True, conn=conn)
            env.count(f"{intent.target_system}_replanned")
        env.staging.audit(
            env.actor,
            env.run_id,
            ENTITY,
            f"{source}:{intent.source_id}",
            intent.op,
            intent.target_system,
            "rejected" if outcome.issue else "replanned",
            {"intent": intent.id, "reason": outcome.issue.reason_en if outcome.issue else None},
            conn=conn,
        )
