"""The counterparty DAG: it parses cleanly, is wired as documented, and a run syncs the contour end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from tests.contour_harness import BITRIX_TOKEN, BITRIX_USER, ONEC_PASSWORD, ONEC_USER, start_contour

DAGS = Path(__file__).resolve().parents[2] / "dags"
pytestmark = pytest.mark.airflow


@pytest.fixture(scope="module")
def bag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


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


@pytest.fixture
def contour_env(tmp_path, monkeypatch):
    running = start_contour(tmp_path / "contour", profile="demo")
    ca = str(running.ca_file)
    monkeypatch.setenv(
        "AIRFLOW_CONN_BITRIX24_DEFAULT",
        json.dumps(
            {
                "conn_type": "http",
                "host": "127.0.0.1",
                "port": running.bitrix_port,
                "schema": "https",
                "login": BITRIX_USER,
                "password": BITRIX_TOKEN,
                "extra": {"ca_bundle": ca, "plan": "off"},
            }
        ),
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_ONEC_DEFAULT",
        json.dumps(
            {
                "conn_type": "http",
                "host": "127.0.0.1",
                "port": running.onec_port,
                "schema": "https",
                "login": ONEC_USER,
                "password": ONEC_PASSWORD,
                "extra": {"base_path": "/accounting/odata/standard.odata/", "ca_bundle": ca},
            }
        ),
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_CRM1C_STAGING",
        json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "staging.sqlite3")}),
    )
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
