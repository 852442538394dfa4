"""Plan: for every new or changed record, validate, find its partner, merge, and queue write intents.

Nothing external is written here. A record that fails validation goes to quarantine (and leaves it by
itself once fixed at the source); two records with the same key on one side go to quarantine too, and
nothing is written for them. Conflicting edits are recorded, the owning system's value wins. Writes to a
system the entity has no writer for are never queued (the other system is the master there).

A pilot (``env.pilot``) plans only the records it accepts, or whose linked partner it accepts; the others
stay dirty for a later run. A dry run writes nothing and lists the writes it would queue (``would_write``).

``planned_changes_existing`` counts the pairs linked before this run for which an update or a deletion mark
was queued (creates, and the first match of a pair, never count): the mass-change breaker's measure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from crm1c.domain.issues import Issue
from crm1c.staging import SeenRecord, Xref
from crm1c.sync.engine.lookups import BatchLookups
from crm1c.sync.engine.records import canonical, codec_issue, intent_payload
from crm1c.sync.runtime import OTHER, Progress, SyncEnv, log
from crm1c.sync.spec import EntitySpec

BATCH = 500


def plan(spec: EntitySpec, env: SyncEnv) -> dict[str, Any]:
    """Handle every dirty record of both systems; returns counters."""
    progress = Progress("plan")
    rules = spec.merge_rules(env.mapping)
    for system in ("crm", "onec"):
        after = None
        while batch := env.staging.dirty_records(system, spec.key, limit=BATCH, after=after):
            with env.timed("plan", len(batch)), env.staging.batch() as staging:  # one commit per batch
                look = BatchLookups(staging, spec.key, system, batch)
                planner = _Planner(spec, replace(env, staging=staging), look, rules)
                for record in batch:
                    planner.plan_one(record)
                    progress.advance()
                if not env.dry_run:
                    planner.look.flush()
            after = batch[-1].external_id
    progress.finish()
    if env.dry_run:
        return dict(env.counters) | {"would_write": list(env.diff)}
    return dict(env.counters)


class _Planner:
    """Plans the records of one batch, inside the transaction :func:`plan` opened for it."""

    def __init__(self, spec: EntitySpec, env: SyncEnv, look: BatchLookups, rules: Any) -> None:
        self.spec, self.env, self.look, self.rules = spec, env, look, rules

    def plan_one(self, record: SeenRecord) -> None:
        """Plan one record; it stays dirty while an older queued intent still carries other data."""
        spec, env, look = self.spec, self.env, self.look
        system, other = record.system, OTHER[record.system]
        if env.pilot is not None and not self.in_pilot(env.pilot, record):
            env.count("pilot_waiting")
            return
        value = self.valid(record)
        if value is None:
            self.handled(record)
            return
        link = look.xref(system, record.external_id)
        partner_id: str | None
        if link is not None:
            partner_id = link.onec_id if system == "crm" else link.crm_id
            base = spec.model(**link.base) if link.base else None
        else:
            found = self.match(record, value)
            if found is False:
                self.handled(record)
                return
            partner_id, base = (found if isinstance(found, str) else None), None
        partner_rec = look.seen(other, partner_id) if partner_id else None
        partner = self.valid(partner_rec, quarantine=False) if partner_rec else None
        if partner_rec is not None and partner is None and not partner_rec.deleted:
            self.handled(record)  # the partner is held in quarantine: wait until it is fixed
            return
        crm_value, onec_value = (value, partner) if system == "crm" else (partner, value)
        crm_id = record.external_id if system == "crm" else partner_id
        onec_id = partner_id if system == "crm" else record.external_id
        result = spec.merge(base, crm_value, onec_value, self.rules)
        for conflict in result.conflicts:
            env.count("conflicts")
            if not env.dry_run and crm_id and onec_id:
                env.staging.record_conflict(
                    spec.key, crm_id, onec_id, conflict.field, conflict.crm, conflict.onec, conflict.base
                )
        writes = {t: fields for t, fields in (("onec", result.to_onec), ("crm", result.to_crm)) if fields}
        for target in [t for t in writes if t not in spec.writers]:
            env.count(f"not_written_{target}")  # that system is the master: its side is never written
            del writes[target]
        if env.dry_run:
            values = {"crm": crm_value, "onec": onec_value}
            for target, fields in writes.items():
                env.would_write(target, _op(values[target], fields), crm_id, onec_id, fields)
            return
        seen = {system: record.content_hash, other: partner_rec.content_hash if partner_rec else None}
        pair = _Pair(crm_id, onec_id, crm_value, onec_value, seen, link)
        if self.queue(result.merged, writes, pair):
            return  # an older intent for this record is still queued: plan it again after it is loaded
        if crm_id and onec_id and not writes:
            self.agree(crm_id, onec_id, result.merged)
        self.handled(record, partner_rec)

    def in_pilot(self, pilot: Callable[[SeenRecord], bool], record: SeenRecord) -> bool:
        """Whether the pilot takes the record, or the partner it is linked to (a 1C edit of a CRM company
        in the pilot is in the pilot too)."""
        if pilot(record):
            return True
        link = self.look.xref(record.system, record.external_id)
        if link is None:
            return False
        partner = self.look.seen(
            OTHER[record.system], link.onec_id if record.system == "crm" else link.crm_id
        )
        return partner is not None and pilot(partner)

    def valid(self, record: SeenRecord | None, *, quarantine: bool = True) -> Any:
        """The record's canonical value if it can be synced; otherwise quarantine it (with reasons), None."""
        if record is None:
            return None
        issue = codec_issue(record)
        value = canonical(self.spec, record)
        if issue:
            issues = [issue]
        else:
            live = value is not None and not value.deleted
            issues = self.spec.validate(value, self.env.mapping) if live else []
        if not issues:
            if quarantine and not self.env.dry_run:
                self.look.release(record.system, record.external_id)
            return value
        if quarantine:
            self.quarantine(record, issues)
        return None

    def quarantine(self, record: SeenRecord, issues: list[Issue]) -> None:
        env, key = self.env, self.spec.key
        env.count("quarantined")
        for issue in issues:
            where = f"{record.system}:{record.external_id}"
            log.warning("held %s %s, field %s: %s", key, where, issue.field, issue.reason_en)
            if env.dry_run:
                continue
            self.look.quarantine(
                record.system,
                record.external_id,
                issue.field,
                issue.reason_ru,
                issue.reason_en,
                record.normalised,
            )
            detail = {"field": issue.field, "code": issue.code}
            env.staging.audit(env.actor, env.run_id, key, where, "quarantine", record.system, "held", detail)

    def match(self, record: SeenRecord, value: Any) -> str | bool | None:
        """The partner's id on the other side (None: there is none), or False when a human must decide."""
        look, system, other = self.look, record.system, OTHER[record.system]
        key = self.spec.identity_key(value)
        if key is None or value.deleted:
            return None
        twins = [
            r
            for r in look.by_key(system, key)
            if r.external_id != record.external_id and look.xref(system, r.external_id) is None
        ]
        if twins:
            ids = ", ".join(r.external_id for r in twins)
            self.quarantine(record, [self.duplicate_issue(system, key, ids)])
            return False
        hint = getattr(value, self.spec.link_slots[other])
        candidates = [r for r in look.by_key(other, key) if look.xref(other, r.external_id) is None]
        if hint and any(r.external_id == hint for r in candidates):
            return str(hint)
        if len(candidates) > 1:
            ids = ", ".join(r.external_id for r in candidates)
            self.quarantine(record, [self.duplicate_issue(other, key, ids)])
            return False
        return candidates[0].external_id if candidates else None

    def duplicate_issue(self, system: str, key: str, ids: str) -> Issue:
        where_ru, where_en = ("в CRM", "in the CRM") if system == "crm" else ("в 1С", "in 1C")
        noun_ru, noun_en = self.spec.noun
        return Issue(
            self.spec.key_field,
            "duplicate_key",
            f"Несколько {noun_ru} {where_ru} с ключом {key} (другие: {ids}): "
            "оставьте один, объедините остальные",
            f"Several {noun_en} {where_en} share the key {key} (others: {ids}): keep one, merge the rest",
        )

    def queue(self, merged: Any, writes: dict[str, dict[str, Any]], pair: _Pair) -> bool:
        """Open write intents for what the merge wants written; True if an older intent is still queued.

        An older queued intent with other data that was never tried is superseded (nothing was sent for it;
        this merge saw everything it knew, e.g. the link-back a CRM create queues for the next run). One
        that was tried may have been written: then nothing is opened for either side until it is loaded.
        Otherwise the other side's intent would settle with this merge as the agreed base while the tried
        one's side never received it, and the next merge would take the difference for an edit there (a
        twin typed in 1C after a crash overwrote the name the CRM owns).

        An update or deletion mark queued for a system this merge writes nothing to is stale, tried or not:
        the merge saw that system as this run read it (with the older write in it if it landed) and found
        nothing to change there, so it is abandoned, not sent. Otherwise the pair was agreed here and the
        load then put the older data over it (a 1C side gone back to what the CRM holds after a run died
        with its update tried), stored the target as it wrote it, and nothing was planned again: the two
        systems stayed apart for good. A create that was tried is still loaded (its lookup adopts what it
        may have made).
        """
        env, look = self.env, self.look
        opened, superseded = [], []
        for target in [t for t in self.spec.writers if t not in writes]:
            source_id = pair.id(OTHER[target])
            queued = look.pending_intent(target, source_id) if source_id else None
            if queued is not None and (queued.op != "create" or queued.tried_at is None):
                superseded.append(queued)
        for target, fields in writes.items():
            current = pair.value(target)
            source_id = pair.id(OTHER[target])
            target_hash = pair.seen[target] if current is not None else None
            payload = intent_payload(
                fields, merged, pair.crm_id, pair.onec_id, target_hash=target_hash, base=pair.base
            )
            queued = look.pending_intent(target, source_id or "")
            if queued is not None and queued.payload != payload:
                if queued.tried_at is not None:
                    return True
                superseded.append(queued)
            opened.append((target, fields, current, source_id, payload))
        for intent in superseded:
            if intent.tried_at is None:
                look.abandon_intent(intent, "superseded by a newer plan before it was tried")
            else:
                look.abandon_intent(intent, "superseded: a newer plan, which saw the target, writes nothing")
            env.count("superseded")
        stale = changes = False
        for target, fields, current, source_id, payload in opened:
            op = _op(current, fields)
            intent = look.open_intent(
                target,
                op,
                source_id or "",
                payload,
                match_key=self.spec.identity_key(merged) or f"id:{source_id}",
                target_id=pair.id(target),
                run_id=env.run_id,
            )
            stale |= intent.resumed and intent.payload != payload
            env.count(f"planned_{op}_{target}")
            changes |= op != "create"
        if changes and pair.linked:
            env.count("planned_changes_existing")  # what the mass-change breaker weighs (crm1c.watch.breaker)
        return stale

    def agree(self, crm_id: str, onec_id: str, merged: Any) -> None:
        """Both sides already hold the merged record: remember it as the base of the next merge."""
        digest = self.spec.content_hash(merged)
        base = merged.model_dump(mode="json")
        link = self.look.xref("crm", crm_id)
        if link is None:
            self.look.link(crm_id, onec_id, base=base, crm_hash=digest, onec_hash=digest)
            self.env.count("matched")
        elif link.base != base:
            self.look.update_base(crm_id, onec_id, base=base, crm_hash=digest, onec_hash=digest)

    def handled(self, record: SeenRecord, partner: SeenRecord | None = None) -> None:
        if self.env.dry_run:
            return
        self.look.handled(record)
        if partner is not None:
            self.look.handled(partner)


def _op(current: Any, fields: dict[str, Any]) -> str:
    """The write an intent makes: create (nothing there yet), mark_deleted, or update."""
    return "create" if current is None else ("mark_deleted" if set(fields) == {"deleted"} else "update")


class _Pair:
    """One pair being planned: both ids and values, the content hashes staging holds, its link (None: not
    linked before this run) and the link's agreed base."""

    def __init__(
        self,
        crm_id: str | None,
        onec_id: str | None,
        crm_value: Any,
        onec_value: Any,
        seen: dict[str, str | None],
        link: Xref | None,
    ) -> None:
        self.crm_id, self.onec_id, self.seen = crm_id, onec_id, seen
        self.linked, self.base = link is not None, link.base if link is not None else None
        self._values = {"crm": crm_value, "onec": onec_value}

    def id(self, system: str) -> str | None:
        return self.crm_id if system == "crm" else self.onec_id

    def value(self, system: str) -> Any:
        return self._values[system]
