"""A third-party Bitrix24 client from PyPI (``fast_bitrix24``) works against the emulator unchanged.

It is configured only through its documented options: the webhook URL and ``client=`` (a user-made
``aiohttp.ClientSession``, here with an SSL context that trusts the contour's CA).
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import pytest

from tests.contour.conftest import BITRIX_CRM_COMPANIES, Bitrix

fast_bitrix24 = pytest.importorskip("fast_bitrix24")
aiohttp = pytest.importorskip("aiohttp")


def run_with_client(bitrix: Bitrix, work: Any) -> Any:
    async def main() -> Any:
        context = ssl.create_default_context(cafile=str(bitrix.contour.ca_file))
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=context), raise_for_status=True
        ) as session:
            client = fast_bitrix24.BitrixAsync(bitrix.webhook, client=session, verbose=False)
            return await work(client)

    return asyncio.run(main())


def test_fast_bitrix24_lists_pages_and_creates(bitrix: Bitrix) -> None:
    async def work(client: Any) -> Any:
        companies = await client.get_all("crm.company.list", {"select": ["ID", "TITLE"]})
        new_id = await client.call(
            "crm.company.add", {"fields": {"TITLE": "Из fast_bitrix24", "ORIGIN_ID": "fb-1"}}
        )
        many = await client.call("crm.company.add", [{"fields": {"TITLE": f"Пакет {i}"}} for i in range(60)])
        found = await client.get_all("crm.company.list", {"filter": {"ORIGIN_ID": "fb-1"}, "select": ["ID"]})
        by_id = await client.get_by_ID("crm.company.get", [1, 2, 3])
        invoices = await client.get_all("crm.item.list", {"entityTypeId": 31})
        return companies, new_id, many, found, by_id, invoices

    companies, new_id, many, found, by_id, invoices = run_with_client(bitrix, work)
    assert len(companies) == BITRIX_CRM_COMPANIES  # first page + the rest fetched as batches of list calls
    assert sorted(int(c["ID"]) for c in companies) == list(range(1, BITRIX_CRM_COMPANIES + 1))
    assert new_id == BITRIX_CRM_COMPANIES + 1
    assert len(many) == 60 and len(set(many)) == 60  # 60 adds packed into two batches
    assert found == [{"ID": str(new_id)}]
    assert {k: v["ID"] for k, v in by_id.items()} == {"1": "1", "2": "2", "3": "3"}
    assert [i["id"] for i in invoices] == [1, 2]
    stats = bitrix.stats()
    assert stats["methods"]["crm.company.add"]["calls"] == 61
    assert stats["requests"] < 20  # batched: a handful of HTTP hits for ~200 method calls


def test_fast_bitrix24_survives_the_standard_rate_plan(bitrix: Bitrix) -> None:
    bitrix.contour.knobs("bitrix", rate_plan="standard")

    async def work(client: Any) -> Any:
        return await client.call("crm.company.get", [{"ID": i} for i in range(1, 101)])

    got = run_with_client(bitrix, work)
    assert sorted(int(c["ID"]) for c in got) == list(range(1, 101))  # two batches, in completion order
    assert bitrix.stats()["rejected_503"] == 0


def test_bitrix24_rest_get_with_unencoded_php_brackets(
    bitrix: Bitrix, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``bitrix24-rest`` sends every call as a GET with a hand-built, unencoded PHP-bracket query string and
    fetches the remaining pages in parallel from ``total``. It trusts the CA named by ``SSL_CERT_FILE``."""
    bitrix24 = pytest.importorskip("bitrix24")
    monkeypatch.setenv("SSL_CERT_FILE", str(bitrix.contour.ca_file))
    client = bitrix24.Bitrix24(bitrix.webhook)

    async def work() -> Any:
        listing = {"select": ["ID", "TITLE"], "order": {"ID": "ASC"}}
        companies = await client.callMethod("crm.company.list", listing)
        fields = {"TITLE": "Из bitrix24-rest", "ORIGIN_ID": "b24r-1"}
        new_id = await client.callMethod("crm.company.add", {"fields": fields})
        found = await client.callMethod("crm.company.list", {"filter": {">ID": 116, "ORIGIN_ID": "b24r-1"}})
        rows = await client.callMethod("crm.deal.productrows.get", {"id": 1})
        return companies, new_id, found, rows

    companies, new_id, found, rows = asyncio.run(work())
    assert sorted(int(c["ID"]) for c in companies) == list(range(1, BITRIX_CRM_COMPANIES + 1))
    assert new_id == BITRIX_CRM_COMPANIES + 1
    assert [c["TITLE"] for c in found] == ["Из bitrix24-rest"]
    assert [r["PRODUCT_NAME"] for r in rows] == ["Стол письменный", "Монтаж"]


def test_fast_bitrix24_rows_catalog_and_stage_history(bitrix: Bitrix) -> None:
    """The newer methods (nested ``result.items``/``products``/``productRows`` answers) through the client."""

    async def work(client: Any) -> Any:
        rows = [{"productId": 1, "price": 12200, "quantity": 2, "taxRate": 22, "taxIncluded": "Y"}]
        saved = await client.call(
            "crm.item.productrow.set", {"ownerType": "D", "ownerId": 3, "productRows": rows}, raw=True
        )
        history = await client.get_all(
            "crm.stagehistory.list", {"entityTypeId": 2, "filter": {"OWNER_ID": 4}}
        )
        products = await client.get_all(
            "catalog.product.list", {"select": ["id", "iblockId", "name"], "filter": {"iblockId": 14}}
        )
        prices = await client.get_all("catalog.price.list", {"filter": {"catalogGroupId": 1}})
        return saved, history, products, prices

    saved, history, products, prices = run_with_client(bitrix, work)
    assert saved["result"]["productRows"][0]["priceExclusive"] == 10000
    assert bitrix.result("crm.deal.get", {"id": 3})["OPPORTUNITY"] == "24400.00"
    assert [h["STAGE_ID"] for h in history] == ["NEW", "WON"]
    assert [p["name"] for p in products][:2] == ["Стол письменный", "Монтаж"] and len(products) == 4
    assert len(prices) == 4
