"""Faults of the contour's 1C emulator for one stretch of a test (it runs in the test process).

* :class:`FiveHundredsForAWhile`: the fault knob ``fault_5xx_rate`` at 1.0 until the emulator has answered
  ``n`` requests with its 5xx error (1C's ``-1`` "internal error" body), then back at 0.
* :class:`RejectWrite`: 1C refuses writes of the counterparty with one ИНН with a validation error (HTTP 400,
  internal code 4, the platform's "Неверное значение свойства" text): a write the target rejects for good.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from contour.onec.odata import error_response
from contour.web import Request, Response
from tests.contour_harness import RunningContour


class FiveHundredsForAWhile:
    """``with FiveHundredsForAWhile(contour, 3) as faults:`` the next 3 (or a few more, when parallel
    requests roll theirs before the knob is back at 0) 1C API requests get HTTP 500; ``faults.served``."""

    def __init__(self, contour: RunningContour, n: int) -> None:
        self.contour, self.n = contour, n
        self.app = contour.onec.app
        self.served = 0
        self._lock = threading.Lock()
        self._original = self.app.fault_response

    def _fault(self, request: Request) -> Response:
        with self._lock:
            self.served += 1
            if self.served >= self.n:
                self.app.knobs.update({"fault_5xx_rate": 0.0})
        return self._original(request)

    def __enter__(self) -> FiveHundredsForAWhile:
        self.app.fault_response = self._fault  # type: ignore[method-assign]
        self.contour.knobs("onec", fault_5xx_rate=1.0, fault_timeout_rate=0.0)
        return self

    def __exit__(self, *exc: object) -> None:
        self.contour.knobs("onec", fault_5xx_rate=0.0)
        self.app.fault_response = self._original  # type: ignore[method-assign]


class RejectWrite:
    """``with RejectWrite(contour, inn, detail):`` a POST or PATCH of ``Catalog_Контрагенты`` whose body has
    this ИНН gets HTTP 400 ``{"odata.error": {"code": "4", …}}``; ``rejected`` counts them."""

    ENTITY_SET = "Catalog_Контрагенты"

    def __init__(self, contour: RunningContour, inn: str, detail: str) -> None:
        self.app = contour.onec.app
        self.inn, self.detail = inn, detail
        self.rejected = 0
        self._original = self.app.handle

    def _handle(self, request: Request) -> Response:
        if request.method in ("POST", "PATCH") and self.ENTITY_SET in request.path and self._ours(request):
            self.rejected += 1
            return error_response(400, "4", f"Неверное значение свойства: {self.detail}")
        return self._original(request)

    def _ours(self, request: Request) -> bool:
        try:
            body: Any = json.loads(request.body or b"{}")
        except ValueError:
            return False
        return isinstance(body, dict) and body.get("ИНН") == self.inn

    def __enter__(self) -> RejectWrite:
        self.app.handle = self._handle  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        self.app.handle = self._original  # type: ignore[method-assign]
