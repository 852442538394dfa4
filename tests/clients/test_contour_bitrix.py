"""Bitrix24 client over real HTTPS against the contour emulator (faults, limits, batch, secrets, TLS)."""

from __future__ import annotations

import logging
import time
import traceback
from datetime import datetime
from functools import partial

import pytest

from crm1c.clients.bitrix24 import Bitrix24Client
from crm1c.clients.errors import AuthError, ExternalSystemError, NotFound, OutcomeUnknown, RetryableError
from crm1c.clients.ratelimit import PLANS, LocalBucket
from crm1c.clients.retry import RetryPolicy
from tests.clients.contour_env import admin, start

USER, TOKEN = "1", "contour0webhook0token"


@pytest.fixture
def contour(tmp_path):
    running = start(tmp_path, profile=None)
    yield running
    running.stop()


def client_for(running, **kwargs) -> Bitrix24Client:
    kwargs.setdefault("verify", str(running.ca_file))
    kwargs.setdefault("timeout", 10.0)
    return Bitrix24Client(running.bitrix_base, USER, TOKEN, conn_id="bitrix24_contour", **kwargs)


def seed_companies(client: Bitrix24Client, n: int, prefix: str) -> None:
    for start_at in range(0, n, 50):
        chunk = range(start_at, min(n, start_at + 50))
        cmds = {
            f"a{i}": ("crm.company.add", {"fields": {"TITLE": f"{prefix} {i}", "ORIGIN_ID": f"{prefix}-{i}"}})
            for i in chunk
        }
        result = client.batch(cmds)
        assert not result.errors, result.errors


def existing_origins(client: Bitrix24Client, keys: list[str]) -> dict[str, list[str]]:
    """ORIGIN_ID → IDs of companies having it (one read; ≤50 keys)."""
    env = client.call(
        "crm.company.list", {"filter": {"@ORIGIN_ID": keys}, "select": ["ID", "ORIGIN_ID"], "start": -1}
    )
    found: dict[str, list[str]] = {}
    for row in env["result"]:
        found.setdefault(row["ORIGIN_ID"], []).append(row["ID"])
    return found


def write_exactly_once(client: Bitrix24Client, keys: list[str]) -> int:
    """Create one company per key with batches; on OutcomeUnknown look up by ORIGIN_ID before re-adding."""
    unknown = 0
    pending = list(keys)
    while pending:
        chunk, pending = pending[:50], pending[50:]
        while chunk:
            try:
                result = client.batch(
                    {
                        f"k{i}": ("crm.company.add", {"fields": {"TITLE": k, "ORIGIN_ID": k}})
                        for i, k in enumerate(chunk)
                    }
                )
                assert not result.errors
                chunk = []
            except OutcomeUnknown:
                unknown += 1
                found = existing_origins(client, chunk)
                chunk = [k for k in chunk if k not in found]
    return unknown


@pytest.mark.slow
def test_503_storm_listing_and_writes_without_loss_or_duplicates(contour):
    client = client_for(contour, limiter=LocalBucket(PLANS["standard"]))
    seed_companies(client, 500, "seed")
    admin(contour, "bitrix", "/_contour/stats", {}, method="POST")
    contour.knobs("bitrix", rate_plan="standard", fault_5xx_rate=0.2, fault_seed=11)
    client.stats.reset()

    batched = [
        r for page in client.iter_list_batched("crm.company.list", select=["ID", "ORIGIN_ID"]) for r in page
    ]
    paged = [r for page in client.iter_list("crm.company.list", select=["ID", "ORIGIN_ID"]) for r in page]
    for rows in (batched, paged):
        ids = [int(r["ID"]) for r in rows]
        assert len(ids) == len(set(ids)) == 500 and ids == sorted(ids)
        assert {r["ORIGIN_ID"] for r in rows} == {f"seed-{i}" for i in range(500)}

    keys = [f"w-{i}" for i in range(200)]
    unknown = write_exactly_once(client, keys)
    contour.knobs("bitrix", fault_5xx_rate=0.0)
    written = [
        r
        for page in client.iter_list_batched(
            "crm.company.list", filter={"%ORIGIN_ID": "w-"}, select=["ID", "ORIGIN_ID"]
        )
        for r in page
    ]
    origins = [r["ORIGIN_ID"] for r in written]
    assert sorted(origins) == sorted(keys), "lost or duplicated writes"

    stats = admin(contour, "bitrix", "/_contour/stats")
    assert stats["rejected_503"] <= 2, stats
    assert client.stats.retries >= 1 and client.stats.requests < 120
    print(f"storm: client={client.stats.snapshot()} unknown_batches={unknown} server={stats}")


@pytest.mark.slow
def test_limiter_sustains_the_drain_rate_without_503(contour):
    contour.knobs("bitrix", rate_plan="standard", fault_5xx_rate=0.2)
    client = client_for(contour, limiter=LocalBucket(PLANS["standard"]))
    started = time.monotonic()
    for _ in range(60):
        client.call("crm.company.list", {"select": ["ID"], "start": -1})
    elapsed = time.monotonic() - started
    stats = admin(contour, "bitrix", "/_contour/stats")
    assert stats["rejected_503"] == 0 and client.stats.http_503 == 0
    assert client.stats.retries >= 1  # the 20 % faults were retried (reads)
    assert elapsed >= (60 - PLANS["standard"].capacity) / 2.0 - 0.5


def test_503_without_client_limiter_is_retried(contour):
    contour.knobs("bitrix", rate_plan="standard")
    client = client_for(contour, retry=RetryPolicy(max_attempts=20, base_delay=0.2, max_delay=1.0))
    for _ in range(60):
        client.call("crm.company.list", {"select": ["ID"], "start": -1})
    assert client.stats.http_503 >= 1 and client.stats.retries >= client.stats.http_503


def test_429_waits_until_operating_reset_at(contour):
    contour.knobs("bitrix", operating_limit_s=0.5, operating_cost_s=1.0)
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # time "passes": the portal lifts the block
        slept.append(seconds)
        admin(contour, "bitrix", "/_contour/limits/reset", {})

    client = client_for(contour, retry=RetryPolicy(sleep=sleep))
    client.call("crm.company.list", {"start": -1})
    client.call("crm.company.list", {"start": -1})  # blocked (429), waits, then succeeds
    assert client.stats.waits_429 == 1 and len(slept) == 1
    assert 539 <= slept[0] <= 602  # the emulator resets 9–10 min ahead (oldest one-minute basket + 10 min)


def test_batch_partial_errors_both_php_forms(contour):
    client = client_for(contour)
    seed_companies(client, 3, "b")
    result = client.batch(
        {
            "ok": ("crm.company.get", {"id": 1}),
            "missing": ("crm.company.get", {"id": 999999}),
            "also": "crm.company.get?id=2",
        }
    )
    assert result["ok"]["ID"] == "1" and result["also"]["ID"] == "2"
    assert isinstance(result.errors["missing"], NotFound) and result.succeeded == ["ok", "also"]
    numeric = client.batch({"0": ("crm.company.get", {"id": 1}), "1": ("crm.company.get", {"id": 3})})
    assert numeric["0"]["ID"] == "1" and numeric["1"]["ID"] == "3" and numeric.errors == {}
    halted = client.batch([("crm.company.get", {"id": 999999}), ("crm.company.get", {"id": 1})], halt=True)
    assert "cmd0" in halted.errors and halted.skipped == ["cmd1"]


def test_token_never_in_logs_or_exceptions(contour, caplog):
    client = client_for(contour)
    wrong = Bitrix24Client(
        contour.bitrix_base, USER, "wrongT0kenValue", verify=str(contour.ca_file), conn_id="b24_wrong"
    )
    closed = Bitrix24Client(
        "https://127.0.0.1:9", USER, TOKEN, verify=str(contour.ca_file), retry=RetryPolicy(max_attempts=1)
    )
    errors: list[BaseException] = []
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("urllib3").setLevel(logging.DEBUG)
        client.call("crm.company.list", {"start": -1})
        for bad in (
            lambda: client.call("crm.no.such.method"),
            lambda: wrong.call("crm.company.list"),
            lambda: closed.call("crm.company.list"),
        ):
            try:
                bad()
            except ExternalSystemError as exc:
                errors.append(exc)
    assert [type(e) for e in errors] == [NotFound, AuthError, RetryableError]
    assert "b24_wrong" in str(errors[1])
    texts = [
        *(r.getMessage() for r in caplog.records if not r.name.startswith("contour")),  # not the server's log
        *(str(e) for e in errors),
        *("".join(traceback.format_exception(e)) for e in errors),
    ]
    texts += [repr(client), repr(wrong)]
    assert any("/rest/1/***/" in r.getMessage() for r in caplog.records), "urllib3 debug lines were expected"
    for text in texts:
        assert TOKEN not in text and "wrongT0kenValue" not in text


def test_tls_without_the_contour_ca_is_refused(contour):
    client = Bitrix24Client(contour.bitrix_base, USER, TOKEN, verify=True, retry=RetryPolicy(max_attempts=3))
    with pytest.raises(ExternalSystemError) as info:
        client.call("crm.company.list")
    assert info.value.code == "TLS_VERIFY_FAILED" and not info.value.retryable and client.stats.requests == 1


def test_batched_listing_of_nested_crm_item_results(tmp_path):
    running = start(tmp_path / "items", profile="demo")
    try:
        client = client_for(running)
        spec = {"params": {"entityTypeId": 31}, "order_field": "id", "items_key": "items"}
        first = next(client.iter_list("crm.item.list", select=["id", "stageId", "categoryId"], **spec))[0]
        fields = {"stageId": first["stageId"], "categoryId": first["categoryId"]}
        cmds = {
            f"a{i}": ("crm.item.add", {"entityTypeId": 31, "fields": {"title": f"Счёт {i}", **fields}})
            for i in range(120)
        }
        for start_at in (0, 50, 100):
            assert not client.batch(dict(list(cmds.items())[start_at : start_at + 50])).errors
        client.stats.reset()
        pages = list(
            client.iter_list_batched("crm.item.list", select=["id", "title"], calls_per_batch=2, **spec)
        )
        ids = [r["id"] for p in pages for r in p]
        assert len(ids) == len(set(ids)) >= 120 and ids == sorted(ids)
        assert client.stats.requests == -(-(len(ids) + 1) // 100)  # 2 calls × 50 rows per request
    finally:
        running.stop()


def test_a_counted_chain_ends_without_an_empty_call_and_shares_requests(contour):
    client = client_for(contour)
    seed_companies(client, 100, "c")  # two full pages

    def read_all(count: bool) -> tuple[list[str], int]:
        chain = client.keyset_chain("crm.company.list", select=["ID"], count=count)
        before, ids = client.stats.requests, []
        while not chain.done:
            extra = {"fields": ("crm.company.fields", {})}  # another command in the same request
            page, fields = client.batch_read(
                {**chain.commands(2), **extra}, lambda r: (chain.read(r), r.results["fields"])
            )
            assert "TITLE" in fields
            chain.advance(page)
            ids += [str(row["ID"]) for row in page.rows]
        return ids, client.stats.requests - before

    counted, counted_requests = read_all(count=True)
    probed, probed_requests = read_all(count=False)
    assert counted == probed and len(set(counted)) == 100
    assert (counted_requests, probed_requests) == (1, 2)  # without the count, a full last page needs a probe


def test_a_listing_keeps_when_the_portal_started_its_first_request(contour):
    """``date_start``: the portal's time (whole seconds) of the listing's first request, not a later one's."""
    client = client_for(contour)
    seed_companies(client, 60, "t")  # two pages
    for lister in (client.iter_list, partial(client.iter_list_batched, calls_per_batch=1)):
        listing = lister("crm.company.list", select=["ID"])
        assert listing.date_start is None, "no request made yet"
        before = int(time.time())
        first = next(listing)
        after = time.time()
        time.sleep(1.05 - time.time() % 1)  # the second page is read in a later second
        rest = [row for page in listing for row in page]
        assert len(first) + len(rest) == 60 and listing.date_start
        assert before <= datetime.fromisoformat(listing.date_start).timestamp() <= after
    empty = client.iter_list_batched("crm.company.list", filter={"ORIGIN_ID": "none"})
    assert list(empty) == [] and empty.date_start, "a listing that found nothing started too"
