"""1C OData emulator: posting rules → AccountingRegister_Хозрасчетный rows (domain.md §4), unposting,
advances and their offset, balances of 62.01 per counterparty, record sets and RecordsWithExtDimensions."""

from __future__ import annotations

from decimal import Decimal

from tests.contour.conftest import OneC, error_of

CP = "Catalog_Контрагенты"
SALE = "Document_РеализацияТоваровУслуг"
RECEIPT = "Document_ПоступлениеНаРасчетныйСчет"
ZERO = "00000000-0000-0000-0000-000000000000"


def keyed(set_name: str, ref: str) -> str:
    return f"{set_name}(guid'{ref}')"


def entries(onec: OneC, recorder: str) -> list[tuple[str, str, Decimal]]:
    codes = {r["Ref_Key"]: r["Code"] for r in onec.value("ChartOfAccounts_Хозрасчетный")}
    return [
        (codes[r["AccountDr_Key"]], codes[r["AccountCr_Key"]], Decimal(str(r["Сумма"])))
        for r in onec.records(recorder)
    ]


def company(onec: OneC, inn: str) -> str:
    return onec.value(CP, **{"$filter": f"ИНН eq '{inn}'", "$orderby": "Code"})[0]["Ref_Key"]


def new_sale(onec: OneC, cp: str, date: str, rows: list[dict], included: bool = True, **extra) -> str:
    product = onec.one("Catalog_Номенклатура", "Артикул eq 'СТ-01'")["Ref_Key"]
    body = {
        "Date": date,
        "Контрагент_Key": cp,
        "СуммаВключаетНДС": included,
        "ВидОперации": "Товары",
        "Организация_Key": onec.value("Catalog_Организации")[0]["Ref_Key"],
        "Товары": [{"LineNumber": n, "Номенклатура_Key": product, **r} for n, r in enumerate(rows, start=1)],
        **extra,
    }
    response = onec.post(SALE, body)
    assert response.status_code == 201, response.text
    return response.json()["Ref_Key"]


def new_receipt(onec: OneC, cp: str, date: str, amount: float, rows: list[dict] | None = None) -> str:
    """A customer payment; without ``rows`` one row settles the whole amount automatically."""
    if rows is None:
        rows = [{"СпособПогашенияЗадолженности": "Автоматически", "СуммаПлатежа": amount}]
    body = {
        "Date": date,
        "ВидОперации": "ОплатаПокупателя",
        "Контрагент": cp,
        "Организация_Key": onec.value("Catalog_Организации")[0]["Ref_Key"],
        "Контрагент_Type": "StandardODATA.Catalog_Контрагенты",
        "СуммаДокумента": amount,
        "РасшифровкаПлатежа": [{"LineNumber": n, **r} for n, r in enumerate(rows, start=1)],
    }
    response = onec.post(RECEIPT, body)
    assert response.status_code == 201, response.text
    return response.json()["Ref_Key"]


def post(onec: OneC, set_name: str, ref: str) -> None:
    response = onec.request(
        "POST", keyed(set_name, ref) + "/Post", params={"PostingModeOperational": "false"}
    )
    assert response.status_code == 200, response.text


def test_seeded_sale_and_payment_records(onec: OneC) -> None:
    sale = onec.one(SALE, "Number eq 'ВП00-000001'")
    assert entries(onec, sale["Ref_Key"]) == [
        ("62.01", "90.01.1", Decimal(30500)),
        ("90.03", "68.02", Decimal(5500)),
    ]
    first = onec.records(sale["Ref_Key"])[0]
    assert first["Recorder_Type"] == "StandardODATA.Document_РеализацияТоваровУслуг"
    assert (first["Period"], first["LineNumber"], first["Active"]) == (sale["Date"], "1", True)
    assert first["Организация_Key"] == sale["Организация_Key"] and "ExtDimensionDr1" not in first
    payment = onec.value(RECEIPT)[0]
    assert entries(onec, payment["Ref_Key"]) == [("51", "62.01", Decimal(20000))]
    invoice = onec.value("Document_СчетНаОплатуПокупателю")[0]
    assert invoice["Posted"] is True and entries(onec, invoice["Ref_Key"]) == []


def test_post_repost_unpost_a_new_sale(onec: OneC) -> None:
    ip = company(onec, "500100732259")
    ref = new_sale(
        onec,
        ip,
        "2026-03-10T11:00:00",
        [{"Количество": 3, "Цена": 6100, "Сумма": 18300, "СтавкаНДС": "НДС22", "СуммаНДС": 4026}],
        included=False,
    )
    assert entries(onec, ref) == []
    post(onec, SALE, ref)
    expected = [("62.01", "90.01.1", Decimal("22326")), ("90.03", "68.02", Decimal("4026"))]
    assert entries(onec, ref) == expected and onec.get(keyed(SALE, ref)).json()["Posted"] is True
    post(onec, SALE, ref)  # re-posting replaces the rows
    assert entries(onec, ref) == expected
    response = onec.request("POST", keyed(SALE, ref) + "/Unpost")
    assert response.status_code == 200 and entries(onec, ref) == []
    assert onec.get(keyed(SALE, ref)).json()["Posted"] is False


def test_receipt_pays_the_debt_first_then_advance(onec: OneC) -> None:
    beta = company(onec, "7728145639")  # owes 12 000 for the 2025 sale
    ref = new_receipt(onec, beta, "2026-03-01T10:00:00", 13000)
    post(onec, RECEIPT, ref)
    assert entries(onec, ref) == [
        ("51", "62.01", Decimal(12000)),
        ("51", "62.02", Decimal(1000)),
        ("76.АВ", "68.02", Decimal("180.33")),
    ]  # 1000 × 22/122


def test_receipt_allocation_rows(onec: OneC) -> None:
    alfa = company(onec, "7707083893")  # owes 10 500 after the seeded payment
    contract = onec.one("Catalog_ДоговорыКонтрагентов", f"Owner_Key eq guid'{alfa}'")["Ref_Key"]
    ref = new_receipt(
        onec,
        alfa,
        "2026-03-01T10:00:00",
        15000,
        [
            {
                "ДоговорКонтрагента_Key": contract,
                "СпособПогашенияЗадолженности": "Автоматически",
                "СуммаПлатежа": 12000,
            },
            {
                "ДоговорКонтрагента_Key": contract,
                "СпособПогашенияЗадолженности": "НеПогашать",
                "СуммаПлатежа": 3000,
            },
        ],
    )
    post(onec, RECEIPT, ref)
    assert entries(onec, ref) == [
        ("51", "62.01", Decimal(10500)),
        ("51", "62.02", Decimal(1500)),
        ("51", "62.02", Decimal(3000)),
        ("76.АВ", "68.02", Decimal("811.48")),
    ]


def test_advance_then_sale_offsets_it(onec: OneC) -> None:
    ip = company(onec, "500100732259")
    receipt = new_receipt(onec, ip, "2026-03-01T10:00:00", 12200)
    post(onec, RECEIPT, receipt)
    assert entries(onec, receipt) == [("51", "62.02", Decimal(12200)), ("76.АВ", "68.02", Decimal(2200))]
    sale = new_sale(
        onec,
        ip,
        "2026-03-10T11:00:00",
        [{"Количество": 1, "Цена": 12200, "Сумма": 12200, "СтавкаНДС": "НДС22", "СуммаНДС": 2200}],
    )
    post(onec, SALE, sale)
    assert entries(onec, sale) == [
        ("62.01", "90.01.1", Decimal(12200)),
        ("90.03", "68.02", Decimal(2200)),
        ("62.02", "62.01", Decimal(12200)),
        ("68.02", "76.АВ", Decimal(2200)),
    ]
    balance = onec.value(
        "AccountingRegister_Хозрасчетный/Balance(Condition='ExtDimension1 eq guid'" + ip + "'')"
    )
    assert balance == []  # everything is settled


def test_advance_at_20_percent_offset_in_2026(onec: OneC, onec_contour) -> None:
    onec_contour.knobs("onec", prohibition_date="")
    ip = company(onec, "500100732259")
    receipt = new_receipt(onec, ip, "2025-12-20T10:00:00", 6000)
    post(onec, RECEIPT, receipt)
    assert entries(onec, receipt)[-1] == ("76.АВ", "68.02", Decimal(1000))  # 20/120 before 2026
    sale = new_sale(
        onec,
        ip,
        "2026-01-15T11:00:00",
        [{"Количество": 1, "Цена": 12200, "Сумма": 12200, "СтавкаНДС": "НДС22", "СуммаНДС": 2200}],
    )
    post(onec, SALE, sale)
    assert entries(onec, sale)[2:] == [("62.02", "62.01", Decimal(6000)), ("68.02", "76.АВ", Decimal(1000))]


def test_not_offset_when_told_so(onec: OneC) -> None:
    ip = company(onec, "500100732259")
    post(onec, RECEIPT, new_receipt(onec, ip, "2026-03-01T10:00:00", 5000))
    sale = new_sale(
        onec,
        ip,
        "2026-03-10T11:00:00",
        [{"Количество": 1, "Цена": 12200, "Сумма": 12200, "СтавкаНДС": "НДС22", "СуммаНДС": 2200}],
        СпособЗачетаАвансов="НеЗачитывать",
    )
    post(onec, SALE, sale)
    assert [e[:2] for e in entries(onec, sale)] == [("62.01", "90.01.1"), ("90.03", "68.02")]


def test_balance_of_62_01_per_counterparty(onec: OneC) -> None:
    alfa, beta = company(onec, "7707083893"), company(onec, "7728145639")
    rows = onec.value("AccountingRegister_Хозрасчетный/Balance(Condition='Account/Code eq '62.01'')")
    by_party = {r["ExtDimension1"]: Decimal(str(r["СуммаBalance"])) for r in rows}
    assert by_party == {alfa: Decimal(10500), beta: Decimal(12000)}
    assert {r["ExtDimension1_Type"] for r in rows} == {"StandardODATA.Catalog_Контрагенты"}
    assert all(r["СуммаBalanceDr"] == r["СуммаBalance"] and r["СуммаBalanceCr"] == 0 for r in rows)
    account = onec.account("62.01")
    before_payment = onec.value(
        f"AccountingRegister_Хозрасчетный/Balance(Period=datetime'2026-02-15T12:00:00',"
        f"AccountCondition='Account_Key eq guid'{account}'',Condition='ExtDimension1 eq guid'{alfa}'')"
    )
    assert [r["СуммаBalance"] for r in before_payment] == [30500]
    vat = onec.value("AccountingRegister_Хозрасчетный/Balance()", **{"$filter": "Account/Code eq '68.02'"})
    assert sum(Decimal(str(r["СуммаBalance"])) for r in vat) == Decimal(-7500)
    turnovers = onec.value(
        "AccountingRegister_Хозрасчетный/Turnovers(StartPeriod=datetime'2026-01-01T00:00:00',"
        "EndPeriod=datetime'2026-12-31T23:59:59',Condition='Account/Code eq '51'')"
    )
    assert [(r["СуммаTurnoverDr"], r["СуммаTurnoverCr"]) for r in turnovers] == [(20000, 0)]


def test_records_with_ext_dimensions_and_record_sets(onec: OneC) -> None:
    sale = onec.one(SALE, "Number eq 'ВП00-000001'")["Ref_Key"]
    alfa = company(onec, "7707083893")
    rows = onec.value(
        "AccountingRegister_Хозрасчетный/RecordsWithExtDimensions", **{"$filter": f"Recorder eq '{sale}'"}
    )
    assert [r["ExtDimensionDr1"] for r in rows] == [alfa, ZERO]
    assert rows[0]["ExtDimensionDr1_Type"] == "StandardODATA.Catalog_Контрагенты"
    assert (rows[1]["ExtDimensionDr2"], rows[1]["ExtDimensionCr1"]) == ("НДС22", "")
    skip = onec.get("AccountingRegister_Хозрасчетный/RecordsWithExtDimensions", **{"$skip": "1"})
    assert error_of(skip)[:2] == (400, "0")
    key = f"AccountingRegister_Хозрасчетный(Recorder='{sale}',Recorder_Type='StandardODATA.{SALE}')"
    record_set = onec.get(key).json()
    assert record_set["odata.metadata"].endswith("#AccountingRegister_Хозрасчетный/@Element")
    assert [r["LineNumber"] for r in record_set["RecordSet"]] == ["1", "2"]
    same = onec.get(
        f"AccountingRegister_Хозрасчетный(Recorder=guid'{sale}',Recorder_Type='StandardODATA.{SALE}')"
    )
    assert same.json()["RecordSet"] == record_set["RecordSet"]
    all_sets = onec.value("AccountingRegister_Хозрасчетный")
    assert len(all_sets) == 3 and sum(len(s["RecordSet"]) for s in all_sets) == 5


def test_operation_record_set_write(onec: OneC) -> None:
    op = onec.post(
        "Document_ОперацияБух", {"Date": "2026-04-01T00:00:00", "Содержание": "Корректировка"}
    ).json()
    key = (
        f"AccountingRegister_Хозрасчетный(Recorder='{op['Ref_Key']}',"
        "Recorder_Type='StandardODATA.Document_ОперацияБух')"
    )
    row = {"AccountDr_Key": onec.account("62.01"), "AccountCr_Key": onec.account("90.01.1"), "Сумма": 100.5}
    response = onec.request("PUT", key, json={"RecordSet": [row]})
    assert response.status_code == 200, response.text
    assert entries(onec, op["Ref_Key"]) == [("62.01", "90.01.1", Decimal("100.5"))]
    assert onec.records(op["Ref_Key"])[0]["Period"] == "2026-04-01T00:00:00"
    bad = onec.request("PUT", key, json={"RecordSet": [row | {"ExtDimensionDr1": ZERO}]})
    assert error_of(bad)[:2] == (400, "10")  # subconto are not writable through the record set


def test_deletion_mark_and_delete_drop_the_records(onec: OneC) -> None:
    sale = onec.one(SALE, "Number eq 'ВП00-000001'")["Ref_Key"]
    marked = onec.patch(keyed(SALE, sale), {"DeletionMark": True}).json()
    assert marked["Posted"] is False and entries(onec, sale) == []
    assert error_of(onec.request("POST", keyed(SALE, sale) + "/Post"))[:2] == (500, "-1")
    payment = onec.value(RECEIPT)[0]["Ref_Key"]
    assert onec.request("DELETE", keyed(RECEIPT, payment)).status_code == 200
    assert entries(onec, payment) == []


def test_posting_failure_is_500(onec: OneC) -> None:
    ref = onec.post(SALE, {"Date": "2026-03-01T00:00:00"}).json()["Ref_Key"]
    status, code, message = error_of(onec.request("POST", keyed(SALE, ref) + "/Post"))
    assert (status, code) == (500, "-1") and "Контрагент" in message
