"""Real local receivers for alert tests: an SMTP server (aiosmtpd) and a Slack incoming-webhook endpoint.

Reuse from any test package's conftest::

    from tests.notify.servers import alert_connections, slack_receiver, smtp_server  # noqa: F401

``smtp_server.messages`` holds parsed :class:`email.message.EmailMessage` s, ``slack_receiver.posts``
the parsed JSON bodies; ``.connection(...)`` gives the ``AIRFLOW_CONN_*`` JSON pointing at each one, and
``alert_connections`` sets ``smtp_default`` / ``slack_default`` to them for one test.
Both bind 127.0.0.1 on an ephemeral port and stop at the end of the test.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

import pytest
from aiosmtpd.controller import Controller

HOST = "127.0.0.1"
SLACK_TOKEN = "T000/B000/LOCAL"


class _Inbox:
    """Items received by a server thread, with a wait for the ones still on their way."""

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._changed = threading.Condition()

    def add(self, item: Any) -> None:
        with self._changed:
            self._items.append(item)
            self._changed.notify_all()

    def items(self) -> list[Any]:
        with self._changed:
            return list(self._items)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Any]:
        """The items once at least ``count`` have arrived; ``AssertionError`` after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._items) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    got = len(self._items)
                    raise AssertionError(f"expected {count} item(s) within {timeout}s, got {got}")
                self._changed.wait(left)
            return list(self._items)


class _EphemeralController(Controller):
    """aiosmtpd's Controller bound to port 0: reads the port the OS chose before its start-up probe."""

    def _trigger_server(self) -> None:
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class _Running:
    """``with Server() as server:`` starts it and stops it (also usable outside pytest)."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class LocalSmtpServer(_Running):
    """An SMTP server on 127.0.0.1 that keeps every message it accepts."""

    def __init__(self) -> None:
        self.inbox = _Inbox()
        self.envelopes: list[tuple[str, list[str]]] = []  # (MAIL FROM, RCPT TO) per message
        self._controller = _EphemeralController(self, hostname=HOST, port=0)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd's hook name
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.inbox.add(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted"

    @property
    def port(self) -> int:
        return int(self._controller.port)

    @property
    def messages(self) -> list[EmailMessage]:
        return self.inbox.items()

    def connection(self, from_email: str = "crm1c@localhost") -> str:
        """``AIRFLOW_CONN_<ID>`` JSON for this server."""
        return smtp_connection(self.port, from_email)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


def smtp_connection(port: int, from_email: str = "crm1c@localhost", timeout: int = 5) -> str:
    """``AIRFLOW_CONN_<ID>`` JSON for plain SMTP on 127.0.0.1:``port`` (no SSL/STARTTLS, no retries)."""
    extra = {
        "disable_ssl": True,
        "disable_tls": True,
        "from_email": from_email,
        "timeout": timeout,
        "retry_limit": 0,
    }
    return json.dumps({"conn_type": "smtp", "host": HOST, "port": port, "extra": extra})


def html_body(message: EmailMessage) -> str:
    """The decoded HTML part of a received mail."""
    part = message.get_body(preferencelist=("html",))
    assert part is not None, "no text/html part"
    return str(part.get_content())


class LocalSlackReceiver(_Running):
    """An HTTP endpoint on 127.0.0.1 that answers webhook POSTs like Slack (``200 ok``)."""

    def __init__(self) -> None:
        self.inbox = _Inbox()
        self.paths: list[str] = []
        self.status = 200  # set to e.g. 500 to play a Slack outage
        self._server = ThreadingHTTPServer((HOST, 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, name="slack-receiver", daemon=True)

    @property
    def url(self) -> str:
        """The connection's ``host``: the hook appends ``/<token>`` (it ignores a connection ``port``)."""
        return f"http://{HOST}:{self._server.server_address[1]}/slack"

    @property
    def posts(self) -> list[dict[str, Any]]:
        return self.inbox.items()

    def connection(self, token: str = SLACK_TOKEN) -> str:
        """``AIRFLOW_CONN_<ID>`` JSON for this endpoint (``slackwebhook``)."""
        return json.dumps({"conn_type": "slackwebhook", "host": self.url, "password": token})

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if receiver.status == 200:
                    receiver.paths.append(self.path)
                    receiver.inbox.add(json.loads(body))
                answer = b"ok" if receiver.status == 200 else b"internal_error"
                self.send_response(receiver.status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:  # quiet test output
                pass

        return Handler


@pytest.fixture
def smtp_server() -> Iterator[LocalSmtpServer]:
    """A running :class:`LocalSmtpServer`."""
    with LocalSmtpServer() as server:
        yield server


@pytest.fixture
def slack_receiver() -> Iterator[LocalSlackReceiver]:
    """A running :class:`LocalSlackReceiver`."""
    with LocalSlackReceiver() as receiver:
        yield receiver


@pytest.fixture
def alert_connections(
    monkeypatch: pytest.MonkeyPatch, smtp_server: LocalSmtpServer, slack_receiver: LocalSlackReceiver
) -> tuple[LocalSmtpServer, LocalSlackReceiver]:
    """``smtp_default`` and ``slack_default`` pointing at this test's receivers (env connections)."""
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_server.connection())
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_DEFAULT", slack_receiver.connection())
    return smtp_server, slack_receiver
