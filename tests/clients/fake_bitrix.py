"""A minimal in-memory Bitrix24 for unit tests of the client (independent of contour/)."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from tests.clients.fakes import Reply, php_decode

REF = re.compile(r"\$result\[(\w+)\]((?:\[\w+\])*)")


class FakeBitrix:
    """Companies with IDs 1..n (as strings), crm.company.list / crm.item.list / batch with $result refs."""

    def __init__(self, n: int, *, unresolved: str = "literal") -> None:
        self.rows = [{"ID": str(i), "TITLE": f"Company {i}"} for i in range(1, n + 1)]
        self.unresolved = unresolved  # "literal" (garbage page from the start) or "error"
        self.calls: list[tuple[str, dict]] = []
        self.http_requests = 0

    def __call__(self, request) -> Reply:
        self.http_requests += 1
        method = urlsplit(request.url).path.rsplit("/", 1)[-1].removesuffix(".json")
        body = json.loads(request.body or b"{}")
        if method == "batch":
            return Reply(200, {"result": self._batch(body["cmd"]), "time": {}})
        return Reply(200, self._run(method, body))

    def _batch(self, cmds: dict[str, str]) -> dict[str, Any]:
        results: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        for key, text in cmds.items():
            method, _, query = text.partition("?")
            resolved, ok = self._substitute(query, results)
            if not ok and self.unresolved == "error":
                errors[key] = {"error": "", "error_description": "reference not found"}
                continue
            results[key] = self._run(method, php_decode(resolved))["result"]
        return {"result": results, "result_error": errors or [], "result_total": [], "result_next": []}

    def _substitute(self, query: str, results: dict[str, Any]) -> tuple[str, bool]:
        ok = True

        def repl(m: re.Match) -> str:
            nonlocal ok
            node: Any = results.get(m.group(1))
            for part in re.findall(r"\[(\w+)\]", m.group(2)):
                try:
                    node = node[int(part)] if isinstance(node, list) else node[part]
                except (KeyError, IndexError, TypeError, ValueError):
                    ok = False
                    return m.group(0)
            return str(node)

        return REF.sub(repl, query), ok

    def _run(self, method: str, params: dict) -> dict[str, Any]:
        self.calls.append((method, params))
        flt = params.get("filter") or {}
        nested = method == "crm.item.list"
        field = "id" if nested else "ID"
        after = flt.get(f">{field}")
        try:
            after_id = int(after) if after is not None else 0
        except ValueError:
            after_id = 0  # unresolved reference: a real portal would return garbage too
        rows = [r for r in self.rows if int(r["ID"]) > after_id][:50]
        if nested:
            rows = [{"id": int(r["ID"]), "title": r["TITLE"]} for r in rows]
            return {"result": {"items": rows}}
        return {"result": rows}
