"""``write_intent``: the outbox. An intent is committed BEFORE the external write it describes."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from crm1c.hashing import content_hash
from crm1c.staging.errors import IntentStateError, NotFoundError, StagingError
from crm1c.staging.models import Completion, WriteIntent, Xref
from crm1c.staging.repo.base import chunks
from crm1c.staging.repo.xref import Xrefs, new_links_statement, update_pair_statement
from crm1c.staging.schema import NO_ROLE
from crm1c.staging.schema import write_intent as t

# One pending intent per source record, target and role (the columns of ``uq_write_intent_pending``).
_SOURCE = ("entity", "target_system", "source_system", "source_id", "role")
_ON_DOCUMENTS = ("post", "unpost")  # 1C document operations: on an existing document
_PENDING = sa.text("state = 'pending'")
_RELINKED = ("base", "crm_hash", "onec_hash", "updated_at")  # what a completed update stores on its link


class Outbox(Xrefs):
    def open_intent(
        self,
        entity: str,
        target_system: str,
        op: str,
        source_system: str,
        source_id: str,
        payload: Any,
        *,
        match_key: str | None = None,
        target_id: str | None = None,
        run_id: str | None = None,
        role: str = NO_ROLE,
        conn: Connection | None = None,
    ) -> WriteIntent:
        """Record the intent to write ``payload`` to ``target_system``; commit it before the external call.

        If a pending intent for the same source record, target and ``role`` already exists, it is returned
        unchanged except for ``attempts``/``run_id`` and with ``resumed=True``: the previous attempt may have
        written, so look the record up by its ``match_key`` before creating it again. ``post``/``unpost``
        act on an existing 1C document: they need its ``target_id``.
        """
        if op == "create" and not match_key:
            raise ValueError("a create intent needs a match_key to find the record after a crash")
        if op in _ON_DOCUMENTS and (target_system != "onec" or not target_id):
            raise ValueError(f"a {op} intent needs target_system 'onec' and the target_id of the document")
        now = self._now()
        row: dict[str, Any] = {
            "entity": entity,
            "target_system": target_system,
            "op": op,
            "source_system": source_system,
            "source_id": source_id,
            "match_key": match_key,
            "payload": payload,
            "state": "pending",
            "payload_hash": content_hash(payload),
            "target_id": target_id,
            "attempts": 1,
            "error": None,
            "run_id": run_id,
            "created_at": now,
            "updated_at": now,
            "role": role,
        }
        insert, resume = _open_statements(self.is_postgres)
        keys = {f"k_{k}": row[k] for k in _SOURCE} | {"run_id": run_id, "updated_at": now}
        with self._write(conn) as c:
            for _attempt in range(3):  # repeats only if a concurrent writer closed the pending one meanwhile
                created = c.execute(insert, row).first()
                if created is not None:
                    return WriteIntent(**created._mapping)
                resumed = c.execute(resume, keys).first()
                if resumed is not None:
                    return WriteIntent(**resumed._mapping, resumed=True)
        raise StagingError(f"could not open a write intent for {entity} {source_system}:{source_id}")

    def mark_tried(self, intent_ids: list[int], *, conn: Connection | None = None) -> None:
        """Record that external calls for these intents are about to start (commit before calling)."""
        with self._write(conn) as c:
            c.execute(sa.update(t).where(t.c.id.in_(intent_ids)).values(tried_at=self._now()))

    def complete_intent(
        self, intent_id: int, target_id: str, *, conn: Connection | None = None
    ) -> WriteIntent:
        """Mark the intent done with the id the target system gave the record (idempotent)."""
        now = self._now()
        with self._write(conn) as c:
            done = c.execute(
                _complete_pending(), {"k_id": intent_id, "target_id": target_id, "now": now}
            ).first()
            if done is not None:  # the usual case, in one statement; anything else is checked below
                return WriteIntent(**done._mapping)
            intent = self._locked_intent(c, intent_id)
            if intent.state == "done" and intent.target_id == target_id:
                return intent
            _require_pending(intent, "complete")
            if intent.target_id is not None and intent.target_id != target_id:
                raise IntentStateError(
                    f"intent {intent_id} targets {intent.target_id}, cannot complete it with {target_id}"
                )
            return self._transition(c, intent_id, state="done", target_id=target_id, error=None)

    def complete_intent_and_link(
        self,
        intent_id: int,
        target_id: str,
        *,
        base: Any,
        crm_hash: str | None,
        onec_hash: str | None,
        conn: Connection | None = None,
    ) -> Xref:
        """In ONE transaction: complete the intent, link source and target in xref (in the intent's role),
        store the new base.

        Raises:
            XrefConflictError: the link would break 1:1; nothing is changed and the intent stays pending.
        """
        with self._write(conn) as c:
            intent = self.complete_intent(intent_id, target_id, conn=c)
            if intent.source_system == "crm":
                crm_id, onec_id = intent.source_id, target_id
            else:
                crm_id, onec_id = target_id, intent.source_id
            agreed: dict[str, Any] = {"base": base, "crm_hash": crm_hash, "onec_hash": onec_hash}
            return self.link(intent.entity, crm_id, onec_id, role=intent.role, conn=c, **agreed)

    def complete_many_and_relink(
        self, entity: str, items: Sequence[Completion], *, conn: Connection | None = None
    ) -> None:
        """:meth:`complete_intent_and_link` for intents whose pair is already linked, in two statements.

        Each item's ``role`` must be its intent's. If either statement misses a row (an intent no longer
        pending, a link that changed), every item goes through :meth:`complete_intent_and_link` instead: the
        same checks and errors, and it is idempotent.
        """
        if not items:
            return
        now = self._now()
        links = [
            {"k_entity": entity, "k_role": i.role, "k_crm": i.crm_id, "k_onec": i.onec_id, "base": i.base}
            | {"crm_hash": i.crm_hash, "onec_hash": i.onec_hash, "updated_at": now}
            for i in items
        ]
        relink = update_pair_statement(_RELINKED, returning=False)
        with self._write(conn) as c:
            if not self._complete_all(c, items, now) or c.execute(relink, links).rowcount != len(items):
                self._complete_one_by_one(c, items)

    def complete_many_and_link(
        self, entity: str, items: Sequence[Completion], *, conn: Connection | None = None
    ) -> None:
        """:meth:`complete_intent_and_link` for intents whose pair is not linked yet (creates), in two
        statements; when either misses a row (an intent no longer pending, a record linked meanwhile),
        every item goes through :meth:`complete_intent_and_link` instead, as above."""
        if not items:
            return
        now = self._now()
        links = [
            {"entity": entity, "role": i.role, "crm_id": i.crm_id, "onec_id": i.onec_id, "base": i.base}
            | {"crm_hash": i.crm_hash, "onec_hash": i.onec_hash, "created_at": now, "updated_at": now}
            for i in items
        ]
        link = new_links_statement(self.is_postgres)
        with self._write(conn) as c:
            if not self._complete_all(c, items, now) or c.execute(link, links).rowcount != len(items):
                self._complete_one_by_one(c, items)

    def _complete_all(self, c: Connection, items: Sequence[Completion], now: Any) -> bool:
        """Complete every item's pending intent in one statement; False if one was not pending."""
        intents = [{"k_id": i.intent_id, "target_id": i.target_id, "now": now} for i in items]
        return bool(c.execute(_complete_pending(returning=False), intents).rowcount == len(items))

    def _complete_one_by_one(self, c: Connection, items: Sequence[Completion]) -> None:
        for i in items:
            self.complete_intent_and_link(
                i.intent_id, i.target_id, base=i.base, crm_hash=i.crm_hash, onec_hash=i.onec_hash, conn=c
            )

    def fail_intent(self, intent_id: int, error: str, *, conn: Connection | None = None) -> WriteIntent:
        """Mark a pending intent failed: the target definitely rejected the write (not a timeout)."""
        with self._write(conn) as c:
            _require_pending(self._locked_intent(c, intent_id), "fail")
            return self._transition(c, intent_id, state="failed", error=error)

    def abandon_intent(self, intent_id: int, reason: str, *, conn: Connection | None = None) -> WriteIntent:
        """Give up on a pending intent (e.g. superseded or cancelled by an operator)."""
        with self._write(conn) as c:
            _require_pending(self._locked_intent(c, intent_id), "abandon")
            return self._transition(c, intent_id, state="abandoned", error=reason)

    def get_intent(self, intent_id: int, *, conn: Connection | None = None) -> WriteIntent:
        """One intent by id (raises NotFoundError)."""
        with self._read(conn) as c:
            row = c.execute(sa.select(t).where(t.c.id == intent_id)).first()
        if row is None:
            raise NotFoundError(f"write intent {intent_id} does not exist")
        return WriteIntent(**row._mapping)

    def pending_intents(
        self,
        entity: str,
        target_system: str,
        *,
        after_id: int = 0,
        limit: int | None = None,
        conn: Connection | None = None,
    ) -> list[WriteIntent]:
        """Pending intents for one entity and target (every role), oldest first (what a crashed run left
        behind); ``after_id``/``limit`` page through them."""
        query = (
            sa.select(t)
            .where(t.c.entity == entity, t.c.target_system == target_system, t.c.state == "pending")
            .where(t.c.id > after_id)
            .order_by(t.c.id)
            .limit(limit)
        )
        with self._read(conn) as c:
            return [WriteIntent(**r._mapping) for r in c.execute(query)]

    def pending_intent(
        self,
        entity: str,
        target_system: str,
        source_system: str,
        source_id: str,
        *,
        role: str = NO_ROLE,
        conn: Connection | None = None,
    ) -> WriteIntent | None:
        """The pending intent for one source record, target and role, if any."""
        query = sa.select(t).where(
            t.c.entity == entity,
            t.c.target_system == target_system,
            t.c.source_system == source_system,
            t.c.source_id == source_id,
            t.c.role == role,
            _PENDING,  # literal: lets SQLite use the partial unique index
        )
        with self._read(conn) as c:
            row = c.execute(query).first()
        return None if row is None else WriteIntent(**row._mapping)

    def pending_intents_of(
        self,
        entity: str,
        target_system: str,
        source_system: str,
        source_ids: Iterable[str],
        *,
        role: str = NO_ROLE,
        conn: Connection | None = None,
    ) -> dict[str, WriteIntent]:
        """:meth:`pending_intent` for many source records at once (one role): ``source_id → intent``."""
        base = sa.select(t).where(
            t.c.entity == entity,
            t.c.target_system == target_system,
            t.c.source_system == source_system,
            t.c.role == role,
            _PENDING,
        )
        found: dict[str, WriteIntent] = {}
        with self._read(conn) as c:
            for part in chunks(sorted(set(source_ids))):
                for r in c.execute(base.where(t.c.source_id.in_(part))):
                    found[r.source_id] = WriteIntent(**r._mapping)
        return found

    def _locked_intent(self, c: Connection, intent_id: int) -> WriteIntent:
        row = c.execute(_locked_by_id(self.is_postgres), {"k_id": intent_id}).first()
        if row is None:
            raise NotFoundError(f"write intent {intent_id} does not exist")
        return WriteIntent(**row._mapping)

    def _transition(self, c: Connection, intent_id: int, **values: Any) -> WriteIntent:
        values["updated_at"] = self._now()
        stmt = _transition_statement(tuple(sorted(values)))
        return WriteIntent(**c.execute(stmt, {"k_id": intent_id, **values}).one()._mapping)


# Statements run once per intent are built once (building one costs more than running it on SQLite).


@functools.cache
def _locked_by_id(postgres: bool) -> Any:
    query = sa.select(t).where(t.c.id == sa.bindparam("k_id"))
    return query.with_for_update() if postgres else query


@functools.cache
def _complete_pending(returning: bool = True) -> Any:
    """Complete a pending intent that has no other target id (else no row: the careful path decides)."""
    target_ok = sa.or_(t.c.target_id.is_(None), t.c.target_id == sa.bindparam("target_id"))
    stmt = (
        sa.update(t)
        .where(t.c.id == sa.bindparam("k_id"), t.c.state == "pending", target_ok)
        .values(state="done", target_id=sa.bindparam("target_id"), error=None, updated_at=sa.bindparam("now"))
    )
    return stmt.returning(*t.c) if returning else stmt


@functools.cache
def _transition_statement(columns: tuple[str, ...]) -> Any:
    values: dict[str, sa.BindParameter[Any]] = {name: sa.bindparam(name) for name in columns}
    return sa.update(t).where(t.c.id == sa.bindparam("k_id")).values(values).returning(*t.c)


@functools.cache
def _open_statements(postgres: bool) -> tuple[Any, Any]:
    """The INSERT and the resume UPDATE of :meth:`Outbox.open_intent`, built once (values are bound)."""
    stmt = (postgresql.insert if postgres else sqlite.insert)(t)
    insert = stmt.on_conflict_do_nothing(index_elements=list(_SOURCE), index_where=_PENDING).returning(*t.c)
    resume = (
        sa.update(t)
        .where(*(t.c[k] == sa.bindparam(f"k_{k}") for k in _SOURCE), _PENDING)
        .values(attempts=t.c.attempts + 1, run_id=sa.bindparam("run_id"))
        .values(updated_at=sa.bindparam("updated_at"))
        .returning(*t.c)
    )
    return insert, resume


def _require_pending(intent: WriteIntent, action: str) -> None:
    if intent.state != "pending":
        raise IntentStateError(f"cannot {action} write intent {intent.id}: it is {intent.state}")
