"""The base of the Bitrix24 and 1C hooks: the http provider's ``HttpHook`` turns the Connection into a base
URL and a configured ``requests.Session``; one of the plain clients of :mod:`crm1c.clients` makes every
request.

Taken from ``HttpHook``: connection type ``http`` and its lookup, the base-URL step (with our rules: https
unless the host is loopback), the Session of :meth:`HttpHook.get_conn` (auth through ``auth_type``, extras
``proxies``/``proxy``, ``cert``, ``trust_env``, ``max_redirects``, the TCP keep-alive adapter). Not taken:

* ``run()`` and its retry loop: the clients are the one choke point (rate limit, retries that know a write
  from a read, error mapping, stats, the webhook token kept out of every logged URL), so ``run`` is refused;
* extras as request headers: our extras are settings (``plan``, ``ca_bundle``, ``base_path`` ...), and no
  header may ride along unseen (``1C_OData-DataLoadMode`` would bypass the change-prohibition date);
* ``verify: false`` / ``verify_ssl: false``: TLS is always verified (a CA bundle goes in ``ca_bundle``);
* ``srv_lookup``: a client calls one base URL.
"""

from __future__ import annotations

from typing import Any, ClassVar

import requests
from airflow.providers.http.hooks.http import HttpHook
from requests.auth import AuthBase

from crm1c.hooks._connection import base_url, read_environment_once, verify_setting


class ClientHttpHook(HttpHook):
    """``HttpHook`` for Connection → base URL and Session; subclasses build a client with :meth:`get_conn` as
    its per-thread session factory."""

    #: Keyword arguments that would carry a credential: refused (credentials come only from the Connection).
    secret_kwargs: ClassVar[frozenset[str]] = frozenset()
    #: Auth the Session carries (``HttpHook`` calls it with the connection's login and password).
    session_auth: ClassVar[type[AuthBase]]

    def __init__(self, conn_id: str, **kwargs: Any) -> None:
        secret = sorted(set(kwargs) & self.secret_kwargs)
        if secret:
            raise TypeError(f"{secret} not accepted: credentials come only from the Airflow Connection")
        super().__init__(method="POST", http_conn_id=conn_id, auth_type=self.session_auth, **kwargs)

    def checked_base_url(self, connection: Any) -> str:
        """The base URL the client calls (subclasses add their path and checks)."""
        return base_url(connection)

    def _set_base_url(self, connection: Any) -> None:
        """``HttpHook``'s base-URL step, by our rules: https by default, plain http only to loopback."""
        if "srv_lookup" in connection.extra_dejson:
            raise ValueError(
                f"connection '{connection.conn_id}': extra 'srv_lookup' is not supported; give the host"
            )
        self.base_url = self.checked_base_url(connection)
        self._base_url_initialized = True

    def _configure_session_from_extra(
        self, session: requests.Session, connection: Any, extra_options: dict[str, Any]
    ) -> requests.Session:
        """``HttpHook``'s proxies, cert, trust_env and redirects from the extras; TLS always verified (against
        ``ca_bundle`` when given); no extra becomes a header."""
        verify = verify_setting(connection, connection.extra_dejson)
        session = super()._configure_session_from_extra(session, connection, extra_options)
        session.headers.clear()  # HttpHook sent every other extra as a header
        session.headers.update(requests.utils.default_headers())
        session.verify = verify
        return session

    def get_conn(
        self, headers: dict[Any, Any] | None = None, extra_options: dict[str, Any] | None = None
    ) -> requests.Session:
        """``HttpHook``'s Session for the connection, the environment's proxies and CA bundle read once."""
        return read_environment_once(super().get_conn(headers, extra_options), self.base_url)

    def run(self, *args: Any, **kwargs: Any) -> Any:
        """Refused: requests go through the client (``get_client()``), the one place that makes them."""
        raise NotImplementedError(
            f"{type(self).__name__} makes no requests itself; use get_client(): rate limit, retries and "
            "error mapping live there"
        )
