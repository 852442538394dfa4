"""Bitrix24 emulator: deal user fields (``crm.deal.userfield.*``) and how deals store them; unknown fields are
silently ignored by ``crm.deal.add|update`` and ``crm.item.update``, as on a real portal."""

from __future__ import annotations

from typing import Any

from tests.contour.conftest import Bitrix


def add_field(bitrix: Bitrix, name: str, user_type: str, **extra: Any) -> int:
    new_id = bitrix.result(
        "crm.deal.userfield.add", {"fields": {"FIELD_NAME": name, "USER_TYPE_ID": user_type, **extra}}
    )
    assert isinstance(new_id, int)
    return new_id


def refused(bitrix: Bitrix, fields: dict[str, Any]) -> str:
    response = bitrix.call("crm.deal.userfield.add", {"fields": fields})
    assert response.status_code == 400, response.text
    return str(response.json()["error_description"])


def test_userfield_crud_and_name_rules(bitrix: Bitrix) -> None:
    field_id = add_field(bitrix, "ONEC_REF", "string", EDIT_FORM_LABEL="GUID в 1С", XML_ID="onec_ref")
    got = bitrix.result("crm.deal.userfield.get", {"id": field_id})
    assert (got["ID"], got["ENTITY_ID"], got["FIELD_NAME"], got["USER_TYPE_ID"], got["MULTIPLE"]) == (
        str(field_id),
        "CRM_DEAL",
        "UF_CRM_ONEC_REF",
        "string",
        "N",
    )
    assert add_field(bitrix, "UF_CRM_ALREADY_PREFIXED", "double") > field_id
    longest = "X" * (50 - len("UF_CRM_"))
    assert add_field(bitrix, longest, "boolean")
    assert "50" in refused(bitrix, {"FIELD_NAME": longest + "Y", "USER_TYPE_ID": "string"})
    assert "A-Z" in refused(bitrix, {"FIELD_NAME": "lower_case", "USER_TYPE_ID": "string"})
    assert "A-Z" in refused(bitrix, {"FIELD_NAME": "ДАТА", "USER_TYPE_ID": "string"})
    assert "already exists" in refused(bitrix, {"FIELD_NAME": "ONEC_REF", "USER_TYPE_ID": "string"})
    assert "type" in refused(bitrix, {"FIELD_NAME": "FILE", "USER_TYPE_ID": "file"})

    change = {"FIELD_NAME": "RENAMED", "USER_TYPE_ID": "double", "MULTIPLE": "Y", "EDIT_FORM_LABEL": "Ссылка"}
    assert bitrix.result("crm.deal.userfield.update", {"id": field_id, "fields": change}) is True
    got = bitrix.result("crm.deal.userfield.get", {"id": field_id})
    assert (got["FIELD_NAME"], got["USER_TYPE_ID"], got["MULTIPLE"], got["EDIT_FORM_LABEL"]) == (
        "UF_CRM_ONEC_REF",
        "string",
        "N",
        "Ссылка",
    )
    listed = bitrix.result("crm.deal.userfield.list", {"filter": {"USER_TYPE_ID": "string"}})
    assert [f["FIELD_NAME"] for f in listed] == ["UF_CRM_ONEC_REF"]
    described = bitrix.result("crm.deal.fields")["UF_CRM_ONEC_REF"]
    assert (described["type"], described["isDynamic"], described["formLabel"]) == ("string", True, "Ссылка")
    assert bitrix.result("crm.deal.userfield.delete", {"id": field_id}) is True
    assert bitrix.call("crm.deal.userfield.get", {"id": field_id}).status_code == 400


def test_deal_stores_defined_fields_typed_and_ignores_unknown_ones(bitrix: Bitrix) -> None:
    for name, kind in (
        ("REF", "string"),
        ("WEIGHT", "double"),
        ("DUE", "date"),
        ("SENT_AT", "datetime"),
        ("BUDGET", "money"),
        ("PAID", "boolean"),
    ):
        add_field(bitrix, name, kind)
    enum_id = add_field(
        bitrix, "KIND", "enumeration", LIST=[{"VALUE": "Опт", "SORT": 10}, {"VALUE": "Розница", "SORT": 20}]
    )
    items = bitrix.result("crm.deal.userfield.get", {"id": enum_id})["LIST"]
    assert [i["VALUE"] for i in items] == ["Опт", "Розница"]
    retail = items[1]["ID"]
    values = {
        "UF_CRM_REF": "guid-1",
        "UF_CRM_WEIGHT": "12.5",
        "UF_CRM_DUE": "2026-03-02T15:30:00+03:00",
        "UF_CRM_SENT_AT": "2026-03-02T15:30:00+03:00",
        "UF_CRM_BUDGET": "300|RUB",
        "UF_CRM_PAID": "1",
        "UF_CRM_KIND": retail,
        "UF_CRM_NOT_DEFINED": "lost",
        "NOT_A_FIELD": "lost",
    }
    assert bitrix.result("crm.deal.update", {"id": 1, "fields": values}) is True  # unknown ones: still true
    deal = bitrix.result("crm.deal.get", {"id": 1})
    assert {k: val for k, val in deal.items() if k.startswith("UF_")} == {
        "UF_CRM_REF": "guid-1",
        "UF_CRM_WEIGHT": 12.5,
        "UF_CRM_DUE": "2026-03-02T00:00:00+03:00",
        "UF_CRM_SENT_AT": "2026-03-02T15:30:00+03:00",
        "UF_CRM_BUDGET": "300|RUB",
        "UF_CRM_PAID": "Y",
        "UF_CRM_KIND": retail,
    }
    listed = bitrix.result(
        "crm.deal.list", {"filter": {"ID": 1}, "select": ["ID", "UF_CRM_PAID", "UF_CRM_DUE"]}
    )
    assert listed == [{"ID": "1", "UF_CRM_PAID": "Y", "UF_CRM_DUE": "2026-03-02T00:00:00+03:00"}]
    found = bitrix.result("crm.deal.list", {"filter": {"UF_CRM_REF": "guid-1"}, "select": ["ID"]})
    assert found == [{"ID": "1"}]  # a client finds its deal by the 1C reference it keeps in a user field
    assert bitrix.result("crm.deal.list", {"filter": {"UF_CRM_WEIGHT": 12.5}, "select": ["ID"]}) == [
        {"ID": "1"}
    ]
    new_id = bitrix.result(
        "crm.deal.add", {"fields": {"TITLE": "С полями", "UF_CRM_BUDGET": 1500, "UF_X": 1}}
    )
    added = bitrix.result("crm.deal.get", {"id": new_id})
    assert added["UF_CRM_BUDGET"] == "1500|RUB" and "UF_X" not in added


def test_item_update_ignores_unknown_keys(bitrix: Bitrix) -> None:
    fields = {"title": "Счёт с чужими полями", "ufCrmNotThere": "x", "UF_CRM_SMART_INVOICE_X": "y"}
    item = bitrix.result("crm.item.update", {"entityTypeId": 31, "id": 1, "fields": fields})["item"]
    assert item["title"] == "Счёт с чужими полями"
    assert not any(k.lower().startswith("uf") for k in item)
