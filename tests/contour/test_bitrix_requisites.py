"""Bitrix24 emulator: a requisite's bank details (``crm.requisite.bankdetail.*``) and addresses
(``crm.address.*``), and their removal with the requisite or its company."""

from __future__ import annotations

from typing import Any

from tests.contour.conftest import Bitrix

BANK = {
    "ENTITY_ID": 1,
    "NAME": "Основной счёт",
    "RQ_BANK_NAME": "ПАО Сбербанк",
    "RQ_BIK": "044525225",
    "RQ_ACC_NUM": "40702810938000000001",
    "RQ_COR_ACC_NUM": "30101810400000000225",
    "RQ_ACC_CURRENCY": "RUB",
    "XML_ID": "onec-bank-1",
}
ADDRESS = {
    "TYPE_ID": 6,
    "ENTITY_TYPE_ID": 8,
    "ENTITY_ID": 1,
    "ADDRESS_1": "ул. Тверская, д. 1",
    "CITY": "Москва",
    "POSTAL_CODE": "125009",
    "COUNTRY": "Россия",
}


def error(response: Any) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["error"], body["error_description"]


def test_bank_detail_crud(bitrix: Bitrix) -> None:
    bank_id = bitrix.result("crm.requisite.bankdetail.add", {"fields": BANK})
    assert isinstance(bank_id, int)
    got = bitrix.result("crm.requisite.bankdetail.get", {"id": bank_id})
    assert {k: got[k] for k in BANK} == {**BANK, "ENTITY_ID": "1"}
    assert (got["ID"], got["ENTITY_TYPE_ID"], got["COUNTRY_ID"], got["ACTIVE"]) == (
        str(bank_id),
        "8",
        "1",
        "Y",
    )
    assert got["DATE_CREATE"].endswith("+03:00")
    change = {"RQ_ACC_NUM": "40702810938000000002", "ENTITY_ID": 2}  # the owner cannot change
    assert bitrix.result("crm.requisite.bankdetail.update", {"id": bank_id, "fields": change}) is True
    listed = bitrix.result(
        "crm.requisite.bankdetail.list", {"filter": {"ENTITY_ID": 1}, "select": ["ID", "RQ_ACC_NUM"]}
    )
    assert listed == [{"ID": str(bank_id), "RQ_ACC_NUM": "40702810938000000002"}]
    fields = bitrix.result("crm.requisite.bankdetail.fields")
    assert fields["ENTITY_ID"]["isRequired"] is True and fields["RQ_BIK"]["type"] == "string"
    assert error(bitrix.call("crm.requisite.bankdetail.add", {"fields": {**BANK, "ENTITY_ID": 9999}}))[2] == (
        "The requisite with ID '9999' is not found."
    )
    missing_name = {k: val for k, val in BANK.items() if k != "NAME"}
    assert error(bitrix.call("crm.requisite.bankdetail.add", {"fields": missing_name}))[0] == 400
    assert bitrix.result("crm.requisite.bankdetail.delete", {"id": bank_id}) is True
    assert error(bitrix.call("crm.requisite.bankdetail.get", {"id": bank_id})) == (400, "", "Not found")


def test_address_is_named_by_type_and_owner(bitrix: Bitrix) -> None:
    assert bitrix.result("crm.address.add", {"fields": ADDRESS}) is True
    assert error(bitrix.call("crm.address.add", {"fields": ADDRESS})) == (400, "", "TypeAddress exists")
    actual = {**ADDRESS, "TYPE_ID": 1, "ADDRESS_1": "ул. Складская, 5"}
    assert bitrix.result("crm.address.add", {"fields": actual}) is True
    listed = bitrix.result("crm.address.list", {"filter": {"ENTITY_TYPE_ID": 8, "ENTITY_ID": 1}})
    assert [(a["TYPE_ID"], a["ADDRESS_1"]) for a in listed] == [
        ("6", "ул. Тверская, д. 1"),
        ("1", "ул. Складская, 5"),
    ]
    legal = listed[0]
    assert (legal["ENTITY_TYPE_ID"], legal["ENTITY_ID"], legal["ANCHOR_TYPE_ID"], legal["ANCHOR_ID"]) == (
        "8",
        "1",
        "4",
        "1",
    )
    assert "ROW_ID" not in legal and legal["COUNTRY_CODE"] is None

    moved = {"TYPE_ID": 6, "ENTITY_TYPE_ID": 8, "ENTITY_ID": 1, "CITY": "Санкт-Петербург"}
    assert bitrix.result("crm.address.update", {"fields": moved}) is True
    cities = bitrix.result("crm.address.list", {"filter": {"TYPE_ID": 6}, "select": ["TYPE_ID", "CITY"]})
    assert cities == [{"TYPE_ID": "6", "CITY": "Санкт-Петербург"}]
    assert error(bitrix.call("crm.address.add", {"fields": {**ADDRESS, "TYPE_ID": 99}}))[2] == (
        "TYPE_ID is not defined or invalid."
    )
    assert error(bitrix.call("crm.address.add", {"fields": {**ADDRESS, "ENTITY_ID": 9999}}))[2] == (
        "ENTITY_ID is not defined or invalid."
    )
    key = {"TYPE_ID": 1, "ENTITY_TYPE_ID": 8, "ENTITY_ID": 1}
    assert bitrix.result("crm.address.delete", {"fields": key}) is True
    assert error(bitrix.call("crm.address.delete", {"fields": key})) == (400, "", "Not found")
    assert bitrix.result("crm.address.fields")["TYPE_ID"]["isRequired"] is True


def test_parts_go_with_the_requisite_and_the_company(bitrix: Bitrix) -> None:
    for requisite in (1, 2):
        bitrix.result("crm.requisite.bankdetail.add", {"fields": {**BANK, "ENTITY_ID": requisite}})
        bitrix.result("crm.address.add", {"fields": {**ADDRESS, "ENTITY_ID": requisite}})
    assert bitrix.result("crm.requisite.delete", {"id": 1}) is True
    assert [b["ENTITY_ID"] for b in bitrix.result("crm.requisite.bankdetail.list")] == ["2"]
    assert [a["ENTITY_ID"] for a in bitrix.result("crm.address.list")] == ["2"]
    assert bitrix.result("crm.company.delete", {"id": 2}) is True  # requisite 2 belongs to company 2
    assert bitrix.result("crm.requisite.bankdetail.list") == []
    assert bitrix.result("crm.address.list") == []
