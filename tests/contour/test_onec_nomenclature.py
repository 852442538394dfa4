"""1C OData emulator: price types and the periodic price register (SliceLast/SliceFirst), nomenclature
fidelity (VAT kinds and their history, services, ОКЕИ units, folders, deletion marks, long and quoted names)
and currencies with daily rates, in the test dataset and in the demo profile (protocols.md B.3–B.4, A.9)."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from typing import Any

import pytest

from contour import profiles
from contour.onec import seed
from tests.contour.conftest import OneC, error_of

ITEMS = "Catalog_Номенклатура"
TYPES = "Catalog_ТипыЦенНоменклатуры"
PRICES = "InformationRegister_ЦеныНоменклатуры"
RATES = "InformationRegister_КурсыВалют"


def slice_(
    onec: OneC, register: str, period: str | None = None, condition: str | None = None, **kw: Any
) -> list:
    args = [f"Period=datetime'{period}'"] if period else []
    if condition:
        args.append(f"Condition='{condition}'")
    return onec.value(f"{register}/SliceLast({','.join(args)})", **kw)


def price_type(onec: OneC, name: str) -> dict[str, Any]:
    return onec.one(TYPES, f"Description eq '{name}'")


@pytest.fixture
def demo(onec: OneC, onec_contour: Any) -> OneC:
    """The running contour's 1C side seeded with the demo profile (the next test re-seeds its own)."""
    seed.seed(onec_contour.state_dir, profiles.demo())
    return onec


def test_price_types_and_current_prices_of_the_test_dataset(onec: OneC) -> None:
    base = price_type(onec, "Основная цена продажи")
    rub = onec.one("Catalog_Валюты", "Code eq '643'")["Ref_Key"]
    assert (base["ВалютаЦены_Key"], base["ЦенаВключаетНДС"], base["Code"]) == (rub, True, "000000001")
    today = dt.date.today().isoformat() + "T00:00:00"
    rows = slice_(onec, PRICES, today, f"ТипЦен_Key eq guid'{base['Ref_Key']}'")
    names = {r["Ref_Key"]: r["Артикул"] for r in onec.value(ITEMS)}
    assert {names[r["Номенклатура_Key"]]: r["Цена"] for r in rows} == {
        "СТ-01": 12200,
        "УС-01": 6100,
        "СТ-02": 12000,
    }
    assert all(r["Валюта_Key"] == rub and r["Active"] is True for r in rows)
    expanded = onec.value(
        PRICES,
        **{
            "$expand": "ТипЦен,Номенклатура",
            "$select": "Цена,ТипЦен/Description,Номенклатура/Артикул",
            "$orderby": "Цена",
        },
    )
    assert expanded[0] == {
        "Цена": 6100,
        "ТипЦен": {"Description": "Основная цена продажи"},
        "Номенклатура": {"Артикул": "УС-01"},
    }
    assert error_of(onec.post(TYPES, {"Description": "Новая"}))[:2] == (403, "20")
    key = rows[0]
    one = onec.get(
        f"{PRICES}(Recorder_Key=guid'{key['Recorder_Key']}',LineNumber={key['LineNumber']})"
    ).json()
    assert one["Цена"] == key["Цена"]


def test_price_register_and_types_are_published(onec: OneC) -> None:
    xml = onec.request("GET", "$metadata").text
    entity = re.search(rf'<EntityType Name="{PRICES}".*?</EntityType>', xml)
    assert entity is not None
    for prop in (
        "Period",
        "Recorder_Key",
        "LineNumber",
        "Active",
        "ТипЦен_Key",
        "Номенклатура_Key",
        "Валюта_Key",
        "Цена",
    ):
        assert f'Name="{prop}"' in entity.group()
    assert re.search(
        rf'<FunctionImport Name="SliceLast"[^>]*ReturnType="Collection\(StandardODATA\.{PRICES}\)"', xml
    )
    types = re.search(rf'<EntityType Name="{TYPES}".*?</EntityType>', xml)
    assert types is not None and all(
        f'Name="{p}"' in types.group() for p in ("ВалютаЦены_Key", "ЦенаВключаетНДС", "ПорядокОкругления")
    )
    sets = {s["name"] for s in onec.get("").json()["value"]}
    assert {PRICES, TYPES, "Catalog_Пользователи"} <= sets
    invoice = re.search(r'<EntityType Name="Document_СчетНаОплатуПокупателю".*?</EntityType>', xml)
    assert invoice is not None and 'Name="ТипЦен"' in invoice.group()  # now a reference with navigation
    status, code, _ = error_of(onec.get("InformationRegister_ДатыЗапретаИзменения/SliceLast()"))
    assert (status, code) == (400, "6")  # not periodic


def test_demo_prices(demo: OneC) -> None:
    onec = demo
    base, wholesale = price_type(onec, "Основная цена продажи"), price_type(onec, "Оптовая цена")
    items = {r["Ref_Key"]: r for r in onec.value(ITEMS)}
    goods = {k for k, r in items.items() if not r["IsFolder"]}
    today = dt.date.today().isoformat() + "T00:00:00"
    current = {
        r["Номенклатура_Key"]: r
        for r in slice_(onec, PRICES, today, f"ТипЦен_Key eq guid'{base['Ref_Key']}'")
    }
    assert set(current) == goods  # every item has a base price
    by_article = {items[k]["Артикул"]: r for k, r in current.items()}
    products = {p.article: p for p in profiles.demo().products}
    assert all(
        by_article[a]["Цена"] == float(p.price) for a, p in products.items()
    )  # today's = the dataset's
    second = slice_(onec, PRICES, today, f"ТипЦен_Key eq guid'{wholesale['Ref_Key']}'")
    assert 0 < len(second) < len(goods)
    cable = by_article["VP-UTP6"]["Номенклатура_Key"]  # every third item: its price changed on 01.06.2026
    condition = f"Номенклатура_Key eq guid'{cable}' and ТипЦен_Key eq guid'{base['Ref_Key']}'"
    assert [r["Цена"] for r in slice_(onec, PRICES, "2026-05-31T23:59:59", condition)] == [34.56]
    assert [(r["Period"], r["Цена"]) for r in slice_(onec, PRICES, today, condition)] == [
        ("2026-06-01T00:00:00", 38.4)
    ]
    first = onec.value(f"{PRICES}/SliceFirst(Condition='{condition}')")
    assert [(r["Period"], r["Цена"]) for r in first] == [("2025-01-01T00:00:00", 34.56)]
    assert slice_(onec, PRICES, "2024-12-31T00:00:00", condition) == []  # before the first price
    usd = onec.one("Catalog_Валюты", "Code eq '840'")["Ref_Key"]
    in_usd = [r for r in current.values() if r["Валюта_Key"] == usd]
    assert [(items[r["Номенклатура_Key"]]["Артикул"], r["Цена"]) for r in in_usd] == [("VP-SRV-760", 8500)]


def test_demo_nomenclature_cases(demo: OneC) -> None:
    onec = demo
    rows = onec.value(ITEMS, **{"$expand": "ЕдиницаИзмерения"})
    items = [r for r in rows if not r["IsFolder"]]
    kinds = {(r["Услуга"], r["ВидСтавкиНДС"]) for r in items}
    for kind in ("Общая", "Пониженная", "Нулевая", "БезНДС"):
        assert any(k == kind for _, k in kinds), kind
    assert (True, "Нулевая") in kinds and (False, "Нулевая") in kinds and (True, "БезНДС") in kinds
    folders = {r["Ref_Key"]: r["Description"] for r in rows if r["IsFolder"]}
    assert sorted(folders.values()) == ["Товары", "Услуги"]
    assert all(r["Parent_Key"] in folders for r in items)
    assert all(folders[r["Parent_Key"]] == ("Услуги" if r["Услуга"] else "Товары") for r in items)
    assert Counter(r["DeletionMark"] for r in rows)[True] == 1
    changed = [r for r in items if len(r["ИсторияВидаСтавкиНДС"]) > 1]
    assert [[(h["Период"][:10], h["ВидСтавкиНДС"]) for h in r["ИсторияВидаСтавкиНДС"]] for r in changed] == [
        [("0001-01-01", "Общая"), ("2025-07-01", "Пониженная")]
    ]
    assert changed[0]["ВидСтавкиНДС"] == "Пониженная"
    long_names = [r for r in items if len(r["НаименованиеПолное"]) >= 590]
    assert len(long_names) == 1 and len(long_names[0]["Description"]) <= 100
    assert onec.one(ITEMS, "Description eq 'Кофе O''Brien''s в зёрнах, 1 кг'")["ВидСтавкиНДС"] == "Пониженная"
    assert onec.one(ITEMS, "substringof('\"Витая пара\"', Description)")["Артикул"] == "VP-UTP5E"
    units = {r["ЕдиницаИзмерения"]["Code"] for r in items}
    assert {"796", "006", "166", "112", "356", "642"} <= units
    metres = onec.value(ITEMS, **{"$filter": "ЕдиницаИзмерения/Code eq '006'"})
    assert metres and all(r["ЕдиницаИзмерения_Key"] for r in metres)
    assert onec.value(
        ITEMS,
        **{"$filter": "IsFolder eq false and DeletionMark eq false", "$inlinecount": "allpages", "$top": "1"},
    )


def test_demo_currencies_and_daily_rates(demo: OneC) -> None:
    onec = demo
    currencies = {r["Code"]: r for r in onec.value("Catalog_Валюты")}
    assert set(currencies) == {"643", "840", "978"} and currencies["643"]["Description"] == "руб."
    usd = currencies["840"]["Ref_Key"]
    december = onec.value(
        RATES,
        **{
            "$filter": f"Валюта_Key eq guid'{usd}' and Period ge datetime'2025-12-01' "
            "and Period lt datetime'2025-12-08'",
            "$orderby": "Period",
        },
    )
    assert [r["Period"][:10] for r in december] == [f"2025-12-0{d}" for d in (1, 2, 3, 4, 5)]  # working days
    assert len({r["Курс"] for r in december}) > 1 and all(r["Кратность"] == 1 for r in december)
    condition = f"Валюта_Key eq guid'{usd}'"
    assert slice_(onec, RATES, "2025-11-30T23:59:59", condition) == []  # before the first rate: none
    saturday = slice_(onec, RATES, "2025-12-06T12:00:00", condition)
    assert [r["Period"][:10] for r in saturday] == ["2025-12-05"]  # a weekend takes Friday's rate
    dataset = {(r.currency, r.date): r.rate for r in profiles.demo().rates}
    kept = slice_(onec, RATES, "2026-02-01T00:00:00", condition)
    assert kept[0]["Курс"] == float(dataset[("USD", dt.date(2026, 2, 1))])  # the dataset's own rate kept
    eur = currencies["978"]["Ref_Key"]
    assert len(slice_(onec, RATES, "2026-03-15T00:00:00")) == 2 and slice_(
        onec, RATES, None, f"Валюта_Key eq guid'{eur}'"
    )
