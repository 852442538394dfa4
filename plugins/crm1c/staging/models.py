"""Plain data objects passed to and returned by :class:`crm1c.staging.store.Staging`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from crm1c.hashing import content_hash


@dataclass(frozen=True, slots=True)
class SeenInput:
    """One record read from a source system, ready to be upserted into ``seen_record``.

    ``content_hash`` defaults to the hash of ``normalised`` (or of ``raw`` when there is no normalised form).
    """

    external_id: str
    raw: Any
    normalised: Any = None
    version: str | None = None
    source_ts: datetime | None = None
    content_hash: str | None = None
    match_key: str | None = None
    dirty: bool = True  # False for records we wrote ourselves: nothing for the planner to do

    def effective_hash(self) -> str:
        if self.content_hash is not None:
            return self.content_hash
        return content_hash(self.raw if self.normalised is None else self.normalised)


@dataclass(frozen=True, slots=True)
class UpsertResult:
    """External ids of an upserted batch, by what happened to them."""

    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    duplicates: int = 0  # batch rows dropped because a later row had the same external_id

    @property
    def to_sync(self) -> list[str]:
        """New and changed ids: the records the engine must look at."""
        return self.new + self.changed


@dataclass(frozen=True, slots=True)
class SeenRecord:
    system: str
    entity: str
    external_id: str
    version: str | None
    source_ts: datetime | None
    content_hash: str
    raw: Any
    normalised: Any
    deleted: bool
    first_seen: datetime
    last_seen: datetime
    match_key: str | None = None
    dirty: bool = False


@dataclass(frozen=True, slots=True)
class Xref:
    """A link between a CRM record and a 1C record. ``role`` says which link of the CRM record it is: ``''``
    for one-to-one entities, e.g. ``"invoice"`` / ``"sale"`` for the two 1C documents of one deal."""

    id: int
    entity: str
    crm_id: str
    onec_id: str
    crm_hash: str | None
    onec_hash: str | None
    base: Any
    created_at: datetime
    updated_at: datetime
    role: str = ""


@dataclass(frozen=True, slots=True)
class Completion:
    """A written intent to complete, and the new agreed base of its (already linked) pair.

    ``role`` is the intent's role, which is also its link's (``''``: one-to-one).
    """

    intent_id: int
    target_id: str
    crm_id: str
    onec_id: str
    base: Any
    crm_hash: str | None
    onec_hash: str | None
    role: str = ""


@dataclass(frozen=True, slots=True)
class WriteIntent:
    """An outbox row. ``resumed`` is True when :meth:`open_intent` found it already pending.

    A resumed intent means an earlier attempt may have written to the target: look the record up by
    ``match_key`` before creating it again. ``role`` is the link it writes (``''``: one-to-one; see
    :class:`Xref`).
    """

    id: int
    entity: str
    target_system: str
    op: str
    source_system: str
    source_id: str
    match_key: str | None
    payload: Any
    payload_hash: str
    state: str
    target_id: str | None
    attempts: int
    error: str | None
    run_id: str | None
    created_at: datetime
    updated_at: datetime
    tried_at: datetime | None = None
    role: str = ""
    resumed: bool = False


@dataclass(frozen=True, slots=True)
class QuarantineItem:
    id: int
    entity: str
    system: str
    external_id: str
    field: str
    reason_ru: str
    reason_en: str
    payload: Any
    first_seen: datetime
    last_seen: datetime
    occurrences: int
    resolved_at: datetime | None


@dataclass(frozen=True, slots=True)
class Conflict:
    id: int
    entity: str
    crm_id: str
    onec_id: str
    field: str
    crm_value: Any
    onec_value: Any
    base_value: Any
    detected_at: datetime
    resolved_at: datetime | None
    resolution: str | None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    ts: datetime
    actor: str
    run_id: str | None
    entity: str | None
    entity_key: str | None
    op: str
    system: str | None
    result: str
    detail: Any
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class RunStats:
    run_id: str
    entity: str
    task: str
    started_at: datetime
    finished_at: datetime | None
    counters: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RolloutMode:
    """An entity's rollout mode as someone set it (``entity`` as in DAG ids, e.g. ``"counterparties"``);
    ``pilot_filter`` only for ``pilot`` (e.g. ``{"inn": ["7707083893"]}``)."""

    entity: str
    mode: str
    pilot_filter: dict[str, Any] | None
    changed_by: str
    changed_at: datetime


@dataclass(frozen=True, slots=True)
class ReconciliationReport:
    """One reconciliation run: its period (None: everything), ``status`` clean | drift | failed, the totals
    compared, the differences found and the HTML report sent out."""

    id: int
    started_at: datetime
    finished_at: datetime
    period_from: date | None
    period_to: date | None
    status: str
    totals: dict[str, Any]
    differences: list[Any]
    html: str | None
