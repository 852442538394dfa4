"""Bitrix24 emulator: the leaky bucket (503), per-method operating time (429) and ``/_contour/stats``."""

from __future__ import annotations

import time

from tests.contour.conftest import Bitrix


def test_standard_plan_burst_gets_503_then_drains(bitrix: Bitrix) -> None:
    bitrix.contour.knobs("bitrix", rate_plan="standard")
    started = time.monotonic()
    answers = [bitrix.call("crm.company.get", {"id": 1}) for _ in range(60)]
    elapsed = time.monotonic() - started
    rejected = [a for a in answers if a.status_code == 503]
    accepted = [a for a in answers if a.status_code == 200]
    assert len(rejected) + len(accepted) == 60
    assert rejected, f"60 requests in {elapsed:.2f}s should overflow a burst of 50"
    assert len(accepted) <= 50 + 2 * elapsed + 1
    assert rejected[0].json() == {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}
    stats = bitrix.stats()
    assert stats["rejected_503"] == len(rejected) and stats["requests"] == 60
    assert stats["max_requests_per_1s"] >= min(60, int(60 / max(elapsed, 1e-3)))

    time.sleep(1.6)  # drains 2 per second: three requests fit again
    assert [bitrix.call("crm.company.get", {"id": 1}).status_code for _ in range(3)] == [200, 200, 200]


def test_enterprise_plan_has_a_bigger_bucket(bitrix: Bitrix) -> None:
    bitrix.contour.knobs("bitrix", rate_plan="enterprise")
    assert {bitrix.call("crm.company.get", {"id": 1}).status_code for _ in range(60)} == {200}


def test_rate_plan_off_never_limits(bitrix: Bitrix) -> None:
    assert {bitrix.call("crm.company.get", {"id": 1}).status_code for _ in range(70)} == {200}


def test_operating_time_limit_blocks_one_method(bitrix: Bitrix) -> None:
    bitrix.contour.knobs("bitrix", operating_cost_s=100.0, operating_limit_s=480.0)
    operating = []
    for _ in range(5):
        body = bitrix.call("crm.company.get", {"id": 1}).json()
        operating.append(body["time"]["operating"])
    assert operating == sorted(operating) and 400 < operating[-1] < 501
    blocked = bitrix.call("crm.company.get", {"id": 1})
    assert blocked.status_code == 429
    body = blocked.json()
    assert (body["error"], body["error_description"]) == (
        "OPERATION_TIME_LIMIT",
        "Method is blocked due to operation time limit.",
    )
    now = time.time()
    assert now < body["time"]["operating_reset_at"] <= now + 600 and body["time"]["operating"] > 480
    assert bitrix.call("crm.company.list", {"select": ["ID"]}).status_code == 200  # other methods still work
    out = bitrix.call("batch", {"cmd": {"a": "crm.company.get?id=1", "b": "crm.deal.get?id=1"}}).json()[
        "result"
    ]
    assert out["result_error"]["a"]["error"] == "OPERATION_TIME_LIMIT" and out["result"]["b"]["ID"] == "1"
    stats = bitrix.stats()
    assert stats["rejected_429"] == 2 and stats["methods"]["crm.company.get"]["calls"] == 5
    assert stats["methods"]["crm.company.get"]["operating_s"] > 500

    bitrix.admin("limits/reset", "POST")
    assert bitrix.call("crm.company.get", {"id": 1}).status_code == 200


def test_stats_reset(bitrix: Bitrix) -> None:
    bitrix.call("crm.company.get", {"id": 1})
    assert bitrix.stats()["requests"] == 1
    assert bitrix.admin("stats", "DELETE")["requests"] == 0
