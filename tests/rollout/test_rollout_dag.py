"""The ``rollout`` DAG: the Airflow UI's way to change an entity's mode (Params form, audited)."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from crm1c.staging import AuditEntry
from crm1c.staging.schema import audit_log
from crm1c.sync.entities import ENTITY_NAMES
from tests.airflow_live import staging_connection

pytestmark = pytest.mark.airflow
CP = "counterparties"


@pytest.fixture
def staging_conn(staging, staging_url, monkeypatch):
    """Only ``crm1c_staging``: setting a mode talks to neither system."""
    monkeypatch.setenv("AIRFLOW_CONN_CRM1C_STAGING", json.dumps(staging_connection(staging_url)))
    monkeypatch.delenv("CRM1C_ROLLOUT_PROFILE", raising=False)
    return staging


def _states(run) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in run.get_task_instances()}


def test_the_dag_offers_the_entities_and_modes_as_choices(bag):
    dag = bag.dags["rollout"]
    assert dag.schedule is None and dag.max_active_runs == 1
    params = dag.params.dump()
    assert set(params) == {"entity", "mode", "pilot_filter"}
    assert dag.params.get_param("entity").schema["enum"] == list(ENTITY_NAMES) and ENTITY_NAMES[0] == CP
    assert all(f"sync_{name}" in bag.dags for name in ENTITY_NAMES), "an entity the form offers has no DAG"
    assert dag.params.get_param("mode").schema["enum"] == [
        "off",
        "shadow",
        "pilot",
        "read_only",
        "review",
        "on",
    ]
    assert params["pilot_filter"] == {}
    assert [t.task_id for t in dag.tasks] == ["set_mode"]


def test_a_run_sets_the_mode_and_the_audit_log_says_who_from_and_to(bag, airflow_db, staging_conn):
    from airflow.utils.state import DagRunState

    dag = bag.dags["rollout"]
    run = dag.test(run_conf={"entity": CP, "mode": "shadow", "pilot_filter": {}})
    assert run.state == DagRunState.SUCCESS
    assert staging_conn.get_mode(CP).mode == "shadow"
    result = run.get_task_instance("set_mode").xcom_pull(task_ids="set_mode")
    assert (result["from"], result["mode"], result["changed_by"]) == (
        "on (default of include/mappings/rollout.yaml)",
        "shadow",
        "dag_test",
    )

    run = dag.test(run_conf={"entity": CP, "mode": "pilot", "pilot_filter": {"inn": "7707083893"}})
    assert run.state == DagRunState.SUCCESS
    mode = staging_conn.get_mode(CP)
    assert (mode.mode, mode.pilot_filter, mode.changed_by) == ("pilot", {"inn": ["7707083893"]}, "dag_test")

    trail = _rollout_rows(staging_conn)
    assert [(e.actor, e.detail["from"], e.detail["to"]) for e in trail] == [
        ("dag_test", None, "shadow"),
        ("dag_test", "shadow", "pilot"),
    ]
    assert trail[1].detail["pilot_filter"] == {"inn": ["7707083893"]}
    assert trail[1].run_id == run.run_id
    assert staging_conn.verify_audit_chain() == (True, None)


def _rollout_rows(staging):
    with staging.engine.connect() as conn:
        rows = conn.execute(sa.select(audit_log).where(audit_log.c.op == "rollout").order_by(audit_log.c.id))
        return [AuditEntry(**r._mapping) for r in rows]


@pytest.mark.parametrize(
    "conf",
    [
        {"entity": CP, "mode": "sometimes"},
        {"entity": "counterparty", "mode": "on"},
        {"entity": CP},
        {"mode": "on"},
        {"entity": CP, "mode": "pilot", "pilot_filter": ["inn"]},
    ],
)
def test_the_form_refuses_a_bad_value(bag, airflow_db, conf):
    from airflow.sdk.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError):
        bag.dags["rollout"].test(run_conf=conf)


@pytest.mark.parametrize(
    "conf",
    [
        {"mode": "pilot", "pilot_filter": {}},  # every key given: dag.test keeps a run's params for the next
        {"mode": "pilot", "pilot_filter": {"department": ["5"]}},
        {"mode": "on", "pilot_filter": {"inn": ["7707083893"]}},
    ],
)
def test_a_bad_pilot_filter_fails_the_task_and_changes_nothing(bag, airflow_db, staging_conn, conf):
    """The form cannot check a filter against the entity (the task's messages: test_rollout_operators)."""
    from airflow.utils.state import DagRunState

    staging_conn.set_mode(CP, "shadow", actor="anna")
    run = bag.dags["rollout"].test(run_conf={"entity": CP, **conf})
    assert run.state == DagRunState.FAILED and _states(run) == {"set_mode": "failed"}
    assert staging_conn.get_mode(CP).mode == "shadow"
