"""Bitrix24 emulator: the "applied, then the answer was lost" fault — the write is made, the client gets a
connection error instead of an HTTP answer, and a later read sees the write (per method or action, for the
next N writes or by probability)."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.contour.conftest import Bitrix


def lose(call: Any) -> None:
    with pytest.raises(requests.ConnectionError):
        call()


def test_next_deal_update_is_made_but_its_answer_is_lost(bitrix: Bitrix) -> None:
    knobs = bitrix.contour.knobs("bitrix", fault_lost_answer_next=1, fault_lost_answer_on="crm.deal.update")
    assert knobs["fault_lost_answer_next"] == 1
    assert bitrix.result("crm.deal.get", {"id": 1})["TITLE"] == "Столы и монтаж"  # reads are answered
    lose(lambda: bitrix.call("crm.deal.update", {"id": 1, "fields": {"TITLE": "Без ответа"}}))
    assert bitrix.result("crm.deal.get", {"id": 1})["TITLE"] == "Без ответа"  # the write was made
    assert bitrix.contour.knobs("bitrix")["fault_lost_answer_next"] == 0  # the countdown is spent
    assert bitrix.result("crm.deal.update", {"id": 1, "fields": {"TITLE": "С ответом"}}) is True


def test_only_selected_methods_lose_their_answer(bitrix: Bitrix) -> None:
    bitrix.contour.knobs(
        "bitrix", fault_lost_answer_next=2, fault_lost_answer_on="crm.item.productrow.set, batch"
    )
    assert bitrix.result("crm.deal.update", {"id": 2, "fields": {"TITLE": "Выбран не он"}}) is True
    refused = bitrix.call("crm.item.productrow.set", {"ownerType": "D", "ownerId": 999, "productRows": []})
    assert refused.status_code == 400  # a refused write is answered and does not count
    rows = [{"productName": "Потерянный ответ", "price": 122, "quantity": 2, "taxRate": 22}]
    lose(
        lambda: bitrix.call("crm.item.productrow.set", {"ownerType": "D", "ownerId": 2, "productRows": rows})
    )
    got = bitrix.result("crm.item.productrow.list", {"filter": {"=ownerType": "D", "=ownerId": 2}})
    assert [r["productName"] for r in got["productRows"]] == ["Потерянный ответ"]
    assert bitrix.result("crm.deal.get", {"id": 2})["OPPORTUNITY"] == "244.00"  # the recompute was made too
    cmd = {"a": "crm.company.add?fields[TITLE]=Из пакета", "b": "crm.company.get?id=$result[a]"}
    lose(lambda: bitrix.call("batch", {"halt": 0, "cmd": cmd}))
    assert bitrix.call("crm.company.list", {"filter": {"TITLE": "Из пакета"}}).json()["total"] == 1
    answered = bitrix.call("batch", {"halt": 0, "cmd": cmd})  # the countdown is spent: answered again
    assert answered.status_code == 200 and answered.json()["result"]["result"]["b"]["TITLE"] == "Из пакета"


def test_rate_selects_writes_by_action_reproducibly(bitrix: Bitrix) -> None:
    def run() -> list[bool]:
        lost = []
        for i in range(20):
            try:
                bitrix.call("crm.company.add", {"fields": {"TITLE": f"Вероятность {i}"}})
                lost.append(False)
            except requests.ConnectionError:
                lost.append(True)
        return lost

    bitrix.contour.knobs("bitrix", fault_lost_answer_rate=0.5, fault_lost_answer_on="add", fault_seed=7)
    try:
        first = run()
        assert (
            bitrix.result("crm.company.list", {"filter": {"%TITLE": "Вероятность"}}) and 0 < sum(first) < 20
        )
        assert bitrix.call("crm.company.list", {"filter": {"%TITLE": "Вероятность"}}).json()["total"] == 20
        assert bitrix.result("crm.company.update", {"id": 1, "fields": {"TITLE": "Не add"}}) is True
        bitrix.contour.knobs("bitrix", fault_seed=7)
        assert run() == first  # the same seed, the same sequence
    finally:
        bitrix.contour.knobs("bitrix", fault_seed=-1, fault_lost_answer_rate=0.0)
