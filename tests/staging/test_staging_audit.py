"""audit_log: hash chain, append-only triggers, tamper detection and concurrent appends."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from crm1c.hashing import GENESIS_HASH
from crm1c.staging.repo.audit import chain_hash
from crm1c.staging.schema import audit_log

DROP_TRIGGERS = {
    "sqlite": ["DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete"],
    "postgresql": ["DROP TRIGGER audit_log_no_update_delete ON audit_log"],
}


def append(staging, n: int, actor: str = "sync") -> None:
    for i in range(n):
        staging.audit(actor, "run1", "counterparty", str(i), "create", "onec", "ok", {"i": i})


def test_chain_links_rows_and_verifies(staging):
    assert staging.verify_audit_chain() == (True, None)
    assert staging.audit_head() is None
    first = staging.audit("sync", "run1", "counterparty", "42", "create", "onec", "ok", {"ref": "guid-a"})
    second = staging.audit("operator:ivanov", None, None, None, "resolve_conflict", None, "ok")
    assert (first.id, first.prev_hash) == (1, GENESIS_HASH)
    assert (second.id, second.prev_hash) == (2, first.hash)
    assert staging.audit_head() == (2, second.hash)
    assert staging.verify_audit_chain() == (True, None)
    assert staging.audit_trail("counterparty", "42") == [first]


def test_detail_is_stored_exactly_as_hashed(staging):
    detail = {"amount": Decimal("1.10"), "at": datetime(2025, 1, 1, 12, tzinfo=UTC), "tags": ["ё", "🌼"]}
    entry = staging.audit("sync", "run1", "invoice", "7", "update", "onec", "ok", detail)
    stored = staging.audit_trail("invoice", "7")[0]
    assert stored == entry
    assert stored.detail == {"amount": "1.10", "at": "2025-01-01T12:00:00.000000+00:00", "tags": ["ё", "🌼"]}
    assert chain_hash(asdict(stored)) == stored.hash


def test_many_rows_appended_at_once_continue_the_chain(staging):
    append(staging, 2)
    common = {"actor": "sync", "run_id": "run2", "entity": "counterparty", "op": "update", "system": "crm"}
    entries = [{**common, "entity_key": f"crm:{i}", "result": "ok", "detail": {"n": i}} for i in range(3)]
    written = staging.audit_many(entries)
    assert [e.id for e in written] == [3, 4, 5]
    assert written[0].prev_hash == staging.audit_trail("counterparty", "1")[0].hash
    assert [e.prev_hash for e in written[1:]] == [e.hash for e in written[:-1]]
    assert staging.audit_head() == (5, written[-1].hash)
    assert staging.verify_audit_chain() == (True, None)
    assert staging.audit_many([]) == []


def test_audit_joins_the_callers_transaction(staging):
    with pytest.raises(RuntimeError), staging.transaction() as conn:
        staging.audit("sync", "run1", "counterparty", "42", "create", "onec", "ok", conn=conn)
        raise RuntimeError("rolled back")
    assert staging.audit_head() is None


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_log SET result = 'error' WHERE id = 1", "DELETE FROM audit_log WHERE id = 1"],
)
def test_update_and_delete_are_rejected(staging, engine, statement):
    append(staging, 2)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
        conn.exec_driver_sql(statement)
    assert staging.verify_audit_chain() == (True, None)


def test_wiping_the_table_is_rejected(staging, engine):
    """PostgreSQL: TRUNCATE trigger. SQLite: a DELETE trigger disables the truncate optimisation."""
    append(staging, 2)
    wipe = "TRUNCATE audit_log" if engine.dialect.name == "postgresql" else "DELETE FROM audit_log"
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
        conn.exec_driver_sql(wipe)
    assert staging.audit_head()[0] == 2


def _tamper(engine, statement: str, **params: str) -> None:
    """What a superuser could do: drop the guard triggers, then edit rows."""
    with engine.begin() as conn:
        for ddl in DROP_TRIGGERS[engine.dialect.name]:
            conn.exec_driver_sql(ddl)
        conn.execute(sa.text(statement), params)


def test_edited_row_is_detected(staging, engine):
    append(staging, 5)
    _tamper(engine, "UPDATE audit_log SET result = 'error' WHERE id = 3")
    assert staging.verify_audit_chain() == (False, 3)


def test_edited_row_with_recomputed_hash_breaks_the_next_link(staging, engine):
    append(staging, 5)
    with engine.connect() as conn:
        row = dict(conn.execute(sa.select(audit_log).where(audit_log.c.id == 3)).one()._mapping)
    row["actor"] = "intruder"
    forged = chain_hash(row)
    _tamper(engine, "UPDATE audit_log SET actor = 'intruder', hash = :forged WHERE id = 3", forged=forged)
    assert staging.verify_audit_chain() == (False, 4)


def test_deleted_row_is_detected(staging, engine):
    append(staging, 5)
    _tamper(engine, "DELETE FROM audit_log WHERE id = 2")
    assert staging.verify_audit_chain() == (False, 3)


def test_concurrent_appends_keep_the_chain_linear(staging):
    threads, per_thread = 8, 25
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(lambda t: append(staging, per_thread, actor=f"worker{t}"), range(threads)))
    assert staging.verify_audit_chain() == (True, None)
    assert staging.audit_head()[0] == threads * per_thread
