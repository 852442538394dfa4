"""Bitrix24 client against an in-process fake transport: URLs, secrets, errors, retries, batch, listing."""

from __future__ import annotations

import json
import logging

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError

from crm1c.clients.bitrix24 import Bitrix24Client, is_read_method
from crm1c.clients.errors import (
    AuthError,
    ExternalSystemError,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    RetryableError,
    ValidationRejected,
)
from crm1c.clients.retry import RetryPolicy
from tests.clients.fake_bitrix import FakeBitrix
from tests.clients.fakes import FakeAdapter, Reply, session_factory

TOKEN = "s3cr3tW3bh00kT0ken"
BASE = "https://portal.test"


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, s: float) -> None:
        self.calls.append(s)


def make_client(handler, *, limiter=None, attempts=5, sleeps=None):
    adapter = FakeAdapter(handler)
    policy = RetryPolicy(max_attempts=attempts, base_delay=0.01, sleep=sleeps or Sleeps())
    client = Bitrix24Client(
        BASE, "1", TOKEN, limiter=limiter, retry=policy, conn_id="bitrix24_test",
        session_factory=session_factory(adapter),
    )  # fmt: skip
    return client, adapter


def sequence(*replies):
    items = list(replies)

    def handler(request):
        item = items.pop(0) if len(items) > 1 else items[0]
        if isinstance(item, Exception):
            raise item
        return item

    return handler


def test_call_posts_json_to_the_webhook_url():
    client, adapter = make_client(lambda r: Reply(200, {"result": {"ID": "1"}, "time": {"operating": 0.1}}))
    envelope = client.call("crm.company.get", {"id": 1})
    request = adapter.seen[0]
    assert envelope["result"] == {"ID": "1"}
    assert request.method == "POST" and request.url == f"{BASE}/rest/1/{TOKEN}/crm.company.get.json"
    assert json.loads(request.body) == {"id": 1}
    assert client.stats.requests == 1


def test_constructor_guards():
    with pytest.raises(ValueError, match="cannot be disabled"):
        Bitrix24Client(BASE, "1", TOKEN, verify=False)
    with pytest.raises(ValueError):
        Bitrix24Client(BASE, "1", "tok/../../x")
    client = Bitrix24Client(BASE, "1", TOKEN, verify="/etc/ssl/ca.pem")
    assert TOKEN not in repr(client) and "***" in repr(client)
    with pytest.raises(ValueError):
        client.call("crm.company.get?x=1")


def test_read_method_detection():
    assert (
        is_read_method("crm.company.list")
        and is_read_method("crm.item.get")
        and is_read_method("crm.deal.fields")
    )
    assert not is_read_method("crm.company.add") and not is_read_method("crm.deal.productrows.set")


def test_transport_errors_never_carry_the_token():
    leak = requests.exceptions.ConnectionError(
        "HTTPSConnectionPool(host='portal.test', port=443): Max retries exceeded with url: "
        f"/rest/1/{TOKEN}/x.json"
    )
    client, _ = make_client(sequence(leak), attempts=2)
    with pytest.raises(RetryableError) as info:
        client.call("crm.company.list")
    err = info.value
    assert TOKEN not in str(err) and TOKEN not in repr(err) and "***" in str(err)
    assert err.__cause__ is None and err.__context__ is None


def test_urllib3_debug_logs_are_scrubbed(caplog):
    Bitrix24Client(BASE, "1", TOKEN)
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("urllib3.connectionpool").debug(
            '%s "%s %s" 200', BASE, "POST", f"/rest/1/{TOKEN}/a.json"
        )
    assert caplog.records and all(TOKEN not in r.getMessage() for r in caplog.records)


def test_auth_error_names_the_connection_and_hides_the_token():
    body = {"error": "NO_AUTH_FOUND", "error_description": f"Wrong authorization data {TOKEN}"}
    client, adapter = make_client(lambda r: Reply(401, body))
    with pytest.raises(AuthError) as info:
        client.call("crm.company.list")
    text = str(info.value)
    assert "bitrix24_test" in text and "webhook token" in text and TOKEN not in text
    assert len(adapter.seen) == 1  # never retried


def test_query_limit_503_is_retried_even_for_writes():
    class Spy:
        penalties = 0

        def acquire(self):
            return 0.0

        def penalize(self):
            Spy.penalties += 1

    busy = Reply(503, {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"})
    client, adapter = make_client(sequence(busy, Reply(200, {"result": 7})), limiter=Spy())
    assert client.call("crm.company.add", {"fields": {"TITLE": "x"}})["result"] == 7
    assert len(adapter.seen) == 2 and client.stats.http_503 == 1 and client.stats.retries == 1
    assert Spy.penalties == 1


def test_5xx_on_a_write_is_outcome_unknown_but_a_read_is_retried():
    err500 = Reply(500, {"error": "INTERNAL_SERVER_ERROR", "error_description": "Internal server error"})
    client, adapter = make_client(sequence(err500, Reply(200, {"result": 1})))
    with pytest.raises(OutcomeUnknown):
        client.call("crm.company.add", {"fields": {"TITLE": "x"}})
    assert len(adapter.seen) == 1
    client, adapter = make_client(sequence(err500, Reply(200, {"result": []})))
    assert client.call("crm.company.list")["result"] == []
    assert len(adapter.seen) == 2


def test_connect_failures_prove_not_sent_and_timeouts_do_not():
    refused = requests.exceptions.ConnectionError(
        MaxRetryError(None, "/", NewConnectionError(None, "Failed to establish a new connection"))
    )
    client, adapter = make_client(sequence(refused, Reply(200, {"result": 9})))
    assert client.call("crm.company.add", {"fields": {}})["result"] == 9 and len(adapter.seen) == 2
    client, adapter = make_client(
        sequence(requests.exceptions.ReadTimeout("read timed out"), Reply(200, {"result": 9}))
    )
    with pytest.raises(OutcomeUnknown):
        client.call("crm.company.add", {"fields": {}})
    assert len(adapter.seen) == 1


def test_429_waits_until_operating_reset_at():
    sleeps = Sleeps()
    import time

    reset = time.time() + 30
    blocked = Reply(
        429,
        {
            "error": "OPERATION_TIME_LIMIT",
            "error_description": "blocked",
            "time": {"operating_reset_at": reset},
        },
    )
    client, _ = make_client(sequence(blocked, Reply(200, {"result": []})), sleeps=sleeps)
    client.call("crm.company.list")
    assert client.stats.waits_429 == 1 and 29 <= sleeps.calls[0] <= 32


def test_429_error_carries_reset_at():
    blocked = Reply(
        429, {"error": "OPERATION_TIME_LIMIT", "error_description": "blocked"}, headers={"Retry-After": "12"}
    )
    client, _ = make_client(lambda r: blocked, attempts=1)
    with pytest.raises(RateLimited) as info:
        client.call("crm.company.list")
    assert info.value.reset_at is not None and info.value.status == 429


def test_business_errors_and_200_with_error_body():
    client, _ = make_client(lambda r: Reply(400, {"error": "", "error_description": "Not found"}))
    with pytest.raises(NotFound):
        client.call("crm.company.get", {"id": 5})
    client, _ = make_client(
        lambda r: Reply(400, {"error": "", "error_description": "Parameter 'fields' must be array."})
    )
    with pytest.raises(ValidationRejected):
        client.call("crm.company.add", {"fields": {}})
    client, _ = make_client(lambda r: Reply(200, {"error": "ERROR_CORE", "error_description": "bad e-mail"}))
    with pytest.raises(ValidationRejected):
        client.call("crm.company.add", {"fields": {}})


def test_batch_limits_are_checked_before_any_request():
    client, adapter = make_client(lambda r: Reply(200, {"result": {}}))
    with pytest.raises(ValidationRejected):
        client.batch([("crm.company.get", {"id": i}) for i in range(51)])
    with pytest.raises(ValidationRejected):
        client.batch({"a": "batch?cmd[x]=y"})
    assert adapter.seen == []


def test_batch_results_and_partial_errors_object_form():
    answer = {"result": {
        "result": {"a": {"ID": "1"}},
        "result_error": {"b": {"error": "", "error_description": "Not found"}},
        "result_total": [], "result_next": [], "result_time": {"a": {"duration": 0.1}},
    }}  # fmt: skip
    client, adapter = make_client(lambda r: Reply(200, answer))
    result = client.batch({"a": ("crm.company.get", {"id": 1}), "b": ("crm.company.get", {"id": 2})})
    sent = json.loads(adapter.seen[0].body)
    assert sent == {"halt": 0, "cmd": {"a": "crm.company.get?id=1", "b": "crm.company.get?id=2"}}
    assert result["a"] == {"ID": "1"} and result.ok("a") and not result.ok("b")
    with pytest.raises(NotFound):
        result["b"]
    assert result.succeeded == ["a"] and result.skipped == []


def test_batch_php_array_forms_and_halt():
    answer = {"result": {"result": [{"ID": "1"}], "result_error": [], "result_total": [], "result_next": []}}
    client, adapter = make_client(lambda r: Reply(200, answer))
    result = client.batch(["crm.company.get?id=1", "crm.company.get?id=2"], halt=True)
    assert json.loads(adapter.seen[0].body)["halt"] == 1
    assert result.results == {"cmd0": {"ID": "1"}} and result.errors == {} and result.skipped == ["cmd1"]


def test_batch_with_writes_is_a_write():
    err500 = Reply(500, {"error": "INTERNAL_SERVER_ERROR", "error_description": "oops"})
    client, adapter = make_client(sequence(err500, Reply(200, {"result": {"result": {}}})))
    with pytest.raises(OutcomeUnknown):
        client.batch([("crm.company.add", {"fields": {"TITLE": "x"}})])
    assert len(adapter.seen) == 1


@pytest.mark.parametrize("n, requests_made", [(0, 1), (49, 1), (50, 2), (120, 3)])
def test_iter_list_keyset_pages(n, requests_made):
    fake = FakeBitrix(n)
    client, _ = make_client(fake)
    pages = list(client.iter_list("crm.company.list", select=["TITLE"], filter={"=OPENED": "Y"}))
    ids = [int(r["ID"]) for page in pages for r in page]
    assert ids == list(range(1, n + 1)) and fake.http_requests == requests_made
    first = fake.calls[0][1]
    assert (
        str(first["start"]) == "-1" and first["order"] == {"ID": "ASC"} and first["select"] == ["TITLE", "ID"]
    )
    assert first["filter"] == {"=OPENED": "Y"}
    if n > 50:
        assert fake.calls[1][1]["filter"] == {"=OPENED": "Y", ">ID": 50}


@pytest.mark.parametrize("unresolved", ["literal", "error"])
@pytest.mark.parametrize("n, requests_made", [(0, 1), (30, 1), (2500, 2), (2600, 2), (5001, 3)])
def test_iter_list_batched_reads_2500_rows_per_request(n, requests_made, unresolved):
    fake = FakeBitrix(n, unresolved=unresolved)
    client, _ = make_client(fake)
    seen = []
    pages = list(
        client.iter_list_batched(
            "crm.company.list", select=["ID", "TITLE"], page_callback=lambda rows, last: seen.append(last)
        )
    )
    ids = [int(r["ID"]) for page in pages for r in page]
    assert ids == list(range(1, n + 1)), "rows lost or duplicated"
    assert fake.http_requests == requests_made
    assert all(len(p) == 2500 for p in pages[:-1])
    if n:
        assert seen[-1] == n


def test_iter_list_batched_nested_items_and_resume():
    fake = FakeBitrix(130)
    client, _ = make_client(fake)
    pages = list(client.iter_list_batched(
        "crm.item.list", params={"entityTypeId": 31}, order_field="id", items_key="items", filter={">id": 20},
    ))  # fmt: skip
    assert [r["id"] for p in pages for r in p] == list(range(21, 131))
    batch_cmd = fake.calls[1][1]
    assert batch_cmd["entityTypeId"] == "31" and batch_cmd["order"] == {"id": "ASC"}


def test_iter_list_refuses_to_go_backwards():
    def broken(request):  # a server ignoring the keyset filter
        return Reply(200, {"result": [{"ID": str(i)} for i in range(1, 51)]})

    client, _ = make_client(broken)
    with pytest.raises(ExternalSystemError, match="backwards"):
        list(client.iter_list("crm.company.list"))


def test_batch_sub_command_429_keeps_its_reset_time():
    answer = {"result": {"result": [], "result_error": {"a": {
        "error": "OPERATION_TIME_LIMIT", "error_description": "blocked",
        "time": {"operating_reset_at": 1234567890},
    }}}}  # fmt: skip
    client, _ = make_client(lambda r: Reply(200, answer))
    result = client.batch({"a": "crm.company.list"})
    assert isinstance(result.errors["a"], RateLimited) and result.errors["a"].reset_at == 1234567890.0


def stamped(fake: FakeBitrix):
    """The fake's answers with the portal's ``time.date_start``: second n for the n-th request."""

    def handler(request):
        reply = fake(request)
        second = fake.http_requests
        reply.body["time"] = {
            **reply.body.get("time", {}),
            "date_start": f"2026-12-03T10:00:{second:02}+03:00",
        }
        return reply

    return handler


@pytest.mark.parametrize("n", [0, 120])
@pytest.mark.parametrize("batched", [True, False])
def test_a_listing_keeps_when_the_portal_started_its_first_request(n, batched):
    fake = FakeBitrix(n)
    client, _ = make_client(stamped(fake))
    lister = client.iter_list_batched if batched else client.iter_list
    listing = lister("crm.company.list", **({"calls_per_batch": 1} if batched else {}))
    assert listing.date_start is None, "no request made yet"
    assert sum(len(page) for page in listing) == n
    assert fake.http_requests == (n // 50 + 1) and listing.date_start == "2026-12-03T10:00:01+03:00"

    bare, _ = make_client(FakeBitrix(n))  # answers without the portal's time
    listing = bare.iter_list_batched("crm.company.list") if batched else bare.iter_list("crm.company.list")
    assert sum(len(page) for page in listing) == n and listing.date_start is None
