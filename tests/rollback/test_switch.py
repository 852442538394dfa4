"""Rollback and resume step by step on a real (SQLite) staging, with 1C and the Airflow API faked."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from crm1c.rollback.request import as_entities, as_since, compensation_since
from crm1c.rollback.switch import SwitchEnv, resume, roll_back
from crm1c.staging import Staging
from tests.rollback.conftest import Clock
from tests.rollback.fakes import FakeDags, FakeOneC

DAG = "sync_counterparties"
CATALOG = "Catalog_Контрагенты"


def _env(staging: Staging, dags: FakeDags, onec: FakeOneC, **kw: Any) -> SwitchEnv:
    return SwitchEnv(
        staging=staging, dags=dags, actor="anna", run_id="manual__1", default_mode=lambda entity: "on",
        onec=lambda: onec, sleep=lambda s: None, **kw,
    )  # fmt: skip


def _created(staging: Staging, ref: str, result: str = "done") -> None:
    """The row the engine writes when it created a counterparty in 1C."""
    detail = {"intent": 1, "crm_id": "1", "onec_id": ref, "fields": ["inn"]}
    staging.audit("crm1c", "sync", "counterparty", f"onec:{ref}", "create", "onec", result, detail)


def _rows(staging: Staging, op: str) -> list[Any]:
    with staging.engine.connect() as conn:
        from crm1c.staging.schema import audit_log as at

        return list(conn.execute(at.select().where(at.c.op == op).order_by(at.c.id)))


def _object(ref: str, **fields: Any) -> dict[str, Any]:
    return {"Ref_Key": ref, "DataVersion": "v1", "DeletionMark": False, "Description": f"ООО {ref}"} | fields


def test_rollback_pauses_sets_the_mode_remembers_the_old_one_and_compensates(staging: Staging, clock: Clock):
    _created(staging, "old")  # before since: not this rollback's business
    since = clock.advance()
    _created(staging, "new")
    _created(staging, "again", result="adopted")
    _created(staging, "marked")
    onec = FakeOneC({ref: _object(ref) for ref in ("old", "new", "again", "hand")})
    onec.objects["marked"] = _object("marked", DeletionMark=True)
    dags = FakeDags(DAG)

    done = roll_back(_env(staging, dags, onec), "counterparties", "read_only", since)

    assert dags.paused[DAG] is True
    assert staging.get_mode("counterparties").mode == "read_only"
    assert (done.mode_from, done.mode_to, done.was_paused) == ("on", "read_only", False)
    assert {c.ref_key: c.result for c in done.compensated or []} == {
        "new": "marked", "again": "marked", "marked": "already_marked",
    }  # fmt: skip
    assert [m[1] for m in onec.marks] == ["new", "again"] and onec.closed
    assert onec.objects["hand"]["DeletionMark"] is False and onec.objects["old"]["DeletionMark"] is False
    [rollback] = _rows(staging, "rollback")
    assert (rollback.actor, rollback.run_id, rollback.entity) == ("anna", "manual__1", "counterparties")
    assert rollback.detail | {"since": None} == {
        "from": "on", "to": "read_only", "pilot_filter": None, "dag_id": DAG, "was_paused": False,
        "since": None, "still_running": [],
    }  # fmt: skip
    compensations = _rows(staging, "compensate")
    assert [(r.entity, r.entity_key, r.system, r.result) for r in compensations] == [
        ("counterparty", "onec:new", "onec", "marked"),
        ("counterparty", "onec:again", "onec", "marked"),
        ("counterparty", "onec:marked", "onec", "already_marked"),
    ]
    assert [r.detail["from"] for r in _rows(staging, "rollout")] == [None]  # set_mode's own row
    assert staging.verify_audit_chain() == (True, None)


def test_without_compensation_nothing_in_1c_is_read(staging: Staging):
    onec = FakeOneC({})
    done = roll_back(_env(staging, FakeDags(DAG), onec), "counterparties", "off", None)
    assert done.compensated is None and not onec.closed
    assert staging.get_mode("counterparties").mode == "off"


def test_a_running_sync_is_waited_for_then_named_if_it_does_not_end(staging: Staging):
    dags = FakeDags(DAG)
    dags.running[DAG] = [["scheduled__1"], ["scheduled__1"], []]
    done = roll_back(_env(staging, dags, FakeOneC({})), "counterparties", "read_only", None)
    assert done.still_running == []
    ticks = iter(range(100))
    dags.running[DAG] = [["scheduled__2"]]
    env = _env(staging, dags, FakeOneC({}), wait_s=3, clock=lambda: next(ticks))
    assert roll_back(env, "counterparties", "read_only", None).still_running == ["scheduled__2"]


def test_resume_restores_the_mode_before_the_first_rollback_and_triggers_one_catch_up(staging: Staging):
    pilot = {"inn": ["7707083893"]}
    staging.set_mode("counterparties", "pilot", pilot_filter=pilot, actor="boss")
    dags = FakeDags(DAG)
    env = _env(staging, dags, FakeOneC({}))
    roll_back(env, "counterparties", "read_only", None)
    roll_back(env, "counterparties", "off", None)  # rolled back twice: pilot is still the mode to return to

    done = resume(env, "counterparties")
    resume(env, "counterparties")  # a retry of the same run: one catch-up run

    assert (done.mode_from, done.mode_to, done.catch_up_run) == ("off", "pilot", "resume__manual__1")
    mode = staging.get_mode("counterparties")
    assert (mode.mode, mode.pilot_filter) == ("pilot", pilot)
    assert dags.paused[DAG] is False and dags.triggered[DAG] == ["resume__manual__1"]
    rollbacks, resumes = _rows(staging, "rollback"), _rows(staging, "resume")
    assert [r.detail["from"] for r in rollbacks] == ["pilot", "pilot"]
    assert resumes[0].detail["rollback_audit_id"] == rollbacks[-1].id
    assert resumes[0].detail | {"rollback_audit_id": None} == {
        "from": "off", "to": "pilot", "pilot_filter": pilot, "dag_id": DAG,
        "catch_up_run": "resume__manual__1", "rollback_audit_id": None,
    }  # fmt: skip


def test_resume_without_a_rollback_on_record_turns_the_entity_on(staging: Staging):
    staging.set_mode("counterparties", "read_only", actor="boss")
    done = resume(_env(staging, FakeDags(DAG), FakeOneC({})), "counterparties")
    assert (done.mode_from, done.mode_to, done.rollback_id) == ("read_only", "on", None)


def test_parameters():
    assert as_entities("counterparties") == ["counterparties"]
    assert as_entities(["counterparties", "counterparties"]) == ["counterparties"]
    with pytest.raises(ValueError, match="unknown entities"):
        as_entities(["counterparties", "deals"])
    with pytest.raises(ValueError, match="non-empty"):
        as_entities([])
    assert as_since("2026-05-04T09:30:00") == datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
    assert as_since("2026-05-04T12:30:00+03:00") == datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
    assert as_since("") is None and as_since(None) is None
    with pytest.raises(ValueError, match="ISO 8601"):
        as_since("yesterday")
    with pytest.raises(ValueError, match="compensate needs since"):
        compensation_since(True, None)
    assert compensation_since(False, datetime(2026, 1, 1, tzinfo=UTC)) is None
