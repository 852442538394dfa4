"""The Bitrix24 REST emulator: ``https://127.0.0.1:8082/rest/<user>/<token>/<method>[.json]``.

Routing, webhook auth, parameter decoding (GET query, JSON, urlencoded and multipart forms with PHP brackets),
the leaky bucket, per-method operating time, the response envelope with ``time``, and ``/_contour/stats``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, ClassVar

from contour.bitrix import (  # noqa: F401 - importing the method modules registers their handlers
    batch,
    catalog,
    deals,
    dictionaries,
    entities,
    errors,
    items,
    prices,
    productrows,
    requisites,
    stagehistory,
    userfields,
)
from contour.bitrix import values as v
from contour.bitrix.api import REGISTRY, Call, Reply
from contour.bitrix.events import Events
from contour.bitrix.limits import Limits
from contour.bitrix.phpparams import decode_body, decode_query
from contour.bitrix.storage import Store
from contour.onec import faults  # the lost-answer fault: same knobs and mechanism on both emulators
from contour.web import App, Request, Response

DEFAULT_EVENTS = "ONCRMCOMPANYADD,ONCRMCOMPANYUPDATE,ONCRMDEALUPDATE,ONCRMDYNAMICITEMUPDATE"
WRITE_ACTIONS = frozenset({"add", "update", "delete", "set", "modify", "pay", "unpay", "batch"})


def write_action(method: str) -> str | None:
    """The write a method makes (``crm.deal.update`` → ``update``, ``batch``); ``None`` for a read."""
    action = method.rsplit(".", 1)[-1]
    return action if action in WRITE_ACTIONS else None


class BitrixApp(App):
    name = "bitrix"
    knob_defaults: ClassVar[dict[str, Any]] = {
        "webhook_user": "1",  # incoming webhook: /rest/<webhook_user>/<webhook_token>/<method>
        "webhook_token": "contour0webhook0token",
        "rate_plan": "standard",  # leaky bucket: standard (2/s, burst 50), enterprise (5/s, 250) or off
        "operating_limit_s": 480.0,  # per-method execution seconds allowed in 10 minutes
        "operating_cost_s": 0.0,  # extra simulated seconds charged per call (to reach the limit quickly)
        "event_handler_url": "",  # outbound events go here (empty: off)
        "application_token": "contour0application0token",  # sent as auth[application_token]
        "event_names": DEFAULT_EVENTS,  # comma list of events sent, "*" for all
        "event_delay_ms": 0.0,  # queue delay before an event is sent
        "portal_domain": "crm1c-contour.bitrix24.ru",  # auth[domain] of events
        "event_copies": 1,  # each event is delivered this many times (duplicate-delivery drills, F6)
        "batch_fault_rate": 0.0,  # share of batch sub-calls failing with INTERNAL_SERVER_ERROR (F4)
        # applied, then the answer was lost: the write commits, the connection drops before any byte of the
        # answer; fault_lost_answer_on = "" or "*" (every write) or a comma list of methods (crm.deal.update,
        # batch) and/or actions (add, update, set, delete, modify); _next counts down, _rate uses fault_seed
        **faults.KNOBS,
    }

    def __init__(self, state_dir: Path, knob_overrides: dict[str, Any] | None = None):
        super().__init__(state_dir, knob_overrides)
        self.store = Store(state_dir)
        self.limits = Limits()
        self.events = Events(self)
        self.lost_answers = faults.LostAnswers(self.knobs, self.fault_rng)

    # -- admin --------------------------------------------------------------------------------------------
    def fault_response(self, request: Request) -> Response:
        return Response.json(500, errors.internal().body())

    def admin(self, request: Request) -> Response:
        if request.path == "/_contour/stats":
            if request.method in ("POST", "DELETE"):
                self.limits.reset_stats()
            return Response.json(200, self.limits.stats())
        if request.path == "/_contour/limits/reset" and request.method == "POST":
            self.limits.reset_limits()
            return Response.json(200, {"status": "ok"})
        return super().admin(request)

    # -- API ----------------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        started = time.time()
        self.limits.request_seen()
        try:
            method, user_id = self._route(request)
            if not self.limits.admit(f"{request.client}|{user_id}", str(self.knobs.get("rate_plan"))):
                raise errors.query_limit()
            params = decode_query(request.query_string)
            params.update(decode_body(request.body, request.header("content-type")))
            if method == "batch":
                reply, timing = self._batch(params, user_id)
            else:
                reply, timing = self.execute(method, params, user_id)
        except errors.ApiError as exc:
            if exc.status not in (429, 503):
                self.limits.count("errors")
            return Response.json(exc.status, exc.body())
        body: dict[str, Any] = {"result": reply.result}
        if reply.next is not None:
            body["next"] = reply.next
        if reply.total is not None:
            body["total"] = reply.total
        body["time"] = self._timing(  # the whole request, from arrival
            started, time.time(), timing["processing"], timing["operating"], timing["operating_reset_at"]
        )
        action = write_action(method)
        if action and self.lost_answers.check(method, action):
            return faults.LostAnswer(200)
        return Response.json(200, body)

    def _batch(self, params: dict[str, Any], user_id: int) -> tuple[Reply, dict[str, Any]]:
        """``batch`` itself is not charged operating time (its sub-calls are, each to its own method)."""
        started, clock = time.time(), time.perf_counter()
        reply = batch.run(self, params, user_id)
        return reply, self._timing(started, time.time(), time.perf_counter() - clock, 0.0, int(started) + 600)

    def _route(self, request: Request) -> tuple[str, int]:
        if not request.path.startswith("/rest/"):
            raise errors.method_not_found()
        parts = request.path[len("/rest/") :].strip("/").split("/")
        if len(parts) < 2:
            params = decode_query(request.query_string) | decode_body(
                request.body, request.header("content-type")
            )
            if not params.get("auth"):
                raise errors.no_auth()
            raise errors.ApiError(401, "invalid_token", "The access token provided is invalid.")
        user, token, name = parts[0], parts[1], "/".join(parts[2:])
        if user != str(self.knobs.get("webhook_user")) or token != str(self.knobs.get("webhook_token")):
            raise errors.invalid_credentials()
        name = name.lower().removesuffix(".json").removesuffix(".xml")
        if not name:
            raise errors.method_not_found()
        return name, v.to_int(user) or 0

    def execute(self, method: str, params: dict[str, Any], user_id: int) -> tuple[Reply, dict[str, Any]]:
        """Run one method (top level or inside a batch): operating-time check and charge, then its events."""
        handler = REGISTRY.get(method)
        if handler is None:
            raise errors.method_not_found()
        webhook = str(user_id)
        started = time.time()
        blocked = self.limits.blocked(webhook, method, float(self.knobs.get("operating_limit_s")))
        if blocked:
            timing = self._timing(started, time.time(), 0.0, blocked[0], blocked[1])
            raise errors.operation_time_limit({"time": timing})
        call = Call(self, method, params, user_id)
        clock = time.perf_counter()
        try:
            reply = handler(call)
        finally:
            processing = time.perf_counter() - clock
            operating, reset_at = self.limits.charge(
                webhook, method, processing + float(self.knobs.get("operating_cost_s"))
            )
        for event, fields in call.events:
            self.events.emit(event, fields)
        return reply, self._timing(started, time.time(), processing, operating, reset_at)

    @staticmethod
    def _timing(
        start: float, finish: float, processing: float, operating: float, reset_at: int
    ) -> dict[str, Any]:
        return {
            "start": round(start, 6),
            "finish": round(finish, 6),
            "duration": round(finish - start, 6),
            "processing": round(processing, 6),
            "date_start": v.iso(int(start * v.US)),
            "date_finish": v.iso(int(finish * v.US)),
            "operating_reset_at": reset_at,
            "operating": round(operating, 6),
        }
