"""1C OData emulator: $filter (every operator, literals, navigation, lambdas, injection), $select, $orderby,
$top/$skip, $inlinecount, /$count; and the two filter back ends agreeing with each other."""

from __future__ import annotations

import json

import pytest

from contour.onec import filter as odata_filter
from contour.onec.schema import SETS
from contour.onec.storage import DB_NAME, connect
from tests.contour.conftest import OneC, error_of

CP = "Catalog_Контрагенты"


def descriptions(onec: OneC, filter_: str, set_name: str = CP) -> set[str]:
    return {r["Description"] for r in onec.value(set_name, **{"$filter": filter_})}


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("ИНН eq '7707083893'", {'ООО "Альфа"', 'ООО "Альфа" (СПб)'}),
        ("ИНН eq '7707083893' and КПП eq '780201001'", {'ООО "Альфа" (СПб)'}),
        ("ИНН ne '7707083893'", {"ИП Иванов Иван Иванович", "Д'Артаньян и Ко"}),
        ("Code gt '000000003'", {"Д'Артаньян и Ко"}),
        ("Code ge '000000003'", {"ИП Иванов Иван Иванович", "Д'Артаньян и Ко"}),
        ("Code lt '000000002'", {'ООО "Альфа"'}),
        ("Code le '000000002'", {'ООО "Альфа"', 'ООО "Альфа" (СПб)'}),
        ("КПП eq '' or ОбособленноеПодразделение eq true", {"ИП Иванов Иван Иванович", 'ООО "Альфа" (СПб)'}),
        ("not (ЮридическоеФизическоеЛицо eq 'ЮридическоеЛицо')", {"ИП Иванов Иван Иванович"}),
        (
            "(ИНН eq '7707083893' or ИНН eq '500100732259') and not ОбособленноеПодразделение",
            {'ООО "Альфа"', "ИП Иванов Иван Иванович"},
        ),
        ("substringof('альфа', Description)", {'ООО "Альфа"', 'ООО "Альфа" (СПб)'}),
        (
            "substringof('Альфа', Description) eq true and endswith(Description, '(СПб)') eq false",
            {'ООО "Альфа"'},
        ),
        ("startswith(Description, 'ИП ')", {"ИП Иванов Иван Иванович"}),
        ("endswith(Description, 'и Ко')", {"Д'Артаньян и Ко"}),
        ("Description eq 'Д''Артаньян и Ко'", {"Д'Артаньян и Ко"}),
        ("like(Description, 'ООО%(СПб)')", {'ООО "Альфа" (СПб)'}),
        ("length(ИНН) eq 12", {"ИП Иванов Иван Иванович"}),
        (
            "ГоловнойКонтрагент/КПП eq '770701001' and ОбособленноеПодразделение eq true",
            {'ООО "Альфа" (СПб)'},
        ),
        ("КонтактнаяИнформация/any(d: d/Тип eq 'АдресЭлектроннойПочты')", {'ООО "Альфа"'}),
        (
            "DeletionMark eq false and IsFolder eq false and "
            "Parent_Key eq guid'00000000-0000-0000-0000-000000000000'",
            {'ООО "Альфа"', 'ООО "Альфа" (СПб)', "ИП Иванов Иван Иванович", "Д'Артаньян и Ко"},
        ),
        (
            "ДатаРегистрации eq datetime'0001-01-01T00:00:00' and ДатаСоздания lt datetime'2000-01-01'",
            {'ООО "Альфа"', 'ООО "Альфа" (СПб)', "ИП Иванов Иван Иванович", "Д'Артаньян и Ко"},
        ),
        ("Description eq null", set()),
        (
            "ИНН eq ''' or 1 eq 1 or '''",
            set(),
        ),  # the classic injection, properly quoted: a literal, not logic
    ],
)
def test_filter_operators(onec: OneC, expr: str, expected: set[str]) -> None:
    assert descriptions(onec, expr) == expected


def test_numbers_dates_guids_and_navigation_on_documents(onec: OneC) -> None:
    sale = "Document_РеализацияТоваровУслуг"
    assert {r["Number"] for r in onec.value(sale, **{"$filter": "СуммаДокумента gt 30000"})} == {
        "ВП00-000001"
    }
    assert {r["Number"] for r in onec.value(sale, **{"$filter": "СуммаДокумента eq 12000.0"})} == {
        "ВП00-000099"
    }
    assert {
        r["Number"]
        for r in onec.value(
            sale, **{"$filter": "СуммаДокумента div 2 ge 15250 and СуммаДокумента sub 500 eq 30000"}
        )
    } == {"ВП00-000001"}
    in_2026 = onec.value(sale, **{"$filter": "Date ge datetime'2026-01-01T00:00:00' and year(Date) eq 2026"})
    assert {r["Number"] for r in in_2026} == {"ВП00-000001", "ВП00-000002"}
    alfa = onec.one(CP, "КПП eq '770701001'")["Ref_Key"]
    by_key = onec.value(sale, **{"$filter": f"Контрагент_Key eq guid'{alfa}'"})
    by_nav_key = onec.value(sale, **{"$filter": f"Контрагент eq guid'{alfa}'"})
    by_inn = onec.value(
        sale, **{"$filter": "Контрагент/ИНН eq '7707083893' and Контрагент/КПП eq '770701001'"}
    )
    assert (
        [r["Ref_Key"] for r in by_key] == [r["Ref_Key"] for r in by_nav_key] == [r["Ref_Key"] for r in by_inn]
    )
    assert len(by_key) == 1
    goods = onec.value(
        sale, **{"$filter": "Товары/any(d: d/Цена gt 12000 and d/Номенклатура/Артикул eq 'СТ-01')"}
    )
    assert {r["Number"] for r in goods} == {"ВП00-000001"}
    services = onec.value(
        sale, **{"$filter": "Услуги/all(d: d/СтавкаНДС eq 'НДС22') and Услуги/any(d: true)"}
    )
    assert {r["Number"] for r in services} == {"ВП00-000001", "ВП00-000002"}
    receipt = onec.value(
        "Document_ПоступлениеНаРасчетныйСчет",
        **{"$filter": "Контрагент/ИНН eq '7707083893' and isof(Контрагент, 'Catalog_Контрагенты')"},
    )
    assert len(receipt) == 1


@pytest.mark.parametrize(
    "bad",
    [
        "ИНН eq '7707083893",
        "ИНН eq",
        "(ИНН eq '1'",
        "ИНН eq '1')",
        "ИНН eq '' or 1 eq 1 or ''",
        "ИНН === '1'",
        "НетТакогоПоля eq 1",
        "ИНН eq guid'not-a-guid'",
        "Date gt datetime'2026-01-01T00:00:00.5'",
        "unknownfn(ИНН)",
        "ИНН",
        "'x'",
        "ИНН eq '1' and 5",
        "ГоловнойКонтрагент/НетПоля eq 1",
        "substringof('x')",
    ],
)
def test_bad_filters_are_code_14(onec: OneC, bad: str) -> None:
    status, code, message = error_of(onec.get(CP, **{"$filter": bad}))
    assert (status, code) == (400, "14"), message


def test_select_orderby_top_skip(onec: OneC) -> None:
    rows = onec.value(CP, **{"$select": "Code, Description,ИНН", "$orderby": "ИНН desc, КПП asc"})
    assert all(set(r) == {"Code", "Description", "ИНН"} for r in rows)
    assert [r["ИНН"] for r in rows] == ["7728145639", "7707083893", "7707083893", "500100732259"]
    assert [r["Description"] for r in rows[1:3]] == ['ООО "Альфа"', 'ООО "Альфа" (СПб)']
    codes = [r["Code"] for r in onec.value(CP, **{"$orderby": "Code", "$select": "Code"})]
    assert codes == sorted(codes) and len(codes) == 4
    page = onec.value(CP, **{"$orderby": "Code", "$select": "Code", "$top": "2", "$skip": "1"})
    assert [r["Code"] for r in page] == codes[1:3]
    nav_sorted = onec.value(
        "Document_РеализацияТоваровУслуг", **{"$orderby": "Контрагент/КПП desc,Date", "$select": "Number"}
    )
    assert [r["Number"] for r in nav_sorted][:1] == ["ВП00-000002"]
    assert error_of(onec.get(CP, **{"$select": "НетПоля"}))[:2] == (400, "14")
    assert error_of(onec.get(CP, **{"$top": "-1"}))[:2] == (400, "14")
    assert error_of(onec.get(CP, **{"$orderby": "Code sideways"}))[:2] == (400, "14")


def test_select_expand_and_presentation(onec: OneC) -> None:
    (sale,) = onec.value(
        "Document_РеализацияТоваровУслуг",
        **{
            "$filter": "Number eq 'ВП00-000001'",
            "$select": "Number,Контрагент/ИНН,Контрагент____Presentation,Товары/Сумма",
            "$expand": "Контрагент",
        },
    )
    assert sale["Контрагент"] == {"ИНН": "7707083893"}
    assert sale["Контрагент____Presentation"] == 'ООО "Альфа"'
    assert sale["Товары"] == [{"LineNumber": "1", "Сумма": 24400}]


def test_inlinecount_and_count(onec: OneC, onec_contour) -> None:
    params = {"$inlinecount": "allpages", "$filter": "ИНН eq '7707083893'", "$orderby": "Code"}
    body = onec.get(CP, **params, **{"$top": "1"}).json()
    assert body["odata.count"] == "2"  # the count of the whole filtered set ...
    assert [r["Code"] for r in body["value"]] == ["000000001"]  # ... and only the page of rows
    body = onec.get(CP, **params, **{"$top": "5", "$skip": "1"}).json()
    assert body["odata.count"] == "2" and [r["Code"] for r in body["value"]] == ["000000002"]
    rows = onec.get(f"{CP}_КонтактнаяИнформация", **{"$inlinecount": "allpages", "$top": "1"}).json()
    assert rows["odata.count"] == "2" and len(rows["value"]) == 1  # the Python back end pages alike
    body = onec.get(CP, **{"$inlinecount": "allpages", "$top": "0"}).json()
    assert (body["odata.count"], body["value"]) == ("4", [])
    response = onec.request(
        "GET",
        f"{CP}/$count",
        params={"$filter": "startswith(Description, 'ООО')"},
        headers={"Accept": "text/plain"},
    )
    assert (
        response.status_code == 200
        and response.text == "2"
        and response.headers["Content-Type"].startswith("text/plain")
    )


def test_tabular_row_sets(onec: OneC) -> None:
    rows = onec.value("Document_РеализацияТоваровУслуг_Товары")
    assert {r["LineNumber"] for r in rows} == {"1"} and {r["Сумма"] for r in rows} == {24400, 12000}
    sale = onec.one("Document_РеализацияТоваровУслуг", "Number eq 'ВП00-000001'")["Ref_Key"]
    (service,) = onec.value(
        "Document_РеализацияТоваровУслуг_Услуги", **{"$filter": f"Ref_Key eq guid'{sale}'"}
    )
    assert (service["Сумма"], service["СуммаНДС"], service["СтавкаНДС"]) == (6100, 1100, "НДС22")
    one = onec.get(f"Document_РеализацияТоваровУслуг_Услуги(Ref_Key=guid'{sale}',LineNumber=1)").json()
    assert one["Сумма"] == 6100


def test_no_nometadata_annotations(onec: OneC) -> None:
    response = onec.request(
        "GET", CP, params={"$top": "1"}, headers={"Accept": "application/json;odata=nometadata"}
    )
    body = response.json()
    assert "odata.metadata" not in body and not any("@" in k for k in body["value"][0])


def test_inn_kpp_lookup_uses_the_index(onec_contour) -> None:
    es = SETS[CP]
    sql, params = odata_filter.to_sql(
        odata_filter.parse("ИНН eq '7707083893' and КПП eq '770701001'"),
        odata_filter.SqlScope(es, "e", odata_filter.ENTITY_COLUMNS),
    )
    conn = connect(onec_contour.state_dir / DB_NAME)
    try:
        plan = conn.execute(
            f"EXPLAIN QUERY PLAN SELECT e.data FROM entities e WHERE e.set_name = ? AND {sql} ORDER BY e.id",  # noqa: S608
            [CP, *params],
        ).fetchall()
    finally:
        conn.close()
    assert "entities_inn" in " ".join(str(p) for p in plan)


FILTERS = [
    "ИНН eq '7707083893' and КПП ne '780201001'",
    "not (ОбособленноеПодразделение eq true) or КПП eq ''",
    "substringof('ар', Description) or startswith(ИНН, '77')",
    "ГоловнойКонтрагент/Description eq 'ООО \"Альфа\"'",
    "КонтактнаяИнформация/all(c: c/Тип ne 'Адрес')",
    "length(Description) gt 10 and tolower(Description) ne 'x'",
    "Code ge '000000002' and Code le '000000004'",
    "ОсновнойДоговорКонтрагента/Owner/ИНН eq ИНН",
]


@pytest.mark.parametrize("expr", FILTERS)
def test_sql_and_python_back_ends_agree(onec_contour, expr: str) -> None:
    conn = connect(onec_contour.state_dir / DB_NAME)
    try:
        es, node = SETS[CP], odata_filter.parse(expr)
        sql, params = odata_filter.to_sql(node, odata_filter.SqlScope(es, "e", odata_filter.ENTITY_COLUMNS))
        by_sql = {
            r[0]
            for r in conn.execute(
                f"SELECT e.ref FROM entities e WHERE e.set_name = ? AND {sql}",  # noqa: S608
                [CP, *params],
            )
        }
        rows = [json.loads(r[0]) for r in conn.execute("SELECT data FROM entities WHERE set_name = ?", (CP,))]

        def resolve(set_name: str, ref: str) -> dict | None:
            found = conn.execute(
                "SELECT data FROM entities WHERE set_name = ? AND ref = ?", (set_name, ref)
            ).fetchone()
            return json.loads(found[0]) if found else None

        predicate = odata_filter.to_python(node, es, resolve)
        by_python = {r["Ref_Key"] for r in rows if predicate(r)}
    finally:
        conn.close()
    assert by_sql == by_python
