"""Operator parameters: what is templated, how rendered strings become typed values, what is refused, and
which failure callbacks a task gets. No external system is touched here."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from airflow.sdk import DAG, Param
from airflow.sdk.exceptions import AirflowFailException

from crm1c.operators import (
    Bitrix24ExtractOperator,
    Bitrix24LoadOperator,
    OneCExtractOperator,
    OneCLoadOperator,
    SyncPlanOperator,
    SyncPublishOperator,
)
from tests.clients.test_layering import PLUGINS, offences
from tests.operators.conftest import task_context

REPO = Path(__file__).resolve().parents[2]
PARAMS = {
    "mode": Param("incremental", enum=["incremental", "full"]),
    "dry_run": Param(False, type="boolean"),
    "onec_pool": Param(4, type="integer", minimum=1, maximum=16),
}
CONN_IDS = {"bitrix24_conn_id", "onec_conn_id", "staging_conn_id"}


def _dag(dag_id: str = "probe") -> DAG:
    return DAG(dag_id, schedule=None, start_date=datetime(2026, 1, 1), params=PARAMS)


@pytest.mark.parametrize(
    ("operator", "fields"),
    [
        (Bitrix24ExtractOperator, {"staging_conn_id", "dry_run", "bitrix24_conn_id", "mode"}),
        (OneCExtractOperator, {"staging_conn_id", "dry_run", "onec_conn_id", "onec_pool", "mode"}),
        (SyncPlanOperator, {"staging_conn_id", "dry_run"}),
        (OneCLoadOperator, {"staging_conn_id", "dry_run", "onec_conn_id", "onec_pool"}),
        (Bitrix24LoadOperator, {"staging_conn_id", "dry_run", "bitrix24_conn_id"}),
        (SyncPublishOperator, {"staging_conn_id", "dry_run"}),
    ],
)
def test_template_fields(operator, fields):
    assert set(operator.template_fields) == fields
    assert len(operator.template_fields) == len(fields), "no field twice"


def test_rendered_params_become_typed_values():
    with _dag():
        extract = OneCExtractOperator(
            task_id="extract_onec", mode="{{ params.mode }}", dry_run="{{ params.dry_run }}",
            onec_pool="{{ params.onec_pool }}", onec_conn_id="{{ params.conn }}",
        )  # fmt: skip
    extract.render_template_fields({"params": {"mode": "full", "dry_run": True, "onec_pool": 8, "conn": "x"}})
    rendered = (extract.mode, extract.dry_run, extract.onec_pool, extract.onec_conn_id)
    assert rendered == ("full", "True", "8", "x")
    assert extract.checked_params() == {"mode": "full", "dry_run": True, "onec_pool": 8}
    assert extract.hook.onec_conn_id == "x"


def test_native_values_are_accepted_as_they_are():
    op = OneCLoadOperator(task_id="load_onec", dry_run=False, onec_pool=2)
    assert op.checked_params() == {"dry_run": False, "onec_pool": 2}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "sometimes"}, "mode must be one of incremental, full"),
        ({"dry_run": "maybe"}, "dry_run must be true or false"),
        ({"onec_pool": 0}, "onec_pool must be a whole number from 1 to 16"),
        ({"onec_pool": "17"}, "onec_pool must be a whole number from 1 to 16"),
        ({"onec_pool": True}, "onec_pool must be a whole number from 1 to 16"),
        ({"onec_pool": "four"}, "onec_pool must be a whole number from 1 to 16"),
        ({"entity": "nomenclatura"}, "unknown entity 'nomenclatura'; known: counterparties"),
    ],
)
def test_a_bad_literal_is_refused_when_the_dag_is_parsed(kwargs, message):
    with pytest.raises(ValueError, match=message):
        OneCExtractOperator(task_id="extract_onec", **kwargs)


@pytest.mark.parametrize(
    ("field", "rendered", "message"),
    [
        ("mode", "sometimes", "mode must be one of incremental, full, got 'sometimes'"),
        ("dry_run", "None", "dry_run must be true or false, got 'None'"),
        ("onec_pool", "99", "onec_pool must be a whole number from 1 to 16, got '99'"),
    ],
)
def test_a_bad_rendered_value_fails_the_task_before_anything_runs(field, rendered, message, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_ONEC_DEFAULT", raising=False)  # it must not get as far as connecting
    op = OneCExtractOperator(task_id="extract_onec", **{field: "{{ params.x }}"})
    setattr(op, field, rendered)  # what rendering a template to that string does
    with pytest.raises(AirflowFailException, match=f"task extract_onec: bad parameter: {message}"):
        op.execute(task_context())


def test_failure_notifiers_by_default_and_callbacks_given_by_the_dag_kept():
    from crm1c.notify import EmailFailureNotifier, SlackFailureNotifier

    def mine(context):
        return None

    default = SyncPlanOperator(task_id="plan")
    assert [type(n) for n in default.on_failure_callback] == [EmailFailureNotifier, SlackFailureNotifier]
    assert {n.entity for n in default.on_failure_callback} == {"counterparties"}
    assert SyncPlanOperator(task_id="plan", on_failure_callback=mine).on_failure_callback == [mine]
    with DAG("probe_callbacks", schedule=None, default_args={"on_failure_callback": mine}):
        from_dag = SyncPlanOperator(task_id="plan")
    assert from_dag.on_failure_callback == [mine]


def test_importing_the_operators_loads_no_hook_client_or_engine(tmp_path):
    code = (
        "import sys, airflow.sdk\n"
        "before = set(sys.modules)\n"
        "import crm1c.operators\n"
        "new = set(sys.modules) - before\n"
        "heavy = ('crm1c.hooks', 'crm1c.clients', 'crm1c.staging', 'crm1c.sync.counterparties',"
        " 'crm1c.sync.engine', 'crm1c.mapping', 'requests', 'sqlalchemy', 'alembic')\n"
        "print(sorted(m for m in new if m.startswith(heavy)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO,
        env={"PYTHONPATH": f"{REPO / 'plugins'}", "AIRFLOW_HOME": str(tmp_path), "PATH": ""},
    )  # fmt: skip
    assert out.stdout.strip() == "[]"


HTTP_MODULES = ["requests", "urllib3", "httpx", "http", "urllib", "crm1c.clients.transport"]


@pytest.mark.parametrize("forbidden", HTTP_MODULES)
def test_no_http_code_in_operators(forbidden):
    assert offences(PLUGINS, "crm1c.operators", forbidden) == []


@pytest.mark.parametrize("module", ["crm1c.sync.entities", "crm1c.sync.pipeline"])
def test_engine_entry_points_are_plain_python(module):
    assert offences(PLUGINS, module, "airflow") == []
