"""The guide's check 8: a large export leaves API headroom for the people working in the CRM.

Bitrix24 keeps one leaky bucket per portal and source IP (protocols.md C.13: standard plan 2 requests/s,
burst 50): every app and webhook calling the portal from that IP shares it with the sync. The sync's limiter
therefore leaves a ``reserve`` of the drain rate to the others (``BucketSpec.reserve``; the Bitrix24
connection's default 0.2).

Against a contour at ``rate_plan=standard``: a full sync of a few hundred counterparties (most of its
requests are ``load_crm`` batches) with ``reserve=0.25`` while "people" — another app on the same webhook
and IP, without a limiter — send one request every 1/(0.3 × 2) s, 30 % of the drain rate. The export's
first phase has already used the burst (the sync client sends 45 reads through its own limiter first), so
every request of the run is paced by the drain rate, as in the long tail of a real export. None of the
people's requests may get 503 QUERY_LIMIT_EXCEEDED; the share of the portal's rate the sync left free is
printed and checked. The same run without a reserve is the control: the shared bucket overflows and the
portal refuses whoever comes at the brim (the sync's own request or a person's).

The people here take 5 % more than the reserve: that excess fills the limiter's safety margin (5 requests
below the burst) at 0.1 request/s, which a run of this length absorbs; over a long saturated export only the
reserved share itself (0.5 request/s at 25 %) is guaranteed.

The hook's part (the ``reserve`` extra of the connection, its default and its validation) is checked too.
"""

from __future__ import annotations

import itertools
import json
import ssl
import statistics
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from crm1c.clients.bitrix24 import Bitrix24Client
from crm1c.clients.errors import ExternalSystemError
from crm1c.clients.ratelimit import LocalBucket, NoLimit, RateLimiter
from crm1c.clients.retry import NO_RETRY
from crm1c.staging.ratelimit import SqlBucket, make_limiter
from tests.contour_harness import BITRIX_TOKEN, BITRIX_USER, RunningContour, start_contour
from tests.sync.harness import clients, contour_admin, run_sync, staging_for

DRAIN, BURST = 2.0, 50  # the standard plan of the contour
RESERVE = 0.25
PEOPLE_SHARE = 0.3  # of the drain rate: one request every 1/(0.3 × 2) s
RECORDS = 800  # counterparties (scale profile): ~25 Bitrix24 requests, most of them load_crm batches
WARM_UP = 45  # the limiter's capacity (burst 50 minus its margin of 5)


class Recording:
    """A limiter that notes when each request was let through and whether it had to wait for it."""

    def __init__(self, inner: RateLimiter) -> None:
        self.inner = inner
        self.sent: list[tuple[float, float]] = []  # (monotonic time, seconds waited)

    def acquire(self) -> float:
        waited = self.inner.acquire()
        self.sent.append((time.monotonic(), waited))
        return waited

    def penalize(self) -> None:
        self.inner.penalize()


class People(threading.Thread):
    """Someone working on the portal through another app: same webhook and IP (so the same bucket as the
    sync), no limiter of its own and no retries (each refusal counts), one request every ``interval`` s."""

    def __init__(self, contour: RunningContour, interval: float) -> None:
        super().__init__(name="people", daemon=True)
        self.interval = interval
        self.client = Bitrix24Client(
            contour.bitrix_base, BITRIX_USER, BITRIX_TOKEN, verify=str(contour.ca_file), retry=NO_RETRY
        )
        self.done = 0
        self.refused: list[str] = []
        self._quit = threading.Event()

    def run(self) -> None:
        due = time.monotonic()
        while not self._quit.wait(max(0.0, due - time.monotonic())):
            try:
                self.client.call("crm.company.list", {"select": ["ID", "TITLE"], "start": -1})
                self.done += 1
            except ExternalSystemError as exc:
                self.refused.append(str(exc))
            due += self.interval

    def stop(self) -> None:
        self._quit.set()
        self.join(timeout=10)
        self.client.close()

    @property
    def query_limit_exceeded(self) -> int:
        return int(self.client.stats["http_503"])


@dataclass
class Figures:
    """What one export alongside the people showed."""

    reserve: float
    sync_requests: int  # HTTP requests of the sync client during the run (warm-up excluded)
    paced_rate: float  # requests/s between two sync requests that both waited for their slot (median)
    sync_seconds: float  # the run, from its first step to the end of publish
    people_done: int
    people_503: int
    portal: dict[str, Any]  # /_contour/stats of the Bitrix24 emulator

    @property
    def sync_rate(self) -> float:
        return self.sync_requests / self.sync_seconds

    @property
    def left_free(self) -> float:
        """The share of the portal's drain rate left free while the sync is rate-bound (paced req/s ÷ 2)."""
        return 1.0 - self.paced_rate / DRAIN

    @property
    def left_free_over_the_run(self) -> float:
        """The same over the whole run (sync requests/s ÷ 2): the bucket's unused slack at the start and the
        steps that make no Bitrix24 request count in."""
        return 1.0 - self.sync_rate / DRAIN

    def line(self) -> str:
        share, free, run = self.paced_rate / DRAIN, max(0.0, self.left_free), self.left_free_over_the_run
        portal = self.portal
        return (
            f"reserve {self.reserve:.2f}: sync paced at {self.paced_rate:.2f}/s = {share:.0%} of the "
            f"portal's {DRAIN:.0f}/s, left free {free:.0%}; over the run {self.sync_requests} "
            f"requests in {self.sync_seconds:.1f} s = {self.sync_rate:.2f}/s, left free {run:.0%}; people "
            f"{self.people_done} ok, {self.people_503} × 503; portal {portal['requests']} requests, "
            f"{portal['rejected_503']} × 503, {portal['rejected_429']} × 429"
        )


def _admin_post(contour: RunningContour, path: str) -> None:
    ctx = ssl.create_default_context(cafile=str(contour.ca_file))
    req = urllib.request.Request(f"https://127.0.0.1:{contour.bitrix_port}/_contour/{path}", method="POST")
    with urllib.request.urlopen(req, timeout=5, context=ctx) as resp:  # noqa: S310  (the test's own contour)
        json.load(resp)


def export_alongside_people(contour: RunningContour, scratch: Path, reserve: float) -> Figures:
    """Seed the contour afresh, empty the portal's bucket and statistics, then run one full sync with a
    limiter keeping ``reserve`` while the people work."""
    contour.seed("scale", RECORDS)
    _admin_post(contour, "limits/reset")
    _admin_post(contour, "stats")
    staging = staging_for(f"sqlite:///{scratch / f'staging-{reserve}.db'}")
    crm, onec = clients(contour)
    limiter = Recording(make_limiter("standard", reserve=reserve))
    crm.limiter = limiter
    for _ in range(WARM_UP):  # the export's first phase: the burst is used up
        crm.call("crm.company.list", {"select": ["ID"], "start": -1})
    people = People(contour, 1 / (PEOPLE_SHARE * DRAIN))
    people.start()
    started, first = time.monotonic(), len(limiter.sent)
    try:
        run_sync(staging, crm, onec, mode="full")
    finally:
        people.stop()
        staging.engine.dispose()
    seconds = time.monotonic() - started
    ours = limiter.sent[first:]
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(ours) if a[1] > 0 and b[1] > 0]  # both waited
    assert len(gaps) >= 5, f"the sync was never rate-bound ({len(ours)} requests): nothing was measured"
    return Figures(
        reserve=reserve,
        sync_requests=len(ours),
        paced_rate=1 / statistics.median(gaps),
        sync_seconds=seconds,
        people_done=people.done,
        people_503=people.query_limit_exceeded,
        portal=contour_admin(contour, "bitrix", "stats"),
    )


@pytest.fixture
def standard_contour(scratch: Path):
    running = start_contour(scratch / "contour", profile=None)
    running.knobs("bitrix", rate_plan="standard")
    yield running
    running.stop()


def test_a_large_export_leaves_the_reserved_share_of_the_rate_to_people(
    standard_contour: RunningContour,
    scratch: Path,
) -> None:
    kept = export_alongside_people(standard_contour, scratch, RESERVE)
    greedy = export_alongside_people(standard_contour, scratch, 0.0)
    print(
        f"\ncheck 8 (API headroom), standard plan {DRAIN:.0f}/s burst {BURST}, people at {PEOPLE_SHARE:.0%}:"
    )
    print(f"  {kept.line()}\n  {greedy.line()}")

    assert kept.people_done >= 0.8 * kept.sync_seconds * PEOPLE_SHARE * DRAIN, "the people kept working"
    assert kept.people_503 == 0, f"people refused with QUERY_LIMIT_EXCEEDED: {kept.line()}"
    assert kept.portal["rejected_503"] == 0 and kept.portal["rejected_429"] == 0, kept.line()
    assert kept.paced_rate == pytest.approx(DRAIN * (1 - RESERVE), rel=0.05), kept.line()
    assert kept.left_free == pytest.approx(RESERVE, abs=0.03), kept.line()
    assert kept.sync_rate >= DRAIN * (1 - RESERVE) * 0.8, f"the sync was not rate-bound: {kept.line()}"
    assert kept.left_free_over_the_run >= 0.2, kept.line()
    # the control: the same export taking the whole rate overflows the bucket it shares with the people
    assert greedy.paced_rate == pytest.approx(DRAIN, rel=0.05), greedy.line()
    assert greedy.portal["rejected_503"] > 0, f"without a reserve the portal should refuse: {greedy.line()}"


# ----------------------------------------------------------------------------- the hook's extra


@pytest.fixture
def bitrix_connection(monkeypatch: pytest.MonkeyPatch):
    def set_extra(**extra: Any) -> None:
        conn = {
            "conn_type": "http", "host": "portal.example.ru", "schema": "https", "login": "1",
            "password": "headroom0webhook0token", "extra": extra,
        }  # fmt: skip
        monkeypatch.setenv("AIRFLOW_CONN_B24_HEADROOM", json.dumps(conn))

    return set_extra


def test_the_connection_leaves_a_fifth_of_the_rate_by_default_and_takes_a_reserve_extra(
    bitrix_connection, tmp_path: Path
) -> None:
    import sqlalchemy as sa

    from crm1c.hooks.bitrix24 import DEFAULT_RESERVE, Bitrix24Hook
    from crm1c.staging.ratelimit import metadata

    bitrix_connection(plan="standard")
    default = Bitrix24Hook("b24_headroom").get_client().limiter
    assert isinstance(default, LocalBucket) and DEFAULT_RESERVE == 0.2
    assert (default.spec.reserve, default.spec.rate) == (0.2, pytest.approx(1.6))
    bitrix_connection(plan="enterprise", reserve=0.25)
    assert Bitrix24Hook("b24_headroom").get_client().limiter.spec.rate == pytest.approx(3.75)  # type: ignore[attr-defined]
    bitrix_connection(plan="standard", reserve="0.5", limiter="sql")
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'rl.db'}")
    metadata.create_all(engine)
    sql = Bitrix24Hook("b24_headroom", limiter_engine=engine).get_client().limiter
    assert isinstance(sql, SqlBucket) and sql.spec.rate == 1.0
    engine.dispose()
    bitrix_connection(plan="off", reserve=0)
    assert isinstance(Bitrix24Hook("b24_headroom").get_client().limiter, NoLimit)


@pytest.mark.parametrize("bad", [1, 1.0, -0.1, "much", True, None, [0.2]])
def test_a_reserve_outside_0_to_1_is_refused(bitrix_connection, bad: Any) -> None:
    from crm1c.hooks.bitrix24 import Bitrix24Hook

    bitrix_connection(plan="standard", reserve=bad)
    with pytest.raises(
        ValueError, match=r"connection 'b24_headroom': extra 'reserve' must be .* 0 <= reserve < 1"
    ):
        Bitrix24Hook("b24_headroom").get_client()
