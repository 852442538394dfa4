"""The Bitrix24 and 1C hooks are the http provider's HttpHook: env-var Connections (JSON and URI forms) →
base URL and Session from HttpHook, with our rules on top; every request still goes through the client."""

from __future__ import annotations

import json
import socket

import pytest
import requests
import tenacity
import urllib3
from airflow.providers.http.hooks.http import HttpHook
from requests_toolbelt.adapters.socket_options import TCPKeepAliveAdapter

from crm1c.clients.onec import basic_auth_header
from crm1c.clients.ratelimit import NoLimit

TOKEN = "hookW3bh00kT0ken"
CA = "/etc/ssl/corp-ca.pem"
PROXY = "http://proxy.corp.example:3128"


def set_conn(monkeypatch, conn_id: str, **fields) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "http", **fields}))


@pytest.fixture
def bitrix(monkeypatch):
    def make(conn_id: str = "bitrix24_default", **extra):
        set_conn(
            monkeypatch, conn_id, host="portal.example.ru", schema="https", login="1", password=TOKEN,
            extra={"plan": "off", **extra},
        )  # fmt: skip
        from crm1c.hooks.bitrix24 import Bitrix24Hook

        return Bitrix24Hook(conn_id)

    return make


@pytest.fixture
def onec(monkeypatch):
    def make(conn_id: str = "onec_default", **extra):
        set_conn(
            monkeypatch, conn_id, host="1c.example.ru", schema="https", port=8443,
            login="Интеграция", password="секрет-1",
            extra={"base_path": "/accounting/odata/standard.odata/", **extra},
        )  # fmt: skip
        from crm1c.hooks.onec import OneCODataHook

        return OneCODataHook(conn_id)

    return make


@pytest.fixture
def sent(monkeypatch):
    """Every request a Session sends, answered 200 with a JSON body instead of going to the network."""
    calls: list[tuple[requests.Session, requests.PreparedRequest, dict]] = []

    def send(session, request, **kwargs):
        calls.append((session, request, kwargs))
        response = requests.Response()
        response.status_code, response.url, response.request = 200, request.url, request
        response.headers["Content-Type"] = "application/json"
        response._content = json.dumps({"result": [], "total": 0, "value": []}).encode()
        return response

    monkeypatch.setattr(requests.Session, "send", send)
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    return calls


def test_the_hooks_are_http_hooks_of_connection_type_http():
    from crm1c.hooks.bitrix24 import Bitrix24Hook
    from crm1c.hooks.onec import OneCODataHook

    for hook_class in (Bitrix24Hook, OneCODataHook):
        assert issubclass(hook_class, HttpHook) and hook_class.conn_type == "http"
    assert Bitrix24Hook("b24_x").http_conn_id == "b24_x" and OneCODataHook().http_conn_id == "onec_default"


def test_bitrix_session_is_http_hooks_with_our_rules(bitrix):
    hook = bitrix(ca_bundle=CA, proxies={"https": PROXY}, cert="/etc/ssl/client.pem", max_redirects=3)
    session = hook.get_conn()
    assert isinstance(session, requests.Session) and hook.base_url == "https://portal.example.ru"
    assert session.verify == CA and session.proxies["https"] == PROXY
    assert session.cert == "/etc/ssl/client.pem" and session.max_redirects == 3
    assert isinstance(session.get_adapter("https://portal.example.ru/"), TCPKeepAliveAdapter)
    assert session.trust_env is False, "the environment is read once, not at every request"
    assert not {"plan", "ca_bundle", "proxies", "cert"} & {k.lower() for k in session.headers}
    prepared = session.prepare_request(requests.Request("POST", f"{hook.base_url}/rest/x.json"))
    assert "Authorization" not in prepared.headers, "the webhook token is never sent as Basic auth"


def test_onec_session_carries_utf8_basic_auth(onec):
    hook = onec()
    session = hook.get_conn()
    assert hook.base_url == "https://1c.example.ru:8443/accounting/odata/standard.odata/"
    prepared = session.prepare_request(requests.Request("GET", hook.base_url))
    assert prepared.headers["Authorization"] == basic_auth_header("Интеграция", "секрет-1")
    assert "секрет-1" not in repr(session.auth)


def test_client_requests_use_the_hooks_session(bitrix, sent):
    b24 = bitrix(proxies={"https": PROXY}, ca_bundle=CA).get_client()
    b24.call("crm.company.list", {"start": -1})
    ((b24_session, b24_request, b24_kwargs),) = sent
    assert b24_request.url == f"https://portal.example.ru/rest/1/{TOKEN}/crm.company.list.json"
    assert b24_session.proxies["https"] == PROXY and b24_kwargs["verify"] == CA
    assert "Authorization" not in b24_request.headers


def test_onec_requests_go_through_the_pool_of_the_hooks_session(onec, monkeypatch, tmp_path):
    """The 1C client sends straight through the connection pool the hook's Session would use: its proxy,
    its TLS verification (always on; the connection's CA bundle), its keep-alive socket options."""
    sent: list[tuple[urllib3.HTTPConnectionPool, str, str, dict]] = []

    def urlopen(pool, method, url, **kwargs):
        sent.append((pool, method, url, kwargs))
        return urllib3.HTTPResponse(body=json.dumps({"value": []}).encode(), status=200)

    monkeypatch.setattr(urllib3.HTTPConnectionPool, "urlopen", urlopen)
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    onec(proxies={"https": PROXY}).get_client().list_all("Catalog_Контрагенты", select=["Ref_Key"])
    ca = tmp_path / "corp-ca.pem"
    ca.write_text("a CA bundle (read when a connection opens)")
    onec("onec_ca", ca_bundle=str(ca)).get_client().list_all("Catalog_Контрагенты", select=["Ref_Key"])
    (proxied, method, url, kwargs), (own_ca, *_rest) = sent
    assert method == "GET" and url.startswith("/accounting/odata/standard.odata/Catalog_")
    assert (proxied.host, proxied.port) == ("1c.example.ru", 8443)
    assert proxied.proxy is not None and proxied.proxy.url == PROXY
    assert proxied.cert_reqs == "CERT_REQUIRED" and own_ca.ca_certs == str(ca)
    assert any(opt[1] == socket.SO_KEEPALIVE for opt in own_ca.conn_kw["socket_options"])
    assert kwargs["headers"]["Authorization"] == basic_auth_header("Интеграция", "секрет-1")
    assert kwargs["retries"] is False and kwargs["redirect"] is False
    assert not any(k.lower() == "1c_odata-dataloadmode" for k in kwargs["headers"])


def test_environment_proxies_are_read_once_and_the_connections_win(bitrix, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://env-proxy.example:8080")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert bitrix("b24_env").get_conn().proxies["https"] == "http://env-proxy.example:8080"
    assert bitrix("b24_own", proxies={"https": PROXY}).get_conn().proxies["https"] == PROXY
    assert bitrix("b24_noenv", trust_env=False).get_conn().proxies.get("https") is None


@pytest.mark.parametrize("extra", [{"verify": False}, {"verify_ssl": "false"}, {"verify": True}])
def test_http_hooks_tls_switches_are_refused(bitrix, onec, extra):
    for hook in (bitrix("b24_tls", **extra), onec("onec_tls", **extra)):
        with pytest.raises(ValueError, match="TLS is always verified"):
            hook.get_conn()
        with pytest.raises(ValueError, match="TLS is always verified"):
            hook.get_client()


def test_extras_never_become_request_headers(onec):
    session = onec(**{"1C_OData-DataLoadMode": "true", "X-Anything": "1"}).get_conn()
    assert not {"1c_odata-dataloadmode", "x-anything", "base_path"} & {k.lower() for k in session.headers}


def test_srv_lookup_is_refused(bitrix):
    with pytest.raises(ValueError, match="srv_lookup"):
        bitrix("b24_srv", srv_lookup=True).get_client()


def test_run_is_refused_requests_go_through_the_client(bitrix, onec, sent):
    for hook in (bitrix(), onec()):
        with pytest.raises(NotImplementedError, match="get_client"):
            hook.run("crm.company.list")
        with pytest.raises(NotImplementedError):
            hook.run_with_advanced_retry({"stop": tenacity.stop_after_attempt(2), "reraise": True}, "x")
    assert sent == []


def test_uri_form_connection(monkeypatch):
    from crm1c.hooks.bitrix24 import Bitrix24Hook

    monkeypatch.setenv("AIRFLOW_CONN_B24_URI", f"http://1:{TOKEN}@portal.example.ru:8443/https?plan=off")
    client = Bitrix24Hook("b24_uri").get_client()
    assert client.base_url == "https://portal.example.ru:8443" and isinstance(client.limiter, NoLimit)
    assert TOKEN not in repr(client)


def test_plain_http_stays_refused_but_for_loopback(bitrix, monkeypatch):
    from crm1c.hooks.bitrix24 import Bitrix24Hook

    set_conn(monkeypatch, "b24_http", host="portal.example.ru", schema="http", login="1", password=TOKEN)
    with pytest.raises(ValueError, match="plain http"):
        Bitrix24Hook("b24_http").get_conn()
    set_conn(monkeypatch, "b24_lo", host="127.0.0.1", port=8082, schema="http", login="1", password=TOKEN)
    assert Bitrix24Hook("b24_lo").get_client().base_url == "http://127.0.0.1:8082"


def test_sql_limiter_connection_resolves_through_the_postgres_provider(bitrix, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_B24_LIMITER_PG",
        json.dumps({"conn_type": "postgres", "host": "db.example", "login": "crm1c", "schema": "staging"}),
    )
    client = bitrix("b24_pg", plan="standard", limiter="sql", limiter_conn_id="b24_limiter_pg").get_client()
    url = client.limiter.engine.url
    assert (url.drivername, url.host, url.database) == ("postgresql+psycopg2", "db.example", "staging")
