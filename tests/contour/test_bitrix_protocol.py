"""Bitrix24 emulator, wire level: auth, encodings, envelope, paging, filters, select and order."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest

from tests.contour.conftest import BITRIX_CRM_COMPANIES, Bitrix

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+03:00$")


def all_companies(bitrix: Bitrix, select: list[str] | None = None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    start: int | None = 0
    while start is not None:
        body = bitrix.call("crm.company.list", {"select": select or ["*", "PHONE"], "start": start}).json()
        rows += body["result"]
        start = body.get("next")
    return rows


def ids(rows: list[dict[str, Any]]) -> list[int]:
    return [int(r["ID"]) for r in rows]


def test_wrong_webhook_and_missing_auth(bitrix: Bitrix) -> None:
    root = bitrix.root
    for path in ("/rest/1/wrong0token/crm.company.list", "/rest/2/contour0webhook0token/crm.company.list"):
        response = bitrix.session.get(root + path, timeout=10)
        assert response.status_code == 401
        assert response.json() == {
            "error": "INVALID_CREDENTIALS",
            "error_description": "Invalid request credentials",
        }
    response = bitrix.session.get(root + "/rest/crm.company.list", timeout=10)
    assert (response.status_code, response.json()["error"]) == (401, "NO_AUTH_FOUND")


def test_unknown_method(bitrix: Bitrix) -> None:
    response = bitrix.call("crm.company.explode")
    assert response.status_code == 404
    assert response.json() == {"error": "ERROR_METHOD_NOT_FOUND", "error_description": "Method not found!"}


def test_json_suffix_and_method_case(bitrix: Bitrix) -> None:
    plain = bitrix.result("crm.company.get", {"id": 1})
    assert bitrix.result("crm.company.get.json", {"id": 1}) == plain
    assert bitrix.result("CRM.Company.Get", {"ID": 1}) == plain


def test_get_json_form_and_multipart_give_the_same_answer(bitrix: Bitrix) -> None:
    params = {
        "filter": {">ID": 20, "%TITLE": "Компания"},
        "select": ["ID", "TITLE"],
        "order": {"ID": "DESC"},
        "start": 0,
    }
    query = (
        "FILTER[%3EID]=20&FILTER[%25TITLE]=" + quote("Компания") + "&SELECT[]=ID&SELECT[]=TITLE"
        "&ORDER[ID]=DESC&START=0"
    )
    pairs = [
        ("filter[>ID]", "20"),
        ("filter[%TITLE]", "Компания"),
        ("select[0]", "ID"),
        ("select[1]", "TITLE"),
        ("order[ID]", "DESC"),
        ("start", "0"),
    ]
    answers = [
        bitrix.call("crm.company.list", params),
        bitrix.request("GET", "crm.company.list.json?" + query),
        bitrix.request("POST", "crm.company.list", data=pairs),
        bitrix.request("POST", "crm.company.list", files={k: (None, v) for k, v in pairs}),
    ]
    bodies = [a.json() for a in answers]
    assert all(a.status_code == 200 for a in answers)
    first = {k: bodies[0][k] for k in ("result", "total", "next")}
    wanted = [c for c in all_companies(bitrix) if int(c["ID"]) > 20 and "Компания" in c["TITLE"]]
    assert first["total"] == len(wanted) > 50 and first["next"] == 50
    for body in bodies[1:]:
        assert {k: body[k] for k in ("result", "total", "next")} == first
    assert ids(first["result"]) == sorted(ids(first["result"]), reverse=True)


def test_envelope_and_classic_strings(bitrix: Bitrix) -> None:
    body = bitrix.call("crm.company.get", {"id": 1}).json()
    timing = body["time"]
    assert set(timing) == {
        "start",
        "finish",
        "duration",
        "processing",
        "date_start",
        "date_finish",
        "operating_reset_at",
        "operating",
    }
    assert ISO.match(timing["date_start"]) and ISO.match(timing["date_finish"])
    assert timing["finish"] >= timing["start"] and isinstance(timing["operating_reset_at"], int)
    company = body["result"]
    assert company["ID"] == "1" and company["ASSIGNED_BY_ID"] == "1" and company["OPENED"] == "Y"
    assert ISO.match(company["DATE_CREATE"]) and ISO.match(company["DATE_MODIFY"])
    assert company["PHONE"][0] == {
        "ID": company["PHONE"][0]["ID"],
        "VALUE_TYPE": "WORK",
        "VALUE": "+7 495 000-00-00",
        "TYPE_ID": "PHONE",
    }
    assert isinstance(company["PHONE"][0]["ID"], str)
    assert "total" not in body and "next" not in body


def test_paging_by_fifty_with_next_and_total(bitrix: Bitrix) -> None:
    pages = [
        bitrix.call("crm.company.list", {"select": ["ID"], "start": s}).json() for s in (0, 50, 100, 150)
    ]
    assert [len(p["result"]) for p in pages] == [50, 50, 18, 0]
    assert [p["total"] for p in pages] == [BITRIX_CRM_COMPANIES] * 4
    assert [p.get("next") for p in pages] == [50, 100, None, None]
    assert "next" not in pages[2]
    seen = ids(pages[0]["result"] + pages[1]["result"] + pages[2]["result"])
    assert seen == list(range(1, BITRIX_CRM_COMPANIES + 1))


def test_start_minus_one_is_keyset_paging_without_total(bitrix: Bitrix) -> None:
    last, seen, calls = 0, [], 0
    while True:
        body = bitrix.call(
            "crm.company.list",
            {"order": {"ID": "ASC"}, "filter": {">ID": last}, "select": ["ID"], "start": -1},
        ).json()
        calls += 1
        assert "total" not in body and "next" not in body
        seen += ids(body["result"])
        if len(body["result"]) < 50:
            break
        last = seen[-1]
    assert calls == 3 and seen == list(range(1, BITRIX_CRM_COMPANIES + 1))


FILTERS: list[tuple[dict[str, Any], Any]] = [
    ({">=ID": 10, "<ID": 20}, lambda c: 10 <= int(c["ID"]) < 20),
    ({">ID": 110}, lambda c: int(c["ID"]) > 110),
    ({"<=ID": "3"}, lambda c: int(c["ID"]) <= 3),
    ({"@ID": [2, 4, 500]}, lambda c: c["ID"] in ("2", "4")),
    ({"!@ID": [2, 4]}, lambda c: c["ID"] not in ("2", "4")),
    ({"%TITLE": "РОМАШ"}, lambda c: c["TITLE"] == "Ромашка"),
    ({"=%TITLE": 'ООО "Компания 01%'}, lambda c: c["TITLE"].startswith('ООО "Компания 01')),
    ({"%=TITLE": '%9"'}, lambda c: c["TITLE"].endswith('9"')),
    ({"=ID": 7}, lambda c: c["ID"] == "7"),
    ({"ID": 7}, lambda c: c["ID"] == "7"),
    ({"!=ID": 7}, lambda c: c["ID"] != "7"),
    ({"!ID": 7}, lambda c: c["ID"] != "7"),
    ({"HAS_PHONE": "Y"}, lambda c: bool(c.get("PHONE"))),
    ({"PHONE": "+7 495 000-03-00"}, lambda c: c["ID"] == "4"),
    ({"COMPANY_TYPE": "CUSTOMER", "<ID": 3}, lambda c: int(c["ID"]) < 3),
    ({"NO_SUCH_FIELD": 1, "<ID": 3}, lambda c: int(c["ID"]) < 3),  # unknown fields are ignored
]


@pytest.mark.parametrize(("flt", "wanted"), FILTERS, ids=[str(f[0]) for f in FILTERS])
def test_filter_prefixes(bitrix: Bitrix, flt: dict[str, Any], wanted: Any) -> None:
    everyone = all_companies(bitrix)
    expected = [int(c["ID"]) for c in everyone if wanted(c)]
    got, start = [], 0
    while start is not None:
        body = bitrix.call("crm.company.list", {"filter": flt, "select": ["ID"], "start": start}).json()
        got += ids(body["result"])
        start = body.get("next")
    assert expected and got == expected


def test_select_masks(bitrix: Bitrix) -> None:
    new_id = bitrix.result("crm.company.add", {"fields": {"TITLE": "С полем", "UF_CRM_1C_GUID": "abc"}})
    default = bitrix.call("crm.company.list", {"filter": {"ID": new_id}}).json()["result"][0]
    assert default["TITLE"] == "С полем" and default["UF_CRM_1C_GUID"] == "abc" and "PHONE" not in default
    star = bitrix.call("crm.company.list", {"filter": {"ID": new_id}, "select": ["*"]}).json()["result"][0]
    assert "UF_CRM_1C_GUID" not in star and "DATE_MODIFY" in star
    uf = bitrix.call("crm.company.list", {"filter": {"ID": new_id}, "select": ["UF_*"]}).json()["result"][0]
    assert uf == {"ID": str(new_id), "UF_CRM_1C_GUID": "abc"}
    by_uf = bitrix.call("crm.company.list", {"filter": {"UF_CRM_1C_GUID": "abc"}, "select": ["ID"]}).json()
    assert by_uf["result"] == [{"ID": str(new_id)}]
    phone = bitrix.call("crm.company.list", {"filter": {"ID": 1}, "select": ["TITLE", "PHONE"]}).json()[
        "result"
    ]
    assert set(phone[0]) == {"ID", "TITLE", "PHONE"} and phone[0]["PHONE"][0]["VALUE"] == "+7 495 000-00-00"


def test_order_with_id_tie_breaker(bitrix: Bitrix) -> None:
    body = bitrix.call(
        "crm.company.list", {"order": {"COMPANY_TYPE": "ASC", "TITLE": "DESC"}, "select": ["TITLE"]}
    ).json()
    titles = [r["TITLE"] for r in body["result"]]
    assert titles == sorted(titles, reverse=True)
    by_type = bitrix.call("crm.company.list", {"order": {"COMPANY_TYPE": "ASC"}, "select": ["ID"]}).json()
    assert ids(by_type["result"]) == list(range(1, 51))


def test_business_errors_are_400_with_empty_code(bitrix: Bitrix) -> None:
    cases = [
        ("crm.company.get", {"id": 99999}, "Not found"),
        ("crm.company.get", {}, "ID is not defined or invalid."),
        ("crm.company.update", {"id": 99999, "fields": {"TITLE": "x"}}, "Company is not found"),
        ("crm.company.add", {"fields": "oops"}, "Parameter 'fields' must be array."),
    ]
    for method, params, text in cases:
        response = bitrix.call(method, params)
        assert response.status_code == 400, method
        assert response.json() == {"error": "", "error_description": text}


def test_fault_injection_answers_like_bitrix(bitrix: Bitrix) -> None:
    bitrix.contour.knobs("bitrix", fault_5xx_rate=1.0)
    response = bitrix.call("crm.company.get", {"id": 1})
    assert response.status_code == 500
    assert response.json() == {"error": "INTERNAL_SERVER_ERROR", "error_description": "Internal server error"}
