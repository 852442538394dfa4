"""environment_session: the environment's proxy and CA settings are read once, and still honoured."""

from __future__ import annotations

import requests

from crm1c.clients.transport import environment_session

URL = "https://portal.example.ru/rest/"


def test_proxy_and_ca_bundle_come_from_the_environment(monkeypatch, tmp_path):
    bundle = tmp_path / "corp-ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:3128")
    monkeypatch.setenv("NO_PROXY", "localhost")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))

    session = environment_session(URL)

    assert session.trust_env is False  # not re-read on every request
    assert session.proxies.get("https") == "http://proxy.corp:3128"
    assert session.verify == str(bundle)
    settings = session.merge_environment_settings(URL, {}, None, None, None)
    assert settings["proxies"]["https"] == "http://proxy.corp:3128"
    assert settings["verify"] == str(bundle)
    assert session.merge_environment_settings(URL, {}, None, "/etc/other.pem", None)["verify"] == (
        "/etc/other.pem"
    )  # a bundle given per request (the connection's extras) wins


def test_no_proxy_applies_to_the_base_url(monkeypatch):
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")

    session = environment_session("https://127.0.0.1:8443/odata/")

    assert "https" not in session.proxies
    assert session.verify is True
    assert isinstance(session, requests.Session)
