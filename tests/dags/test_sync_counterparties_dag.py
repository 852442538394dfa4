"""The counterparty DAG: it parses cleanly, is wired as documented, and a run syncs the contour end to end."""

from __future__ import annotations

import pytest
import requests

from tests.airflow_live import contour_connections
from tests.contour_harness import ONEC_PASSWORD, ONEC_USER, start_contour

pytestmark = pytest.mark.airflow


def test_dags_import_without_errors(bag):
    assert bag.import_errors == {}
    assert "sync_counterparties" in bag.dags


def test_counterparty_dag_is_wired_as_documented(bag):
    dag = bag.dags["sync_counterparties"]
    assert {"crm1c", "counterparties"} <= set(dag.tags)
    assert dag.doc_md and "quarantine" in dag.doc_md
    assert dag.max_active_runs == 1
    for task in dag.tasks:
        assert task.retries >= 2, task.task_id
    plan = dag.get_task("plan")
    assert plan.upstream_task_ids == {"extract_crm", "extract_onec"}
    assert dag.get_task("load_crm").upstream_task_ids == {"load_onec"}
    publish = dag.get_task("publish")
    assert [o.name for o in publish.outlets] == ["crm1c://counterparties"]
    assert set(dag.params.keys()) >= {"mode", "dry_run"}


def test_each_task_is_a_crm1c_operator_fed_by_the_params(bag):
    from crm1c import operators as ops
    from crm1c.notify import EmailFailureNotifier, SlackFailureNotifier

    dag = bag.dags["sync_counterparties"]
    kinds = {t.task_id: type(t) for t in dag.tasks}
    assert kinds == {
        "rollout_gate": ops.RolloutGateOperator,
        "extract_crm": ops.Bitrix24ExtractOperator,
        "extract_onec": ops.OneCExtractOperator,
        "plan": ops.SyncPlanOperator,
        "mass_change_breaker": ops.MassChangeBreakerOperator,
        "load_onec": ops.OneCLoadOperator,
        "load_crm": ops.Bitrix24LoadOperator,
        "publish": ops.SyncPublishOperator,
    }
    for task in dag.tasks:
        assert task.entity == "counterparties"
        assert [type(n) for n in task.on_failure_callback] == [EmailFailureNotifier, SlackFailureNotifier]
        if task.task_id != "mass_change_breaker":  # it follows the rollout gate's policy, not dry_run
            assert task.dry_run == "{{ params.dry_run }}"
    for task_id in ("extract_crm", "extract_onec"):
        assert dag.get_task(task_id).mode == "{{ params.mode }}"
    for task_id in ("extract_onec", "load_onec"):
        assert dag.get_task(task_id).onec_pool == "{{ params.onec_pool }}"


@pytest.fixture
def contour_env(tmp_path, monkeypatch):
    running = start_contour(tmp_path / "contour", profile="demo")
    for name, value in contour_connections(running, f"sqlite:///{tmp_path / 'staging.sqlite3'}").items():
        monkeypatch.setenv(name, value)
    yield running
    running.stop()


def _onec_counterparties(running) -> list[dict]:
    resp = requests.get(
        running.onec_url + "Catalog_Контрагенты",
        params={"$format": "json"},
        auth=(ONEC_USER.encode(), ONEC_PASSWORD.encode()),
        verify=str(running.ca_file),
        timeout=10,
    )
    resp.raise_for_status()
    return resp.json()["value"]


def _asset_events(run_id: str) -> list[tuple[str, dict]]:
    """``(asset uri, extra)`` of the asset events a run emitted."""
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        events = session.scalars(select(AssetEvent).where(AssetEvent.source_run_id == run_id)).all()
        return [(e.asset.uri, dict(e.extra)) for e in events]


def _bitrix(running, method: str, params: dict) -> dict:
    resp = requests.post(
        running.bitrix_webhook + method + ".json", json=params, verify=str(running.ca_file), timeout=10
    )
    resp.raise_for_status()
    return resp.json()


def test_a_run_syncs_both_ways_and_emits_the_asset(bag, airflow_db, contour_env):
    from airflow.utils.state import DagRunState

    dag = bag.dags["sync_counterparties"]
    run = dag.test(run_conf={"mode": "full"})
    assert run.state == DagRunState.SUCCESS
    totals = run.get_task_instance("publish").xcom_pull(task_ids="publish")
    assert totals["onec_create"] >= 1 and totals["crm_create"] >= 1
    assert totals["open_quarantine"] >= 4 and totals["audit_chain_ok"] is True
    assert _asset_events(run.run_id) == [("crm1c://counterparties/", totals)]

    onec = _onec_counterparties(contour_env)
    # guide check 1: a counterparty created in the CRM appears in 1C with correct requisites
    by_inn = {(r["ИНН"], r["КПП"]): r for r in onec}
    companies = _bitrix(contour_env, "crm.requisite.list", {"filter": {"ENTITY_TYPE_ID": 4}})["result"]
    crm_only = [r for r in companies if (r["RQ_INN"], r.get("RQ_KPP") or "") in by_inn]
    assert crm_only, "CRM counterparties reached 1C"
    # guide check 2: one created in 1C appears in the CRM without duplicates
    keys = [(r["RQ_INN"], r.get("RQ_KPP") or "") for r in companies]
    assert len(keys) == len(set(keys)), "no duplicate companies in the CRM"
    onec_keys = [(r["ИНН"], r["КПП"]) for r in onec]
    assert len(onec_keys) == len(set(onec_keys)), "no duplicate counterparties in 1C"

    second = dag.test(run_conf={"mode": "incremental"})
    assert second.state == DagRunState.SUCCESS
    assert len(_onec_counterparties(contour_env)) == len(onec), "a re-run creates nothing"


def test_dry_run_writes_nothing(bag, airflow_db, contour_env):
    from airflow.utils.state import DagRunState

    before = _onec_counterparties(contour_env)
    run = bag.dags["sync_counterparties"].test(run_conf={"mode": "full", "dry_run": True})
    assert run.state == DagRunState.SUCCESS
    assert _onec_counterparties(contour_env) == before


def test_bad_params_are_refused(bag, airflow_db):
    from airflow.sdk.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError):
        bag.dags["sync_counterparties"].test(run_conf={"mode": "sometimes"})
