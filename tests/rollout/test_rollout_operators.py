"""The rollout operators run directly: the gate's policy and skip per mode (what it logs: the explanations
of test_policy); setting a mode and its refusals (what the task says when the form could not catch them)."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from crm1c.operators import RolloutGateOperator, RolloutSetModeOperator
from crm1c.sync.entities import ENTITY_NAMES
from tests.airflow_live import staging_connection

CP = "counterparties"
PILOT = {"inn": ["7707083893"]}


@pytest.fixture
def staging_conn(staging, staging_url, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_CRM1C_STAGING", json.dumps(staging_connection(staging_url)))
    monkeypatch.delenv("CRM1C_ROLLOUT_PROFILE", raising=False)
    return staging


def _context(user: str | None = "anna", conf: dict | None = None) -> dict[str, Any]:
    return {"dag_run": SimpleNamespace(triggering_user_name=user, conf=conf or {}), "run_id": "manual__1"}


def _set(mode: str, pilot_filter: Any = None, entity: str = CP, **context: Any) -> dict[str, Any]:
    op = RolloutSetModeOperator(task_id="set_mode", entity=entity, mode=mode, pilot_filter=pilot_filter)
    return op.execute(_context(**context))


def _gate(**kwargs: Any) -> dict[str, Any]:
    return RolloutGateOperator(**kwargs).execute(_context())


# ------------------------------------------------------------------------------------------- set_mode


def test_set_mode_returns_the_change_from_and_to(staging_conn):
    assert _set("shadow") == {
        "entity": CP,
        "from": "on (default of include/mappings/rollout.yaml)",
        "mode": "shadow",
        "pilot_filter": None,
        "changed_by": "anna",
    }
    assert _set("pilot", {"inn": "7707083893"})["from"] == "shadow"
    row = staging_conn.get_mode(CP)
    assert (row.mode, row.pilot_filter, row.changed_by) == ("pilot", PILOT, "anna")
    [first, second] = [e for e in staging_conn.audit_trail(CP, None) if e.op == "rollout"]
    assert (first.run_id, first.detail, second.detail["from"]) == (
        "manual__1",
        {"from": None, "to": "shadow", "pilot_filter": None},
        "shadow",
    )


@pytest.mark.parametrize(
    ("user", "conf", "actor"),
    [("anna", {"actor": "boris"}, "anna"), (None, {"actor": "boris"}, "boris"), (None, {}, "airflow")],
)
def test_the_actor_is_the_user_who_triggered_the_run(staging_conn, user, conf, actor):
    assert _set("off", user=user, conf=conf)["changed_by"] == actor
    assert staging_conn.get_mode(CP).changed_by == actor


@pytest.mark.parametrize(
    ("entity", "mode", "pilot_filter", "message"),
    [
        ("counterparty", "on", None, f"entity must be one of {', '.join(ENTITY_NAMES)}, got 'counterparty'"),
        (
            CP,
            "sometimes",
            None,
            "mode must be one of off, shadow, pilot, read_only, review, on, got 'sometimes'",
        ),
        (CP, "pilot", {}, "pilot_filter must be a non-empty object"),
        (CP, "pilot", {"department": ["5"]}, "unknown key(s) department; known: companies, inn, assigned_by"),
        (CP, "pilot", {"inn": []}, "pilot_filter.inn: the list is empty"),
        (CP, "read_only", PILOT, "pilot_filter is only for mode pilot (mode is read_only); leave it {}"),
    ],
)
def test_a_bad_value_fails_the_task_and_changes_nothing(staging_conn, entity, mode, pilot_filter, message):
    staging_conn.set_mode(CP, "shadow", actor="x")
    with pytest.raises(AirflowFailException) as failed:
        _set(mode, pilot_filter, entity=entity)
    assert message in str(failed.value)
    assert staging_conn.get_mode(CP).mode == "shadow"


# ----------------------------------------------------------------------------------------------- gate


@pytest.mark.parametrize(
    ("mode", "writes"),
    [
        ("shadow", (False, False, True)),
        ("pilot", (True, True, False)),
        ("read_only", (False, True, False)),
        ("review", (True, True, False)),
        ("on", (True, True, False)),
    ],
)
def test_the_gate_returns_the_policy_of_the_stored_mode(staging_conn, mode, writes):
    staging_conn.set_mode(CP, mode, pilot_filter=PILOT if mode == "pilot" else None, actor="anna")
    policy = _gate()
    assert (policy["writes_onec"], policy["writes_crm"], policy["dry_run"]) == writes
    assert (policy["entity"], policy["mode"]) == (CP, mode)
    assert policy["pilot_filter"] == (PILOT if mode == "pilot" else None)
    assert policy["source"].startswith("set by anna at ")


def test_off_skips_the_run(staging_conn):
    staging_conn.set_mode(CP, "off", actor="anna")
    with pytest.raises(AirflowSkipException, match="counterparties: mode off: nothing runs"):
        _gate()


def test_without_a_stored_mode_the_yaml_default_applies_and_a_dry_run_request_is_kept(
    staging_conn, monkeypatch
):
    policy = _gate(dry_run=True)
    assert (policy["mode"], policy["dry_run"], policy["writes_onec"]) == ("on", True, False)
    assert policy["source"] == "default of include/mappings/rollout.yaml (profile defaults)"
    monkeypatch.setenv("CRM1C_ROLLOUT_PROFILE", "demo")
    assert _gate()["source"] == "default of include/mappings/rollout.yaml (profile demo)"
    monkeypatch.setenv("CRM1C_ROLLOUT_PROFILE", "prod")
    with pytest.raises(AirflowFailException, match="profiles: no profile 'prod'"):
        _gate()


def test_a_stored_filter_the_entity_does_not_understand_fails_the_gate(staging_conn):
    staging_conn.set_mode(CP, "pilot", pilot_filter={"department": ["5"]}, actor="someone")
    with pytest.raises(AirflowFailException, match="unknown key"):
        _gate()
