"""sync_counterparties under the real scheduler: api-server, scheduler and dag-processor (LocalExecutor),
a run triggered through the REST API, its tasks in worker processes talking to the contour over HTTPS."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.airflow_live import LiveAirflow, contour_connections
from tests.contour_harness import ONEC_PASSWORD, ONEC_USER, RunningContour, start_contour

pytestmark = pytest.mark.airflow
DAG_ID = "sync_counterparties"
TASKS = {
    "rollout_gate",
    "extract_crm",
    "extract_onec",
    "plan",
    "mass_change_breaker",
    "load_onec",
    "load_crm",
    "publish",
}


@pytest.fixture
def contour(tmp_path: Path) -> Iterator[RunningContour]:
    """The demo contour in threads of this process: the Airflow workers reach it on 127.0.0.1."""
    running = start_contour(tmp_path / "contour", profile="demo")
    yield running
    running.stop()


def _onec_keys(contour: RunningContour) -> set[tuple[str, str]]:
    resp = requests.get(
        contour.onec_url + "Catalog_Контрагенты",
        params={"$format": "json", "$select": "ИНН,КПП"},
        auth=(ONEC_USER.encode(), ONEC_PASSWORD.encode()),
        verify=str(contour.ca_file),
        timeout=10,
    )
    resp.raise_for_status()
    return {(r["ИНН"], r["КПП"]) for r in resp.json()["value"]}


def _crm_keys(contour: RunningContour) -> set[tuple[str, str]]:
    resp = requests.post(
        contour.bitrix_webhook + "crm.requisite.list.json",
        json={"filter": {"ENTITY_TYPE_ID": 4}, "select": ["RQ_INN", "RQ_KPP"]},
        verify=str(contour.ca_file),
        timeout=10,
    )
    resp.raise_for_status()
    return {(r["RQ_INN"], r.get("RQ_KPP") or "") for r in resp.json()["result"]}


def test_a_run_triggered_through_the_api_syncs_the_contour(tmp_path: Path, contour: RunningContour) -> None:
    started = time.monotonic()
    crm_before, onec_before = _crm_keys(contour), _onec_keys(contour)
    env = contour_connections(contour, f"sqlite:///{tmp_path / 'staging.sqlite3'}")
    marks: list[tuple[str, float]] = []
    with LiveAirflow(tmp_path / "airflow", env=env) as airflow:
        marks.append(("healthy", time.monotonic()))
        try:
            assert airflow.wait_for_dag(DAG_ID)["is_paused"] is False
            marks.append(("parsed", time.monotonic()))
            run_id = airflow.trigger(DAG_ID, {"mode": "full"})
            run = airflow.wait(DAG_ID, run_id, timeout=90, fail_fast=True)
            marks.append(("run", time.monotonic()))
            states = airflow.states(DAG_ID, run_id)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{airflow.logs()}") from None
        assert run["state"] == "success", (states, airflow.logs())
        assert states == dict.fromkeys(TASKS, "success")
        assert [r["dag_run_id"] for r in airflow.runs(DAG_ID)] == [run_id], "only the triggered run"
        events = airflow.api("GET", "/assets/events?source_dag_id=" + DAG_ID)["asset_events"]
        assert airflow.pause(DAG_ID, True)["is_paused"] is True  # the rollout toggle the control plane uses
    marks.append(("stopped", time.monotonic()))
    [event] = events
    totals = event["extra"]
    new_in_onec = _onec_keys(contour) - onec_before
    new_in_crm = _crm_keys(contour) - crm_before
    assert new_in_onec and new_in_onec <= crm_before, "CRM counterparties arrived in 1C"
    assert new_in_crm and new_in_crm <= onec_before, "1C counterparties arrived in the CRM"
    assert (len(new_in_onec), len(new_in_crm)) == (totals["onec_create"], totals["crm_create"])
    phases, last = [], started
    for name, at in marks:
        phases.append(f"{name} +{at - last:.1f}s")
        last = at
    print(f"live scheduler: {', '.join(phases)}; {last - started:.1f} s in all")
