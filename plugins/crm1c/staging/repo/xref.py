"""``xref``: the links between CRM records and 1C records, with the last agreed base for merges.

A link is 1:1 per ``role``: ``''`` for one-to-one entities (every method's default), named roles where one
CRM record has several 1C records (a deal's ``invoice`` and ``sale``). A 1C record belongs to one CRM record,
in one role.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from crm1c.staging.errors import NotFoundError, XrefConflictError
from crm1c.staging.models import Xref
from crm1c.staging.repo.base import StagingBase, chunks, to_model
from crm1c.staging.schema import NO_ROLE
from crm1c.staging.schema import xref as t


class Xrefs(StagingBase):
    def xref_by_crm(
        self, entity: str, crm_id: str, *, role: str = NO_ROLE, conn: Connection | None = None
    ) -> Xref | None:
        """The link of a CRM record in ``role``, or None."""
        with self._read(conn) as c:
            return _get(c, entity, role, t.c.crm_id == crm_id)

    def xref_by_onec(
        self, entity: str, onec_id: str, *, role: str | None = NO_ROLE, conn: Connection | None = None
    ) -> Xref | None:
        """The link of a 1C record in ``role`` (None: in whatever role it has; a 1C record has one link at
        most), or None."""
        with self._read(conn) as c:
            return _get(c, entity, role, t.c.onec_id == onec_id)

    def xrefs_by_crm(self, entity: str, crm_id: str, *, conn: Connection | None = None) -> list[Xref]:
        """Every link of a CRM record, whatever its role, by role."""
        query = sa.select(t).where(t.c.entity == entity, t.c.crm_id == crm_id).order_by(t.c.role)
        with self._read(conn) as c:
            return [Xref(**r._mapping) for r in c.execute(query)]

    def xrefs_of(
        self,
        entity: str,
        system: str,
        ids: Iterable[str],
        *,
        role: str | None = NO_ROLE,
        conn: Connection | None = None,
    ) -> dict[str, Xref]:
        """The links in ``role`` of the given records of ``system`` ("crm" or "onec"), by that system's id.

        ``role=None`` (1C records only, which have one link at most): whatever their role.
        """
        if role is None and system == "crm":
            raise ValueError("a CRM record has a link per role: give the role, or use xrefs_by_crm")
        column = t.c.crm_id if system == "crm" else t.c.onec_id
        query = sa.select(t).where(t.c.entity == entity, *_of_role(role))
        found: dict[str, Xref] = {}
        with self._read(conn) as c:
            for part in chunks(sorted(set(ids))):
                for r in c.execute(query.where(column.in_(part))):
                    found[r._mapping[column.name]] = Xref(**r._mapping)
        return found

    def link(
        self,
        entity: str,
        crm_id: str,
        onec_id: str,
        *,
        role: str = NO_ROLE,
        base: Any = None,
        crm_hash: str | None = None,
        onec_hash: str | None = None,
        conn: Connection | None = None,
    ) -> Xref:
        """Link ``crm_id`` with ``onec_id`` in ``role``; idempotent, and updates base/hashes when given.

        Raises:
            XrefConflictError: the CRM record already has another link in ``role``, or the 1C record is
                linked elsewhere (to another CRM record or in another role).
        """
        values = {"base": base, "crm_hash": crm_hash, "onec_hash": onec_hash}
        values = {k: v for k, v in values.items() if v is not None}
        keys = {"k_entity": entity, "k_role": role, "k_crm": crm_id, "k_onec": onec_id}
        with self._write(conn) as c:
            if values:  # the pair is usually linked already: update it in one statement
                values["updated_at"] = self._now()
                row = c.execute(update_pair_statement(tuple(sorted(values))), keys | values).first()
                if row is not None:
                    return Xref(**row._mapping)
            for _attempt in range(2):
                existing = self._existing_pair(c, keys)
                if existing is not None:
                    return self._set_base(c, existing, base, crm_hash, onec_hash)
                now = self._now()
                fields: dict[str, Any] = {"entity": entity, "role": role, "crm_id": crm_id}
                fields |= {"onec_id": onec_id, "crm_hash": crm_hash, "onec_hash": onec_hash, "base": base}
                fields |= {"created_at": now, "updated_at": now}
                inserted = to_model(Xref, c.execute(_insert_statement(self.is_postgres), fields).first())
                if inserted is not None:
                    return inserted
            raise XrefConflictError(
                f"{entity}{_in_role(role)}: could not link crm {crm_id} with 1C {onec_id} (concurrent link)"
            )

    def update_base(
        self,
        entity: str,
        crm_id: str,
        onec_id: str,
        *,
        role: str = NO_ROLE,
        base: Any,
        crm_hash: str | None,
        onec_hash: str | None,
        conn: Connection | None = None,
    ) -> Xref:
        """Record a new agreed base (and per-side hashes) for an existing link.

        Raises:
            NotFoundError: the pair is not linked (in ``role``).
        """
        keys = {"k_entity": entity, "k_role": role, "k_crm": crm_id, "k_onec": onec_id}
        values = {"base": base, "crm_hash": crm_hash, "onec_hash": onec_hash, "updated_at": self._now()}
        with self._write(conn) as c:
            updated = to_model(Xref, c.execute(update_pair_statement(_BASE), keys | values).first())
        if updated is None:
            raise NotFoundError(f"{entity}{_in_role(role)}: crm {crm_id} and 1C {onec_id} are not linked")
        return updated

    def _existing_pair(self, c: Connection, keys: dict[str, str]) -> Xref | None:
        """The link of exactly this pair and role; raises if either side is linked otherwise."""
        rows = [Xref(**r._mapping) for r in c.execute(_pair_query(self.is_postgres), keys)]
        wanted = (keys["k_role"], keys["k_crm"], keys["k_onec"])
        for row in rows:
            if (row.role, row.crm_id, row.onec_id) != wanted:
                raise XrefConflictError(
                    f"{row.entity}{_in_role(wanted[0])}: cannot link crm {wanted[1]} with 1C {wanted[2]}: "
                    f"crm {row.crm_id} is already linked with 1C {row.onec_id}{_in_role(row.role)} "
                    f"(xref id {row.id})"
                )
        return rows[0] if rows else None

    def _set_base(
        self, c: Connection, row: Xref, base: Any, crm_hash: str | None, onec_hash: str | None
    ) -> Xref:
        values = {"base": base, "crm_hash": crm_hash, "onec_hash": onec_hash}
        values = {k: v for k, v in values.items() if v is not None}
        if not values:
            return row
        values["updated_at"] = self._now()
        stmt = _update_statement(tuple(sorted(values)))
        return Xref(**c.execute(stmt, {"k_id": row.id, **values}).one()._mapping)


# Statements run once per link are built once (building one costs more than running it on SQLite).


@functools.cache
def _insert_statement(postgres: bool) -> Any:
    return (postgresql.insert if postgres else sqlite.insert)(t).on_conflict_do_nothing().returning(*t.c)


@functools.cache
def new_links_statement(postgres: bool) -> Any:
    """Insert links (executemany); a link that would break 1:1 is skipped, so the row count tells."""
    return (postgresql.insert if postgres else sqlite.insert)(t).on_conflict_do_nothing()


@functools.cache
def _pair_query(postgres: bool) -> Any:
    """Links that share the CRM record's role slot or the 1C record (any role)."""
    crm_slot = sa.and_(t.c.role == sa.bindparam("k_role"), t.c.crm_id == sa.bindparam("k_crm"))
    either = sa.or_(crm_slot, t.c.onec_id == sa.bindparam("k_onec"))
    query = sa.select(t).where(t.c.entity == sa.bindparam("k_entity"), either)
    return query.with_for_update() if postgres else query


@functools.cache
def update_pair_statement(columns: tuple[str, ...], returning: bool = True) -> Any:
    """Set ``columns`` (bound by name) on the link of ``k_entity``/``k_crm``/``k_onec`` in ``k_role`` (``''``
    when not given); without RETURNING it also serves executemany."""
    values: dict[str, sa.BindParameter[Any]] = {name: sa.bindparam(name) for name in columns}
    pair = (t.c.crm_id == sa.bindparam("k_crm"), t.c.onec_id == sa.bindparam("k_onec"))
    where = (t.c.entity == sa.bindparam("k_entity"), t.c.role == sa.bindparam("k_role", NO_ROLE), *pair)
    stmt = sa.update(t).where(*where).values(values)
    return stmt.returning(*t.c) if returning else stmt


@functools.cache
def _update_statement(columns: tuple[str, ...]) -> Any:
    values: dict[str, sa.BindParameter[Any]] = {name: sa.bindparam(name) for name in columns}
    return sa.update(t).where(t.c.id == sa.bindparam("k_id")).values(values).returning(*t.c)


_BASE = ("base", "crm_hash", "onec_hash", "updated_at")


def _of_role(role: str | None) -> tuple[sa.ColumnElement[bool], ...]:
    """The condition "in ``role``"; none for None (any role)."""
    return () if role is None else (t.c.role == role,)


def _get(c: Connection, entity: str, role: str | None, condition: sa.ColumnElement[bool]) -> Xref | None:
    query = sa.select(t).where(t.c.entity == entity, *_of_role(role), condition)
    return to_model(Xref, c.execute(query).first())


def _in_role(role: str) -> str:
    return f" ({role})" if role else ""
