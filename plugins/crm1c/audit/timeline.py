"""The events of a story in time order: reads, holds, decisions, intents, writes and their answers, runs.

Each event is a plain dict: ``ts``, ``kind``, ``record`` (``crm:42`` / ``onec:<Ref_Key>``, None for a run
summary) and the fields of its kind. Events at the same instant keep the order the engine works in.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from crm1c.audit.story import Story
from crm1c.staging.models import AuditEntry, Conflict, QuarantineItem, SeenRecord, WriteIntent, Xref
from crm1c.staging.repo.story import record_key

#: Event kinds, in the order the engine produces them within one instant.
KINDS = (
    "seen",
    "held",
    "released",
    "conflict",
    "intent_opened",
    "intent_tried",
    "intent_closed",
    "linked",
    "audit",
    "conflict_resolved",
    "last_seen",
    "run",
)
_RANK = {kind: rank for rank, kind in enumerate(KINDS)}


def timeline(story: Story) -> list[dict[str, Any]]:
    """Every event of the story, oldest first."""
    link_backs = {i.id for i in story.intents if is_link_back(i)}
    events = [
        *(e for r in story.seen for e in _seen(r)),
        *(e for q in story.quarantine for e in _held(q)),
        *(e for c in story.conflicts for e in _conflict(c)),
        *(e for i in story.intents for e in _intent(i)),
        *(_linked(x) for x in story.links),
        *(_audit(a, link_backs) for a in story.audit),
        *(_run(a) for a in story.runs),
    ]
    order = {id(e): n for n, e in enumerate(events)}
    return sorted(events, key=lambda e: (e["ts"], _RANK[e["kind"]], order[id(e)]))


def _event(ts: Any, kind: str, record: str | None, **fields: Any) -> dict[str, Any]:
    return {"ts": ts, "kind": kind, "record": record, **fields}


def _seen(r: SeenRecord) -> Iterator[dict[str, Any]]:
    key = record_key(r.system, r.external_id)
    yield _event(r.first_seen, "seen", key)
    if r.last_seen != r.first_seen:
        yield _event(r.last_seen, "last_seen", key, version=r.version, deleted=r.deleted)


def _held(q: QuarantineItem) -> Iterator[dict[str, Any]]:
    key = record_key(q.system, q.external_id)
    reason = {"field": q.field, "reason_ru": q.reason_ru, "reason_en": q.reason_en}
    yield _event(q.first_seen, "held", key, quarantine=q.id, occurrences=q.occurrences, **reason)
    if q.resolved_at is not None:
        yield _event(q.resolved_at, "released", key, quarantine=q.id, field=q.field)


def _conflict(c: Conflict) -> Iterator[dict[str, Any]]:
    key = record_key("crm", c.crm_id)
    values = {"crm_value": c.crm_value, "onec_value": c.onec_value, "base_value": c.base_value}
    yield _event(c.detected_at, "conflict", key, conflict=c.id, field=c.field, onec_id=c.onec_id, **values)
    if c.resolved_at is not None:
        yield _event(c.resolved_at, "conflict_resolved", key, conflict=c.id, resolution=c.resolution)


def _intent(i: WriteIntent) -> Iterator[dict[str, Any]]:
    key = record_key(i.source_system, i.source_id)
    what = {"intent": i.id, "op": i.op, "target_system": i.target_system, "target_id": i.target_id}
    fields = sorted((i.payload or {}).get("fields") or {}) if isinstance(i.payload, dict) else []
    opened = {"fields": fields, "role": i.role, "run_id": i.run_id, "link_back": is_link_back(i)}
    yield _event(i.created_at, "intent_opened", key, **what, **opened)
    if i.tried_at is not None:
        yield _event(i.tried_at, "intent_tried", key, **what, attempts=i.attempts)
    if i.state != "pending":
        yield _event(i.updated_at, "intent_closed", key, **what, state=i.state, error=i.error)


def is_link_back(i: WriteIntent) -> bool:
    """An update that only writes the partner's new id into the record (after a create on the other side)."""
    payload = i.payload if isinstance(i.payload, dict) else {}
    fields = payload.get("fields") or {}
    partner = payload.get("onec_id" if i.target_system == "crm" else "crm_id")
    return i.op == "update" and partner is not None and list(fields.values()) == [partner]


def _linked(x: Xref) -> dict[str, Any]:
    return _event(x.created_at, "linked", record_key("crm", x.crm_id), onec_id=x.onec_id, role=x.role)


def _audit(a: AuditEntry, link_backs: set[int]) -> dict[str, Any]:
    who = {"audit": a.id, "actor": a.actor, "run_id": a.run_id}
    what = {"op": a.op, "system": a.system, "result": a.result, "detail": a.detail}
    link_back = isinstance(a.detail, dict) and a.detail.get("intent") in link_backs
    return _event(a.ts, "audit", a.entity_key, **who, **what, link_back=link_back)


def _run(a: AuditEntry) -> dict[str, Any]:
    totals = a.detail if isinstance(a.detail, dict) else {}
    counts = {k: v for k, v in sorted(totals.items()) if v and v is not True}
    flags = {k: v for k, v in totals.items() if isinstance(v, bool)}
    return _event(a.ts, "run", None, audit=a.id, actor=a.actor, run_id=a.run_id, counts=counts, **flags)
