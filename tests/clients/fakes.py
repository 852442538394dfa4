"""Test doubles: a requests transport adapter that answers from a Python handler, and a PHP-style decoder."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import requests
from requests.adapters import BaseAdapter


class Reply:
    def __init__(
        self,
        status: int = 200,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ):
        self.status, self.body, self.headers, self.raw = status, body, headers or {}, raw


Handler = Callable[[requests.PreparedRequest], Reply]


class FakeAdapter(BaseAdapter):
    """Answers every request with ``handler(prepared_request)``; records the requests it saw."""

    def __init__(self, handler: Handler):
        super().__init__()
        self.handler = handler
        self.seen: list[requests.PreparedRequest] = []

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        self.seen.append(request)
        reply = self.handler(request)
        resp = requests.Response()
        resp.status_code = reply.status
        resp.request = request
        resp.url = request.url
        if reply.raw is not None:
            resp._content = reply.raw
        elif reply.body is None:
            resp._content = b""
        else:
            resp._content = json.dumps(reply.body, ensure_ascii=False).encode("utf-8")
            resp.headers["Content-Type"] = "application/json; charset=utf-8"
        resp.headers.update(reply.headers)
        resp.encoding = "utf-8"
        return resp

    def close(self) -> None:
        pass


def session_factory(adapter: FakeAdapter) -> Callable[[], requests.Session]:
    def make() -> requests.Session:
        session = requests.Session()
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        return session

    return make


def php_decode(query: str, lists: bool = True) -> dict[str, Any]:
    """Reference decoder of PHP-bracket query strings (PHP parse_str semantics, for our encoder's output)."""
    out: dict[str, Any] = {}
    for raw_key, value in _split(query):
        head, _, rest = raw_key.partition("[")
        path = [head] + (list(rest[:-1].split("][")) if rest else [])
        node = out
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return _lists(out) if lists else out


def _split(query: str) -> list[tuple[str, str]]:
    pairs = []
    for chunk in query.split("&"):
        if not chunk:
            continue
        key, _, value = chunk.partition("=")
        # decode key segments individually: brackets are literal, segment text is percent-encoded
        ((dk, dv),) = parse_qsl(f"{key}={value}", keep_blank_values=True, strict_parsing=True)
        pairs.append((dk, dv))
    return pairs


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    node = {k: _lists(v) for k, v in node.items()}
    if node and all(k.isdigit() for k in node) and sorted(map(int, node)) == list(range(len(node))):
        return [node[str(i)] for i in range(len(node))]
    return node
