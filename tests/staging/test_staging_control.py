"""Revision 0004 and the control-plane repository: rollout modes (every change audited in the same
transaction) and reconciliation reports; an upgrade of a 0003 database in use. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from crm1c.staging import AuditEntry, SeenInput, Staging, make_engine, migrate
from crm1c.staging.db import alembic_config
from crm1c.staging.schema import ROLLOUT_MODES, audit_log, reconciliation_report, rollout_mode

CP = "counterparties"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PILOT = {"inn": ["7707083893"]}


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


@pytest.fixture
def clocked(engine: sa.Engine) -> Staging:
    return Staging(engine, clock=Clock())


def test_no_mode_until_someone_sets_one(staging):
    assert staging.get_mode(CP) is None
    assert staging.modes() == {}


def test_set_mode_stores_it_and_audits_the_change(clocked):
    first = clocked.set_mode(CP, "shadow", actor="anna", run_id="manual__1")
    assert (first.entity, first.mode, first.pilot_filter, first.changed_by) == (CP, "shadow", None, "anna")
    assert clocked.get_mode(CP) == first
    second = clocked.set_mode(CP, "pilot", pilot_filter=PILOT, actor="boris")
    assert second.changed_at > first.changed_at
    assert clocked.get_mode(CP) == second
    assert clocked.modes() == {CP: second}

    trail = [e for e in _audit(clocked) if e.op == "rollout"]
    assert [(e.actor, e.run_id, e.entity, e.entity_key, e.result, e.detail) for e in trail] == [
        ("anna", "manual__1", CP, None, "set", {"from": None, "to": "shadow", "pilot_filter": None}),
        ("boris", None, CP, None, "set", {"from": "shadow", "to": "pilot", "pilot_filter": PILOT}),
    ]  # fmt: skip
    assert first.changed_at < trail[0].ts < second.changed_at < trail[1].ts
    assert clocked.verify_audit_chain() == (True, None)


def test_modes_of_several_entities(staging):
    staging.set_mode(CP, "on", actor="a")
    staging.set_mode("nomenclature", "read_only", actor="a")
    assert {e: m.mode for e, m in staging.modes().items()} == {CP: "on", "nomenclature": "read_only"}


@pytest.mark.parametrize(
    ("mode", "pilot_filter", "message"),
    [
        ("sometimes", None, "mode must be one of off, shadow, pilot, read_only, review, on"),
        ("pilot", None, "pilot_filter is required for mode pilot"),
        ("pilot", {}, "pilot_filter is required for mode pilot"),
        ("on", {"inn": ["7707083893"]}, "and only for it"),
    ],
)
def test_a_bad_mode_changes_nothing(staging, mode, pilot_filter, message):
    staging.set_mode(CP, "on", actor="a")
    with pytest.raises(ValueError, match=message):
        staging.set_mode(CP, mode, pilot_filter=pilot_filter, actor="b")
    assert staging.get_mode(CP).mode == "on"
    assert len([e for e in _audit(staging) if e.op == "rollout"]) == 1


def test_the_mode_and_its_audit_row_commit_together(staging, monkeypatch):
    staging.set_mode(CP, "on", actor="a")

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("audit unavailable")

    monkeypatch.setattr(staging, "audit", broken)
    with pytest.raises(RuntimeError, match="audit unavailable"):
        staging.set_mode(CP, "off", actor="b")
    assert staging.get_mode(CP).mode == "on"


def test_the_database_refuses_an_unknown_mode(engine):
    row = {"entity": CP, "mode": "sometimes", "changed_by": "x", "changed_at": T0}
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(sa.insert(rollout_mode), row)
    assert ROLLOUT_MODES == ("off", "shadow", "pilot", "read_only", "review", "on")


def test_set_mode_joins_a_given_transaction(staging):
    with pytest.raises(RuntimeError), staging.transaction() as conn:
        staging.set_mode(CP, "off", actor="a", conn=conn)
        raise RuntimeError("rolled back")
    assert staging.get_mode(CP) is None
    assert _audit(staging) == []


def test_pending_count(staging):
    staging.open_intent("counterparty", "onec", "create", "crm", "42", {}, match_key="k42")
    staging.open_intent("counterparty", "onec", "create", "crm", "43", {}, match_key="k43")
    done = staging.open_intent("counterparty", "crm", "create", "onec", "g1", {}, match_key="g1")
    staging.complete_intent(done.id, "7")
    assert staging.pending_count("counterparty", "onec") == 2
    assert staging.pending_count("counterparty", "crm") == 0


def _report(staging: Staging, status: str, day: int, **kw: Any) -> int:
    started = T0 + timedelta(days=day)
    return staging.save_report(
        started_at=started,
        finished_at=started + timedelta(seconds=42),
        status=status,
        totals={"linked": 10 + day, "differences": day},
        differences=[{"kind": "inn", "crm_id": "42", "onec_id": "guid-a"}] * day,
        **kw,
    )


def test_reports_newest_first(staging):
    assert staging.latest_report() is None and staging.reports() == []
    first = _report(staging, "clean", 0, html="<p>clean</p>")
    second = _report(staging, "drift", 1, period_from=date(2026, 2, 1), period_to=date(2026, 2, 28))
    third = _report(staging, "failed", 2)
    assert first < second < third
    latest = staging.latest_report()
    assert (latest.id, latest.status, latest.html, latest.period_from) == (third, "failed", None, None)
    assert [r.id for r in staging.reports()] == [third, second, first]
    assert [r.id for r in staging.reports(limit=2)] == [third, second]
    drift = staging.reports()[1]
    assert (drift.period_from, drift.period_to) == (date(2026, 2, 1), date(2026, 2, 28))
    assert drift.totals == {"linked": 11, "differences": 1}
    assert drift.differences == [{"kind": "inn", "crm_id": "42", "onec_id": "guid-a"}]
    assert drift.started_at == T0 + timedelta(days=1)
    assert drift.finished_at - drift.started_at == timedelta(seconds=42)
    assert staging.reports()[2].html == "<p>clean</p>"


def test_a_report_with_an_unknown_status_is_refused(staging, engine):
    with pytest.raises(ValueError, match="status must be one of clean, drift, failed"):
        _report(staging, "fine", 0)
    row = {"started_at": T0, "finished_at": T0, "status": "fine", "totals": {}, "differences": []}
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(sa.insert(reconciliation_report), row)
    assert staging.reports() == []


# ----------------------------------------------------------------------------- 0003 → 0004 and back


def _audit(staging: Staging) -> list[Any]:
    with staging.engine.connect() as conn:
        return [AuditEntry(**r._mapping) for r in conn.execute(sa.select(audit_log).order_by(audit_log.c.id))]


def _rows(engine: sa.Engine) -> dict[str, list[Any]]:
    meta = sa.MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        return {
            name: sorted((tuple(r) for r in conn.execute(sa.select(table))), key=repr)
            for name, table in meta.tables.items()
            if name != "staging_alembic_version"
        }


@pytest.fixture
def db0003(staging_url: str):
    """A staging DB at revision 0003 holding what a counterparty sync leaves behind."""
    engine = make_engine(staging_url)
    assert migrate(engine, "0003") == "0003"
    staging = Staging(engine)
    staging.upsert_seen("crm", "counterparty", [SeenInput("42", raw={"ID": "42"}, normalised={"inn": "1"})])
    intent = staging.open_intent("counterparty", "onec", "create", "crm", "42", {"f": 1}, match_key="k")
    staging.complete_intent_and_link(intent.id, "guid-a", base={"inn": "1"}, crm_hash="h", onec_hash="h")
    staging.open_intent("counterparty", "crm", "create", "onec", "guid-b", {"f": 2}, match_key="k2")
    staging.audit("sync", "run-1", "counterparty", "42", "create", "onec", "ok", {"ref": "guid-a"})
    staging.stage_watermark("crm", "counterparty", "2026-03-01T10:00:00+03:00")
    staging.record_run_stats("run-1", "counterparty", "plan", T0, T0, {"planned": 1})
    yield engine
    engine.dispose()


def test_upgrade_from_0003_keeps_every_row_and_adds_empty_tables(db0003):
    before = _rows(db0003)
    assert not {"rollout_mode", "reconciliation_report"} & set(before)
    assert migrate(db0003) == "0004"
    after = _rows(db0003)
    assert {k: v for k, v in after.items() if k in before} == before
    assert after["rollout_mode"] == [] and after["reconciliation_report"] == []

    staging = Staging(db0003)
    assert staging.get_mode(CP) is None
    staging.set_mode(CP, "read_only", actor="anna")
    assert staging.get_mode(CP).mode == "read_only"
    assert staging.pending_count("counterparty", "crm") == 1
    assert [e.op for e in _audit(staging)] == ["create", "rollout"]  # the chain goes on from 0003's rows
    assert staging.verify_audit_chain() == (True, None)
    assert _report(staging, "clean", 0) == 1


def test_downgrade_to_0003_drops_only_the_new_tables(db0003):
    before = _rows(db0003)
    migrate(db0003)
    staging = Staging(db0003)
    staging.set_mode(CP, "off", actor="anna")
    _report(staging, "drift", 1)
    with db0003.begin() as conn:
        command.downgrade(alembic_config(conn), "0003")
    after = _rows(db0003)
    assert set(after) == set(before)
    assert {k: v for k, v in after.items() if k != "audit_log"} == {
        k: v for k, v in before.items() if k != "audit_log"
    }
    assert len(after["audit_log"]) == len(before["audit_log"]) + 1  # the audit trail is never dropped
    assert migrate(db0003) == "0004"
    assert Staging(db0003).get_mode(CP) is None
