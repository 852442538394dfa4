"""Airflow hook for the 1C standard OData interface: Connection → masked secret → :class:`OneCClient`.

An ``HttpHook`` (see :mod:`crm1c.hooks._http`): it gives the base URL and each thread's Session (Basic auth
in UTF-8); the client makes the requests. Connection (type ``http``): host/port/schema = the web server,
login/password = the 1C infobase user (Cyrillic is fine), extra::

    {"base_path": "/accounting/odata/standard.odata/", "ca_bundle": "/path/ca.pem", "timeout": 60,
     "proxies": {"https": "http://proxy:3128"}, "cert": "/path/client.pem"}

.. code-block:: python

    onec = OneCODataHook().get_client()
    rows = onec.list_all("Catalog_Контрагенты", select=["Ref_Key", "DataVersion", "DeletionMark"])
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from airflow.sdk.exceptions import AirflowNotFoundException
from airflow.sdk.log import mask_secret

from crm1c.clients.errors import ExternalSystemError
from crm1c.clients.onec import OneCClient, Utf8BasicAuth, basic_auth_header
from crm1c.hooks._connection import base_url, float_extra, verify_setting
from crm1c.hooks._http import ClientHttpHook


class OneCODataHook(ClientHttpHook):
    """Builds a :class:`OneCClient` from an Airflow Connection (credentials only from there)."""

    conn_name_attr = "onec_conn_id"
    default_conn_name = "onec_default"
    conn_type = "http"
    hook_name = "1C OData"
    TEST_ENTITY_SET = "Catalog_Организации"
    secret_kwargs = frozenset({"user", "login", "password"})
    session_auth = Utf8BasicAuth

    def __init__(self, onec_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(onec_conn_id, **kwargs)
        self.onec_conn_id = onec_conn_id

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return {
            "hidden_fields": [],
            "relabeling": {
                "host": "1C web server host",
                "schema": "Scheme (https)",
                "login": "1C user",
                "password": "1C password",
            },
            "placeholders": {
                "extra": '{"base_path": "/accounting/odata/standard.odata/", '
                '"ca_bundle": "/etc/ssl/certs/corp-ca.pem", "timeout": 60}',
            },
        }

    def get_client(self) -> OneCClient:
        """The client (built once per hook instance)."""
        return self.client

    @cached_property
    def client(self) -> OneCClient:
        conn = self.get_connection(self.onec_conn_id)
        if not conn.login or conn.password is None:
            raise AirflowNotFoundException(
                f"connection '{self.onec_conn_id}' needs the 1C login and password"
            )
        mask_secret(conn.password)
        mask_secret(basic_auth_header(conn.login, conn.password))
        extra = dict(conn.extra_dejson)
        self._set_base_url(conn)
        return OneCClient(
            self.base_url, conn.login, conn.password,
            verify=verify_setting(conn, extra),
            timeout=float_extra(conn, extra, "timeout", 60.0),
            conn_id=self.onec_conn_id,
            session_factory=self.get_conn,
        )  # fmt: skip

    def checked_base_url(self, connection: Any) -> str:
        """The OData root: the server's URL and extra ``base_path`` (or a host that holds the path)."""
        base_path = connection.extra_dejson.get("base_path")
        if not base_path and "/" not in (connection.host or "").split("://")[-1]:
            raise ValueError(
                f"connection '{connection.conn_id}': set extra 'base_path' "
                "(e.g. /accounting/odata/standard.odata/)"
            )
        return base_url(connection, base_path or "")

    def test_connection(self) -> tuple[bool, str]:
        """Reads one row of ``Catalog_Организации`` through the real client."""
        try:
            next(self.client.list(self.TEST_ENTITY_SET, select=["Ref_Key"], page_size=1), None)
        except (ExternalSystemError, ValueError, AirflowNotFoundException) as exc:
            return False, str(exc)
        return True, "1C OData works"
