"""Bitrix24 emulator: ``crm.stagehistory.list`` for deals and smart invoices (seeded and written through the
API)."""

from __future__ import annotations

from typing import Any

from tests.contour.conftest import Bitrix


def history(bitrix: Bitrix, entity_type_id: int, **flt: Any) -> list[dict[str, Any]]:
    body = {"entityTypeId": entity_type_id, "filter": flt, "order": {"ID": "ASC"}}
    return bitrix.result("crm.stagehistory.list", body)["items"]


def test_seeded_deals_and_invoices_have_history(bitrix: Bitrix) -> None:
    won = history(bitrix, 2, OWNER_ID=4)
    assert [(h["TYPE_ID"], h["STAGE_ID"], h["STAGE_SEMANTIC_ID"], h["CATEGORY_ID"]) for h in won] == [
        (1, "NEW", "P", 0),
        (3, "WON", "S", 0),
    ]
    assert set(won[0]) == {
        "ID",
        "TYPE_ID",
        "OWNER_ID",
        "CREATED_TIME",
        "CATEGORY_ID",
        "STAGE_SEMANTIC_ID",
        "STAGE_ID",
    }
    assert won[0]["OWNER_ID"] == 4 and won[0]["CREATED_TIME"].endswith("+03:00")
    assert [h["STAGE_ID"] for h in history(bitrix, 2, OWNER_ID=5)] == ["C2:NEW", "C2:EXECUTING"]
    assert [h["TYPE_ID"] for h in history(bitrix, 2, OWNER_ID=1)] == [1]  # created in NEW, never moved
    invoice = history(bitrix, 31, OWNER_ID=1)
    assert [(h["TYPE_ID"], h["STAGE_ID"]) for h in invoice] == [(1, "DT31_1:N"), (2, "DT31_1:S")]


def test_api_writes_record_history(bitrix: Bitrix) -> None:
    deal_id = bitrix.result("crm.deal.add", {"fields": {"TITLE": "История", "STAGE_ID": "PREPARATION"}})
    for stage in ("PREPARATION", "EXECUTING", "LOSE"):  # the first is no change: no row
        assert bitrix.result("crm.deal.update", {"id": deal_id, "fields": {"STAGE_ID": stage}}) is True
    assert bitrix.result("crm.deal.update", {"id": deal_id, "fields": {"TITLE": "Без смены"}}) is True
    rows = history(bitrix, 2, OWNER_ID=deal_id)
    assert [(h["TYPE_ID"], h["STAGE_ID"], h["STAGE_SEMANTIC_ID"]) for h in rows] == [
        (1, "PREPARATION", "P"),
        (2, "EXECUTING", "P"),
        (3, "LOSE", "F"),
    ]
    moved = bitrix.result("crm.deal.get", {"id": deal_id})["MOVED_TIME"]
    assert rows[-1]["CREATED_TIME"] == moved

    item = bitrix.result("crm.item.add", {"entityTypeId": 31, "fields": {"title": "Счёт"}})["item"]
    bitrix.result(
        "crm.item.update", {"entityTypeId": 31, "id": item["id"], "fields": {"stageId": "DT31_1:P"}}
    )
    invoice = history(bitrix, 31, OWNER_ID=item["id"])
    assert [(h["TYPE_ID"], h["STAGE_ID"], h["STAGE_SEMANTIC_ID"]) for h in invoice] == [
        (1, "DT31_1:N", "P"),
        (3, "DT31_1:P", "S"),
    ]
    assert bitrix.result("crm.deal.delete", {"id": deal_id}) is True
    bitrix.result("crm.item.delete", {"entityTypeId": 31, "id": item["id"]})
    assert history(bitrix, 2, OWNER_ID=deal_id) == history(bitrix, 31, OWNER_ID=item["id"]) == []


def test_filter_order_select_and_paging(bitrix: Bitrix) -> None:
    for i in range(60):
        bitrix.result("crm.deal.add", {"fields": {"TITLE": f"Сделка {i}"}})
    body = bitrix.call(
        "crm.stagehistory.list",
        {"entityTypeId": 2, "filter": {"TYPE_ID": 1}, "order": {"ID": "DESC"}, "select": ["ID", "OWNER_ID"]},
    ).json()
    assert body["total"] == 65 and body["next"] == 50 and len(body["result"]["items"]) == 50
    assert set(body["result"]["items"][0]) == {"ID", "OWNER_ID"}
    assert body["result"]["items"][0]["OWNER_ID"] == 65
    second = bitrix.call("crm.stagehistory.list", {"entityTypeId": 2, "filter": {"TYPE_ID": 1}, "start": 50})
    assert len(second.json()["result"]["items"]) == 15 and "next" not in second.json()
    finals = history(bitrix, 2, STAGE_SEMANTIC_ID="S")
    assert [h["OWNER_ID"] for h in finals] == [4]
    assert [
        h["OWNER_ID"] for h in history(bitrix, 2, **{">OWNER_ID": 3, "STAGE_ID": ["WON", "C2:EXECUTING"]})
    ] == [
        4,
        5,
    ]
    bad = bitrix.call("crm.stagehistory.list", {"entityTypeId": 4})
    assert bad.status_code == 400
