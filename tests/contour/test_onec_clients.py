"""Third-party 1C OData clients from PyPI, used unchanged against the emulator (only URL, auth and CA given):
PyOData1C 0.0.9 (requests + pydantic) and python-1c-odata 0.6.0 (aiohttp, async)."""

from __future__ import annotations

import asyncio
import ssl
from decimal import Decimal
from typing import ClassVar

import pytest
from pydantic import UUID1, Field
from PyOData1C.http import Connection, auth
from PyOData1C.models import ODataModel
from PyOData1C.odata import OData, Q
from python_1c_odata import (
    AccountingRegister,
    Catalog,
    ConcurrencyError,
    Document,
    EntityNotFound,
    F,
    Infobase,
)
from python_1c_odata import PostingMode as Mode

LOGIN, PASSWORD = "Интеграция", "contour"


class UnitModel(ODataModel):
    uid: UUID1 = Field(alias="Ref_Key", exclude=True)
    name: str = Field(alias="Description")


class ProductModel(ODataModel):
    uid: UUID1 = Field(alias="Ref_Key", exclude=True)
    code: str = Field(alias="Code")
    name: str = Field(alias="Description")
    article: str = Field(alias="Артикул")
    unit: UnitModel = Field(alias="ЕдиницаИзмерения")

    nested_models: ClassVar = {"unit": UnitModel}


class ProductOData(OData):
    database = "accounting"
    entity_model = ProductModel
    entity_name = "Catalog_Номенклатура"


class CounterpartyModel(ODataModel):
    uid: UUID1 | None = Field(default=None, alias="Ref_Key", exclude=True)
    name: str = Field(alias="Description")
    inn: str = Field(alias="ИНН")
    kpp: str = Field(alias="КПП")


class CounterpartyOData(OData):
    database = "accounting"
    entity_model = CounterpartyModel
    entity_name = "Catalog_Контрагенты"


class SaleModel(ODataModel):
    uid: UUID1 = Field(alias="Ref_Key", exclude=True)
    number: str = Field(alias="Number")
    total: Decimal = Field(alias="СуммаДокумента")


class SaleOData(OData):
    database = "accounting"
    entity_model = SaleModel
    entity_name = "Document_РеализацияТоваровУслуг"


def test_pyodata1c_lists_creates_updates_posts(onec_contour, monkeypatch: pytest.MonkeyPatch) -> None:
    # the client sends via Session.send with verify=True, i.e. requests' default CA bundle: point it at ours
    monkeypatch.setattr("requests.adapters.DEFAULT_CA_BUNDLE_PATH", str(onec_contour.ca_file))
    basic = auth.HTTPBasicAuth(LOGIN.encode("utf-8"), PASSWORD.encode("utf-8"))
    with Connection(f"127.0.0.1:{onec_contour.onec_port}", "https", basic) as conn:
        products = ProductOData.manager(conn).expand("unit").filter(article__in=["СТ-01", "УС-01"]).all()
        assert {(p.article, p.unit.name) for p in products} == {("СТ-01", "шт"), ("УС-01", "ч")}
        page = ProductOData.manager(conn).expand("unit").top(2).skip(1).all()
        assert len(page) == 2
        manager = CounterpartyOData.manager(conn)
        created = manager.create(
            CounterpartyModel(Description="ООО Из клиента", ИНН="7701234567", КПП="770101001")
        )
        assert created.uid is not None and created.name == "ООО Из клиента"
        found = CounterpartyOData.manager(conn).filter(Q(inn="7701234567") & Q(kpp="770101001")).all()
        assert [(c.name, c.inn) for c in found] == [("ООО Из клиента", "7701234567")]
        updated = CounterpartyOData.manager(conn).update(
            str(created.uid), {"Description": "ООО Из клиента 2"}
        )
        assert updated.name == "ООО Из клиента 2"
        sales = SaleOData.manager(conn).filter(number="ВП00-000002").all()
        assert len(sales) == 1 and sales[0].total == Decimal("18300")
        SaleOData.manager(conn).post_document(str(sales[0].uid))
        SaleOData.manager(conn).unpost_document(str(sales[0].uid))
        assert SaleOData.manager(conn).get(str(sales[0].uid)).number == "ВП00-000002"


def test_python_1c_odata_async_client(onec_contour) -> None:
    context = ssl.create_default_context(cafile=str(onec_contour.ca_file))

    async def scenario() -> None:
        server = f"https://127.0.0.1:{onec_contour.onec_port}"
        async with Infobase(server, "accounting", LOGIN, PASSWORD, ssl=context) as ib:
            assert "Catalog_Контрагенты" in await ib.entity_sets()
            counterparties = Catalog(ib, "Контрагенты")
            page = await counterparties.query(
                odata_filter=(F("ИНН") == "7707083893") & (F("КПП") == "770701001"),
                select="Ref_Key,Description,ИНН",
                inlinecount=True,
            )
            assert page.count == 1 and page.value[0]["Description"] == 'ООО "Альфа"'
            assert await counterparties.count() == 4
            seen = [row["Code"] async for row in counterparties.iterate(page_size=3, orderby="Code")]
            assert seen == ["000000001", "000000002", "000000003", "000000004"]
            created = await counterparties.create({"Description": "ИП Петров", "ИНН": "500100732259"})
            ref = created["Ref_Key"]
            edited = await counterparties.edit(ref, {"Комментарий": "async"}, if_match=created["DataVersion"])
            assert edited["Комментарий"] == "async"
            with pytest.raises(ConcurrencyError):
                await counterparties.edit(ref, {"Комментарий": "stale"}, if_match=created["DataVersion"])
            await counterparties.delete(ref)
            with pytest.raises(EntityNotFound):
                await counterparties.get(ref)
            sales = Document(ib, "РеализацияТоваровУслуг")
            draft = (await sales.query(odata_filter=F("Number") == "ВП00-000002")).value[0]
            await sales.post(draft["Ref_Key"], Mode.POST)
            assert (await sales.get(draft["Ref_Key"]))["Posted"] is True
            register = AccountingRegister(ib, "Хозрасчетный")
            balance = await register.balance(condition="Account/Code eq '62.01'")
            by_party = {row["ExtDimension1"]: row["СуммаBalance"] for row in balance["value"]}
            assert sorted(by_party.values()) == [10500, 12000, 18300]
            await sales.unpost(draft["Ref_Key"])
            new = await sales.create({"Date": "2026-04-01T00:00:00", "Комментарий": "из async-клиента"})
            assert new["Number"] == "0000-000001"  # no organisation → no prefix

    asyncio.run(scenario())
