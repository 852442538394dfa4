"""Bitrix24 emulator: ``crm.stagehistory.list`` for deals and smart invoices (seeded and written through the
API)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from contour import profiles
from contour.bitrix import seed
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


def test_seeded_history_follows_the_deals_own_dates(bitrix: Bitrix) -> None:
    """The demo deal of 18.11.2025 (WON) reached WON in 2025, not on the day of the seed; an open deal reached
    its stage after it began and before the seed; a smart invoice was issued on its begindate. Only
    DATE_MODIFY is the seed's time."""
    seed.seed(bitrix.contour.state_dir, profiles.demo())
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=3))).date().isoformat()
    deals = {d["TITLE"]: d for d in bitrix.result("crm.deal.list", {"select": ["*"]})}
    old = deals["Блокноты для конференции"]  # deal-18: begun and closed 18.11.2025
    assert (old["STAGE_ID"], old["BEGINDATE"][:10], old["CLOSEDATE"][:10]) == (
        "WON",
        "2025-11-18",
        "2025-11-18",
    )
    rows = history(bitrix, 2, OWNER_ID=old["ID"])
    assert [(h["STAGE_ID"], h["CREATED_TIME"][:10]) for h in rows] == [
        ("NEW", "2025-11-18"),
        ("WON", "2025-11-18"),
    ]
    assert rows[0]["CREATED_TIME"] < rows[1]["CREATED_TIME"] == old["MOVED_TIME"]
    assert old["DATE_CREATE"] == rows[0]["CREATED_TIME"] and old["DATE_MODIFY"][:10] == today

    lost = deals["Конструктор в подарок"]  # deal-21: LOSE, 05.12.2025
    assert [h["CREATED_TIME"][:10] for h in history(bitrix, 2, OWNER_ID=lost["ID"])] == ["2025-12-05"] * 2

    invoiced = deals["Антисептик и освещение"]  # deal-11: FINAL_INVOICE, begun 12.10.2026 (a Monday)
    rows = history(bitrix, 2, OWNER_ID=invoiced["ID"])
    assert [(h["STAGE_ID"], h["CREATED_TIME"][:10]) for h in rows] == [
        ("NEW", "2026-10-12"),
        ("FINAL_INVOICE", "2026-10-16"),  # four pipeline steps, four working days later
    ]
    invoice = bitrix.result("crm.item.list", {"entityTypeId": 31, "filter": {"parentId2": invoiced["ID"]}})
    item = invoice["items"][0]
    sent = history(bitrix, 31, OWNER_ID=item["id"])
    assert [(h["STAGE_ID"], h["CREATED_TIME"][:10]) for h in sent] == [
        ("DT31_1:N", "2026-10-12"),
        ("DT31_1:S", "2026-10-16"),
    ]
    assert item["createdTime"] == sent[0]["CREATED_TIME"] and item["updatedTime"][:10] == today
    assert all(h["CREATED_TIME"][:10] <= today for t in (2, 31) for h in history(bitrix, t))
