"""Bitrix24 emulator: the trade catalog — catalogs, products and services, price types and prices, VAT
rates and units (ОКЕИ codes) — in the official answer shapes."""

from __future__ import annotations

from typing import Any

from tests.contour.conftest import Bitrix

SELECT = ["id", "iblockId", "name", "code", "xmlId", "type", "measure", "vatId"]


def error(response: Any) -> tuple[int, Any, str]:
    body = response.json()
    return response.status_code, body["error"], body["error_description"]


def products(bitrix: Bitrix, method: str = "catalog.product.list", **flt: Any) -> list[dict[str, Any]]:
    body = {"select": SELECT, "filter": {"iblockId": 14, **flt}}
    return bitrix.result(method, body)["products" if method == "catalog.product.list" else "services"]


def test_catalogs_price_types_vats_and_units(bitrix: Bitrix) -> None:
    catalogs = bitrix.result("catalog.catalog.list")["catalogs"]
    product_catalog = [c for c in catalogs if c["productIblockId"] is None]
    assert [c["iblockId"] for c in product_catalog] == [14]
    assert [(c["iblockId"], c["productIblockId"]) for c in catalogs if c["productIblockId"]] == [(15, 14)]
    types = bitrix.result("catalog.priceType.list")["priceTypes"]
    assert [(t["id"], t["base"]) for t in types if t["base"] == "Y"] == [(1, "Y")] and len(types) == 2
    vats = bitrix.result("catalog.vat.list")["vats"]
    assert {v["rate"] for v in vats} == {None, 0, 10, 20, 22}
    assert [v["name"] for v in vats if v["rate"] is None] == ["Без НДС"]
    units = {u["code"]: u for u in bitrix.result("catalog.measure.list")["measures"]}
    assert (units[796]["id"], units[796]["symbol"], units[6]["id"]) == (5, "шт", 1)  # id ≠ ОКЕИ code


def test_product_xml_id_filter_and_unique_code(bitrix: Bitrix) -> None:
    fields = {"iblockId": 14, "name": "Шкаф", "code": "SHK-01", "xmlId": "guid-shk", "measure": 5, "vatId": 5}
    element = bitrix.result("catalog.product.add", {"fields": fields})["element"]
    assert (element["type"], element["measure"], element["vatId"], element["xmlId"]) == (1, 5, 5, "guid-shk")
    assert [p["name"] for p in products(bitrix, xmlId="guid-shk")] == ["Шкаф"]
    assert products(bitrix, xmlId="guid-none") == []
    taken = bitrix.call("catalog.product.add", {"fields": {**fields, "xmlId": "guid-2"}})
    assert error(taken)[:2] == (400, 0) and "SHK-01" in error(taken)[2]
    assert bitrix.result("catalog.product.update", {"id": element["id"], "fields": {"code": "SHK-01"}})
    other = bitrix.result("catalog.product.add", {"fields": {**fields, "code": "SHK-02", "xmlId": "g3"}})[
        "element"
    ]
    clash = bitrix.call("catalog.product.update", {"id": other["id"], "fields": {"code": "SHK-01"}})
    assert error(clash)[0] == 400
    bad_vat = bitrix.call("catalog.product.add", {"fields": {**fields, "code": "X", "vatId": 99}})
    assert error(bad_vat) == (400, 0, "VAT rate with the specified identifier does not exist")
    row = bitrix.result(
        "crm.item.productrow.add",
        {
            "fields": {
                "ownerType": "D",
                "ownerId": 1,
                "productId": element["id"],
                "price": 1000,
                "taxRate": 22,
            }
        },
    )["productRow"]
    assert (row["productName"], row["measureCode"], row["type"]) == ("Шкаф", 796, 1)  # the unit's ОКЕИ code


def test_services(bitrix: Bitrix) -> None:
    fields = {"iblockId": 14, "name": "Монтаж шкафа", "code": "SRV-01", "xmlId": "guid-srv", "measure": 6}
    service = bitrix.result("catalog.product.service.add", {"fields": fields})["service"]
    assert (service["type"], service["name"]) == (7, "Монтаж шкафа")
    got = bitrix.result("catalog.product.service.get", {"id": service["id"]})["service"]
    assert got["xmlId"] == "guid-srv"
    updated = bitrix.result(
        "catalog.product.service.update", {"id": service["id"], "fields": {"name": "Сборка"}}
    )
    assert updated["service"]["name"] == "Сборка" and updated["service"]["type"] == 7
    assert [s["name"] for s in products(bitrix, "catalog.product.service.list")] == ["Монтаж", "Сборка"]
    assert [p["type"] for p in products(bitrix, xmlId="guid-srv")] == [7]  # products list every type
    not_service = bitrix.call("catalog.product.service.get", {"id": 1})  # a seeded product
    assert error(not_service) == (400, "", "service does not exist.")
    assert bitrix.result("catalog.product.service.delete", {"id": service["id"]}) is True


def test_prices(bitrix: Bitrix) -> None:
    seeded = bitrix.result("catalog.price.list", {"filter": {"productId": 1, "catalogGroupId": 1}})["prices"]
    assert [(p["productId"], p["price"], p["currency"]) for p in seeded] == [(1, 12200, "RUB")]
    product = bitrix.result("catalog.product.add", {"fields": {"iblockId": 14, "name": "Полка"}})["element"]
    price = {"productId": product["id"], "catalogGroupId": 1, "price": 1500.5, "currency": "RUB"}
    added = bitrix.result("catalog.price.add", {"fields": price})["price"]
    assert set(added) == {
        "catalogGroupId",
        "currency",
        "extraId",
        "id",
        "price",
        "priceScale",
        "productId",
        "quantityFrom",
        "quantityTo",
        "timestampX",
    }
    assert (added["price"], added["priceScale"]) == (1500.5, 1500.5)
    twin = bitrix.call("catalog.price.add", {"fields": price})
    assert error(twin)[:2] == (400, 0) and "single price" in error(twin)[2]
    wrong_group = bitrix.call("catalog.price.add", {"fields": {**price, "catalogGroupId": 9}})
    assert error(wrong_group) == (400, 0, "Validate price error. Catalog price group is wrong")
    assert error(bitrix.call("catalog.price.add", {"fields": {"productId": product["id"]}}))[2].startswith(
        "Required fields:"
    )
    changed = bitrix.result("catalog.price.update", {"id": added["id"], "fields": {"price": "1600"}})["price"]
    assert changed["price"] == 1600 and changed["productId"] == product["id"]
    assert bitrix.result("catalog.price.get", {"id": added["id"]})["price"]["price"] == 1600

    wholesale = {"catalogGroupId": 2, "price": 1400, "currency": "RUB"}
    modify = {"product": {"id": product["id"], "prices": [wholesale]}}  # the base price is not listed
    result = bitrix.result("catalog.price.modify", {"fields": modify})["prices"]
    assert [(p["catalogGroupId"], p["price"]) for p in result] == [(2, 1400)]
    left = bitrix.result("catalog.price.list", {"filter": {"productId": product["id"]}})["prices"]
    assert [(p["id"], p["catalogGroupId"]) for p in left] == [(result[0]["id"], 2)]
    again = {
        "product": {"id": product["id"], "prices": [{**wholesale, "id": result[0]["id"], "price": 1300}]}
    }
    assert bitrix.result("catalog.price.modify", {"fields": again})["prices"][0]["id"] == result[0]["id"]
    assert bitrix.result("catalog.price.delete", {"id": result[0]["id"]}) is True
    assert bitrix.result("catalog.price.list", {"filter": {"productId": product["id"]}})["prices"] == []
