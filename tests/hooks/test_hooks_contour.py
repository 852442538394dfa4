"""Hooks against the running contour: env-var Connections (JSON form) → working clients."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from crm1c.staging.ratelimit import SqlBucket, metadata
from tests.clients.contour_env import start


@pytest.fixture(scope="module")
def contour(tmp_path_factory):
    running = start(tmp_path_factory.mktemp("hooks"), profile="demo")
    yield running
    running.stop()


@pytest.fixture
def connections(contour, monkeypatch, tmp_path):
    ca = str(contour.ca_file)
    db = tmp_path / "limiter.db"
    metadata.create_all(sa.create_engine(f"sqlite:///{db}"))
    monkeypatch.setenv("AIRFLOW_CONN_BITRIX24_DEFAULT", json.dumps({
        "conn_type": "http", "host": "127.0.0.1", "port": contour.bitrix_port, "schema": "https",
        "login": "1", "password": "contour0webhook0token",
        "extra": {"ca_bundle": ca, "plan": "standard", "limiter": "sql", "limiter_conn_id": "crm1c_limiter"},
    }))  # fmt: skip
    monkeypatch.setenv("AIRFLOW_CONN_CRM1C_LIMITER", json.dumps({"conn_type": "sqlite", "host": str(db)}))
    monkeypatch.setenv("AIRFLOW_CONN_ONEC_DEFAULT", json.dumps({
        "conn_type": "http", "host": "127.0.0.1", "port": contour.onec_port, "schema": "https",
        "login": "Интеграция", "password": "contour",
        "extra": {"base_path": "/accounting/odata/standard.odata/", "ca_bundle": ca},
    }))  # fmt: skip


def test_bitrix_hook_talks_to_the_contour(connections):
    from crm1c.hooks.bitrix24 import Bitrix24Hook

    hook = Bitrix24Hook()
    assert hook.test_connection() == (True, "Bitrix24 webhook works")
    client = hook.get_client()
    assert isinstance(client.limiter, SqlBucket)
    rows = [r for page in client.iter_list_batched("crm.company.list", select=["ID"]) for r in page]
    assert rows and client.stats.requests >= 2


def test_onec_hook_talks_to_the_contour(connections):
    from crm1c.hooks.onec import OneCODataHook

    hook = OneCODataHook()
    assert hook.test_connection() == (True, "1C OData works")
    assert hook.get_client().list_all(
        "Catalog_Контрагенты", select=["Ref_Key", "DataVersion", "DeletionMark"]
    )


def test_test_connection_reports_bad_credentials(connections, monkeypatch, contour):
    from crm1c.hooks.onec import OneCODataHook

    monkeypatch.setenv("AIRFLOW_CONN_ONEC_BAD", json.dumps({
        "conn_type": "http", "host": "127.0.0.1", "port": contour.onec_port, "login": "Интеграция",
        "password": "n0t-the-Passw0rd",
        "extra": {"base_path": "/accounting/odata/standard.odata/", "ca_bundle": str(contour.ca_file)},
    }))  # fmt: skip
    ok, message = OneCODataHook("onec_bad").test_connection()
    assert not ok and "onec_bad" in message and "n0t-the-Passw0rd" not in message
