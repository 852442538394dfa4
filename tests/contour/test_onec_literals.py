"""1C OData emulator: typed literals enforced as real 1C does (protocols.md A.10) — a key compared with a
plain string, a number with a string, a date with a string and fractional seconds are refused (400, code
14), in the SQL back end (entity sets), the Python one (tabular-row sets, register virtual tables) and in
keys."""

from __future__ import annotations

import pytest

from tests.contour.conftest import OneC, error_of

CP = "Catalog_Контрагенты"
SALE = "Document_РеализацияТоваровУслуг"


def refused(onec: OneC, path: str, flt: str) -> str:
    status, code, message = error_of(onec.get(path, **{"$filter": flt}))
    assert (status, code) == (400, "14"), (flt, message)
    return message


@pytest.mark.parametrize(
    "flt",
    [
        "Ref_Key eq '{ref}'",  # a key needs guid'…'
        "ГоловнойКонтрагент_Key eq '{ref}'",
        "ГоловнойКонтрагент eq '{ref}'",  # the navigation name compares the key too
        "'{ref}' eq Ref_Key",
        "ГоловнойКонтрагент/Ref_Key ne '{ref}'",
        "ИНН eq 7707083893",  # a string property with a number
        "Description eq guid'{ref}'",
        "DeletionMark eq 'false'",
    ],
)
def test_catalog_filters_with_untyped_literals_are_refused(onec: OneC, flt: str) -> None:
    ref = onec.one(CP, "КПП eq '770701001'")["Ref_Key"]
    message = refused(onec, CP, flt.format(ref=ref))
    assert "Несовместимые типы" in message


@pytest.mark.parametrize(
    "flt",
    [
        "СуммаДокумента eq '30500'",  # a number with a string
        "СуммаДокумента add 1 gt '100'",
        "Date ge '2026-01-01T00:00:00'",  # a date needs datetime'…'
        "year(Date) eq '2026'",
        "Контрагент_Key eq '00000000-0000-0000-0000-000000000000'",
        "Товары/any(d: d/Сумма gt '10')",  # inside a lambda too
    ],
)
def test_document_filters_with_untyped_literals_are_refused(onec: OneC, flt: str) -> None:
    refused(onec, SALE, flt)


def test_fractional_seconds_are_refused(onec: OneC) -> None:
    message = refused(onec, SALE, "Date ge datetime'2026-01-01T00:00:00.000'")
    assert "datetime'2026-01-01T00:00:00.000'" in message
    refused(onec, SALE, "Date ge datetime'2026-01-01T00:00:00.5'")
    status, code, _ = error_of(
        onec.get(
            "InformationRegister_КурсыВалют/SliceLast(Period=datetime'2026-02-01T00:00:00.123')",
        )
    )
    assert (status, code) == (400, "6")


def test_python_back_end_checks_types_too(onec: OneC) -> None:
    sale = onec.one(SALE, "Number eq 'ВП00-000001'")["Ref_Key"]
    rows = f"{SALE}_Товары"
    refused(onec, rows, f"Ref_Key eq '{sale}'")
    refused(onec, rows, "Сумма eq '24400'")
    refused(onec, "InformationRegister_КурсыВалют/SliceLast()", "Курс gt '70'")
    assert len(onec.value(rows, **{"$filter": f"Ref_Key eq guid'{sale}' and Сумма eq 24400"})) == 1
    status, code, _ = error_of(
        onec.get("AccountingRegister_Хозрасчетный/Balance(Condition='Account_Key eq '62.01'')")
    )
    assert (status, code) == (400, "14")  # Account_Key is a reference: '62.01' is not a key


def test_well_typed_filters_still_work(onec: OneC) -> None:
    alfa = onec.one(CP, "КПП eq '770701001'")["Ref_Key"]
    assert onec.one(CP, f"Ref_Key eq guid'{alfa}'")["КПП"] == "770701001"
    assert onec.one(CP, f"ГоловнойКонтрагент eq guid'{alfa}' and КПП ne '770701001'")["КПП"] == "780201001"
    assert len(onec.value(CP, **{"$filter": "ГоловнойКонтрагент_Key ne null"})) == 4
    assert (
        onec.one(SALE, "СуммаДокумента eq 30500 and Date ge datetime'2026-02-10'")["Number"] == "ВП00-000001"
    )
    assert onec.one(SALE, "ВидОперации eq 'ПродажаКомиссия'")["Number"] == "ВП00-000001"
    payment = onec.value("Document_ПоступлениеНаРасчетныйСчет")[0]
    for literal in (f"'{payment['Контрагент']}'", f"guid'{payment['Контрагент']}'"):  # composite: both
        found = onec.value("Document_ПоступлениеНаРасчетныйСчет", **{"$filter": f"Контрагент eq {literal}"})
        assert [r["Ref_Key"] for r in found] == [payment["Ref_Key"]]
    assert onec.records(onec.one(SALE, "Number eq 'ВП00-000001'")["Ref_Key"])  # Recorder eq '…' (composite)
