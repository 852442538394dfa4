"""1C OData client against a fake transport: auth, URLs, paging, writes, error mapping, threads."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from decimal import Decimal
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest

from crm1c.clients.errors import (
    AuthError,
    NotFound,
    OutcomeUnknown,
    PeriodClosed,
    PreconditionFailed,
    RetryableError,
    ValidationRejected,
)
from crm1c.clients.odata_filter import F, guid
from crm1c.clients.onec import OneCClient, basic_auth_header
from crm1c.clients.retry import RetryPolicy
from tests.clients.fakes import FakeAdapter, Reply, session_factory

BASE = "https://1c.test/accounting/odata/standard.odata/"
REF = "1fa1a135-d89b-11e6-8343-40167e2531c3"
PERIOD_TEXT = (
    "Запрещено изменять данные с датой ранее 31.12.2025 (включительно).\nПодробнее: дата 15.12.2025 входит в "
    "запрещенный период"
)


def odata_error(code: str, text: str) -> dict:
    return {"odata.error": {"code": code, "message": {"lang": "ru", "value": text}}}


def make_client(handler, attempts=3):
    adapter = FakeAdapter(handler)
    policy = RetryPolicy(max_attempts=attempts, base_delay=0.001, sleep=lambda s: None)
    client = OneCClient(
        BASE,
        "Интеграция",
        "пароль-1",
        retry=policy,
        conn_id="onec_test",
        session_factory=session_factory(adapter),
    )
    return client, adapter


def query(request) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(request.url).query, keep_blank_values=True))


def test_basic_auth_is_utf8_and_format_json_is_always_sent():
    client, adapter = make_client(lambda r: Reply(200, {"value": []}))
    client.list_all("Catalog_Контрагенты", select=["Ref_Key", "DataVersion"])
    request = adapter.seen[0]
    scheme, token = request.headers["Authorization"].split(" ")
    assert scheme == "Basic" and base64.b64decode(token).decode("utf-8") == "Интеграция:пароль-1"
    assert request.headers["Authorization"] == basic_auth_header("Интеграция", "пароль-1")
    assert unquote(urlsplit(request.url).path).endswith("/standard.odata/Catalog_Контрагенты")
    assert query(request) == {"$format": "json", "$select": "Ref_Key,DataVersion"}
    assert not any(h.lower() == "1c_odata-dataloadmode" for h in request.headers)
    assert "пароль" not in repr(client)


def test_filters_are_expressions_only_and_encoded():
    client, adapter = make_client(lambda r: Reply(200, {"value": []}))
    client.list_all("Catalog_Контрагенты", filter=F("Description") == "ООО \"Ромашка\" & Co' or 1 eq 1 or '")
    assert query(adapter.seen[0])["$filter"] == "Description eq 'ООО \"Ромашка\" & Co'' or 1 eq 1 or '''"
    with pytest.raises(TypeError):
        client.list_all("Catalog_Контрагенты", filter="Description eq 'x'")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        client.list_all("Catalog_Контрагенты?$top=1")
    with pytest.raises(ValueError):
        client.list_all("Catalog_X", select=["Ref_Key,1 eq 1"])


@pytest.mark.parametrize("total, requests_made", [(0, 1), (3, 1), (4, 2), (9, 3)])
def test_list_pages_with_top_skip_and_stable_order(total, requests_made):
    rows = [{"Ref_Key": str(uuid.UUID(int=i))} for i in range(total)]

    def handler(request):
        q = query(request)
        top, skip = int(q["$top"]), int(q["$skip"])
        assert q["$orderby"] == "Ref_Key"
        return Reply(200, {"value": rows[skip : skip + top]})

    client, adapter = make_client(handler)
    pages = list(client.list("Catalog_Номенклатура", page_size=4))
    assert [r for p in pages for r in p] == rows and len(adapter.seen) == requests_made


def test_get_create_update_post_and_count():
    def handler(request):
        path = unquote(urlsplit(request.url).path)
        if request.method == "GET" and path.endswith("/$count"):
            return Reply(200, raw=b"42")
        if request.method == "GET":
            return Reply(200, {"Ref_Key": REF, "DataVersion": "AAAA"})
        if request.method == "POST" and path.endswith(("/Post", "/Unpost")):
            return Reply(200, None)
        if request.method == "POST":
            return Reply(201, {"Ref_Key": REF, **json.loads(request.body)})
        return Reply(200, {"Ref_Key": REF, "DataVersion": "BBBB"})

    client, adapter = make_client(handler)
    assert client.get("Catalog_Контрагенты", REF)["DataVersion"] == "AAAA"
    assert unquote(adapter.seen[-1].url).split("?")[0].endswith(f"Catalog_Контрагенты(guid'{REF}')")
    created = client.create("Catalog_Контрагенты", {"Description": "Ёлка 🎄"})
    assert created["Description"] == "Ёлка 🎄"
    assert json.loads(adapter.seen[-1].body.decode("utf-8")) == {"Description": "Ёлка 🎄"}
    client.update("Catalog_Контрагенты", REF, {"Description": "x"}, "AAAA")
    assert adapter.seen[-1].method == "PATCH" and adapter.seen[-1].headers["If-Match"] == "AAAA"
    client.mark_deleted("Catalog_Контрагенты", REF, "BBBB")
    assert json.loads(adapter.seen[-1].body) == {"DeletionMark": True}
    client.post_document("Document_РеализацияТоваровУслуг", REF)
    assert query(adapter.seen[-1]) == {"$format": "json", "PostingModeOperational": "false"}
    assert unquote(adapter.seen[-1].url).split("?")[0].endswith(f"(guid'{REF}')/Post")
    client.unpost_document("Document_РеализацияТоваровУслуг", REF)
    assert unquote(adapter.seen[-1].url).split("?")[0].endswith("/Unpost")
    assert client.count("Catalog_Контрагенты", F("ИНН") == "7707083893") == 42
    assert all(not any(h.lower() == "1c_odata-dataloadmode" for h in r.headers) for r in adapter.seen)
    with pytest.raises(ValueError):
        client.update("Catalog_Контрагенты", REF, {"x": 1}, "")
    with pytest.raises(ValueError):
        client.get("Catalog_Контрагенты", "not-a-guid')/$metadata")


@pytest.mark.parametrize(
    "status, body, expected",
    [
        (404, odata_error("9", "Экземпляр сущности не найден"), NotFound),
        (412, None, PreconditionFailed),
        (500, odata_error("-1", PERIOD_TEXT), PeriodClosed),
        (403, odata_error("20", "Нарушение прав доступа"), AuthError),
        (401, None, AuthError),
        (400, odata_error("4", "Неверное значение свойства"), ValidationRejected),
        (400, odata_error("5", "Не заполнено обязательное свойство"), ValidationRejected),
        (
            400,
            odata_error("13", "Cоздание строк табличной части напрямую не поддерживается"),
            ValidationRejected,
        ),
        (400, odata_error("14", "Ошибка разбора параметра запроса"), ValidationRejected),
    ],
)
def test_error_mapping(status, body, expected):
    client, adapter = make_client(lambda r: Reply(status, body))
    with pytest.raises(expected) as info:
        client.update("Catalog_Контрагенты", REF, {"Description": "x"}, "AAAA")
    assert info.value.system == "onec" and info.value.status == status
    assert len(adapter.seen) == 1
    if expected is AuthError:
        assert "onec_test" in str(info.value) and "пароль" not in str(info.value)


def test_5xx_reads_are_retried_and_writes_follow_the_not_applied_rule():
    calls = []

    def flaky(request):
        calls.append(request.method)
        return Reply(502, raw=b"<html>Bad gateway</html>") if len(calls) == 1 else Reply(200, {"value": []})

    client, _ = make_client(flaky)
    assert client.list_all("Catalog_X") == [] and len(calls) == 2
    calls.clear()
    client, _ = make_client(flaky)
    with pytest.raises(OutcomeUnknown):  # a bare proxy 5xx proves nothing about the write
        client.create("Catalog_X", {"Description": "x"})
    structured = iter([Reply(500, odata_error("-1", "Конфликт блокировок")), Reply(201, {"Ref_Key": REF})])
    client, adapter = make_client(lambda r: next(structured))
    assert (
        client.create("Catalog_X", {"Description": "x"})["Ref_Key"] == REF
    )  # 1C rolled it back: retry is safe
    assert len(adapter.seen) == 2
    client, _ = make_client(lambda r: Reply(500, odata_error("-1", "Конфликт блокировок")), attempts=2)
    with pytest.raises(RetryableError):
        client.list_all("Catalog_X")


def test_one_session_per_thread():
    client, _ = make_client(lambda r: Reply(200, {"value": []}))
    sessions = set()
    lock = threading.Lock()

    def work():
        client.list_all("Catalog_X")
        with lock:
            sessions.add(id(client._sessions.get()))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(sessions) == 4 and client.stats.requests == 4


def test_guid_literal_in_filter():
    client, adapter = make_client(lambda r: Reply(200, {"value": []}))
    client.list_all("Catalog_ДоговорыКонтрагентов", filter=F("Owner_Key") == guid(REF))
    assert query(adapter.seen[0])["$filter"] == f"Owner_Key eq guid'{REF}'"


def test_decimals_go_out_as_exact_json_numbers_and_a_longer_one_is_refused():
    client, adapter = make_client(lambda r: Reply(201, {"Ref_Key": REF}))
    body = {"Цена": Decimal("1234.50"), "Количество": Decimal("3"), "Товары": [{"Сумма": Decimal("0.1")}]}
    client.create("Document_СчетНаОплатуПокупателю", body)
    assert adapter.seen[0].body.decode() == '{"Цена": 1234.5, "Количество": 3, "Товары": [{"Сумма": 0.1}]}'
    with pytest.raises(ValueError, match="exactly"):
        client.create("Document_СчетНаОплатуПокупателю", {"Цена": Decimal("0.12345678901234567")})
    assert len(adapter.seen) == 1, "nothing sent for a number 1C cannot take exactly"
