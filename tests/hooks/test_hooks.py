"""Hooks build clients from env-var Connections (JSON form), mask secrets, and refuse insecure settings."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from crm1c.clients.bitrix24 import Bitrix24Client
from crm1c.clients.onec import OneCClient
from crm1c.clients.ratelimit import LocalBucket, NoLimit
from crm1c.staging.ratelimit import SqlBucket, metadata

TOKEN = "hookW3bh00kT0ken"


def conn_json(**fields) -> str:
    return json.dumps({"conn_type": "http", **fields})


@pytest.fixture
def bitrix_env(monkeypatch):
    def set_conn(conn_id: str = "bitrix24_default", **fields):
        base = {"host": "portal.example.ru", "schema": "https", "login": "1", "password": TOKEN}
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", conn_json(**(base | fields)))

    return set_conn


@pytest.fixture
def onec_env(monkeypatch):
    def set_conn(conn_id: str = "onec_default", **fields):
        base = {
            "host": "1c.example.ru", "schema": "https", "port": 8443,
            "login": "Интеграция", "password": "секрет-1",
            "extra": {"base_path": "/accounting/odata/standard.odata/"},
        }  # fmt: skip
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", conn_json(**(base | fields)))

    return set_conn


def test_hook_class_attributes():
    from crm1c.hooks.bitrix24 import Bitrix24Hook
    from crm1c.hooks.onec import OneCODataHook

    assert (Bitrix24Hook.conn_name_attr, Bitrix24Hook.default_conn_name) == (
        "bitrix24_conn_id",
        "bitrix24_default",
    )
    assert (Bitrix24Hook.conn_type, Bitrix24Hook.hook_name) == ("http", "Bitrix24")
    assert (OneCODataHook.conn_name_attr, OneCODataHook.default_conn_name) == ("onec_conn_id", "onec_default")
    ui = Bitrix24Hook.get_ui_field_behaviour()
    assert ui["relabeling"]["password"] == "Webhook token" and ui["relabeling"]["login"] == "Webhook user id"
    assert OneCODataHook.get_ui_field_behaviour()["relabeling"]["login"] == "1C user"


def test_bitrix_hook_builds_client_and_masks_token(bitrix_env):
    from airflow.sdk.log import _secrets_masker

    from crm1c.hooks.bitrix24 import Bitrix24Hook

    bitrix_env(extra={"plan": "enterprise", "timeout": 12, "ca_bundle": "/etc/ssl/corp.pem"})
    client = Bitrix24Hook().get_client()
    assert isinstance(client, Bitrix24Client)
    assert client.base_url == "https://portal.example.ru" and client.user_id == "1"
    assert (
        client.verify == "/etc/ssl/corp.pem"
        and client.timeout == 12.0
        and client.conn_id == "bitrix24_default"
    )
    assert isinstance(client.limiter, LocalBucket) and client.limiter.spec.burst == 250
    assert TOKEN not in repr(client)
    assert _secrets_masker().redact(f"GET /rest/1/{TOKEN}/x.json") == "GET /rest/1/***/x.json"


def test_bitrix_hook_plan_off_and_defaults(bitrix_env):
    from crm1c.hooks.bitrix24 import Bitrix24Hook

    bitrix_env("b24_off", extra={"plan": "off"})
    client = Bitrix24Hook("b24_off").get_client()
    assert isinstance(client.limiter, NoLimit) and client.verify is True


def test_bitrix_hook_sql_limiter(bitrix_env, tmp_path):
    from crm1c.hooks.bitrix24 import Bitrix24Hook

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'rl.db'}")
    metadata.create_all(engine)
    bitrix_env(extra={"plan": "standard", "limiter": "sql"})
    client = Bitrix24Hook(limiter_engine=engine).get_client()
    assert isinstance(client.limiter, SqlBucket) and client.limiter.key == "bitrix24:portal.example.ru"
    client.limiter.acquire()
    with pytest.raises(ValueError, match="limiter_conn_id"):
        Bitrix24Hook().get_client()


@pytest.mark.parametrize(
    "fields, match",
    [
        ({"extra": {"verify": False}}, "TLS is always verified"),
        ({"extra": {"insecure": True}}, "TLS is always verified"),
        ({"schema": "http"}, "plain http"),
        ({"host": f"https://portal.example.ru/rest/1/{TOKEN}/"}, "password field"),
        ({"extra": {"plan": "gold"}}, "plan"),
    ],
)
def test_bitrix_hook_refuses_insecure_or_bad_settings(bitrix_env, fields, match):
    from crm1c.hooks.bitrix24 import Bitrix24Hook

    bitrix_env("b24_bad", **fields)
    with pytest.raises(ValueError, match=match) as info:
        Bitrix24Hook("b24_bad").get_client()
    assert TOKEN not in str(info.value)


def test_hooks_refuse_credentials_as_arguments():
    from crm1c.hooks.bitrix24 import Bitrix24Hook
    from crm1c.hooks.onec import OneCODataHook

    with pytest.raises(TypeError):
        Bitrix24Hook(token="x")
    with pytest.raises(TypeError):
        OneCODataHook(password="x")


def test_onec_hook_builds_client(onec_env):
    from airflow.sdk.log import _secrets_masker

    from crm1c.hooks.onec import OneCODataHook

    onec_env(extra={"base_path": "/accounting/odata/standard.odata/", "ca_bundle": "/etc/ssl/corp.pem"})
    client = OneCODataHook().get_client()
    assert isinstance(client, OneCClient)
    assert client.base_url == "https://1c.example.ru:8443/accounting/odata/standard.odata/"
    assert (
        client.user == "Интеграция"
        and client.verify == "/etc/ssl/corp.pem"
        and client.conn_id == "onec_default"
    )
    assert "секрет-1" not in repr(client)
    assert _secrets_masker().redact("password секрет-1") == "password ***"


def test_onec_hook_needs_base_path_and_verification(onec_env):
    from crm1c.hooks.onec import OneCODataHook

    onec_env("onec_nopath", extra={})
    with pytest.raises(ValueError, match="base_path"):
        OneCODataHook("onec_nopath").get_client()
    onec_env("onec_noverify", extra={"base_path": "/x/odata/standard.odata/", "verify_ssl": False})
    with pytest.raises(ValueError, match="TLS"):
        OneCODataHook("onec_noverify").get_client()


def test_loopback_http_is_allowed_for_local_emulators(onec_env):
    from crm1c.hooks.onec import OneCODataHook

    onec_env("onec_local", host="127.0.0.1", schema="http", port=8081)
    assert OneCODataHook("onec_local").get_client().base_url.startswith("http://127.0.0.1:8081/accounting/")


def test_local_limiter_is_shared_per_portal_within_a_process(bitrix_env):
    from crm1c.hooks.bitrix24 import Bitrix24Hook

    bitrix_env(extra={"plan": "standard"})
    assert Bitrix24Hook().get_client().limiter is Bitrix24Hook().get_client().limiter
