"""A small threaded HTTP(S) server shared by both emulators.

It owns what is common to them: request parsing, TLS, the latency and fault knobs, and the admin
endpoints under ``/_contour/`` (``health``, ``knobs``). Each emulator is an :class:`App` that turns a
:class:`Request` into a :class:`Response`.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl, unquote, urlsplit

log = logging.getLogger("contour")

COMMON_KNOBS: dict[str, Any] = {
    "latency_ms": 0,  # every API answer leaves this long after its request arrived (processing included)
    "fault_5xx_rate": 0.0,  # share of API requests answered with the emulator's 5xx error
    "fault_timeout_rate": 0.0,  # share of API requests that hang, then drop the connection
    "fault_timeout_s": 5.0,  # how long such a request hangs
    "fault_seed": -1,  # >= 0: faults follow a reproducible random sequence from this seed
}


@dataclass
class Request:
    """One HTTP request, decoded once."""

    method: str
    raw_path: str
    path: str  # percent-decoded (UTF-8), without the query string
    query_string: str
    headers: dict[str, str]  # lower-cased names
    body: bytes = b""
    client: str = ""

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query_string, keep_blank_values=True)

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8")) if self.body else None


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(
        cls, status: int, payload: Any, content_type: str = "application/json; charset=utf-8"
    ) -> Response:
        data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return cls(status, data, {"Content-Type": content_type})

    @classmethod
    def text(cls, status: int, text: str, content_type: str = "text/plain; charset=utf-8") -> Response:
        return cls(status, text.encode("utf-8"), {"Content-Type": content_type})


class Knobs:
    """Runtime settings of one emulator: defaults < persisted file < environment < explicit overrides."""

    def __init__(self, name: str, defaults: dict[str, Any], state_dir: Path, overrides: dict[str, Any]):
        import os

        self.name = name
        self._path = state_dir / f"{name}.knobs.json"
        self._lock = threading.Lock()
        values = dict(COMMON_KNOBS) | dict(defaults)
        if self._path.exists():
            values.update({k: v for k, v in json.loads(self._path.read_text()).items() if k in values})
        for key in values:
            env = os.environ.get(f"CONTOUR_{name.upper()}_{key.upper()}")
            if env is not None:
                values[key] = self._coerce(values[key], env)
        values.update({k: v for k, v in overrides.items() if v is not None and k in values})
        self._values = values

    @staticmethod
    def _coerce(current: Any, raw: Any) -> Any:
        if isinstance(raw, str) and not isinstance(current, str) and current is not None:
            if isinstance(current, bool):
                return raw.lower() in ("1", "true", "yes", "on")
            return type(current)(raw)
        return raw

    def get(self, key: str) -> Any:
        return self._values[key]

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._values)

    def update(self, changes: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(changes) - set(self._values))
        if unknown:
            raise KeyError(f"unknown knob(s): {', '.join(unknown)}")
        with self._lock:
            for key, raw in changes.items():
                self._values[key] = self._coerce(self._values[key], raw)
            self._path.write_text(json.dumps(self._values, ensure_ascii=False, indent=1))
            return dict(self._values)


class App:
    """Base of an emulator. Subclasses set ``name`` and ``knob_defaults`` and implement :meth:`handle`."""

    name = "app"
    knob_defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, state_dir: Path, knob_overrides: dict[str, Any] | None = None):
        self.state_dir = state_dir
        self.knobs = Knobs(self.name, self.knob_defaults, state_dir, knob_overrides or {})
        self.fault_rng = random.Random()
        self._seed_faults()

    def _seed_faults(self) -> None:
        seed = int(self.knobs.get("fault_seed"))
        self.fault_rng.seed(seed if seed >= 0 else None)

    def handle(self, request: Request) -> Response:
        raise NotImplementedError

    def fault_response(self, request: Request) -> Response:
        """The body a real server sends when it fails with a 5xx (overridden per emulator)."""
        return Response.text(500, "Internal Server Error")

    def on_knobs_changed(self, changes: dict[str, Any]) -> None:
        """Called after an admin knob update (e.g. the 1C prohibition date lives in its data)."""

    def admin(self, request: Request) -> Response:
        sub = request.path.removeprefix("/_contour/")
        if sub == "health":
            return Response.json(200, {"status": "ok", "app": self.name})
        if sub == "knobs" and request.method == "GET":
            return Response.json(200, self.knobs.snapshot())
        if sub == "knobs" and request.method in ("POST", "PATCH"):
            changes = request.json() or {}
            try:
                values = self.knobs.update(changes)
            except (KeyError, ValueError, TypeError) as exc:
                return Response.json(400, {"error": str(exc)})
            if "fault_seed" in changes:
                self._seed_faults()
            self.on_knobs_changed(changes)
            return Response.json(200, values)
        return Response.json(404, {"error": f"unknown admin path {request.path}"})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall
    server: ContourServer
    arrived = 0.0  # monotonic time the request line was read (latency counts from it)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def parse_request(self) -> bool:
        self.arrived = time.monotonic()  # the request line is in; its headers and body are part of the work
        return super().parse_request()

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        request = Request(
            method=self.command,
            raw_path=parts.path,
            path=unquote(parts.path, encoding="utf-8", errors="replace"),
            query_string=parts.query,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            client=self.client_address[0],
        )
        app = self.server.app
        if request.path.startswith("/_contour/"):
            self._send(app.admin(request))
            return
        knobs = app.knobs
        due = self.arrived + float(knobs.get("latency_ms") or 0) / 1000.0
        roll = app.fault_rng.random()
        if roll < knobs.get("fault_timeout_rate"):
            time.sleep(float(knobs.get("fault_timeout_s")))
            self.close_connection = True
            return
        if roll < knobs.get("fault_timeout_rate") + knobs.get("fault_5xx_rate"):
            response = app.fault_response(request)
        else:
            try:
                response = app.handle(request)
            except Exception:  # the emulator must answer like a server, never die
                log.exception("unhandled error on %s %s", request.method, request.path)
                response = app.fault_response(request)
        # A server with latency L answers L after the request arrived: its own work is part of L, not
        # added to it (the emulator's processing time would otherwise count against the client).
        time.sleep(max(0.0, due - time.monotonic()))
        self._send(response)

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_MERGE = do_HEAD = _dispatch


class ContourServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, app: App, host: str, port: int, tls: Any = None):
        super().__init__((host, port), _Handler)
        self.app = app
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    def finish_request(self, request: Any, client_address: Any) -> None:
        try:
            super().finish_request(request, client_address)
        except (ConnectionError, TimeoutError, OSError) as exc:  # TLS handshake failures, resets
            log.debug("connection from %s ended: %s", client_address, exc)


def serve_in_thread(server: ContourServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name=f"contour-{server.app.name}", daemon=True)
    thread.start()
    return thread
