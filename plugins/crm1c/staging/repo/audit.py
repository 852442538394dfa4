"""``audit_log``: the append-only, hash-chained business audit trail (who / what / when / result).

``hash = sha256(prev_hash + canonical_json(row without hash))``; the first row chains from ``GENESIS_HASH``.
Appends are serialised by the write lock (PostgreSQL advisory lock, SQLite ``BEGIN IMMEDIATE``), so the
chain stays linear with concurrent writers. Publish :meth:`audit_head` outside the DB to detect truncation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crm1c.hashing import GENESIS_HASH, canonical_json, jsonable, sha256_hex
from crm1c.staging.db import AUDIT_LOCK_KEY
from crm1c.staging.models import AuditEntry
from crm1c.staging.repo.base import StagingBase
from crm1c.staging.schema import audit_log as t

_HASHED = tuple(c.name for c in t.c if c.name != "hash")


def chain_hash(row: dict[str, Any]) -> str:
    """The hash of an audit row given its fields (``prev_hash`` included, ``hash`` ignored)."""
    return sha256_hex(row["prev_hash"] + canonical_json({k: row[k] for k in _HASHED}))


class AuditLog(StagingBase):
    def audit(
        self,
        actor: str,
        run_id: str | None,
        entity: str | None,
        entity_key: str | None,
        op: str,
        system: str | None,
        result: str,
        detail: Any = None,
        *,
        conn: Connection | None = None,
    ) -> AuditEntry:
        """Append one chained audit row (in ``conn``'s transaction if given: it commits with the change)."""
        entry = {"actor": actor, "run_id": run_id, "entity": entity, "entity_key": entity_key, "op": op}
        entry |= {"system": system, "result": result, "detail": detail}
        return self.audit_many([entry], conn=conn)[0]

    def audit_many(
        self, entries: Sequence[dict[str, Any]], *, conn: Connection | None = None
    ) -> list[AuditEntry]:
        """Append several chained rows at once; each entry holds the arguments of :meth:`audit` by name."""
        if not entries:
            return []
        with self._write(conn) as c:
            if self.is_postgres:
                c.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})
            last = c.execute(sa.select(t.c.id, t.c.hash).order_by(t.c.id.desc()).limit(1)).first()
            next_id, prev_hash = (last.id + 1, last.hash) if last else (1, GENESIS_HASH)
            now = self._now()
            rows: list[dict[str, Any]] = []
            for entry in entries:
                row = {"id": next_id, "ts": now, **entry, "prev_hash": prev_hash}
                row["detail"] = jsonable(entry.get("detail"))  # store exactly what is hashed
                row["hash"] = prev_hash = chain_hash(row)
                rows.append(row)
                next_id += 1
            c.execute(sa.insert(t), rows)
        return [AuditEntry(**row) for row in rows]

    def verify_audit_chain(self, *, conn: Connection | None = None) -> tuple[bool, int | None]:
        """Recompute the chain; returns ``(True, None)`` or ``(False, id of the first bad row)``."""
        prev_id, prev_hash = 0, GENESIS_HASH
        with self._read(conn) as c:
            rows = c.execution_options(yield_per=1000).execute(sa.select(t).order_by(t.c.id))
            for r in rows:
                row = dict(r._mapping)
                if (
                    row["id"] != prev_id + 1
                    or row["prev_hash"] != prev_hash
                    or chain_hash(row) != row["hash"]
                ):
                    return False, row["id"]
                prev_id, prev_hash = row["id"], row["hash"]
        return True, None

    def audit_head(self, *, conn: Connection | None = None) -> tuple[int, str] | None:
        """``(id, hash)`` of the newest audit row, to publish outside the database; None when empty."""
        with self._read(conn) as c:
            last = c.execute(sa.select(t.c.id, t.c.hash).order_by(t.c.id.desc()).limit(1)).first()
        return None if last is None else (last.id, last.hash)

    def latest_audit(self, op: str, *, conn: Connection | None = None) -> AuditEntry | None:
        """The newest audit row of one operation (e.g. ``run``: the last published run summary)."""
        query = sa.select(t).where(t.c.op == op).order_by(t.c.id.desc()).limit(1)
        with self._read(conn) as c:
            row = c.execute(query).first()
        return None if row is None else AuditEntry(**row._mapping)

    def audit_trail(
        self, entity: str, entity_key: str, *, conn: Connection | None = None
    ) -> list[AuditEntry]:
        """Audit rows of one business record, oldest first."""
        query = sa.select(t).where(t.c.entity == entity, t.c.entity_key == entity_key).order_by(t.c.id)
        with self._read(conn) as c:
            return [AuditEntry(**r._mapping) for r in c.execute(query)]
