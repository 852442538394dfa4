"""Gather the story of a record: resolve the query to linked records (``xref``), read what staging holds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crm1c.audit.query import Query
from crm1c.staging.models import AuditEntry, Conflict, QuarantineItem, SeenRecord, WriteIntent, Xref
from crm1c.staging.repo.story import record_key

SYSTEMS = ("crm", "onec")


@dataclass(frozen=True)
class Subject:
    """One CRM record with every 1C record linked to it (or a lone record of either side), in one entity."""

    entity: str
    crm_ids: tuple[str, ...]
    onec_ids: tuple[str, ...]

    @property
    def ids(self) -> dict[str, list[str]]:
        return {"crm": list(self.crm_ids), "onec": list(self.onec_ids)}

    @property
    def keys(self) -> list[str]:
        """The records as audit rows name them (``crm:42``, ``onec:<Ref_Key>``)."""
        return [record_key(system, i) for system, found in self.ids.items() for i in found]


@dataclass
class Story:
    """Everything staging holds about one subject."""

    subject: Subject
    seen: list[SeenRecord] = field(default_factory=list)
    links: list[Xref] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)
    intents: list[WriteIntent] = field(default_factory=list)
    quarantine: list[QuarantineItem] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    runs: list[AuditEntry] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.seen or self.links or self.audit or self.intents or self.quarantine)


def find_stories(staging: Any, query: Query, entity: str | None = None) -> list[Story]:
    """The stories the query names (none when staging knows nothing of it), by entity and id."""
    subjects = resolve(staging, query, entity)
    stories = [gather(staging, subject) for subject in subjects]
    return [story for story in stories if not story.empty]


def resolve(staging: Any, query: Query, entity: str | None = None) -> list[Subject]:
    """The subjects a query names: a CRM id or Ref_Key in each entity that knows it (or ``entity``), an ИНН
    through the seen records whose match key carries it."""
    if query.kind == "inn":
        found = staging.seen_with_key_prefix(f"inn:{query.value}", entity)
        records = [(r.entity, r.system, r.external_id) for r in found]
    else:
        entities = [entity] if entity else staging.entities_of_record(query.kind, query.value)
        records = [(e, query.kind, query.value) for e in entities]
    subjects: list[Subject] = []
    for rec_entity, system, external_id in records:
        subject = linked_subject(staging, rec_entity, system, external_id)
        if subject not in subjects:
            subjects.append(subject)
    return subjects


def linked_subject(staging: Any, entity: str, system: str, external_id: str) -> Subject:
    """A record and its partners through ``xref``: the CRM record and all its 1C links."""
    crm_id = external_id
    if system == "onec":
        link = staging.xref_by_onec(entity, external_id, role=None)
        if link is None:
            return Subject(entity, (), (external_id,))
        crm_id = link.crm_id
    links = staging.xrefs_by_crm(entity, crm_id)
    return Subject(entity, (crm_id,), tuple(sorted({x.onec_id for x in links})))


def gather(staging: Any, subject: Subject) -> Story:
    """Read the seen records, links, audit rows, intents, quarantine, conflicts and run summaries."""
    entity, ids = subject.entity, subject.ids
    story = Story(subject)
    for system in SYSTEMS:
        story.seen += staging.seen_records(system, entity, external_ids=ids[system], include_deleted=True)
    story.links = [x for crm_id in subject.crm_ids for x in staging.xrefs_by_crm(entity, crm_id)]
    story.audit = staging.audit_of_records(entity, subject.keys)
    story.intents = staging.intents_of_records(entity, ids)
    story.quarantine = staging.quarantine_of_records(entity, ids)
    story.conflicts = staging.conflicts_of_records(entity, subject.crm_ids, subject.onec_ids)
    run_ids = {e.run_id for e in story.audit} | {i.run_id for i in story.intents}
    story.runs = staging.run_summaries(entity, sorted(r for r in run_ids if r))
    return story
