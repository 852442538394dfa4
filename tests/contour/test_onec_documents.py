"""1C OData emulator: documents behave as БП 3.0 does on an OData write (domain.md §3, protocols.md B.5–B.7):
the header total recomputed from rows stored as sent, the sale's ВидОперации choosing its sections, the
receipt's allocation checked at posting, rows needing LineNumber."""

from __future__ import annotations

import re
from typing import Any

from tests.contour.conftest import OneC, error_of

CP = "Catalog_Контрагенты"
INVOICE = "Document_СчетНаОплатуПокупателю"
SALE = "Document_РеализацияТоваровУслуг"
RECEIPT = "Document_ПоступлениеНаРасчетныйСчет"
LOAD = {"1C_OData-DataLoadMode": "true"}


def keyed(set_name: str, ref: str) -> str:
    return f"{set_name}(guid'{ref}')"


def refs(onec: OneC) -> dict[str, str]:
    return {
        "cp": onec.one(CP, "КПП eq '770701001'")["Ref_Key"],
        "org": onec.value("Catalog_Организации")[0]["Ref_Key"],
        "table": onec.one("Catalog_Номенклатура", "Артикул eq 'СТ-01'")["Ref_Key"],
        "mount": onec.one("Catalog_Номенклатура", "Артикул eq 'УС-01'")["Ref_Key"],
    }


def rows(*items: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"LineNumber": n, **item} for n, item in enumerate(items, start=1)]


def create(onec: OneC, set_name: str, body: dict[str, Any], **kw: Any) -> dict[str, Any]:
    response = onec.post(set_name, {"Date": "2026-03-02T12:00:00", **body}, **kw)
    assert response.status_code == 201, response.text
    return response.json()


def invoice_row(r: dict[str, str], **amounts: Any) -> dict[str, Any]:
    return {
        "Номенклатура": r["table"],
        "Номенклатура_Type": "StandardODATA.Catalog_Номенклатура",
        "Количество": 1,
        "СтавкаНДС": "НДС22",
        **amounts,
    }


def test_invoice_total_is_recomputed_from_rows_before_discount(onec: OneC) -> None:
    r = refs(onec)
    included = create(
        onec,
        INVOICE,
        {
            "Контрагент_Key": r["cp"],
            "СуммаВключаетНДС": True,
            "СуммаДокумента": 1,  # whatever the client says, 1C recomputes the header
            "Товары": rows(
                invoice_row(r, Цена=1000, Сумма=1000, ПроцентСкидки=10, СуммаСкидки=100, СуммаНДС=162.3),
                invoice_row(r, Цена=33.27, Сумма=33.27, СуммаНДС=6.0),
            ),
        },
    )
    assert included["СуммаДокумента"] == 933.27  # (1000 − 100) + 33.27, VAT inside
    assert [row["СуммаНДС"] for row in included["Товары"]] == [162.3, 6.0]  # stored as sent
    on_top = create(
        onec,
        INVOICE,
        {
            "Контрагент_Key": r["cp"],
            "СуммаВключаетНДС": False,
            "Товары": rows(
                invoice_row(r, Цена=1000, Сумма=1000, СуммаСкидки=100, СуммаНДС=198),
                invoice_row(r, Цена=500, Сумма=500),  # no СуммаНДС: keeps 0, nothing is recomputed
            ),
        },
    )
    assert on_top["СуммаДокумента"] == 1598  # 900 + 198 + 500 + 0
    assert on_top["Товары"][1]["СуммаНДС"] == 0 and on_top["Товары"][1]["СтавкаНДС"] == "НДС22"
    url = keyed(INVOICE, on_top["Ref_Key"])
    patched = onec.patch(url, {"СуммаВключаетНДС": True}).json()  # the flag alone changes the total
    assert patched["СуммаДокумента"] == 1400
    assert onec.get(url).json()["СуммаДокумента"] == 1400


def test_sale_operation_kind_decides_which_sections_survive(onec: OneC) -> None:
    r = refs(onec)
    goods = rows(
        {
            "Номенклатура_Key": r["table"],
            "Количество": 1,
            "Цена": 12200,
            "Сумма": 12200,
            "СтавкаНДС": "НДС22",
            "СуммаНДС": 2200,
        }
    )
    services = rows(
        {
            "Номенклатура_Key": r["mount"],
            "Количество": 1,
            "Цена": 6100,
            "Сумма": 6100,
            "СтавкаНДС": "НДС22",
            "СуммаНДС": 1100,
        }
    )
    both = {"Контрагент_Key": r["cp"], "СуммаВключаетНДС": True, "Товары": goods, "Услуги": services}
    only_goods = create(onec, SALE, both | {"ВидОперации": "Товары"})
    assert (len(only_goods["Товары"]), only_goods["Услуги"], only_goods["СуммаДокумента"]) == (1, [], 12200)
    only_services = create(onec, SALE, both | {"ВидОперации": "Услуги"})
    assert only_services["Товары"] == [] and only_services["СуммаДокумента"] == 6100
    assert only_services["Услуги"][0]["LineNumber"] == "1"
    mixed = create(onec, SALE, both | {"ВидОперации": "ПродажаКомиссия", "СуммаВключаетНДС": False})
    assert (len(mixed["Товары"]), len(mixed["Услуги"]), mixed["СуммаДокумента"]) == (1, 1, 21600)
    url = keyed(SALE, mixed["Ref_Key"])
    switched = onec.patch(url, {"ВидОперации": "Услуги"}).json()  # a later write drops the goods
    assert switched["Товары"] == [] and switched["СуммаДокумента"] == 7200
    rows_set = onec.value(f"{SALE}_Товары", **{"$filter": f"Ref_Key eq guid'{mixed['Ref_Key']}'"})
    assert rows_set == []


def test_data_load_mode_skips_before_write(onec: OneC) -> None:
    r = refs(onec)
    goods = rows({"Номенклатура_Key": r["table"], "Сумма": 100, "СуммаНДС": 18.03})
    services = rows({"Номенклатура_Key": r["mount"], "Сумма": 50})
    body = {"ВидОперации": "Товары", "СуммаДокумента": 7, "Товары": goods, "Услуги": services}
    loaded = create(onec, SALE, body, headers=LOAD)
    assert loaded["СуммаДокумента"] == 7 and len(loaded["Услуги"]) == 1


def test_sale_rows_need_line_numbers(onec: OneC) -> None:
    r = refs(onec)
    response = onec.post(
        SALE,
        {
            "Date": "2026-03-02T12:00:00",
            "ВидОперации": "Услуги",
            "Услуги": [{"Номенклатура_Key": r["mount"]}],
        },
    )
    status, code, message = error_of(response)
    assert (status, code) == (500, "-1") and message.startswith("Произошла внутренняя ошибка OData")


def receipt(onec: OneC, amount: float, allocations: list[float]) -> dict[str, Any]:
    r = refs(onec)
    contract = onec.one("Catalog_ДоговорыКонтрагентов", f"Owner_Key eq guid'{r['cp']}'")["Ref_Key"]
    return create(
        onec,
        RECEIPT,
        {
            "ВидОперации": "ОплатаПокупателя",
            "Организация_Key": r["org"],
            "Контрагент": r["cp"],
            "Контрагент_Type": "StandardODATA.Catalog_Контрагенты",
            "СуммаДокумента": amount,
            "РасшифровкаПлатежа": rows(
                *(
                    {
                        "ДоговорКонтрагента_Key": contract,
                        "СпособПогашенияЗадолженности": "Автоматически",
                        "СуммаПлатежа": a,
                        "СтавкаНДС": "НДС22_122",
                    }
                    for a in allocations
                )
            ),
        },
    )


def test_receipt_keeps_its_amount_and_checks_the_allocation_at_posting(onec: OneC) -> None:
    bad = receipt(onec, 1000, [600, 300])
    assert bad["СуммаДокумента"] == 1000  # the payment itself: never recomputed
    assert [row["LineNumber"] for row in bad["РасшифровкаПлатежа"]] == ["1", "2"]
    post = onec.request("POST", keyed(RECEIPT, bad["Ref_Key"]) + "/Post")
    status, code, message = error_of(post)
    assert (status, code) == (500, "-1") and "Не совпадают сумма документа и ее расшифровка" in message
    assert onec.get(keyed(RECEIPT, bad["Ref_Key"])).json()["Posted"] is False
    fixed = onec.patch(
        keyed(RECEIPT, bad["Ref_Key"]),
        {"РасшифровкаПлатежа": [{**bad["РасшифровкаПлатежа"][1], "СуммаПлатежа": 400}]},
    )
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["РасшифровкаПлатежа"][0]["СуммаПлатежа"] == 400
    still_bad = onec.request("POST", keyed(RECEIPT, bad["Ref_Key"]) + "/Post")
    assert error_of(still_bad)[:2] == (500, "-1")  # 400 of 1000
    good = receipt(onec, 1000, [600, 400])
    assert onec.request("POST", keyed(RECEIPT, good["Ref_Key"]) + "/Post").status_code == 200
    assert onec.get(keyed(RECEIPT, good["Ref_Key"])).json()["Posted"] is True


def test_documents_publish_the_bp_attributes(onec: OneC) -> None:
    xml = onec.request("GET", "$metadata").text

    def props(type_name: str) -> set[str]:
        m = re.search(rf'<(?:Entity|Complex)Type Name="{type_name}"[^>]*>(.*?)</(?:Entity|Complex)Type>', xml)
        assert m, type_name
        return set(re.findall(r'<Property Name="([^"]+)"', m.group(1)))

    assert {"СуммаСкидки", "ПроцентСкидки", "СуммаНДС", "Номенклатура_Type", "LineNumber"} <= props(
        f"{INVOICE}_Товары_RowType"
    )
    assert {
        "Номенклатура_Key",
        "Содержание",
        "СчетДоходов_Key",
        "Субконто_Type",
        "ИдентификаторСтроки",
    } <= props(f"{SALE}_Услуги_RowType")
    assert {"НалоговаяБазаНДС", "ЕдиницаИзмерения_Key", "СчетУчета_Key"} <= props(f"{SALE}_Товары_RowType")
    assert {
        "СуммаПлатежа",
        "СпособПогашенияЗадолженности",
        "Сделка_Type",
        "СчетНаОплату_Key",
        "СчетУчетаРасчетовПоАвансам_Key",
        "СубконтоКт1_Type",
        "СуммаВозврата",
    } <= props(f"{RECEIPT}_РасшифровкаПлатежа_RowType")
    assert {
        "Товары",
        "Услуги",
        "ЗачетАвансов",
        "АгентскиеУслуги",
        "ВозвратнаяТара",
        "СуммаВключаетНДС",
    } <= props(SALE)
    assert {"ВозвратнаяТара", "СуммаСкидки", "ТипЦен_Key"} <= props(INVOICE)
    kinds = re.search(r'<EnumType Name="ВидыОперацийПоступлениеДенежныхСредств".*?</EnumType>', xml)
    assert kinds is not None and kinds.group().count("<Member ") == 21
    assert {"Контрагент", "Контрагент_Type", "РасшифровкаПлатежа", "СуммаДокумента"} <= props(RECEIPT)
