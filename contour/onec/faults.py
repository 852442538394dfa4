"""The "applied, then the answer was lost" fault of the 1C emulator: a write is made and committed, then the
connection drops before any byte of the answer leaves, so the client sees a connection error, not an HTTP
response — and the object exists on a later read.

Knobs (``/_contour/knobs``, env ``CONTOUR_ONEC_<KNOB>``), in the style of the common fault knobs:

* ``fault_lost_answer_rate`` — share (0..1) of the selected writes that lose their answer (the common
  ``fault_seed`` makes the sequence reproducible);
* ``fault_lost_answer_next`` — the next N selected writes lose their answer (counts down to 0; checked first);
* ``fault_lost_answer_on`` — which writes: ``""`` or ``*`` every write, else a comma list of selectors, each
  an entity set (``Document_СчетНаОплатуПокупателю``), an action (``create`` ``update`` ``delete`` ``post``
  ``unpost``) or both (``Document_РеализацияТоваровУслуг/post``).

Actions: POST to a set = create; PATCH/PUT/MERGE = update (record sets too); DELETE = delete; POST …/Post and
…/Unpost = post/unpost. Only writes that succeeded (2xx) lose their answer: a refused write is answered.

Mechanism: the app answers with :class:`LostAnswer`; the shared server (:mod:`contour.web`) buffers the status
line and headers and reads the body before it sends anything, and reading this body raises
``ConnectionAbortedError``: the server then closes the socket without having sent a byte (logged at debug).
"""

from __future__ import annotations

import random
import threading
from typing import Any

from contour.web import Knobs, Response

KNOBS: dict[str, Any] = {
    "fault_lost_answer_rate": 0.0,
    "fault_lost_answer_next": 0,
    "fault_lost_answer_on": "",
}
ACTIONS = ("create", "update", "delete", "post", "unpost")


class LostAnswer(Response):
    """An answer that never leaves: the server drops the connection when it reads the body."""

    def __init__(self, status: int):
        self.status, self.headers = status, {}

    @property
    def body(self) -> bytes:
        raise ConnectionAbortedError("contour: the write was made, its answer is lost (fault_lost_answer)")

    @body.setter
    def body(self, value: bytes) -> None:  # the dataclass base assigns it; nothing to keep
        pass


def action_of(method: str, has_key: bool, segment: str | None) -> str:
    """The write action of a request (see the module docstring)."""
    if method == "POST" and segment in ("Post", "Unpost"):
        return segment.lower()
    if method == "POST" and not has_key:
        return "create"
    return "delete" if method == "DELETE" else "update"


def selected(selectors: str, set_name: str, action: str) -> bool:
    items = [s.strip() for s in str(selectors or "").split(",") if s.strip()]
    if not items or "*" in items:
        return True
    return any(item in (set_name, action, f"{set_name}/{action}") for item in items)


class LostAnswers:
    """Decides, write by write, whether its answer is lost (thread-safe: the countdown is shared)."""

    def __init__(self, knobs: Knobs, rng: random.Random):
        self.knobs, self.rng = knobs, rng
        self.lock = threading.Lock()

    def check(self, set_name: str, action: str) -> bool:
        if not selected(self.knobs.get("fault_lost_answer_on"), set_name, action):
            return False
        with self.lock:
            left = int(self.knobs.get("fault_lost_answer_next") or 0)
            if left > 0:
                self.knobs.update({"fault_lost_answer_next": left - 1})
                return True
            rate = float(self.knobs.get("fault_lost_answer_rate") or 0)
            return rate > 0 and self.rng.random() < rate
