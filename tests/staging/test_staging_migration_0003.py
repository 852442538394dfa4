"""Revision 0003 on a staging DB in use: an upgrade from 0002 keeps every row and its meaning, and the
downgrade brings back what 0002 can hold (or refuses)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from crm1c.staging import SeenInput, Staging, XrefConflictError, content_hash, make_engine, migrate
from crm1c.staging.db import alembic_config, current_revision

CP = "counterparty"
T0 = datetime(2025, 6, 1, 7, 0, tzinfo=UTC)
T1, T2 = T0 + timedelta(hours=1), T0 + timedelta(hours=2)
PAYLOAD = {"Description": "Ромашка", "ИНН": "7707083893", "КПП": "770701001"}
MATCH = "inn:7707083893/kpp:770701001"
CHANGED = ("xref", "write_intent", "watermark")


def _link(crm_id: str, onec_id: str, base: Any) -> dict[str, Any]:
    digest = None if base is None else content_hash(base)
    return {
        "entity": CP, "crm_id": crm_id, "onec_id": onec_id, "crm_hash": digest, "onec_hash": digest,
        "base": base, "created_at": T0, "updated_at": T1,
    }  # fmt: skip


def _intent(target: str, op: str, source_id: str, state: str, **kw: Any) -> dict[str, Any]:
    source = "crm" if target == "onec" else "onec"
    return {
        "entity": CP, "target_system": target, "op": op, "source_system": source, "source_id": source_id,
        "match_key": MATCH if op == "create" else None, "payload": PAYLOAD,
        "payload_hash": content_hash(PAYLOAD), "state": state, "target_id": None, "attempts": 1,
        "error": None, "run_id": "run-0002", "created_at": T0, "updated_at": T1, "tried_at": None,
    } | kw  # fmt: skip


LINKS_0002 = [_link("42", "guid-a", {"name": "Ромашка"}), _link("43", "guid-b", None)]
INTENTS_0002 = [
    _intent("onec", "update", "42", "done", target_id="guid-a"),
    _intent("onec", "create", "44", "abandoned", error="superseded"),
    _intent("onec", "create", "44", "pending", attempts=2, tried_at=T1),  # a crashed create: may be written
    _intent("crm", "create", "guid-c", "pending"),
    _intent("onec", "create", "45", "failed", error="400 ИНН"),
    _intent("onec", "mark_deleted", "43", "pending", target_id="guid-b"),
]
WATERMARKS_0002 = [
    ("crm", CP, "2025-06-01T10:00:00+03:00", T1),
    ("crm", f"{CP}:pending", "2025-06-02T10:00:00+03:00", T2),  # staged by extract, publish not run yet
    ("crm", f"{CP}.requisite", "2025-05-30T09:00:00+03:00", T0),
    ("crm", f"{CP}.requisite:pending", "2025-06-02T09:30:00+03:00", T1),
    ("crm", "item:pending", "2025-06-02T08:00:00+03:00", T1),  # staged, never promoted
    ("onec", CP, "dv-7", T0),
]
# (system, entity, cursor, value, pending_value, updated_at) after the upgrade: the later time of merged rows
WATERMARKS_0003 = {
    ("crm", CP, "", "2025-06-01T10:00:00+03:00", "2025-06-02T10:00:00+03:00", T2),
    ("crm", CP, "requisite", "2025-05-30T09:00:00+03:00", "2025-06-02T09:30:00+03:00", T1),
    ("crm", "item", "", None, "2025-06-02T08:00:00+03:00", T1),
    ("onec", CP, "", "dv-7", None, T0),
}


def _reflect(engine: sa.Engine) -> sa.MetaData:
    meta = sa.MetaData()
    meta.reflect(engine)
    return meta


def _utc(value: Any) -> Any:
    """Reflected datetimes are naive on SQLite (stored as UTC) and aware on PostgreSQL."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def _rows(engine: sa.Engine) -> dict[str, list[dict[str, Any]]]:
    """Every row of every staging table (version table aside), as reflected, in a stable order."""
    out = {}
    with engine.connect() as conn:
        for name, table in _reflect(engine).tables.items():
            if name != "staging_alembic_version":
                rows = [{k: _utc(v) for k, v in r._mapping.items()} for r in conn.execute(sa.select(table))]
                out[name] = sorted(rows, key=repr)
    return out


def _schema(engine: sa.Engine) -> dict[str, Any]:
    """What defines the tables: columns, keys, constraints and indexes (partial-index predicates included)."""
    inspector = sa.inspect(engine)
    where = f"{engine.dialect.name}_where"
    out: dict[str, Any] = {}
    for name in sorted(inspector.get_table_names()):
        out[name] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], c["default"]) for c in inspector.get_columns(name)
            ],
            "pk": inspector.get_pk_constraint(name),
            "unique": sorted((u["name"], u["column_names"]) for u in inspector.get_unique_constraints(name)),
            "check": sorted((c["name"], c["sqltext"]) for c in inspector.get_check_constraints(name)),
            "indexes": sorted(
                (i["name"], i["column_names"], i["unique"], str(i.get("dialect_options", {}).get(where)))
                for i in inspector.get_indexes(name)
                if "duplicates_constraint" not in i
            ),
        }
    return out


def _downgrade(engine: sa.Engine, revision: str = "0002") -> None:
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), revision)


def _revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return current_revision(conn)


@pytest.fixture
def db0002(staging_url: str) -> Iterator[sa.Engine]:
    """A staging DB at revision 0002 with what a counterparty sync leaves behind, rows of every table."""
    engine = make_engine(staging_url)
    assert migrate(engine, "0002") == "0002"
    staging = Staging(engine)  # only for the tables 0003 does not change
    staging.upsert_seen("crm", CP, [SeenInput("42", raw={"ID": "42"}, normalised=PAYLOAD, match_key=MATCH)])
    staging.quarantine(CP, "crm", "46", "inn", "ИНН: контрольная сумма", "INN: checksum", {"ИНН": "1"})
    staging.record_conflict(CP, "42", "guid-a", "phone", "+7 1", "+7 2", "+7 0")
    staging.audit("sync", "run-0002", CP, "42", "create", "onec", "ok", {"ref": "guid-a"})
    staging.record_run_stats("run-0002", CP, "extract_crm", T0, T1, {"crm_read": 3})
    tables = _reflect(engine).tables
    with engine.begin() as conn:
        conn.execute(sa.insert(tables["xref"]), LINKS_0002)
        conn.execute(sa.insert(tables["write_intent"]), INTENTS_0002)
        columns = ("system", "entity", "value", "updated_at")
        marks = [dict(zip(columns, w, strict=True)) for w in WATERMARKS_0002]
        conn.execute(sa.insert(tables["watermark"]), marks)
    yield engine
    engine.dispose()


def test_upgrade_keeps_every_row(db0002):
    before = _rows(db0002)
    assert migrate(db0002, "0003") == "0003"
    after = _rows(db0002)
    for name in set(before) - set(CHANGED):
        assert after[name] == before[name], name
    assert after["xref"] == sorted(({**r, "role": ""} for r in before["xref"]), key=repr)
    assert after["write_intent"] == sorted(({**r, "role": ""} for r in before["write_intent"]), key=repr)
    columns = ("system", "entity", "cursor", "value", "pending_value", "updated_at")
    assert {tuple(r[c] for c in columns) for r in after["watermark"]} == WATERMARKS_0003


def test_upgraded_rows_keep_their_meaning(db0002):
    migrate(db0002, "0003")
    staging = Staging(db0002)
    link = staging.xref_by_crm(CP, "42")
    assert (link.onec_id, link.role, link.base, link.updated_at) == ("guid-a", "", {"name": "Ромашка"}, T1)
    assert staging.xref_by_onec(CP, "guid-b").crm_id == "43"
    assert [x.onec_id for x in staging.xrefs_by_crm(CP, "42")] == ["guid-a"]
    with pytest.raises(XrefConflictError):  # still 1:1
        staging.link(CP, "42", "guid-z")

    pending = staging.pending_intents(CP, "onec")
    assert [(i.op, i.source_id, i.role, i.tried_at) for i in pending] == [
        ("create", "44", "", T1),
        ("mark_deleted", "43", "", None),
    ]
    again = staging.open_intent(CP, "onec", "create", "crm", "44", {"new": 1}, match_key=MATCH, run_id="r2")
    assert again.resumed and again.id == pending[0].id and again.attempts == 3 and again.payload == PAYLOAD
    assert staging.pending_intent(CP, "crm", "onec", "guid-c").op == "create"
    done = staging.complete_intent_and_link(again.id, "guid-d", base=PAYLOAD, crm_hash="h", onec_hash="h")
    assert (done.crm_id, done.onec_id, done.role) == ("44", "guid-d", "")

    # the converted watermarks: sub-cursors in their column, staged values beside the current ones
    assert staging.get_watermark("crm", CP) == "2025-06-01T10:00:00+03:00"
    assert staging.staged_watermark("crm", CP) == "2025-06-02T10:00:00+03:00"
    assert staging.get_watermark("crm", CP, "requisite") == "2025-05-30T09:00:00+03:00"
    assert staging.staged_watermark("crm", CP, "requisite") == "2025-06-02T09:30:00+03:00"
    assert staging.staged_watermark("crm", "item") == "2025-06-02T08:00:00+03:00"
    assert staging.get_watermark("crm", "item") is None
    assert staging.get_watermark("onec", CP) == "dv-7"
    assert staging.promote_watermarks("crm", CP) == {
        "": "2025-06-02T10:00:00+03:00",
        "requisite": "2025-06-02T09:30:00+03:00",
    }
    assert staging.verify_audit_chain() == (True, None)


def test_downgrade_round_trips(db0002):
    schema, before = _schema(db0002), _rows(db0002)
    migrate(db0002, "0003")
    _downgrade(db0002)
    assert _revision(db0002) == "0002"
    assert _schema(db0002) == schema
    after = _rows(db0002)
    for name in set(before) - {"watermark"}:
        assert after[name] == before[name], name
    # a staged value and its current value shared one row in 0003: both come back with its (later) time
    merged = {(s, f"{e}.{c}" if c else e): t for s, e, c, _v, _p, t in WATERMARKS_0003}
    assert {tuple(r[c] for c in ("system", "entity", "value", "updated_at")) for r in after["watermark"]} == {
        (s, e, v, merged[s, e.removesuffix(":pending")]) for s, e, v, _t in WATERMARKS_0002
    }
    assert migrate(db0002, "0003") == "0003"  # and up again
    assert Staging(db0002).staged_watermark("crm", CP, "requisite") == "2025-06-02T09:30:00+03:00"


def test_downgrade_writes_what_the_new_api_stored_in_the_old_keys(staging_url):
    engine = make_engine(staging_url)
    migrate(engine)
    staging = Staging(engine)
    staging.stage_watermark("crm", CP, "c1")
    staging.stage_watermark("crm", CP, "r1", "requisite")
    staging.promote_watermarks("crm", CP)
    staging.stage_watermark("crm", CP, "c2")
    staging.link(CP, "42", "guid-a", base={"v": 1})
    _downgrade(engine)
    rows = _rows(engine)
    assert {(r["entity"], r["value"]) for r in rows["watermark"]} == {
        (CP, "c1"),
        (f"{CP}:pending", "c2"),
        (f"{CP}.requisite", "r1"),
    }
    assert [(r["crm_id"], r["onec_id"], r["base"]) for r in rows["xref"]] == [("42", "guid-a", {"v": 1})]
    engine.dispose()


def test_downgrade_refuses_rows_0002_cannot_hold(staging_url):
    engine = make_engine(staging_url)
    migrate(engine, "0003")
    staging = Staging(engine)
    staging.link("deal", "D1", "inv-1", role="invoice")
    staging.open_intent("deal", "onec", "create", "crm", "D1", {}, match_key="deal:D1/sale", role="sale")
    staging.open_intent("deal", "onec", "post", "crm", "D1", {}, target_id="inv-1", role="invoice")
    staging.stage_watermark("crm", CP, "c1")
    before = _rows(engine)
    with pytest.raises(RuntimeError, match="1 links with a role; 2 write intents with a role; 1 post/unpost"):
        _downgrade(engine)
    assert _revision(engine) == "0003"
    assert _rows(engine) == before
    assert [x.role for x in staging.xrefs_by_crm("deal", "D1")] == ["invoice"]
    engine.dispose()
