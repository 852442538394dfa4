"""Airflow hook for a Bitrix24 incoming webhook: Connection → masked secret → :class:`Bitrix24Client`.

Connection (type ``http``): host/port/schema = the portal, login = webhook user id, password = webhook
token (never the full webhook URL), extra::

    {"ca_bundle": "/path/ca.pem", "plan": "standard|enterprise|off", "timeout": 30,
     "limiter": "sql|local", "limiter_conn_id": "crm1c_staging"}

``limiter: sql`` shares one leaky bucket per portal through the database (``limiter_engine=`` or the
connection named by ``limiter_conn_id``), so every task and worker hitting the portal keeps to its budget.

.. code-block:: python

    client = Bitrix24Hook().get_client()
    for page in client.iter_list_batched("crm.company.list", select=["ID", "TITLE"]):
        ...
"""

from __future__ import annotations

from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowNotFoundException
from airflow.sdk.log import mask_secret

from crm1c.clients.bitrix24 import Bitrix24Client
from crm1c.clients.errors import ExternalSystemError
from crm1c.clients.ratelimit import RateLimiter, plan_spec
from crm1c.hooks._connection import base_url, float_extra, verify_setting
from crm1c.hooks._engines import engine_for_connection
from crm1c.staging.ratelimit import make_limiter


class Bitrix24Hook(BaseHook):
    """Builds a :class:`Bitrix24Client` from an Airflow Connection (credentials only from there)."""

    conn_name_attr = "bitrix24_conn_id"
    default_conn_name = "bitrix24_default"
    conn_type = "http"
    hook_name = "Bitrix24"
    TEST_METHOD = "crm.company.list"

    def __init__(
        self, bitrix24_conn_id: str = default_conn_name, *, limiter_engine: Any = None, **kwargs: Any
    ):
        secret_kwargs = sorted(set(kwargs) & {"token", "password", "webhook", "webhook_url"})
        if secret_kwargs:
            raise TypeError(
                f"{secret_kwargs} not accepted: credentials come only from the Airflow Connection"
            )
        super().__init__(**kwargs)
        self.bitrix24_conn_id = bitrix24_conn_id
        self.limiter_engine = limiter_engine

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return {
            "hidden_fields": [],
            "relabeling": {
                "host": "Portal host (e.g. company.bitrix24.ru)",
                "schema": "Scheme (https)",
                "login": "Webhook user id",
                "password": "Webhook token",
            },
            "placeholders": {
                "extra": '{"ca_bundle": "/etc/ssl/certs/corp-ca.pem", "plan": "standard", "timeout": 30, '
                '"limiter": "sql", "limiter_conn_id": "crm1c_staging"}',
            },
        }

    def get_conn(self) -> Bitrix24Client:
        return self.client

    def get_client(self) -> Bitrix24Client:
        """The client (built once per hook instance)."""
        return self.client

    @cached_property
    def client(self) -> Bitrix24Client:
        conn = self.get_connection(self.bitrix24_conn_id)
        if not conn.password or not conn.login:
            raise AirflowNotFoundException(
                f"connection '{self.bitrix24_conn_id}' needs login = webhook user id and "
                "password = webhook token"
            )
        mask_secret(conn.password)
        extra = dict(conn.extra_dejson)
        url = base_url(conn)
        if "/rest/" in urlsplit(url).path + "/":
            raise ValueError(
                f"connection '{self.bitrix24_conn_id}': put only the portal in host; the webhook token "
                "belongs in the password field, not in the URL"
            )
        return Bitrix24Client(
            url, conn.login, conn.password,
            verify=verify_setting(conn, extra),
            limiter=self._limiter(extra, urlsplit(url).hostname or url),
            timeout=float_extra(conn, extra, "timeout", 30.0),
            conn_id=self.bitrix24_conn_id,
        )  # fmt: skip

    def _limiter(self, extra: dict[str, Any], portal: str) -> RateLimiter:
        """:func:`make_limiter` for the plan of the connection, its bucket in the database or this process."""
        plan = str(extra.get("plan", "standard")).lower()
        try:
            spec = plan_spec(plan)
        except ValueError as exc:
            raise ValueError(f"connection '{self.bitrix24_conn_id}': {exc}") from None
        if spec is None:  # "off": no bucket, wherever it would have been kept
            return make_limiter(plan)
        kind = str(extra.get("limiter", "sql" if self._has_engine(extra) else "local")).lower()
        if kind not in ("sql", "local"):
            raise ValueError(f"connection '{self.bitrix24_conn_id}': limiter must be 'sql' or 'local'")
        engine = self._limiter_engine(extra) if kind == "sql" else None
        return make_limiter(plan, engine=engine, key=f"bitrix24:{portal}")

    def _limiter_engine(self, extra: dict[str, Any]) -> Any:
        if self.limiter_engine is not None:
            return self.limiter_engine
        if extra.get("limiter_conn_id"):
            return engine_for_connection(str(extra["limiter_conn_id"]))
        raise ValueError(
            f"connection '{self.bitrix24_conn_id}': limiter 'sql' needs limiter_engine= or extra "
            "'limiter_conn_id' naming the database connection that holds rate_limit_bucket"
        )

    def _has_engine(self, extra: dict[str, Any]) -> bool:
        return self.limiter_engine is not None or bool(extra.get("limiter_conn_id"))

    def test_connection(self) -> tuple[bool, str]:
        """One cheap read (first page of company IDs) through the real client."""
        try:
            self.client.call(self.TEST_METHOD, {"select": ["ID"], "order": {"ID": "ASC"}, "start": -1})
        except (ExternalSystemError, ValueError, AirflowNotFoundException) as exc:
            return False, str(exc)
        return True, "Bitrix24 webhook works"
