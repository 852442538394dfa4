"""scripts/airflow-env.sh gives ``airflow_api``: `make up`'s API server as admin, generated password."""

from __future__ import annotations

import json

from tests.test_airflow_env import _sourced

NAME = "AIRFLOW_CONN_AIRFLOW_API"


def test_the_default_is_the_local_api_server_as_admin(tmp_path):
    conn = json.loads(_sourced(tmp_path, (NAME,), AIRFLOW__API__PORT="8181")[NAME])
    password = json.loads((tmp_path / "passwords.json").read_text())["admin"]
    assert conn == {
        "conn_type": "http", "host": "127.0.0.1", "port": 8181, "schema": "http", "login": "admin",
        "password": password,
    }  # fmt: skip
    assert len(password) >= 16


def test_an_exported_connection_is_kept(tmp_path):
    own = '{"conn_type": "http", "host": "airflow.example", "schema": "https", "login": "ops"}'
    assert _sourced(tmp_path, (NAME,), **{NAME: own}) == {NAME: own}
