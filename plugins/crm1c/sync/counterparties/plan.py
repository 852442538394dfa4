"""Plan: for every new or changed record, validate, find its partner, merge, and queue write intents.

Nothing external is written here. A record that fails validation goes to quarantine (and leaves it
by itself once fixed at the source); two records with the same key on one side go to quarantine too,
and nothing is written for them. Conflicting edits are recorded, the owning system's value wins.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from crm1c.domain.counterparty import Counterparty, content_hash, identity_key, validate
from crm1c.domain.issues import Issue
from crm1c.domain.merge import MergeResult, merge
from crm1c.staging import SeenRecord
from crm1c.sync.counterparties.records import ENTITY, canonical, codec_issue, intent_payload
from crm1c.sync.lookups import BatchLookups
from crm1c.sync.runtime import OTHER, Progress, SyncEnv, log

BATCH = 500


def plan(env: SyncEnv) -> dict[str, Any]:
    """Handle every dirty record of both systems; returns counters."""
    progress = Progress("plan")
    ownership = env.mapping.merge_ownership()
    for system in ("crm", "onec"):
        after = None
        while batch := env.staging.dirty_records(system, ENTITY, limit=BATCH, after=after):
            with env.timed("plan", len(batch)), env.staging.batch() as staging:  # one commit per batch
                scoped = replace(env, staging=staging)
                look = BatchLookups(staging, ENTITY, system, batch)
                for record in batch:
                    _plan_one(scoped, look, record, ownership)
                    progress.advance()
                if not env.dry_run:
                    look.flush()
            after = batch[-1].external_id
    progress.finish()
    return dict(env.counters)


def _plan_one(env: SyncEnv, look: BatchLookups, record: SeenRecord, ownership: Any) -> None:
    """Plan one record; it stays dirty while an older queued intent still carries other data."""
    system, other = record.system, OTHER[record.system]
    cp = _valid(env, look, record)
    if cp is None:
        _handled(env, look, record)
        return
    link = look.xref(system, record.external_id)
    partner_id: str | None
    if link is not None:
        partner_id = link.onec_id if system == "crm" else link.crm_id
        base = Counterparty(**link.base) if link.base else None
    else:
        found = _match(env, look, record, cp)
        if found is False:
            _handled(env, look, record)
            return
        partner_id, base = (found if isinstance(found, str) else None), None
    partner_rec = look.seen(other, partner_id) if partner_id else None
    partner = _valid(env, look, partner_rec, quarantine=False) if partner_rec else None
    if partner_rec is not None and partner is None and not partner_rec.deleted:
        _handled(env, look, record)  # the partner is held in quarantine: wait until it is fixed
        return
    crm_cp, onec_cp = (cp, partner) if system == "crm" else (partner, cp)
    crm_id = record.external_id if system == "crm" else partner_id
    onec_id = partner_id if system == "crm" else record.external_id
    result = merge(base, crm_cp, onec_cp, ownership)
    for conflict in result.conflicts:
        env.count("conflicts")
        if not env.dry_run and crm_id and onec_id:
            env.staging.record_conflict(
                ENTITY, crm_id, onec_id, conflict.field, conflict.crm, conflict.onec, conflict.base
            )
    if env.dry_run:
        env.count("would_write_onec", bool(result.to_onec))
        env.count("would_write_crm", bool(result.to_crm))
        return
    seen = {system: record.content_hash, other: partner_rec.content_hash if partner_rec else None}
    base_row = link.base if link is not None else None
    if _queue(env, look, result, crm_cp, onec_cp, crm_id, onec_id, seen, base_row):
        return  # an older intent for this record is still queued: plan it again after it is loaded
    if crm_id and onec_id and not result.to_onec and not result.to_crm:
        _agree(env, look, crm_id, onec_id, result.merged)
    _handled(env, look, record, partner_rec)


def _valid(
    env: SyncEnv, look: BatchLookups, record: SeenRecord | None, *, quarantine: bool = True
) -> Counterparty | None:
    """The record's counterparty if it can be synced; otherwise quarantine it (with reasons) and None."""
    if record is None:
        return None
    issue = codec_issue(record)
    cp = canonical(record)
    issues = [issue] if issue else (validate(cp, env.mapping) if cp is not None and not cp.deleted else [])
    if not issues:
        if quarantine and not env.dry_run:
            look.release(record.system, record.external_id)
        return cp
    if quarantine:
        _quarantine(env, look, record, issues)
    return None


def _quarantine(env: SyncEnv, look: BatchLookups, record: SeenRecord, issues: list[Issue]) -> None:
    env.count("quarantined")
    for issue in issues:
        log.warning(
            "held %s %s:%s, field %s: %s",
            ENTITY,
            record.system,
            record.external_id,
            issue.field,
            issue.reason_en,
        )
        if env.dry_run:
            continue
        look.quarantine(
            record.system,
            record.external_id,
            issue.field,
            issue.reason_ru,
            issue.reason_en,
            record.normalised,
        )
        env.staging.audit(
            env.actor,
            env.run_id,
            ENTITY,
            f"{record.system}:{record.external_id}",
            "quarantine",
            record.system,
            "held",
            {"field": issue.field, "code": issue.code},
        )


def _match(env: SyncEnv, look: BatchLookups, record: SeenRecord, cp: Counterparty) -> str | bool | None:
    """The partner's id on the other side (None: there is none), or False when a human must decide."""
    system, other = record.system, OTHER[record.system]
    key = identity_key(cp)
    if key is None or cp.deleted:
        return None
    twins = [
        r
        for r in look.by_key(system, key)
        if r.external_id != record.external_id and look.xref(system, r.external_id) is None
    ]
    if twins:
        ids = ", ".join(r.external_id for r in twins)
        _quarantine(env, look, record, [_duplicate_issue(system, key, ids)])
        return False
    hint = cp.onec_ref if system == "crm" else cp.crm_id
    candidates = [r for r in look.by_key(other, key) if look.xref(other, r.external_id) is None]
    if hint and any(r.external_id == hint for r in candidates):
        return hint
    if len(candidates) > 1:
        ids = ", ".join(r.external_id for r in candidates)
        _quarantine(env, look, record, [_duplicate_issue(other, key, ids)])
        return False
    return candidates[0].external_id if candidates else None


def _duplicate_issue(system: str, key: str, ids: str) -> Issue:
    where_ru, where_en = ("в CRM", "in the CRM") if system == "crm" else ("в 1С", "in 1C")
    return Issue(
        "inn",
        "duplicate_key",
        f"Несколько контрагентов {where_ru} с ключом {key} (другие: {ids}): "
        "оставьте один, объедините остальные",
        f"Several counterparties {where_en} share the key {key} (others: {ids}): keep one, merge the rest",
    )


def _queue(
    env: SyncEnv,
    look: BatchLookups,
    result: MergeResult,
    crm_cp: Counterparty | None,
    onec_cp: Counterparty | None,
    crm_id: str | None,
    onec_id: str | None,
    seen: dict[str, str | None],
    base: Any,
) -> bool:
    """Open write intents for what the merge wants written; True if an older intent is still queued.

    An older queued intent with other data that was never tried is superseded (nothing was sent for it;
    this merge saw everything it knew, e.g. the link-back a CRM create queues for the next run). One that
    was tried may have been written: then nothing is opened for either side until it is loaded. Otherwise
    the other side's intent would settle with this merge as the agreed base while the tried one's side
    never received it, and the next merge would take the difference for an edit there (a twin typed in 1C
    after a crash overwrote the name the CRM owns).
    """
    writes, superseded = [], []
    for target, fields, current, source_id in (
        ("onec", result.to_onec, onec_cp, crm_id),
        ("crm", result.to_crm, crm_cp, onec_id),
    ):
        if not fields:
            continue
        target_hash = seen[target] if current is not None else None
        payload = intent_payload(fields, result.merged, crm_id, onec_id, target_hash=target_hash, base=base)
        queued = look.pending_intent(target, source_id or "")
        if queued is not None and queued.payload != payload:
            if queued.tried_at is not None:
                return True
            superseded.append(queued)
        writes.append((target, fields, current, source_id, payload))
    for intent in superseded:
        look.abandon_intent(intent, "superseded by a newer plan before it was tried")
        env.count("superseded")
    stale = False
    for target, fields, current, source_id, payload in writes:
        op = "create" if current is None else ("mark_deleted" if set(fields) == {"deleted"} else "update")
        intent = look.open_intent(
            target,
            op,
            source_id or "",
            payload,
            match_key=identity_key(result.merged) or f"id:{source_id}",
            target_id=onec_id if target == "onec" else crm_id,
            run_id=env.run_id,
        )
        stale |= intent.resumed and intent.payload != payload
        env.count(f"planned_{op}_{target}")
    return stale


def _agree(env: SyncEnv, look: BatchLookups, crm_id: str, onec_id: str, merged: Counterparty) -> None:
    """Both sides already hold the merged record: remember it as the base of the next merge."""
    digest = content_hash(merged)
    base = merged.model_dump(mode="json")
    link = look.xref("crm", crm_id)
    if link is None:
        look.link(crm_id, onec_id, base=base, crm_hash=digest, onec_hash=digest)
        env.count("matched")
    elif link.base != base:
        look.update_base(crm_id, onec_id, base=base, crm_hash=digest, onec_hash=digest)


def _handled(env: SyncEnv, look: BatchLookups, record: SeenRecord, partner: SeenRecord | None = None) -> None:
    if env.dry_run:
        return
    look.handled(record)
    if partner is not None:
        look.handled(partner)
