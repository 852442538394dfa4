"""Airflow hook for a Bitrix24 incoming webhook: Connection → masked secret → :class:`Bitrix24Client`.

An ``HttpHook`` (see :mod:`crm1c.hooks._http`): it gives the base URL and each thread's Session; the
client makes the requests. Connection (type ``http``): host/port/schema = the portal, login = webhook user
id, password = webhook token (never the full webhook URL), extra::

    {"ca_bundle": "/path/ca.pem", "plan": "standard|enterprise|off", "reserve": 0.2, "timeout": 30,
     "limiter": "sql|local", "limiter_conn_id": "crm1c_staging",
     "proxies": {"https": "http://proxy:3128"}, "cert": "/path/client.pem"}

``limiter: sql`` shares one leaky bucket per portal through the database (``limiter_engine=`` or the
connection named by ``limiter_conn_id``), so every task and worker hitting the portal keeps to its budget.
``reserve`` (0 ≤ r < 1, default 0.2) is the share of the portal's drain rate crm1c leaves to everyone else
calling the portal from the same IP (people's apps and webhooks share the bucket): the limiter drains at
``drain × (1 − reserve)``, so a long export takes at most 80 % of the plan's rate by default.

.. code-block:: python

    client = Bitrix24Hook().get_client()
    for page in client.iter_list_batched("crm.company.list", select=["ID", "TITLE"]):
        ...
"""

from __future__ import annotations

import contextlib
import math
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

import requests
from airflow.sdk.exceptions import AirflowNotFoundException
from airflow.sdk.log import mask_secret
from requests.auth import AuthBase

from crm1c.clients.bitrix24 import Bitrix24Client
from crm1c.clients.errors import ExternalSystemError
from crm1c.clients.ratelimit import RateLimiter, plan_spec
from crm1c.hooks._connection import base_url, float_extra, verify_setting
from crm1c.hooks._engines import engine_for_connection
from crm1c.hooks._http import ClientHttpHook
from crm1c.staging.ratelimit import make_limiter

#: The share of the portal's drain rate left to the other apps and people when the connection does not say.
DEFAULT_RESERVE = 0.2


class TokenInPath(AuthBase):
    """The webhook token travels in the URL path: no Authorization header (and, as an auth, no ~/.netrc)."""

    def __init__(self, *_credentials: Any) -> None:
        pass

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request

    def __repr__(self) -> str:
        return "TokenInPath()"


class Bitrix24Hook(ClientHttpHook):
    """Builds a :class:`Bitrix24Client` from an Airflow Connection (credentials only from there)."""

    conn_name_attr = "bitrix24_conn_id"
    default_conn_name = "bitrix24_default"
    conn_type = "http"
    hook_name = "Bitrix24"
    TEST_METHOD = "crm.company.list"
    secret_kwargs = frozenset({"token", "password", "webhook", "webhook_url"})
    session_auth = TokenInPath

    def __init__(
        self, bitrix24_conn_id: str = default_conn_name, *, limiter_engine: Any = None, **kwargs: Any
    ) -> None:
        super().__init__(bitrix24_conn_id, **kwargs)
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
                "extra": '{"ca_bundle": "/etc/ssl/certs/corp-ca.pem", "plan": "standard", "reserve": 0.2, '
                '"timeout": 30, "limiter": "sql", "limiter_conn_id": "crm1c_staging"}',
            },
        }

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
        self._set_base_url(conn)
        return Bitrix24Client(
            self.base_url, conn.login, conn.password,
            verify=verify_setting(conn, extra),
            limiter=self._limiter(extra, urlsplit(self.base_url).hostname or self.base_url),
            timeout=float_extra(conn, extra, "timeout", 30.0),
            conn_id=self.bitrix24_conn_id,
            session_factory=self.get_conn,
        )  # fmt: skip

    def checked_base_url(self, connection: Any) -> str:
        url = base_url(connection)
        if "/rest/" in urlsplit(url).path + "/":
            raise ValueError(
                f"connection '{connection.conn_id}': put only the portal in host; the webhook token "
                "belongs in the password field, not in the URL"
            )
        return url

    def _limiter(self, extra: dict[str, Any], portal: str) -> RateLimiter:
        """:func:`make_limiter` for the plan and reserve of the connection, its bucket in the database or
        this process."""
        plan = str(extra.get("plan", "standard")).lower()
        reserve = self._reserve(extra)
        try:
            spec = plan_spec(plan, reserve)
        except ValueError as exc:
            raise ValueError(f"connection '{self.bitrix24_conn_id}': {exc}") from None
        if spec is None:  # "off": no bucket, wherever it would have been kept
            return make_limiter(plan)
        kind = str(extra.get("limiter", "sql" if self._has_engine(extra) else "local")).lower()
        if kind not in ("sql", "local"):
            raise ValueError(f"connection '{self.bitrix24_conn_id}': limiter must be 'sql' or 'local'")
        engine = self._limiter_engine(extra) if kind == "sql" else None
        return make_limiter(plan, engine=engine, key=f"bitrix24:{portal}", reserve=reserve)

    def _reserve(self, extra: dict[str, Any]) -> float:
        """Extra ``reserve``: the share of the portal's drain rate left to others (0 ≤ r < 1, default 0.2)."""
        value = extra.get("reserve", DEFAULT_RESERVE)
        share = math.nan
        if not isinstance(value, bool):
            with contextlib.suppress(TypeError, ValueError):
                share = float(value)
        if not 0.0 <= share < 1.0:  # NaN fails too
            raise ValueError(
                f"connection '{self.bitrix24_conn_id}': extra 'reserve' must be the share of the portal's "
                f"rate left to others, a number 0 <= reserve < 1 (e.g. 0.2), not {value!r}"
            )
        return share

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
