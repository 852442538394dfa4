"""An entity specification: all the engine knows about one synced entity.

The engine (:mod:`crm1c.sync.engine`) runs extract → plan → load → publish for any entity. An entity plugs
in its canonical model and rules (identity key, validation, three-way merge, where each system keeps the
other's id) and, per system, a reader (what changed → staging) and a writer (queued writes → the system).
An entity without a writer for a system is never written there (e.g. nomenclature: 1C is the master).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from crm1c.domain.issues import Issue
from crm1c.staging import SeenInput, SeenRecord, WriteIntent

if TYPE_CHECKING:
    from crm1c.sync.runtime import SyncEnv


@dataclass
class Outcome:
    """What happened to one write intent: ``target_id`` and ``seen`` when written or adopted; ``issue`` when
    the target refused it for good (the record is held); ``retry`` when the result is unknown or must wait
    (left pending); ``replan`` when the target changed under us (planned again after the next extract);
    ``wait`` when it depends on another write of the same step (tried once more at the end of it);
    ``keep`` with ``issue`` when the write may have landed: the record is held but its intent stays
    pending, so the next attempt looks the record up before creating it again."""

    target_id: str | None = None
    seen: SeenInput | None = None
    adopted: bool = False
    issue: Issue | None = None
    retry: str | None = None
    replan: bool = False
    wait: Issue | None = None
    keep: bool = False


#: The records a chunk of intents updates, as staging last saw them (by external id).
Current = dict[str, SeenRecord]


class Conflict(Protocol):
    """A field both systems changed to different values since the agreed base."""

    @property
    def field(self) -> str: ...
    @property
    def base(self) -> Any: ...
    @property
    def crm(self) -> Any: ...
    @property
    def onec(self) -> Any: ...


class Merged(Protocol):
    """What :attr:`EntitySpec.merge` returns (e.g. :class:`crm1c.domain.merge.MergeResult`): the agreed
    record, the fields to write to each system (canonical name → value; ``{"deleted": True}`` alone is a
    deletion), and the conflicts (the owner's value is in ``merged``)."""

    @property
    def merged(self) -> Any: ...
    @property
    def to_crm(self) -> dict[str, Any]: ...
    @property
    def to_onec(self) -> dict[str, Any]: ...
    @property
    def conflicts(self) -> Sequence[Conflict]: ...


class Reader(Protocol):
    """Reads what changed in one system into staging (``upsert_seen``, dirty); ``mode`` is incremental or
    full (full also tombstones records that are gone). Counters go to ``env.count``."""

    def __call__(self, env: SyncEnv, mode: str) -> None: ...


class OneCWriter(Protocol):
    """Writes records to 1C one request each (the engine runs them in a pool and settles them in chunks).

    ``body`` raises :class:`~crm1c.domain.issues.IssueError` to hold the record, or
    :class:`~crm1c.domain.issues.DependencyPending` when it needs another write of the same step first.
    """

    def entity_set(self, merged: Any) -> str:
        """The set the record lives in (e.g. ``Catalog_Контрагенты``; documents: by their kind)."""
        ...

    def prepare(self, env: SyncEnv, intents: list[WriteIntent]) -> set[int]:
        """Before a chunk's writes start, in the step's own thread: read at once what its writes will ask
        staging or 1C for one by one (into ``env.memo``), or nothing. Returns the ids of the intents that
        must wait for another write of this step (their ``body`` would raise ``DependencyPending``): the
        engine keeps them out of the pool and offers them again with the next chunk."""
        ...

    def body(self, env: SyncEnv, intent: WriteIntent, merged: Any, current: dict | None) -> dict[str, Any]:
        """The JSON to send: every field for a create (``current`` None), the intent's fields for an update
        of ``current`` (the object as 1C last returned it)."""
        ...

    def find(self, env: SyncEnv, merged: Any) -> tuple[dict | None, list[dict]]:
        """After an interrupted create: ``(ours, others)``, the live objects carrying the record's key; ours
        is the one the earlier attempt created (tagged with our link), others were typed by people."""
        ...

    def seen(self, env: SyncEnv, row: dict[str, Any]) -> SeenInput:
        """The staging record of an object 1C returned after a write."""
        ...


class CrmWriter(Protocol):
    """Writes records to Bitrix24 in ``batch`` requests of up to 50 commands."""

    #: How many commands :meth:`shared` adds at most (room left in every batch request).
    shared_size: int

    def size(self, env: SyncEnv, intent: WriteIntent, current: Current) -> int:
        """How many batch commands the intent needs."""
        ...

    def lookup(self, env: SyncEnv, intents: list[WriteIntent]) -> tuple[dict[int, Any], dict[int, Outcome]]:
        """Interrupted creates: ``found`` (intent id → what the earlier attempt created, adopted) and
        ``settled`` (intent id → outcome without a write: a twin typed meanwhile, a lookup that failed)."""
        ...

    def commands(
        self, env: SyncEnv, intent: WriteIntent, n: int, found: Any, current: Current
    ) -> dict[str, Any]:
        """The intent's batch commands, keyed uniquely by ``n`` (its position in the request)."""
        ...

    def shared(self, env: SyncEnv, batch: dict[str, Any]) -> dict[str, Any]:
        """Commands run once after the intents' ``batch`` commands of a request (e.g. one read-back of all
        the records written; keys unlike the intents'); each :meth:`outcome` finds their answers in
        ``result``."""
        ...

    def outcome(
        self,
        env: SyncEnv,
        intent: WriteIntent,
        n: int,
        commands: dict[str, Any],
        result: Any,
        found: Any,
        current: Current,
    ) -> Outcome:
        """What the batch ``result`` means for this intent."""
        ...


class PilotMatch(Protocol):
    """Whether a seen record is in a pilot (rollout mode ``pilot``): ``keys`` are the filter keys the entity
    understands (e.g. ``inn``); a record is in when any key's values hold its value for that key."""

    @property
    def keys(self) -> tuple[str, ...]: ...

    def __call__(self, record: SeenRecord, pilot_filter: Mapping[str, Sequence[str]]) -> bool: ...


@dataclass(frozen=True)
class EntitySpec:
    """One entity: its canonical model and rules, and its readers and writers per system (its DAG-level
    names live in :class:`crm1c.sync.entities.EntityRef`, which loads this on demand).

        Attributes:
            key: the staging entity name (seen records, xref, intents, quarantine), e.g. ``"counterparty"``.
            model: the canonical record: a pydantic model with a ``deleted`` flag and one field per link slot;
                staging keeps it as JSON (``model(**json)``).
            noun: how messages name several of them, Russian and English (``"контрагентов"``, ...).
            identity_key: the business key that matches records across systems (None: cannot be matched).
            key_field: the field a duplicate key is reported on (e.g. ``"inn"``).
            content_hash: the hash of the synced content (what makes two records equal).
            validate: the record's problems under the mapping (empty: it can be synced).
            tombstone: the record as deleted at its source.
            merge_rules: mapping → what :attr:`merge` needs (e.g. who owns which field), once per plan.
            merge: ``(base, crm, onec, rules)`` → :class:`Merged`; None on a side means absent there.
            link_slots: system → the model field holding that system's id (``{"crm": "crm_id", ...}``). After
                a create the engine writes the new id into the source record's slot (the link-back).
            readers: system → :class:`Reader`.
            writers: ``"onec"`` → :class:`OneCWriter`, ``"crm"`` → :class:`CrmWriter`; a system without one
                is never written.
                summed: the step counters ``publish`` adds up for the asset event.
            pilot_match: which records a pilot filter selects (None: the entity cannot run a pilot).
    """

    key: str
    model: Callable[..., Any]
    noun: tuple[str, str]
    identity_key: Callable[[Any], str | None]
    key_field: str
    content_hash: Callable[[Any], str]
    validate: Callable[[Any, Any], list[Issue]]
    tombstone: Callable[[Any], Any]
    merge_rules: Callable[[Any], Any]
    merge: Callable[[Any, Any, Any, Any], Merged]
    link_slots: Mapping[str, str]
    readers: Mapping[str, Reader]
    writers: Mapping[str, Any]
    summed: tuple[str, ...] = field(default=())
    pilot_match: PilotMatch | None = None
