"""The operators against the running contour (real HTTPS) with Connections from the environment: the hooks
they build, a whole sync step by step, and how each kind of failure ends the task."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import pytest
from airflow.sdk import Asset
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from contour.profiles import inn10
from crm1c.operators import (
    Bitrix24ExtractOperator,
    Bitrix24LoadOperator,
    OneCExtractOperator,
    OneCLoadOperator,
    SyncPlanOperator,
    SyncPublishOperator,
)
from crm1c.staging import Staging, make_engine
from crm1c.sync.entities import entity
from tests.airflow_live import contour_connections, staging_connection
from tests.contour_harness import BITRIX_TOKEN, ONEC_PASSWORD, RunningContour
from tests.dbfixtures import pg_session_db, staging_url  # noqa: F401  (pytest fixtures)
from tests.operators.conftest import task_context
from tests.sync.harness import add_crm_company, clients

ASSET = Asset(entity("counterparties").asset_uri)
WRONG_TOKEN = "wrong0webhook0token0x1"
MAPPING_FILE = "include/mappings/counterparties.yaml"
UNCONFIRMED = r"1 write\(s\) could not be confirmed; the retry looks them up"


def _steps() -> list:
    return [
        Bitrix24ExtractOperator(task_id="extract_crm", mode="full"),
        OneCExtractOperator(task_id="extract_onec", mode="full"),
        SyncPlanOperator(task_id="plan"),
        OneCLoadOperator(task_id="load_onec", onec_pool=2),
        Bitrix24LoadOperator(task_id="load_crm"),
        SyncPublishOperator(task_id="publish", outlets=[ASSET]),
    ]


def _staging(path: Path) -> Staging:
    return Staging(make_engine(f"sqlite:///{path}"))


def _onec_count(contour: RunningContour) -> int:
    _crm, onec = clients(contour)
    return len(onec.list_all("Catalog_Контрагенты", select=["Ref_Key"]))


# ----------------------------------------------------------------------------------------- hooks


def test_the_hook_properties_build_the_clients_of_their_connections(connections, monkeypatch):
    ca = str(connections.ca_file)
    env = contour_connections(connections, "sqlite:////tmp/unused.sqlite3")
    monkeypatch.setenv("AIRFLOW_CONN_BITRIX24_OTHER", env["AIRFLOW_CONN_BITRIX24_DEFAULT"])

    crm_op = Bitrix24LoadOperator(task_id="load_crm", bitrix24_conn_id="bitrix24_other")
    assert crm_op.hook is crm_op.hook, "built once"
    assert crm_op.hook.bitrix24_conn_id == "bitrix24_other"
    crm = crm_op.hook.get_client()
    assert (crm.base_url, crm.user_id, crm.verify) == (connections.bitrix_base, "1", ca)
    assert crm_op.clients() == {"crm": crm}
    assert crm_op.hook.test_connection()[0] is True

    onec_op = OneCExtractOperator(task_id="extract_onec")
    onec = onec_op.hook.get_client()
    assert (onec.base_url, onec.verify) == (connections.onec_url, ca)
    assert onec_op.clients() == {"onec": onec}
    assert onec_op.hook.test_connection()[0] is True

    plan = SyncPlanOperator(task_id="plan", staging_conn_id="crm1c_staging")
    assert plan.clients() == {}, "plan talks to no external system"
    assert plan.hook is plan.staging_hook
    assert plan.hook.get_url().startswith("sqlite:///")


# ----------------------------------------------------------------------------------------- a run


def test_the_six_operators_sync_the_contour_and_publish_the_totals(
    connections: RunningContour, staging_url: str, monkeypatch  # noqa: F811
):
    monkeypatch.setenv("AIRFLOW_CONN_CRM1C_STAGING", json.dumps(staging_connection(staging_url)))
    context = task_context()
    results = {op.task_id: op.execute(context) for op in _steps()}

    totals = results["publish"]
    assert totals["onec_create"] >= 1 and totals["crm_create"] >= 1
    assert totals["audit_chain_ok"] is True and totals["dry_run"] is False
    assert context["outlet_events"][ASSET].extra == totals, "the asset event carries the totals"
    staging = Staging(make_engine(staging_url))
    try:
        stats = {s.task for s in staging.run_stats(context["run_id"])}
    finally:
        staging.engine.dispose()
    assert stats == {"extract_crm", "extract_onec", "plan", "load_onec", "load_crm"}, "publish keeps none"
    xcom = json.dumps(results, default=str)
    assert BITRIX_TOKEN not in xcom and ONEC_PASSWORD not in xcom


# ----------------------------------------------------------------------------------------- failures


def test_an_invalid_mapping_fails_the_task_and_nothing_is_synced(connections, staging_file, monkeypatch):
    from crm1c.mapping.loader import parse_counterparty_mapping

    def broken() -> object:
        return parse_counterparty_mapping("fields:\n  inn: {onec: ИНH}\n", MAPPING_FILE)

    with_broken_mapping = dataclasses.replace(entity("counterparties"), load_mapping=broken)
    monkeypatch.setattr("crm1c.operators.base.entity_ref", lambda name: with_broken_mapping)
    with pytest.raises(AirflowFailException) as failed:
        Bitrix24ExtractOperator(task_id="extract_crm").execute(task_context())
    message = str(failed.value)
    assert message.startswith("the mapping is invalid, nothing was synced:")
    assert f"{MAPPING_FILE}: " in message
    assert not staging_file.exists(), "the staging database was not even opened"


@pytest.mark.parametrize("system", ["bitrix24", "onec"])
def test_bad_credentials_fail_the_task_without_retries_and_without_the_secret(
    system, connections, staging_file, monkeypatch, caplog
):
    caplog.set_level(logging.DEBUG)
    name = f"AIRFLOW_CONN_{system.upper()}_DEFAULT"
    conn = json.loads(contour_connections(connections, f"sqlite:///{staging_file}")[name])
    monkeypatch.setenv(name, json.dumps({**conn, "password": WRONG_TOKEN}))
    op = (
        Bitrix24ExtractOperator(task_id="extract_crm")
        if system == "bitrix24"
        else OneCExtractOperator(task_id="extract_onec")
    )
    context = task_context()
    with pytest.raises(AirflowFailException) as failed:  # AirflowFailException: no retry is attempted
        op.execute(context)
    assert type(failed.value) is AirflowFailException
    assert "HTTP 401" in str(failed.value)
    for text in (str(failed.value), caplog.text):
        assert WRONG_TOKEN not in text and BITRIX_TOKEN not in text and ONEC_PASSWORD not in text
    staging = _staging(staging_file)
    assert [s.task for s in staging.run_stats(context["run_id"])] == [op.task_id], "the try is on record"
    staging.engine.dispose()


def test_writes_left_unconfirmed_fail_the_try_and_the_retry_settles_them(
    empty_contour: RunningContour, staging_file: Path, monkeypatch
):
    for name, value in contour_connections(empty_contour, f"sqlite:///{staging_file}").items():
        monkeypatch.setenv(name, value)
    crm, _onec = clients(empty_contour)
    add_crm_company(crm, "ООО Неподтверждённая", inn10("770500017"), "770501001")
    context = task_context()
    for op in _steps()[:3]:
        op.execute(context)
    load_onec = OneCLoadOperator(task_id="load_onec")

    empty_contour.knobs("onec", fault_timeout_rate=1.0, fault_timeout_s=0.0)  # 1C drops every request
    with pytest.raises(AirflowException, match=UNCONFIRMED) as failed:
        load_onec.execute(context)
    assert type(failed.value) is AirflowException, "a retryable failure, not AirflowFailException"

    empty_contour.knobs("onec", fault_timeout_rate=0.0)
    retried = OneCLoadOperator(task_id="load_onec").execute(context)  # the task's next try
    assert retried.get("onec_left_pending", 0) == 0
    assert _onec_count(empty_contour) == 1, "written exactly once"
