"""1C OData emulator: POST/PATCH/PUT/DELETE, DeletionMark, If-Match, error codes 4/5/10/13/16, the
change-prohibition date with and without data-load mode (protocols.md A.11, A.13, A.15–A.17)."""

from __future__ import annotations

import re
import uuid
from urllib.parse import unquote

from tests.contour.conftest import OneC, error_of

CP = "Catalog_Контрагенты"
INVOICE = "Document_СчетНаОплатуПокупателю"
SALE = "Document_РеализацияТоваровУслуг"
LOAD = {"1C_OData-DataLoadMode": "true"}
CLOSED = "Запрещено изменять данные с датой ранее 31.12.2025 (включительно)."


def keyed(set_name: str, ref: str) -> str:
    return f"{set_name}(guid'{ref}')"


def invoice_body(onec: OneC, date: str = "2026-03-01T12:00:00") -> dict:
    alfa = onec.one(CP, "КПП eq '770701001'")
    table = onec.one("Catalog_Номенклатура", "Артикул eq 'СТ-01'")
    return {
        "Date": date,
        "Контрагент_Key": alfa["Ref_Key"],
        "СуммаВключаетНДС": True,
        "СуммаДокумента": 12200,
        "Организация_Key": onec.value("Catalog_Организации")[0]["Ref_Key"],
        "Товары": [
            {
                "LineNumber": "1",
                "Номенклатура": table["Ref_Key"],
                "Номенклатура_Type": "StandardODATA.Catalog_Номенклатура",
                "Количество": 1,
                "Цена": 12200,
                "Сумма": 12200,
                "СтавкаНДС": "НДС22",
                "СуммаНДС": 2200,
            }
        ],
    }


def test_create_catalog_item(onec: OneC) -> None:
    response = onec.post(
        CP,
        {
            "Description": "ООО Новый",
            "ИНН": "7701234567",
            "КПП": "770101001",
            "ЮридическоеФизическоеЛицо": "ЮридическоеЛицо",
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["odata.metadata"].endswith("$metadata#Catalog_Контрагенты/@Element")
    assert body["Code"] == "000000005" and uuid.UUID(body["Ref_Key"]).version == 1
    assert unquote(response.headers["Location"]).endswith(keyed(CP, body["Ref_Key"]))
    assert body["DeletionMark"] is False and body["НаименованиеПолное"] == ""
    fetched = onec.get(keyed(CP, body["Ref_Key"])).json()
    assert fetched["ИНН"] == "7701234567" and fetched["DataVersion"] == body["DataVersion"]
    second = onec.post(CP, {"Description": "ООО Второй"}).json()
    assert second["Code"] == "000000006"


def test_create_with_given_ref_and_duplicate(onec: OneC) -> None:
    ref = "11111111-2222-1333-8444-555555555555"
    assert onec.post(CP, {"Ref_Key": ref, "Description": "С ключом"}).status_code == 201
    assert error_of(onec.post(CP, {"Ref_Key": ref, "Description": "Снова"}))[:2] == (400, "15")


def test_create_document_numbers_and_keeps_amounts(onec: OneC) -> None:
    body = invoice_body(onec)
    body["Товары"][0]["СуммаНДС"] = 2199.99  # stored as sent, never recomputed
    created = onec.post(INVOICE, body).json()
    assert created["Number"] == "ВП00-000002" and len(created["Number"]) == 11
    assert created["Posted"] is False and created["Товары"][0]["СуммаНДС"] == 2199.99
    assert created["Товары"][0]["LineNumber"] == "1"
    again = onec.post(INVOICE, invoice_body(onec)).json()
    assert again["Number"] == "ВП00-000003"


def test_patch_put_delete(onec: OneC) -> None:
    created = onec.post(INVOICE, invoice_body(onec)).json()
    url = keyed(INVOICE, created["Ref_Key"])
    patched = onec.patch(
        url,
        {
            "Комментарий": "из CRM",
            "Товары": [
                {
                    "LineNumber": 1,
                    "Содержание": "Доставка",
                    "Количество": 1,
                    "Цена": 500,
                    "Сумма": 500,
                    "СтавкаНДС": "НДС22",
                    "СуммаНДС": 90.16,
                }
            ],
        },
    )
    assert patched.status_code == 200, patched.text
    data = patched.json()
    assert data["Комментарий"] == "из CRM" and data["СуммаДокумента"] == 500  # recomputed from the rows
    assert [r["Содержание"] for r in data["Товары"]] == ["Доставка"]  # the section is replaced
    assert data["DataVersion"] != created["DataVersion"]
    put = onec.request("PUT", url, json={"Date": "2026-03-02T00:00:00", "Комментарий": "заново"})
    assert put.status_code == 200
    replaced = put.json()
    assert replaced["Number"] == created["Number"] and replaced["Товары"] == []
    assert replaced["Контрагент_Key"] == "00000000-0000-0000-0000-000000000000"
    deleted = onec.request("DELETE", url)
    assert deleted.status_code == 200 and deleted.content == b""
    assert error_of(onec.get(url))[:2] == (404, "9")
    assert error_of(onec.request("DELETE", url))[:2] == (404, "9")


def test_deletion_mark_and_odata_bind(onec: OneC) -> None:
    alfa = onec.one(CP, "КПП eq '770701001'")
    body = {
        "Description": "Договор 2",
        "Owner@odata.bind": f"Catalog_Контрагенты(guid'{alfa['Ref_Key']}')",
        "ВидДоговора": "СПокупателем",
    }
    contract = onec.post("Catalog_ДоговорыКонтрагентов", body)
    assert contract.status_code == 201 and contract.json()["Owner_Key"] == alfa["Ref_Key"]
    url = keyed("Catalog_ДоговорыКонтрагентов", contract.json()["Ref_Key"])
    assert onec.patch(url, {"DeletionMark": True}).json()["DeletionMark"] is True
    assert onec.get(url).status_code == 200  # a mark, not a deletion


def test_if_match(onec: OneC) -> None:
    created = onec.post(CP, {"Description": "Версия"}).json()
    url = keyed(CP, created["Ref_Key"])
    ok = onec.patch(url, {"Комментарий": "1"}, headers={"If-Match": created["DataVersion"]})
    assert ok.status_code == 200
    status, _code, message = error_of(
        onec.patch(url, {"Комментарий": "2"}, headers={"If-Match": created["DataVersion"]})
    )
    assert status == 412 and "If-Match" in message
    assert error_of(onec.request("DELETE", url, headers={"If-Match": created["DataVersion"]}))[0] == 412
    assert onec.patch(url, {"Комментарий": "3"}, headers={"If-Match": "*"}).status_code == 200


def test_validation_errors(onec: OneC) -> None:
    body = invoice_body(onec)
    del body["Date"]
    assert error_of(onec.post(INVOICE, body)) == (
        400,
        "5",
        "Отсутствует обязательное значение свойства: Date",
    )
    assert error_of(onec.post(CP, {"ИНН": "7701234567"}))[:2] == (400, "5")
    assert error_of(onec.post("Catalog_ДоговорыКонтрагентов", {"Description": "Без владельца"}))[:2] == (
        400,
        "5",
    )
    assert error_of(onec.post(CP, {"Description": "x", "НетТакого": 1}))[:2] == (400, "10")
    assert error_of(onec.post(CP, {"Description": "x", "ЮридическоеФизическоеЛицо": "Марсианин"}))[:2] == (
        400,
        "4",
    )
    assert error_of(onec.post(CP, {"Description": "x", "ГоловнойКонтрагент_Key": "nope"}))[:2] == (400, "4")
    assert error_of(onec.post(INVOICE, invoice_body(onec) | {"Posted": True}))[:2] == (400, "16")
    no_line = invoice_body(onec)
    del no_line["Товары"][0]["LineNumber"]
    assert error_of(onec.post(INVOICE, no_line))[:2] == (500, "-1")
    assert error_of(
        onec.request("POST", CP, data=b"{not json", headers={"Content-Type": "application/json"})
    )[:2] == (400, "2")


def test_tabular_rows_cannot_be_created_directly(onec: OneC) -> None:
    response = onec.post("Document_РеализацияТоваровУслуг_Товары", {"LineNumber": "1", "Сумма": 1})
    assert error_of(response) == (400, "13", "Cоздание строк табличной части напрямую не поддерживается")
    assert error_of(response)[2][0] == "C"  # Latin C, as the platform writes it


def test_read_only_sets(onec: OneC) -> None:
    assert error_of(onec.post("ChartOfAccounts_Хозрасчетный", {"Code": "99"}))[:2] == (403, "20")
    assert error_of(onec.post("InformationRegister_КурсыВалют", {"Курс": 1}))[:2] == (403, "20")
    operation = onec.post("Document_ОперацияБух", {"Date": "2026-03-01T00:00:00", "Содержание": "Ручная"})
    assert operation.status_code == 201
    posted = onec.post(keyed("Document_ОперацияБух", operation.json()["Ref_Key"]) + "/Post")
    assert error_of(posted)[:2] == (400, "11")


def test_prohibition_date_on_create_update_delete_post(onec: OneC) -> None:
    status, code, message = error_of(onec.post(INVOICE, invoice_body(onec, "2025-12-31T23:59:59")))
    assert (status, code) == (500, "-1") and CLOSED in message  # BSP's text inside the platform's wrapper
    assert "входит в запрещенный период по 31.12.2025 (установлена общая дата запрета)" in message
    loaded = onec.post(INVOICE, invoice_body(onec, "2025-12-31T23:59:59"), headers=LOAD)
    assert loaded.status_code == 201  # data-load mode skips the BSP check, as in real 1C
    open_doc = onec.post(INVOICE, invoice_body(onec, "2026-01-01T00:00:00")).json()
    url = keyed(INVOICE, open_doc["Ref_Key"])
    assert error_of(onec.patch(url, {"Date": "2025-06-30T00:00:00"}))[:2] == (
        500,
        "-1",
    )  # moving into the period
    old = onec.one(SALE, "Number eq 'ВП00-000099'")
    old_url = keyed(SALE, old["Ref_Key"])
    assert CLOSED in error_of(onec.patch(old_url, {"Комментарий": "правка"}))[2]
    assert error_of(onec.patch(old_url, {"Date": "2026-02-01T00:00:00"}))[:2] == (
        500,
        "-1",
    )  # moving out of it
    assert error_of(onec.request("DELETE", old_url))[:2] == (500, "-1")
    assert error_of(onec.post(old_url + "/Unpost"))[:2] == (500, "-1")
    assert error_of(onec.post(old_url + "/Post", headers=LOAD))[:2] == (500, "-1")  # posting always checks
    assert onec.patch(old_url, {"Комментарий": "загрузка"}, headers=LOAD).status_code == 200
    assert onec.get(old_url).json()["Posted"] is True


def test_prohibition_knob_follows_register(onec: OneC, onec_contour) -> None:
    knobs = onec_contour.knobs("onec", prohibition_date="2026-02-28")
    assert knobs["prohibition_date"] == "2026-02-28"
    (row,) = onec.value("InformationRegister_ДатыЗапретаИзменения")
    assert row["ДатаЗапрета"] == "2026-02-28T00:00:00"
    message = error_of(onec.post(INVOICE, invoice_body(onec, "2026-02-28T10:00:00")))[2]
    assert re.search(r"Запрещено изменять данные с датой ранее 28\.02\.2026 \(включительно\)\.", message)
    onec_contour.knobs("onec", prohibition_date="")
    (row,) = onec.value("InformationRegister_ДатыЗапретаИзменения")
    assert row["ДатаЗапрета"] == "0001-01-01T00:00:00"
    assert onec.post(INVOICE, invoice_body(onec, "2025-01-10T10:00:00")).status_code == 201
