"""Helpers shared by the hooks: base URL and TLS settings from an Airflow Connection."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
#: Extras that would switch TLS verification off (``verify``/``verify_ssl`` are HttpHook's own): refused.
_NO_VERIFY_KEYS = ("verify", "verify_ssl", "insecure", "no_verify", "ssl_verify", "disable_ssl")


def base_url(conn: Any, path: str = "") -> str:
    """``scheme://host[:port]/path`` from host/port/schema (``host`` may also be a full URL).

    Plain ``http`` is refused except for loopback hosts: credentials would travel in clear text.
    """
    host = (conn.host or "").strip()
    if not host:
        raise ValueError(f"connection '{conn.conn_id}' has no host")
    if "://" not in host:
        host = f"{(conn.schema or 'https').strip().lower()}://{host}"
    parts = urlsplit(host)
    if parts.scheme not in ("https", "http"):
        raise ValueError(f"connection '{conn.conn_id}': scheme must be https, got {parts.scheme!r}")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        raise ValueError(
            f"connection '{conn.conn_id}': plain http is refused for {parts.hostname}; use https"
        )
    netloc = parts.netloc if parts.port or not conn.port else f"{parts.netloc}:{int(conn.port)}"
    prefix = f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}"
    return prefix + ("/" + path.strip("/") + "/" if path.strip("/") else "")


def verify_setting(conn: Any, extra: dict[str, Any]) -> str | bool:
    """``ca_bundle`` path or True. Any attempt to switch verification off is an error."""
    for key in _NO_VERIFY_KEYS:
        if key in extra:
            raise ValueError(
                f"connection '{conn.conn_id}': extra '{key}' is not supported; TLS is always verified "
                "(give a CA bundle path in 'ca_bundle')"
            )
    bundle = extra.get("ca_bundle")
    if bundle in (None, ""):
        return True
    if not isinstance(bundle, str):
        raise ValueError(f"connection '{conn.conn_id}': 'ca_bundle' must be a file path")
    return bundle


def float_extra(conn: Any, extra: dict[str, Any], key: str, default: float) -> float:
    value = extra.get(key, default)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"connection '{conn.conn_id}': extra '{key}' must be a number") from None


def read_environment_once(session: requests.Session, url: str) -> requests.Session:
    """Fix the environment's proxies and CA bundle for ``url`` in ``session`` now, and stop reading them.

    A Session with ``trust_env`` reads them (and ``~/.netrc``) again on every request, which costs more CPU
    than the rest of a small request. Proxies and a CA bundle the session already has win over the
    environment's; a session with ``trust_env`` off is left as it is.
    """
    if session.trust_env:
        found = session.merge_environment_settings(url, dict(session.proxies), None, session.verify, None)
        session.proxies.update(found["proxies"])
        session.verify = found["verify"] if found["verify"] is not None else True
        session.trust_env = False
    return session
