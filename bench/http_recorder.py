"""Every HTTP request of the two measured clients, seen through what the clients take from outside: the
Bitrix24 client's per-thread Session (``session_factory``) and limiter (``limiter``), whose answers are
decoded here once and handed to the client as they are; the 1C client's ``observer``, told of each answer
it decoded. Nothing of theirs is patched."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import unquote, urlsplit

import requests

from bench.measure import CrmEvent
from crm1c.clients.bitrix24 import is_read_method
from crm1c.clients.onec import Answer
from crm1c.clients.ratelimit import RateLimiter
from crm1c.clients.transport import environment_session

log = logging.getLogger("bench")

#: ``record(verb, url, json_payload, send)``: sends the request with ``send()`` and returns its response.
Record = Callable[[str, str, Any, Callable[[], requests.Response]], requests.Response]


class LimiterProbe:
    """The Bitrix24 client's limiter: remembers, per thread, how long the request about to go out waited for
    the bucket. ``inner`` is the limiter in force (swapped when the bench lifts the limit)."""

    def __init__(self, inner: RateLimiter) -> None:
        self.inner = inner
        self.local = threading.local()

    def acquire(self) -> float:
        waited = self.inner.acquire()
        self.local.waited = waited
        return waited

    def penalize(self) -> None:
        self.inner.penalize()

    def take_waited(self) -> float:
        """The wait of this thread's last request (0 once taken)."""
        waited = float(getattr(self.local, "waited", 0.0) or 0.0)
        self.local.waited = 0.0
        return waited


class RecordingSession(requests.Session):
    """A client's Session, set up as :func:`environment_session` sets one up, whose every request goes
    through ``record``."""

    def __init__(self, base_url: str, record: Record) -> None:
        super().__init__()
        configured = environment_session(base_url)
        self.trust_env, self.verify = configured.trust_env, configured.verify
        self.proxies.update(configured.proxies)
        configured.close()
        self._record = record

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        send = partial(super().request, method, url, *args, **kwargs)
        return self._record(str(method), str(url), kwargs.get("json"), send)


class DecodedResponse(requests.Response):
    """A response whose JSON body was decoded by the recorder: ``json()`` returns that body."""

    def __init__(self, resp: requests.Response, body: Any) -> None:
        super().__init__()
        self.__dict__.update(vars(resp))
        self.body = body

    def json(self, **kwargs: Any) -> Any:
        return self.body


class Recorder:
    """Bitrix24: one :class:`CrmEvent` per request; 1C: counters only, so that 100k writes do not inflate
    the RSS being measured. A failed request (transport error, HTTP error, an answer the client rejects)
    counts as an error by name, not as a request."""

    def __init__(self, crm_limiter: RateLimiter, trace: bool = False) -> None:
        self.trace = trace
        self.probe = LimiterProbe(crm_limiter)
        self.crm_events: list[CrmEvent] = []
        self.crm_errors: Counter[str] = Counter()
        self.onec: Counter[str] = Counter()
        self.onec_time: defaultdict[str, float] = defaultdict(float)  # seconds by verb
        self._lock = threading.Lock()

    def crm_sessions(self, base_url: str) -> Callable[[], requests.Session]:
        """The Bitrix24 client's ``session_factory``."""
        return partial(RecordingSession, base_url, self._crm_request)

    def onec_observer(self, answer: Answer) -> None:
        """The 1C client's ``observer``: counts by verb, rows and seconds; errors by name."""
        if answer.status == 0:
            self._count_onec(f"error_{answer.error}")
            return
        if answer.status >= 400:
            self._count_onec(f"error_http_{answer.status}")
            return
        body = answer.body
        rows = len(body["value"]) if isinstance(body, dict) and isinstance(body.get("value"), list) else 0
        if self.trace:
            what = unquote(urlsplit(answer.url).path.rsplit("/", 1)[-1])
            log.info("1C %s %s rows=%d http=%.3f", answer.verb, what, rows, answer.seconds)
        with self._lock:
            self.onec[answer.verb] += 1
            self.onec["rows"] += rows
            self.onec_time[answer.verb] += answer.seconds

    def onec_snapshot(self) -> tuple[dict, dict]:
        with self._lock:
            return dict(self.onec), dict(self.onec_time)

    def _crm_request(
        self, verb: str, url: str, payload: Any, send: Callable[[], requests.Response]
    ) -> requests.Response:
        method = urlsplit(url).path.rsplit("/", 1)[-1].removesuffix(".json")
        waited = self.probe.take_waited()
        t0 = time.perf_counter()
        try:
            resp = send()
        except requests.RequestException as exc:
            self.crm_errors[type(exc).__name__] += 1
            raise
        decoded, body = _decode(resp)
        t1 = time.perf_counter()
        if (
            resp.status_code >= 400
            or not isinstance(body, dict)
            or ("error" in body and "result" not in body)
        ):
            error = body.get("error") if isinstance(body, dict) else None
            self.crm_errors[str(error or f"http_{resp.status_code}")] += 1
            return DecodedResponse(resp, body) if decoded else resp
        rows, wasted, cmds, write = 0, 0, 1, not is_read_method(method)
        written = int(write)
        names: Counter[str] = Counter()
        if method == "batch":
            cmd = (payload or {}).get("cmd") or {}
            cmds = len(cmd)
            names.update(str(c).split("?", 1)[0] for c in cmd.values())
            written = sum(n for m, n in names.items() if not is_read_method(m))
            write = written > 0
            rows, wasted = _batch_rows(cmd, body)
        else:
            names[method] += 1
            if isinstance(body.get("result"), list):
                rows = len(body["result"])
        server = float((body.get("time") or {}).get("processing") or 0.0)
        self.crm_events.append(CrmEvent(t0, t1, rows, cmds, write, waited, server, wasted, written))
        if self.trace:
            log.info(
                "B24 %s %s rows=%d wasted=%d waited=%.2f http=%.3f server=%.3f",
                method,
                dict(names),
                rows,
                wasted,
                waited,
                t1 - t0,
                server,
            )
        return DecodedResponse(resp, body)

    def _count_onec(self, name: str) -> None:
        with self._lock:
            self.onec[name] += 1


def _decode(resp: requests.Response) -> tuple[bool, Any]:
    """(decoded, body): the answer's JSON, once."""
    if not resp.content:
        return False, None
    try:
        return True, resp.json()
    except ValueError:
        return False, None


def _batch_rows(cmd: dict, body: dict) -> tuple[int, int]:
    """(rows kept, rows wasted) of a batch answer: a chained list call after a short page re-reads rows the
    client discards."""
    inner = (body.get("result") or {}).get("result") or {}
    results = inner if isinstance(inner, dict) else {str(i): x for i, x in enumerate(inner)}
    rows = wasted = 0
    short = False
    for key, text in cmd.items():
        value = results.get(str(key))
        n_rows = len(value) if isinstance(value, list) else 0
        if short and "$result[" in str(text):
            wasted += n_rows
            continue
        rows += n_rows
        short = "$result[" in str(text) or str(key) == "p0"
        short = short and n_rows < 50
    return rows, wasted
