"""What the planner asks staging about one batch of dirty records, read up front in a few queries.

Planning record by record would cost several queries each (its link, its partner, the records sharing its
key, the queued intents, its quarantine rows). :class:`BatchLookups` reads them for the whole batch at once
and answers from memory. A question the prefetch did not cover falls through to staging (and is kept).
The planner's own writes go through it too, so later records of the batch see them; records marked
handled are cleared in one statement by :meth:`BatchLookups.flush`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crm1c.staging import SeenRecord, WriteIntent, Xref
from crm1c.sync.runtime import OTHER


class BatchLookups:
    """Read-through view of staging for one batch of dirty records of one system and entity."""

    def __init__(
        self, staging: Any, entity: str, system: str | None = None, records: Sequence[SeenRecord] = ()
    ) -> None:
        self.staging, self.entity = staging, entity
        self._xref: dict[str, dict[str, Xref | None]] = {"crm": {}, "onec": {}}
        self._seen: dict[str, dict[str, SeenRecord | None]] = {"crm": {}, "onec": {}}
        self._by_key: dict[str, dict[str, list[SeenRecord]]] = {"crm": {}, "onec": {}}
        self._pending: dict[str, dict[str, WriteIntent | None]] = {"crm": {}, "onec": {}}  # by target
        self._held: dict[str, dict[str, bool]] = {"crm": {}, "onec": {}}
        self._handled: dict[str, set[str]] = {"crm": set(), "onec": set()}
        if system is not None and records:
            self._prefetch(system, records)

    # ------------------------------------------------------------------------------------------- reads

    def xref(self, system: str, external_id: str) -> Xref | None:
        """The link of a record of ``system``."""
        known = self._xref[system]
        if external_id not in known:
            lookup = self.staging.xref_by_crm if system == "crm" else self.staging.xref_by_onec
            known[external_id] = lookup(self.entity, external_id)
        return known[external_id]

    def seen(self, system: str, external_id: str) -> SeenRecord | None:
        """A seen record (tombstones included)."""
        known = self._seen[system]
        if external_id not in known:
            known[external_id] = self.staging.get_seen(system, self.entity, external_id)
        return known[external_id]

    def by_key(self, system: str, match_key: str) -> list[SeenRecord]:
        """Live records of ``system`` that carry ``match_key``, by external_id."""
        known = self._by_key[system]
        if match_key not in known:
            known[match_key] = self.staging.by_match_key(system, self.entity, match_key)
        return known[match_key]

    def pending_intent(self, target: str, source_id: str) -> WriteIntent | None:
        """The queued intent that writes the record ``source_id`` of the other system to ``target``."""
        known = self._pending[target]
        if source_id not in known:
            known[source_id] = self.staging.pending_intent(self.entity, target, OTHER[target], source_id)
        return known[source_id]

    def held(self, system: str, external_id: str) -> bool:
        """Whether the record has an open quarantine row."""
        known = self._held[system]
        if external_id not in known:
            known[external_id] = bool(self.staging.quarantined_ids(self.entity, system, [external_id]))
        return known[external_id]

    def prefetch_xrefs(self, system: str, ids: Sequence[str]) -> None:
        """Read the links of these records of ``system`` in one query."""
        found = self.staging.xrefs_of(self.entity, system, ids)
        self._xref[system].update((i, found.get(i)) for i in ids)

    def prefetch_pending(self, target: str, source_ids: Sequence[str]) -> None:
        """Read the queued intents writing these records of the other system to ``target`` in one query."""
        found = self.staging.pending_intents_of(self.entity, target, OTHER[target], source_ids)
        self._pending[target].update((i, found.get(i)) for i in source_ids)

    def prefetch_held(self, system: str, ids: Sequence[str]) -> None:
        """Read which of these records of ``system`` are held in quarantine, in one query."""
        if ids:
            held = self.staging.quarantined_ids(self.entity, system, ids)
            self._held[system].update((i, i in held) for i in ids)

    # ------------------------------------------------------------------------------------------ writes

    def link(self, crm_id: str, onec_id: str, **values: Any) -> Xref:
        return self.linked(self.staging.link(self.entity, crm_id, onec_id, **values))

    def update_base(self, crm_id: str, onec_id: str, **values: Any) -> Xref:
        return self.linked(self.staging.update_base(self.entity, crm_id, onec_id, **values))

    def linked(self, link: Xref) -> Xref:
        """Note a link written elsewhere (e.g. with the intent it completes)."""
        self._xref["crm"][link.crm_id] = self._xref["onec"][link.onec_id] = link
        return link

    def open_intent(self, target: str, op: str, source_id: str, payload: Any, **kw: Any) -> WriteIntent:
        intent = self.staging.open_intent(self.entity, target, op, OTHER[target], source_id, payload, **kw)
        self._pending[target][source_id] = intent
        return intent

    def abandon_intent(self, intent: WriteIntent, reason: str) -> None:
        self.staging.abandon_intent(intent.id, reason)
        self._pending[intent.target_system][intent.source_id] = None

    def quarantine(self, system: str, external_id: str, *args: Any) -> None:
        self.staging.quarantine(self.entity, system, external_id, *args)
        self._held[system][external_id] = True

    def release(self, system: str, external_id: str) -> None:
        """Resolve the record's open quarantine rows, if it has any (it is valid now)."""
        if self.held(system, external_id):
            self.staging.resolve_quarantine(self.entity, system, external_id)
            self._held[system][external_id] = False

    def handled(self, record: SeenRecord) -> None:
        """The record needs no more planning (cleared at :meth:`flush`)."""
        if record.dirty:
            self._handled[record.system].add(record.external_id)

    def flush(self) -> None:
        for system, ids in self._handled.items():
            if ids:
                self.staging.set_dirty(system, self.entity, ids, False)
            ids.clear()

    # ---------------------------------------------------------------------------------------- internal

    def _prefetch(self, system: str, records: Sequence[SeenRecord]) -> None:
        other, st, entity = OTHER[system], self.staging, self.entity
        ids = [r.external_id for r in records]
        keys = {r.match_key for r in records if r.match_key}
        for side in (system, other):
            self._by_key[side] = st.by_match_keys(side, entity, keys)
        candidates = {side: [r.external_id for g in self._by_key[side].values() for r in g] for side in OTHER}
        self.prefetch_xrefs(system, ids + candidates[system])
        self.prefetch_xrefs(other, candidates[other])
        linked = [x.onec_id if system == "crm" else x.crm_id for i in ids if (x := self._xref[system][i])]
        partners = st.seen_records(other, entity, external_ids=linked, include_deleted=True)
        self._seen[other] = dict.fromkeys(linked) | {r.external_id: r for r in partners}
        self._seen[other].update((r.external_id, r) for g in self._by_key[other].values() for r in g)
        self.prefetch_pending(other, ids)
        self.prefetch_pending(system, linked + candidates[other])
        held = st.quarantined_ids(entity, system, ids)
        self._held[system] = {i: i in held for i in ids}
