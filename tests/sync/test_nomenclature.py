"""Nomenclature 1C → the Bitrix24 catalog (``sync_nomenclature``) by the engine, against the contour (HTTPS).

What 1C holds decides: every good and service (no folders) reaches the CRM catalog with its name, article,
ОКЕИ unit, the VAT rate in force on the run date and the current price of the configured price type, and
nothing is ever written to 1C. A CRM edit is reported and overwritten; a second run writes nothing; a crash
at any kill point leaves no duplicate; a bad item waits in quarantine while the rest goes on.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from crm1c.clients.odata_filter import F, guid
from crm1c.staging import Staging
from crm1c.sync.entities import entity
from crm1c.sync.runtime import KILL_POINTS
from tests.contour_harness import RunningContour
from tests.sync.harness import Killed, clients, contour_admin, crash_at, pending_intents_total, run_sync

REF = entity("nomenclature")
ITEMS = "Catalog_Номенклатура"
PRICES = "InformationRegister_ЦеныНоменклатуры"
PRICE_TYPE = "Основная цена продажи"
STEPS = ("extract_crm", "extract_onec", "plan", "load_crm", "publish")
TODAY = date(2026, 12, 3)
EMPTY_REF = "00000000-0000-0000-0000-000000000000"
#: VAT kind → the CRM catalog rate on a 2026 date and on a 2025 date (domain.md §3).
RATE_2026 = {"Общая": "22", "Пониженная": "10", "Нулевая": "0", "БезНДС": None}
RATE_2025 = {**RATE_2026, "Общая": "20"}


def sync(staging: Staging, crm: Any, onec: Any, **kw: Any) -> dict[str, Any]:
    kw.setdefault("run_date", TODAY)
    kw.setdefault("steps", STEPS)
    return run_sync(staging, crm, onec, ref=REF, **kw)


def catalog(crm: Any) -> dict[str, dict]:
    """CRM products by ``xmlId`` (the 1C Ref_Key), with ``@price`` (base type) and ``@rate`` (VAT %)."""
    vats = {int(v["id"]): v.get("rate") for v in crm.call("catalog.vat.list")["result"]["vats"]}
    [base] = [t for t in crm.call("catalog.priceType.list")["result"]["priceTypes"] if t.get("base") == "Y"]
    select = ["id", "iblockId", "name", "code", "xmlId", "active", "measure", "vatId", "vatIncluded", "type"]
    iblock = next(
        c for c in crm.call("catalog.catalog.list")["result"]["catalogs"] if not c.get("productIblockId")
    )
    rows = [
        p
        for method, key in (
            ("catalog.product.list", "products"),
            ("catalog.product.service.list", "services"),
        )
        for page in crm.iter_list(
            method, filter={"iblockId": iblock["iblockId"]}, select=select, order_field="id", items_key=key
        )
        for p in page
    ]
    prices = {
        str(p["productId"]): p
        for page in crm.iter_list(
            "catalog.price.list", filter={"catalogGroupId": base["id"]}, order_field="id", items_key="prices"
        )
        for p in page
    }
    out = {}
    for p in rows:
        rate = vats.get(int(p["vatId"])) if p.get("vatId") else "missing"
        out[str(p.get("xmlId") or f"crm:{p['id']}")] = {
            **p,
            "@price": prices.get(str(p["id"])),
            "@rate": rate,
        }
    return out


def measures(crm: Any) -> dict[int, str]:
    return {
        int(m["id"]): str(m["code"]).zfill(3) for m in crm.call("catalog.measure.list")["result"]["measures"]
    }


def onec_items(onec: Any) -> dict[str, dict]:
    rows = (r for page in onec.list(ITEMS, page_size=1000) for r in page)
    return {str(r["Ref_Key"]): r for r in rows if not r.get("IsFolder")}


def onec_prices(onec: Any, on: date) -> dict[str, Decimal]:
    [kind] = onec.list_all("Catalog_ТипыЦенНоменклатуры", ["Ref_Key"], F("Description") == PRICE_TYPE)
    rows = onec.slice_last(PRICES, on, F("ТипЦен_Key") == guid(kind["Ref_Key"]), ["Номенклатура_Key", "Цена"])
    return {str(r["Номенклатура_Key"]): Decimal(str(r["Цена"])) for r in rows}


def kind_on(item: dict, on: date) -> str:
    past = [h for h in item.get("ИсторияВидаСтавкиНДС") or [] if h["Период"][:10] <= on.isoformat()]
    return max(past, key=lambda h: h["Период"])["ВидСтавкиНДС"] if past else item["ВидСтавкиНДС"]


def assert_catalog_follows_1c(crm: Any, onec: Any, staging: Staging, on: date, rates: dict) -> None:
    """Each readable 1C item has exactly one CRM product carrying its values; held items have none."""
    held = {q.external_id for q in staging.open_quarantine("nomenclature")}
    products, items, prices, units = catalog(crm), onec_items(onec), onec_prices(onec, on), measures(crm)
    for ref, item in items.items():
        if ref in held:
            assert ref not in products, f"held item {ref} reached the CRM"
            continue
        product = products.get(ref)
        if product is None:
            assert item.get("DeletionMark"), f"1C item {item['Description']!r} is missing from the CRM"
            continue
        assert product["name"] == item["Description"]
        assert product["code"] == ((item.get("Артикул") or "").strip() or item["Code"].strip())
        assert product["active"] == ("N" if item.get("DeletionMark") else "Y")
        assert (int(product["type"]) == 7) == bool(item.get("Услуга"))
        expected_rate = rates[kind_on(item, on)]
        got = product["@rate"]
        shown = None if got is None else str(Decimal(str(got)).quantize(Decimal(1)))
        assert shown == expected_rate, item["Description"]
        if ref in prices:
            assert Decimal(str(product["@price"]["price"])) == prices[ref], item["Description"]
        if item.get("ЕдиницаИзмерения_Key") not in (None, EMPTY_REF):
            assert units.get(int(product["measure"])) is not None, item["Description"]
    assert not [k for k in products if k not in items and not k.startswith("crm:")], (
        "a product with no 1C item"
    )
    assert Counter(p["xmlId"] for p in products.values() if p.get("xmlId")).most_common(1)[0][1] == 1


def onec_writes(contour: RunningContour) -> int:
    requests = contour_admin(contour, "onec", "requests?limit=100000")["requests"]
    return sum(r["method"] not in ("GET", "HEAD") for r in requests)


def crm_writes(contour: RunningContour) -> dict[str, int]:
    stats = contour_admin(contour, "bitrix", "stats")["methods"]
    return {m: n for m, n in stats.items() if not m.endswith(".list") and m != "batch"}


def test_the_1c_catalog_reaches_the_crm_and_a_second_run_writes_nothing(
    demo_contour: RunningContour, staging: Staging
):
    crm, onec = clients(demo_contour)
    before_1c = onec_writes(demo_contour)

    summary = sync(staging, crm, onec)

    assert summary.get("crm_create", 0) > 5
    assert_catalog_follows_1c(crm, onec, staging, TODAY, RATE_2026)
    assert onec_writes(demo_contour) == before_1c, "nomenclature never writes 1C"
    assert pending_intents_total(staging) == 0
    writes = crm_writes(demo_contour)
    for mode in ("incremental", "full"):
        sync(staging, crm, onec, mode=mode)
        assert crm_writes(demo_contour) == writes, f"a {mode} run after convergence wrote something"


def test_vat_follows_the_run_date(demo_contour: RunningContour, sqlite_staging: Staging):
    crm, onec = clients(demo_contour)
    sync(sqlite_staging, crm, onec, run_date=date(2025, 12, 31))
    assert_catalog_follows_1c(crm, onec, sqlite_staging, date(2025, 12, 31), RATE_2025)

    summary = sync(sqlite_staging, crm, onec, run_date=date(2026, 1, 1))  # the 22 % law starts

    assert summary.get("crm_update", 0) > 0
    assert_catalog_follows_1c(crm, onec, sqlite_staging, date(2026, 1, 1), RATE_2026)


def test_a_crm_edit_is_reported_and_overwritten(demo_contour: RunningContour, sqlite_staging: Staging):
    crm, onec = clients(demo_contour)
    sync(sqlite_staging, crm, onec)
    ref, product = next(
        (k, p) for k, p in catalog(crm).items() if p["active"] == "Y" and not k.startswith("crm:")
    )
    crm.call(
        "catalog.product.update", {"id": product["id"], "fields": {"name": "Переименовано в CRM"}}, write=True
    )

    summary = sync(sqlite_staging, crm, onec)

    assert summary["conflicts"] >= 1
    assert catalog(crm)[ref]["name"] == onec_items(onec)[ref]["Description"]
    [conflict] = [c for c in sqlite_staging.open_conflicts("nomenclature") if c.field == "name"]
    assert conflict.crm_value == "Переименовано в CRM"


def test_a_product_typed_in_the_crm_with_the_article_is_linked_not_duplicated(
    demo_contour: RunningContour, sqlite_staging: Staging
):
    crm, onec = clients(demo_contour)
    item = onec.create(ITEMS, {"Description": "Перфоратор", "Артикул": "PRF-26", "ВидСтавкиНДС": "Общая"})
    iblock = next(
        c for c in crm.call("catalog.catalog.list")["result"]["catalogs"] if not c.get("productIblockId")
    )
    fields = {"iblockId": iblock["iblockId"], "name": "Набрано вручную", "code": "PRF-26"}
    typed = crm.call("catalog.product.add", {"fields": fields}, write=True)["result"]["element"]

    sync(sqlite_staging, crm, onec)

    linked = catalog(crm)[str(item["Ref_Key"])]
    assert str(linked["id"]) == str(typed["id"]) and linked["name"] == "Перфоратор"
    assert_catalog_follows_1c(crm, onec, sqlite_staging, TODAY, RATE_2026)


def test_a_bad_item_waits_in_quarantine_and_the_rest_goes_on(
    demo_contour: RunningContour, sqlite_staging: Staging
):
    crm, onec = clients(demo_contour)
    long_name = onec.create(ITEMS, {"Description": "Д" * 100, "Артикул": "LONG-1", "ВидСтавкиНДС": "Общая"})
    no_kind = onec.create(
        ITEMS, {"Description": "Без вида ставки", "Артикул": "NOKIND-1", "ВидСтавкиНДС": ""}
    )
    quoted = onec.create(
        ITEMS,
        {"Description": 'Кабель "ВВГ" 3×2,5\'; DROP TABLE--', "Артикул": "Q-1", "ВидСтавкиНДС": "Общая"},
    )

    sync(sqlite_staging, crm, onec)

    held = {q.external_id: q for q in sqlite_staging.open_quarantine("nomenclature")}
    assert str(no_kind["Ref_Key"]) in held and "вид ставки" in held[str(no_kind["Ref_Key"])].reason_ru.lower()
    products = catalog(crm)
    assert products[str(quoted["Ref_Key"])]["name"] == 'Кабель "ВВГ" 3×2,5\'; DROP TABLE--'
    assert products[str(long_name["Ref_Key"])]["name"] == "Д" * 100
    assert_catalog_follows_1c(crm, onec, sqlite_staging, TODAY, RATE_2026)


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_crash_at_any_kill_point_leaves_no_duplicate(
    point: str, demo_contour: RunningContour, sqlite_staging: Staging
):
    crm, onec = clients(demo_contour)
    with pytest.raises(Killed):
        sync(sqlite_staging, crm, onec, kill_hook=crash_at(point))
    for _run in range(2):
        sync(sqlite_staging, crm, onec)
    assert_catalog_follows_1c(crm, onec, sqlite_staging, TODAY, RATE_2026)
    assert pending_intents_total(sqlite_staging) == 0


def test_a_batch_answer_lost_after_the_write_never_makes_a_second_product(
    demo_contour: RunningContour, sqlite_staging: Staging
):
    crm, onec = clients(demo_contour)
    sync(sqlite_staging, crm, onec, steps=("extract_crm", "extract_onec", "plan"))
    # every batch counts for the fault (reads are retried by the client): half of them lose their answer
    demo_contour.knobs("bitrix", fault_lost_answer_rate=0.5, fault_seed=7, fault_lost_answer_on="batch")
    try:
        first = sync(sqlite_staging, crm, onec, steps=("load_crm", "publish"))
    finally:
        demo_contour.knobs("bitrix", fault_lost_answer_rate=0.0)
    again = sync(sqlite_staging, crm, onec)

    assert first["crm_left_pending"] > 0, "the lost batch's writes wait for a lookup"
    assert again["crm_adopted"] > 0, "the lost creates were looked up and adopted"
    assert_catalog_follows_1c(crm, onec, sqlite_staging, TODAY, RATE_2026)  # one product per item
    assert pending_intents_total(sqlite_staging) == 0
