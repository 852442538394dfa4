"""Bitrix24 emulator: ``batch`` (references, halt, errors, limits and PHP's JSON shapes)."""

from __future__ import annotations

from urllib.parse import quote

from tests.contour.conftest import Bitrix


def batch(bitrix: Bitrix, cmd: object, halt: int = 0) -> dict:
    response = bitrix.call("batch", {"halt": halt, "cmd": cmd})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"result", "time"}
    return body["result"]


def test_references_chain_results(bitrix: Bitrix) -> None:
    out = batch(
        bitrix,
        {
            "add": "crm.company.add?fields[TITLE]=" + quote("Из пакета") + "&fields[ORIGIN_ID]=b-1",
            "get": "crm.company.get?id=$result[add]",
            "req": "crm.requisite.add?fields[ENTITY_TYPE_ID]=4&fields[ENTITY_ID]=$result[add]"
            "&fields[PRESET_ID]=1&fields[NAME]=R&fields[RQ_INN]=7707083893",
            "list": "crm.company.list?filter[ORIGIN_ID]=b-1&select[]=ID&select[]=TITLE",
            "first": "crm.company.get?id=$result[list][0][ID]",
            "title": "crm.company.list?filter[TITLE]=$result[get][TITLE]&select[]=ID",
        },
    )
    assert out["result_error"] == []
    new_id = out["result"]["add"]
    assert out["result"]["get"]["TITLE"] == "Из пакета" and out["result"]["first"]["ID"] == str(new_id)
    assert out["result"]["list"] == [{"ID": str(new_id), "TITLE": "Из пакета"}]
    assert out["result"]["title"] == [{"ID": str(new_id)}]
    assert out["result_total"] == {"list": 1, "title": 1} and out["result_next"] == []
    assert set(out["result_time"]) == set(out["result"])
    assert {"start", "finish", "operating"} <= set(out["result_time"]["get"])
    requisites = bitrix.result("crm.requisite.list", {"filter": {"ENTITY_ID": new_id}})
    assert requisites[0]["RQ_INN"] == "7707083893"


def test_double_encoded_get_batch(bitrix: Bitrix) -> None:
    inner = "crm.company.list?" + "filter[%3EID]=115&select[]=ID"
    response = bitrix.request(
        "GET",
        "batch?halt=0&cmd[a]="
        + quote(inner, safe="")
        + "&cmd[b]="
        + quote("crm.company.get?id=$result[a][0][ID]", safe=""),
    )
    out = response.json()["result"]
    assert [r["ID"] for r in out["result"]["a"]] == ["116", "117", "118"]
    assert out["result"]["b"]["ID"] == "116"


def test_errors_with_and_without_halt(bitrix: Bitrix) -> None:
    cmd = {
        "one": "crm.company.get?id=1",
        "bad": "crm.company.get?id=99999",
        "three": "crm.company.get?id=3",
        "nope": "crm.unknown.method",
    }
    out = batch(bitrix, cmd, halt=0)
    assert set(out["result"]) == {"one", "three"}
    assert out["result_error"] == {
        "bad": {"error": "", "error_description": "Not found"},
        "nope": {"error": "ERROR_METHOD_NOT_FOUND", "error_description": "Method not found!"},
    }
    halted = batch(bitrix, cmd, halt=1)
    assert set(halted["result"]) == {"one"} and set(halted["result_error"]) == {"bad"}
    assert set(halted["result_time"]) == {"one"}


def test_php_array_quirk_numeric_keys_and_empty_maps(bitrix: Bitrix) -> None:
    out = batch(bitrix, ["crm.company.get?id=1", "crm.company.get?id=2"])
    assert isinstance(out["result"], list) and [c["ID"] for c in out["result"]] == ["1", "2"]
    assert out["result_error"] == [] and out["result_total"] == [] and out["result_next"] == []
    assert isinstance(out["result_time"], list)
    failed = batch(bitrix, ["crm.company.get?id=0", "crm.company.get?id=99999"])
    assert failed["result"] == [] and failed["result_time"] == []
    assert failed["result_error"] == [
        {"error": "", "error_description": "ID is not defined or invalid."},
        {"error": "", "error_description": "Not found"},
    ]
    gap = batch(
        bitrix, {"0": "crm.company.get?id=1", "1": "crm.company.get?id=99999", "2": "crm.company.get?id=2"}
    )
    assert set(gap["result"]) == {"0", "2"} and gap["result_error"] == {
        "1": {"error": "", "error_description": "Not found"}
    }
    lists = batch(
        bitrix, {"a": "crm.company.list?select[]=ID", "b": "crm.company.list?start=100&select[]=ID"}
    )
    assert lists["result_total"] == {"a": 118, "b": 118} and lists["result_next"] == {"a": 50}
    empty = batch(bitrix, {})
    assert empty == {
        "result": [],
        "result_error": [],
        "result_total": [],
        "result_next": [],
        "result_time": [],
    }


def test_limits_of_batch(bitrix: Bitrix) -> None:
    too_long = bitrix.call("batch", {"cmd": {f"c{i}": "crm.company.get?id=1" for i in range(51)}})
    assert too_long.status_code == 400 and too_long.json()["error"] == "ERROR_BATCH_LENGTH_EXCEEDED"
    nested = bitrix.call(
        "batch", {"cmd": {"a": "crm.company.get?id=1", "b": "batch?cmd[x]=crm.company.get%3Fid%3D1"}}
    )
    assert nested.status_code == 405 and nested.json()["error"] == "ERROR_BATCH_METHOD_NOT_ALLOWED"
    fifty = batch(bitrix, {f"c{i}": f"crm.company.get?id={i + 1}" for i in range(50)})
    assert len(fifty["result"]) == 50


def test_batch_is_one_hit_but_sub_calls_are_counted(bitrix: Bitrix) -> None:
    bitrix.contour.knobs("bitrix", rate_plan="standard")
    for _ in range(45):
        assert bitrix.call("crm.company.get", {"id": 1}).status_code == 200
    out = batch(bitrix, {f"c{i}": "crm.company.list?select[]=ID" for i in range(50)})
    assert len(out["result"]) == 50 and out["result_error"] == []
    stats = bitrix.stats()
    assert stats["requests"] == 46 and stats["rejected_503"] == 0
    assert (
        stats["methods"]["crm.company.list"]["calls"] == 50
        and stats["methods"]["crm.company.get"]["calls"] == 45
    )
    assert "batch" not in stats["methods"]


def test_injected_sub_call_faults(bitrix: Bitrix) -> None:
    bitrix.contour.knobs("bitrix", batch_fault_rate=1.0)
    out = batch(bitrix, {"a": "crm.company.update?id=1&fields[TITLE]=X", "b": "crm.company.get?id=2"})
    assert out["result"] == [] and set(out["result_error"]) == {"a", "b"}
    assert out["result_error"]["a"] == {
        "error": "INTERNAL_SERVER_ERROR",
        "error_description": "Internal server error",
    }
    assert bitrix.result("crm.company.get", {"id": 1})["TITLE"] == 'ООО "Компания 000"'  # nothing ran
