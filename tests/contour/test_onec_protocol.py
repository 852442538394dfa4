"""1C OData emulator: auth, rights, service document, $metadata, JSON shapes (protocols.md A.1–A.8, A.13)."""

from __future__ import annotations

import base64
import json
import re
import socket
import ssl
import time
import xml.etree.ElementTree as ET

import requests

from tests.contour.conftest import OneC, error_of

EDMX = "{http://schemas.microsoft.com/ado/2007/06/edmx}"
EDM = "{http://schemas.microsoft.com/ado/2009/11/edm}"
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$")


def test_no_or_wrong_credentials_are_401(onec: OneC) -> None:
    plain = requests.get(onec.url + "Catalog_Контрагенты", verify=onec.ca, timeout=10)
    assert plain.status_code == 401
    assert plain.headers["WWW-Authenticate"].startswith("Basic")
    wrong = onec.request("GET", "Catalog_Контрагенты", auth=("Интеграция".encode(), b"nope"))
    assert wrong.status_code == 401
    latin1 = base64.b64encode("Интеграция:contour".encode("cp1251")).decode()
    garbled = onec.request(
        "GET", "Catalog_Контрагенты", auth=None, headers={"Authorization": f"Basic {latin1}"}
    )
    assert garbled.status_code == 401


def test_utf8_cyrillic_login_works(onec: OneC) -> None:
    response = onec.get("Catalog_Валюты")
    assert response.status_code == 200
    assert {c["Code"] for c in response.json()["value"]} == {"643", "840", "978"}


def test_observer_is_limited_to_its_sets(onec_contour) -> None:
    observer = OneC(onec_contour, "Наблюдатель", "observer")
    status, code, _ = error_of(observer.get("Document_РеализацияТоваровУслуг"))
    assert (status, code) == (403, "20")
    status, code, _ = error_of(observer.post("Catalog_Номенклатура", {"Description": "x"}))
    assert (status, code) == (403, "20")
    assert observer.get("Catalog_Номенклатура").status_code == 200


def test_rls_needs_allowed_only(onec_contour) -> None:
    observer = OneC(onec_contour, "Наблюдатель", "observer")
    status, code, message = error_of(observer.get("Catalog_Контрагенты"))
    assert (status, code) == (403, "20") and "allowedOnly" in message
    rows = observer.value("Catalog_Контрагенты", allowedOnly="true")
    assert rows and {r["ЮридическоеФизическоеЛицо"] for r in rows} == {"ЮридическоеЛицо"}
    # a filter that touches only permitted rows needs no allowedOnly
    legal = observer.value("Catalog_Контрагенты", **{"$filter": "ИНН eq '7707083893'"})
    assert len(legal) == 2
    assert observer.get("Catalog_Контрагенты/$count", allowedOnly="true").text == str(len(rows))


def test_service_document_lists_published_sets(onec: OneC) -> None:
    body = onec.get("").json()
    assert body["odata.metadata"].endswith("/accounting/odata/standard.odata/$metadata")
    names = {item["name"] for item in body["value"]}
    for expected in (
        "Catalog_Контрагенты",
        "Catalog_ДоговорыКонтрагентов",
        "Catalog_Номенклатура",
        "Catalog_КлассификаторЕдиницИзмерения",
        "Catalog_Валюты",
        "Catalog_Организации",
        "Catalog_БанковскиеСчета",
        "Document_СчетНаОплатуПокупателю",
        "Document_РеализацияТоваровУслуг",
        "Document_РеализацияТоваровУслуг_Товары",
        "Document_ПоступлениеНаРасчетныйСчет",
        "Document_ОперацияБух",
        "InformationRegister_КурсыВалют",
        "AccountingRegister_Хозрасчетный",
        "AccountingRegister_Хозрасчетный_RecordType",
        "ChartOfAccounts_Хозрасчетный",
        "InformationRegister_ДатыЗапретаИзменения",
    ):
        assert expected in names


def test_metadata_is_edmx_with_container_and_functions(onec: OneC) -> None:
    response = onec.request("GET", "$metadata")
    assert response.status_code == 200 and "xml" in response.headers["Content-Type"]
    root = ET.fromstring(response.content)  # noqa: S314 - our own emulator's answer
    assert root.tag == f"{EDMX}Edmx"
    schema = root.find(f"{EDMX}DataServices/{EDM}Schema")
    assert schema is not None and schema.get("Namespace") == "StandardODATA"
    container = schema.find(f"{EDM}EntityContainer")
    assert container is not None and container.get("Name") == "EnterpriseV8"
    types = {t.get("Name"): t for t in schema.findall(f"{EDM}EntityType")}
    counterparty = types["Catalog_Контрагенты"]
    props = {p.get("Name"): p.get("Type") for p in counterparty.findall(f"{EDM}Property")}
    assert props["Ref_Key"] == "Edm.Guid" and props["ИНН"] == "Edm.String"
    assert (
        props["КонтактнаяИнформация"]
        == "Collection(StandardODATA.Catalog_Контрагенты_КонтактнаяИнформация_RowType)"
    )
    sale = {
        p.get("Name"): p.get("Type")
        for p in types["Document_РеализацияТоваровУслуг"].findall(f"{EDM}Property")
    }
    assert sale["СуммаДокумента"] == "Edm.Double" and sale["СуммаВключаетНДС"] == "Edm.Boolean"
    assert "ЦенаВключаетНДС" not in sale
    assert "СтавкаНДС" not in {p.get("Name") for p in types["Catalog_Номенклатура"].findall(f"{EDM}Property")}
    register = {
        p.get("Name") for p in types["AccountingRegister_Хозрасчетный_RecordType"].findall(f"{EDM}Property")
    }
    assert {"AccountDr_Key", "AccountCr_Key", "Сумма", "Recorder", "Recorder_Type"} <= register
    assert not any(name.startswith("ExtDimension") for name in register)
    functions = container.findall(f"{EDM}FunctionImport")
    bound = {(f.get("Name"), f.find(f"{EDM}Parameter").get("Type")) for f in functions}
    assert ("Post", "StandardODATA.Document_РеализацияТоваровУслуг") in bound
    assert ("Post", "StandardODATA.Document_ОперацияБух") not in bound
    assert "Balance" in {f.get("Name") for f in functions}


def test_list_and_single_entity_shapes(onec: OneC) -> None:
    response = onec.get("Document_РеализацияТоваровУслуг", **{"$filter": "Number eq 'ВП00-000001'"})
    body = response.json()
    assert body["odata.metadata"].endswith("$metadata#Document_РеализацияТоваровУслуг")
    assert "odata.nextLink" not in body
    (sale,) = body["value"]
    assert GUID.match(sale["Ref_Key"]) and base64.b64decode(sale["DataVersion"])
    assert sale["Date"] == "2026-02-10T10:00:00" and sale["Posted"] is True
    assert sale["Товары"][0]["LineNumber"] == "1" and sale["Товары"][0]["Ref_Key"] == sale["Ref_Key"]
    assert isinstance(sale["СуммаДокумента"], float | int) and sale["СуммаДокумента"] == 30500
    assert sale["Склад_Key"] == "00000000-0000-0000-0000-000000000000"
    assert (
        sale["Контрагент@navigationLinkUrl"]
        == f"Document_РеализацияТоваровУслуг(guid'{sale['Ref_Key']}')/Контрагент"
    )
    single = onec.get(f"Document_РеализацияТоваровУслуг(guid'{sale['Ref_Key']}')").json()
    assert single["odata.metadata"].endswith("$metadata#Document_РеализацияТоваровУслуг/@Element")
    assert single["Number"] == "ВП00-000001"
    company = onec.get(f"Document_РеализацияТоваровУслуг(guid'{sale['Ref_Key']}')/Контрагент").json()
    assert company["ИНН"] == "7707083893" and company["odata.metadata"].endswith(
        "#Catalog_Контрагенты/@Element"
    )


def test_empty_values_and_enums(onec: OneC) -> None:
    ip = onec.one("Catalog_Контрагенты", "ИНН eq '500100732259'")
    assert ip["КПП"] == "" and ip["ЮридическоеФизическоеЛицо"] == "ФизическоеЛицо"
    assert ip["ИндивидуальныйПредприниматель"] is True and ip["ДатаРегистрации"] == "0001-01-01T00:00:00"
    branch = onec.one("Catalog_Контрагенты", "КПП eq '780201001'")
    head = onec.one("Catalog_Контрагенты", "КПП eq '770701001'")
    assert branch["ОбособленноеПодразделение"] is True and branch["ГоловнойКонтрагент_Key"] == head["Ref_Key"]
    contract = onec.one("Catalog_ДоговорыКонтрагентов", f"Owner_Key eq guid'{head['Ref_Key']}'")
    assert contract["Description"] == "Основной договор" and contract["ВидДоговора"] == "СПокупателем"
    product = onec.one("Catalog_Номенклатура", "Артикул eq 'УС-01'")
    assert product["ВидСтавкиНДС"] == "Общая" and product["Услуга"] is True and len(product["Code"]) == 11
    assert not onec.value("Catalog_Контрагенты", **{"$filter": "Description eq 'ООО Только в CRM'"})


def test_not_found_and_unknown_set(onec: OneC) -> None:
    assert error_of(onec.get("Catalog_Контрагенты(guid'00000000-0000-0000-0000-000000000001')"))[:2] == (
        404,
        "9",
    )
    assert error_of(onec.get("Catalog_НетТакого"))[:2] == (404, "8")
    assert onec.request("GET", "../../other/odata/standard.odata/").status_code == 404
    assert error_of(onec.get("Catalog_Контрагенты", **{"$format": "atom"}))[:2] == (400, "3")


def test_prohibition_date_is_readable(onec: OneC) -> None:
    (row,) = onec.value("InformationRegister_ДатыЗапретаИзменения")
    assert row["ДатаЗапрета"] == "2025-12-31T00:00:00"
    assert row["Раздел_Key"] == "00000000-0000-0000-0000-000000000000"
    assert row["Пользователь"] == "ДляВсехПользователей" and row["Объект"] == ""


def test_rates_register_and_slice_last(onec: OneC) -> None:
    usd = onec.one("Catalog_Валюты", "Code eq '840'")["Ref_Key"]
    rows = onec.value("InformationRegister_КурсыВалют", **{"$filter": f"Валюта_Key eq guid'{usd}'"})
    assert [r["Курс"] for r in rows] == [78.5, 79.25]
    key = f"InformationRegister_КурсыВалют(Period=datetime'2026-02-01T00:00:00',Валюта_Key=guid'{usd}')"
    assert onec.get(key).json()["Курс"] == 79.25
    (last,) = onec.value(
        f"InformationRegister_КурсыВалют/SliceLast(Period=datetime'2026-01-20T00:00:00',"
        f"Condition='Валюта_Key eq guid'{usd}'')"
    )
    assert last["Курс"] == 78.5


def test_request_log(onec: OneC, onec_contour) -> None:
    onec.get("Catalog_Валюты")
    onec.request("GET", "Catalog_Валюты", auth=None)
    response = requests.get(
        f"https://127.0.0.1:{onec_contour.onec_port}/_contour/requests?limit=2", verify=onec.ca, timeout=10
    )
    last, before = response.json()["requests"]
    assert (last["status"], last["user"], last["method"]) == (401, None, "GET")
    assert (before["status"], before["user"], before["entity_set"]) == (200, "Интеграция", "Catalog_Валюты")


def test_raw_utf8_query_like_curl_sends(onec_contour) -> None:
    context = ssl.create_default_context(cafile=str(onec_contour.ca_file))
    query = "$format=json&$filter=Code eq '643'&$select=Code,Description"
    target = f"/accounting/odata/standard.odata/Catalog_Валюты?{query}"
    auth = base64.b64encode("Интеграция:contour".encode()).decode()
    request = (
        f"GET {target.replace(' ', '%20')} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic {auth}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    with (
        socket.create_connection(("127.0.0.1", onec_contour.onec_port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(request)
        answer = b""
        while chunk := tls.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert json.loads(body)["value"] == [{"Code": "643", "Description": "руб."}]


def test_prohibition_knob_is_validated(onec_contour) -> None:
    response = requests.post(
        f"https://127.0.0.1:{onec_contour.onec_port}/_contour/knobs",
        json={"prohibition_date": "31.12.2025"},
        verify=str(onec_contour.ca_file),
        timeout=10,
    )
    assert response.status_code == 400
    knobs = requests.get(
        f"https://127.0.0.1:{onec_contour.onec_port}/_contour/knobs",
        verify=str(onec_contour.ca_file),
        timeout=10,
    ).json()
    assert knobs["prohibition_date"] is None and knobs["effective_prohibition_date"] == "2025-12-31"


def test_latency_is_the_time_to_answer_with_the_work_inside_it(onec: OneC, onec_contour) -> None:
    onec_contour.knobs("onec", latency_ms=150)
    try:
        started = time.monotonic()
        rows = onec.value("Catalog_Валюты")
        read = time.monotonic() - started
        started = time.monotonic()
        created = onec.post("Catalog_Валюты", {"Code": "999", "Description": "тест"})
        written = time.monotonic() - started
    finally:
        onec_contour.knobs("onec", latency_ms=0)
    assert rows and created.status_code == 201
    assert read >= 0.15 and written >= 0.15  # never earlier than the latency, whatever the work
    assert onec.one("Catalog_Валюты", "Code eq '999'")["Description"] == "тест"
