"""crm1c never writes protected accounting data or portal reference lists: the clients refuse before any
request reaches the system (checked against the contour's own request log and stats)."""

from __future__ import annotations

import pytest

from crm1c.clients.bitrix24 import Bitrix24Client
from crm1c.clients.onec import OneCClient
from crm1c.clients.protected import ProtectedWriteError
from tests.clients.contour_env import admin, start
from tests.contour_harness import BITRIX_TOKEN, BITRIX_USER, ONEC_PASSWORD, ONEC_USER

GUID = "00000000-0000-0000-0000-000000000001"


@pytest.fixture(scope="module")
def contour(tmp_path_factory):
    running = start(tmp_path_factory.mktemp("protected"), profile="demo")
    yield running
    running.stop()


@pytest.fixture
def clients(contour):
    ca = str(contour.ca_file)
    onec = OneCClient(contour.onec_url, ONEC_USER, ONEC_PASSWORD, verify=ca, conn_id="onec_contour")
    crm = Bitrix24Client(contour.bitrix_base, BITRIX_USER, BITRIX_TOKEN, verify=ca, conn_id="b24_contour")
    yield crm, onec
    crm.close()
    onec.close()


def _requests(contour) -> tuple[int, int]:
    onec = admin(contour, "onec", "/_contour/requests?limit=1")["requests"]
    return (onec[0]["id"] if onec else 0), admin(contour, "bitrix", "/_contour/stats")["requests"]


@pytest.mark.parametrize(
    "write",
    [
        lambda o: o.create("ChartOfAccounts_Хозрасчетный", {"Code": "62.99"}),
        lambda o: o.update("Catalog_КлассификаторЕдиницИзмерения", GUID, {"Description": "шт."}, "v1"),
        lambda o: o.mark_deleted("Catalog_Валюты", GUID, "v1"),
        lambda o: o.create("InformationRegister_ДатыЗапретаИзменения", {"ДатаЗапрета": "2099-01-01"}),
        lambda o: o.post_document("AccountingRegister_Хозрасчетный", GUID),
    ],
)
def test_1c_protected_sets_are_never_written(contour, clients, write):
    _crm, onec = clients
    before = _requests(contour)
    with pytest.raises(ProtectedWriteError, match="never writes"):
        write(onec)
    assert _requests(contour) == before


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.call("crm.currency.update", {"id": "RUB", "fields": {"AMOUNT": 2}}),
        lambda c: c.call("crm.vat.add", {"fields": {"RATE": 18}}),
        lambda c: c.batch(
            {"ok": ("crm.company.add", {"fields": {"TITLE": "X"}}), "no": ("catalog.measure.add", {})}
        ),
    ],
)
def test_portal_reference_lists_are_never_written(contour, clients, call):
    crm, _onec = clients
    before = _requests(contour)
    with pytest.raises(ProtectedWriteError, match="never calls"):
        call(crm)
    assert _requests(contour) == before


def test_reading_protected_data_and_writing_ordinary_data_still_work(clients):
    crm, onec = clients
    assert onec.list_all("Catalog_Валюты", select=["Ref_Key", "Code"])
    assert crm.call("catalog.measure.list")["result"]
    created = onec.create("Catalog_Контрагенты", {"Description": "ООО Обычная", "ИНН": "7707083893"})
    assert created["Ref_Key"]
