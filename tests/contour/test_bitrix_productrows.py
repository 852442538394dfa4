"""Bitrix24 emulator: product-row arithmetic (protocols.md C.9a), ``crm.item.productrow.*`` row by row, the
deprecated ``crm.deal.productrows.*`` over the same rows, and the owners' automatic amounts."""

from __future__ import annotations

from typing import Any

from tests.contour.conftest import Bitrix

DOC_ROW = {"productId": 2, "price": 80000, "taxIncluded": "Y", "taxRate": 20, "discountTypeId": 2}


def _set(bitrix: Bitrix, owner: str, owner_id: int, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    body = {"ownerType": owner, "ownerId": owner_id, "productRows": rows}
    return bitrix.result("crm.item.productrow.set", body)["productRows"]


def test_the_documented_example_exactly(bitrix: Bitrix) -> None:
    """crm-item-productrow-add.md: 80000 with 20% tax and a 20% discount."""
    row = bitrix.result(
        "crm.item.productrow.add", {"fields": {"ownerType": "D", "ownerId": 1, **DOC_ROW, "discountRate": 20}}
    )["productRow"]
    assert (row["price"], row["priceExclusive"], row["priceNetto"], row["priceBrutto"]) == (
        80000,
        66666.67,
        83333.34,
        100000.01,
    )
    assert (row["discountSum"], row["discountRate"], row["quantity"], row["ownerType"]) == (
        16666.67,
        20,
        1,
        "D",
    )
    classic = next(
        r for r in bitrix.result("crm.deal.productrows.get", {"id": 1}) if r["ID"] == str(row["id"])
    )
    assert (classic["PRICE_EXCLUSIVE"], classic["PRICE_NETTO"], classic["PRICE_ACCOUNT"]) == (
        66666.67,
        83333.34,
        "80000.00",
    )


def test_price_always_includes_tax_whatever_tax_included_says(bitrix: Bitrix) -> None:
    rows = _set(
        bitrix,
        "D",
        1,
        [
            {"productName": "22% сверху", "price": 122, "quantity": 3, "taxRate": 22, "taxIncluded": "N"},
            {"productName": "22% в цене", "price": 122, "quantity": 3, "taxRate": 22, "taxIncluded": "Y"},
            {"productName": "10%", "price": 110, "quantity": 2, "taxRate": 10},
            {"productName": "0%", "price": 50, "taxRate": 0},
            {"productName": "без НДС", "price": 40, "quantity": 2, "taxRate": None},
            {
                "productName": "скидка 150 ₽",
                "price": 1220,
                "taxRate": 22,
                "discountTypeId": 1,
                "discountSum": 150,
            },
        ],
    )
    assert [(r["priceExclusive"], r["priceBrutto"], r["discountSum"]) for r in rows] == [
        (100, 122, 0),
        (100, 122, 0),
        (100, 110, 0),
        (50, 50, 0),
        (40, 40, 0),
        (1000, 1403, 150),  # an absolute discount is per unit, without tax, as sent
    ]
    assert rows[3]["taxRate"] == 0 and rows[4]["taxRate"] is None  # null = no tax, not 0%
    assert rows[5]["discountTypeId"] == 1 and rows[5]["discountRate"] == 13.04  # 150 of 1150
    assert [r["taxIncluded"] for r in rows] == ["N", "Y", "N", "N", "N", "N"]  # the default is N
    deal = bitrix.result("crm.deal.get", {"id": 1})
    # Σ round(PRICE × QUANTITY) = 366 + 366 + 220 + 50 + 80 + 1220; the tax inside it per row
    assert (deal["OPPORTUNITY"], deal["TAX_VALUE"]) == ("2302.00", "372.00")  # 66 + 66 + 20 + 0 + 0 + 220


def test_discount_validation(bitrix: Bitrix) -> None:
    def error(row: dict[str, Any]) -> str:
        response = bitrix.call(
            "crm.item.productrow.set", {"ownerType": "D", "ownerId": 1, "productRows": [row]}
        )
        assert response.status_code == 400, response.text
        body = response.json()
        assert body["error"] == "ERROR_CORE"
        return str(body["error_description"])

    assert "DISCOUNT_SUM" in error({"price": 10, "discountTypeId": 1})
    assert "DISCOUNT_RATE" in error({"price": 10, "discountTypeId": 2})
    assert "100%" in error({"price": 0, "discountTypeId": 2, "discountRate": 100})
    full = _set(
        bitrix,
        "D",
        1,
        [{"price": 0, "discountTypeId": 2, "discountRate": 100, "discountSum": 500, "taxRate": 20}],
    )
    assert (full[0]["priceNetto"], full[0]["priceBrutto"], full[0]["discountSum"]) == (500, 600, 500)
    bad = bitrix.call("crm.deal.productrows.set", {"id": 1, "rows": [{"PRICE": 1, "DISCOUNT_TYPE_ID": 2}]})
    assert bad.status_code == 400 and bad.json()["error"] == "ERROR_CORE"
    assert len(bitrix.result("crm.deal.productrows.get", {"id": 1})) == 1  # a refused set changes nothing


def test_row_by_row_methods_recompute_the_deal(bitrix: Bitrix) -> None:
    added = bitrix.result(
        "crm.item.productrow.add",
        {
            "fields": {
                "ownerType": "D",
                "ownerId": 2,
                "productId": 3,
                "price": 110,
                "quantity": 2,
                "taxRate": 10,
            }
        },
    )["productRow"]
    assert (added["productName"], added["measureCode"], added["measureName"]) == ("Сахар", 166, "кг")
    deal = bitrix.result("crm.deal.get", {"id": 2})
    assert (deal["OPPORTUNITY"], deal["TAX_VALUE"]) == ("1320.00", "120.00")  # 110 × 10 seeded + 110 × 2

    updated = bitrix.result(
        "crm.item.productrow.update", {"id": added["id"], "fields": {"quantity": 4, "ownerId": 99}}
    )["productRow"]
    assert (updated["quantity"], updated["ownerId"], updated["price"], updated["taxRate"]) == (4, 2, 110, 10)
    assert bitrix.result("crm.deal.get", {"id": 2})["OPPORTUNITY"] == "1540.00"
    listed = bitrix.result("crm.item.productrow.list", {"filter": {"=ownerType": "D", "=ownerId": 2}})
    assert next(r["id"] for r in listed["productRows"]) == added["id"]  # sort 0 comes before the seeded 10

    assert bitrix.call("crm.item.productrow.delete", {"id": added["id"]}).json()["result"] is None
    assert bitrix.result("crm.deal.get", {"id": 2})["OPPORTUNITY"] == "1100.00"
    missing = bitrix.call("crm.item.productrow.get", {"id": added["id"]})
    assert missing.status_code == 400 and missing.json()["error"] == "NOT_FOUND"
    fields = bitrix.result("crm.item.productrow.fields")["fields"]
    assert fields["priceExclusive"]["isReadOnly"] is True and fields["price"]["isReadOnly"] is False


def test_deprecated_methods_share_the_rows_and_print_strings(bitrix: Bitrix) -> None:
    rows = [{"PRODUCT_ID": 1, "PRICE": "12200", "QUANTITY": 2, "TAX_RATE": 22, "TAX_INCLUDED": "Y"}]
    assert bitrix.result("crm.deal.productrows.set", {"id": 3, "rows": rows}) is True
    got = bitrix.result("crm.deal.productrows.get", {"id": 3})
    assert (got[0]["ID"], got[0]["OWNER_ID"], got[0]["PRICE_ACCOUNT"], got[0]["PRICE_EXCLUSIVE"]) == (
        str(got[0]["ID"]),
        "3",
        "12200.00",
        10000,
    )
    item = bitrix.result("crm.item.productrow.list", {"filter": {"=ownerType": "D", "=ownerId": 3}})[
        "productRows"
    ]
    assert [(r["id"], r["priceExclusive"]) for r in item] == [(int(got[0]["ID"]), 10000)]


def test_automatic_amount_overwrites_a_written_one_unless_manual(bitrix: Bitrix) -> None:
    assert bitrix.result("crm.deal.update", {"id": 1, "fields": {"OPPORTUNITY": 1, "TAX_VALUE": 1}}) is True
    deal = bitrix.result("crm.deal.get", {"id": 1})
    assert (deal["OPPORTUNITY"], deal["TAX_VALUE"]) == ("30500.00", "5500.00")
    manual = {"IS_MANUAL_OPPORTUNITY": "Y", "OPPORTUNITY": 7}
    assert bitrix.result("crm.deal.update", {"id": 1, "fields": manual}) is True
    assert bitrix.result("crm.deal.get", {"id": 1})["OPPORTUNITY"] == "7.00"

    # smart invoices: the same rule for ``opportunity``
    item = bitrix.result("crm.item.update", {"entityTypeId": 31, "id": 2, "fields": {"opportunity": 5}})[
        "item"
    ]
    assert (item["opportunity"], item["taxValue"]) == (7442, 1342)  # 74.42 × 100, 22% inside
    rows = _set(
        bitrix, "SI", 2, [{"productName": "Услуга", "price": 1000, "taxRate": 22, "taxIncluded": "N"}]
    )
    assert rows[0]["priceExclusive"] == 819.67
    item = bitrix.result("crm.item.get", {"entityTypeId": 31, "id": 2})["item"]
    assert (item["opportunity"], item["taxValue"]) == (1000, 180.33)
    manual_item = {"isManualOpportunity": "Y", "opportunity": 5}
    item = bitrix.result("crm.item.update", {"entityTypeId": 31, "id": 2, "fields": manual_item})["item"]
    assert item["opportunity"] == 5
    assert bitrix.call("crm.item.delete", {"entityTypeId": 31, "id": 2}).status_code == 200
    missing = bitrix.call("crm.item.productrow.get", {"id": rows[0]["id"]})
    assert missing.status_code == 400  # an invoice's rows go with it


def test_seeded_rows_follow_the_arithmetic(bitrix: Bitrix) -> None:
    """Seeded rows read back exactly as if a client had set them: re-setting changes no derived price."""
    for owner, owner_id in (("D", 1), ("D", 3), ("SI", 2)):
        flt = {"=ownerType": owner, "=ownerId": owner_id}
        seeded = bitrix.result("crm.item.productrow.list", {"filter": flt})["productRows"]
        writable = (
            "productId",
            "price",
            "quantity",
            "discountTypeId",
            "discountRate",
            "discountSum",
            "taxRate",
        )
        again = _set(bitrix, owner, owner_id, [{k: r[k] for k in (*writable, "taxIncluded")} for r in seeded])
        keys = ("price", "priceExclusive", "priceNetto", "priceBrutto", "discountSum")
        assert [[r[k] for k in keys] for r in again] == [[r[k] for k in keys] for r in seeded]


def test_demo_portal_has_every_vat_situation_consistently(bitrix: Bitrix) -> None:
    """The demo profile: 22%, 10% and no tax, tax included and on top, percent and absolute discounts, a USD
    deal and smart invoices — every row as the C.9a arithmetic prints it, every amount Σ PRICE × QUANTITY."""
    from contour import profiles
    from contour.bitrix import seed

    seed.seed(bitrix.contour.state_dir, profiles.demo())
    situations: set[str] = set()
    deals = bitrix.call("crm.deal.list", {"select": ["ID", "OPPORTUNITY", "CURRENCY_ID"]}).json()
    assert deals["total"] == 22
    owners = [("D", int(d["ID"]), d["OPPORTUNITY"], d["CURRENCY_ID"]) for d in deals["result"]]
    invoices = bitrix.result("crm.item.list", {"entityTypeId": 31})["items"]
    owners += [("SI", i["id"], f"{i['opportunity']:.2f}", i["currencyId"]) for i in invoices]
    assert len(invoices) == 6
    for owner, owner_id, amount, currency in owners:
        flt = {"=ownerType": owner, "=ownerId": owner_id}
        rows = bitrix.result("crm.item.productrow.list", {"filter": flt})["productRows"]
        assert rows, (owner, owner_id)
        total = sum(round(r["price"] * r["quantity"] * 100) for r in rows) / 100
        assert f"{total:.2f}" == amount, (owner, owner_id)
        situations.add(currency)
        for r in rows:
            situations.add(f"tax {r['taxRate']}")
            situations.add(f"included {r['taxIncluded']}")
            if r["discountSum"]:
                situations.add(f"discount type {r['discountTypeId']}")
            factor = 1 + (r["taxRate"] or 0) / 100
            assert abs(r["priceExclusive"] - r["price"] / factor) < 0.0051, r  # rounded to kopecks, half up
            assert abs(r["priceNetto"] - r["priceExclusive"] - r["discountSum"]) < 0.0051, (
                r
            )  # rounded to kopecks, half up
            assert abs(r["priceBrutto"] - r["priceNetto"] * factor) < 0.0051, r  # rounded to kopecks, half up
    assert {
        "RUB",
        "USD",
        "tax 22",
        "tax 10",
        "tax None",
        "included Y",
        "included N",
        "discount type 1",
        "discount type 2",
    } <= situations
