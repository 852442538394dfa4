"""Outbound events (an "outgoing webhook"): form-encoded POSTs to ``event_handler_url`` from a thread.

Like the real queue server: only the entity ID is sent, delivery happens shortly after the change, and a
failed delivery is not retried. Which events are sent is the knob ``event_names`` (comma list, ``*``: all).
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
import urllib.request
import zlib
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from contour.bitrix.phpparams import encode

if TYPE_CHECKING:
    from contour.bitrix.app import BitrixApp

log = logging.getLogger("contour.bitrix.events")


def member_id(domain: str) -> str:
    return hashlib.md5(domain.encode(), usedforsecurity=False).hexdigest()


def payload(event: str, fields: dict[str, Any], domain: str, token: str) -> list[tuple[str, str]]:
    """The form fields of one event, in the order real portals send them."""
    return encode(
        {
            "event": event,
            "event_handler_id": str(zlib.crc32(event.encode()) % 997 + 1),
            "data": {"FIELDS": {k: str(val) for k, val in fields.items()}},
            "ts": str(int(time.time())),
            "auth": {
                "domain": domain,
                "client_endpoint": f"https://{domain}/rest/",
                "server_endpoint": "https://oauth.bitrix.info/rest/",
                "member_id": member_id(domain),
                "application_token": token,
            },
        }
    )


class Events:
    def __init__(self, app: BitrixApp):
        self.app = app
        self._queue: queue.Queue[tuple[str, list[tuple[str, str]], float]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def wanted(self, event: str) -> str | None:
        """The handler URL when this event is configured, else ``None``."""
        knobs = self.app.knobs
        url = str(knobs.get("event_handler_url") or "").strip()
        names = {n.strip().upper() for n in str(knobs.get("event_names")).split(",") if n.strip()}
        if not url.startswith(("http://", "https://")) or ("*" not in names and event.upper() not in names):
            return None
        return url

    def emit(self, event: str, fields: dict[str, Any]) -> None:
        url = self.wanted(event)
        if url is None:
            return
        knobs = self.app.knobs
        body = payload(
            event.upper(), fields, str(knobs.get("portal_domain")), str(knobs.get("application_token"))
        )
        delay = float(knobs.get("event_delay_ms")) / 1000.0
        for _ in range(max(1, int(knobs.get("event_copies")))):
            self._queue.put((url, body, time.monotonic() + delay))
        self._ensure_thread()

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="bitrix-events", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            url, body, due = self._queue.get()
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._deliver(url, body)

    def _deliver(self, url: str, body: list[tuple[str, str]]) -> None:
        data = urlencode(body).encode()
        request = urllib.request.Request(  # noqa: S310 - the operator's handler URL
            url,
            data=data,
            method="POST",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "User-Agent": "Bitrix24 Webhook Engine",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - operator's URL
                response.read()
            self.app.limits.count("events_sent")
        except OSError as exc:  # no retries, like the real queue
            log.warning("event delivery to %s failed: %s", url, exc)
            self.app.limits.count("events_failed")
