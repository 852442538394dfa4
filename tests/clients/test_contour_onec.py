"""1C OData client over real HTTPS against the contour emulator (auth, filters, paging, writes, errors)."""

from __future__ import annotations

import datetime as dt
import socket

import pytest

from crm1c.clients.errors import (
    AuthError,
    NotFound,
    OutcomeUnknown,
    PeriodClosed,
    PreconditionFailed,
    RetryableError,
)
from crm1c.clients.odata_filter import F, datetime, guid
from crm1c.clients.onec import Answer, OneCClient, _json_or_none
from crm1c.clients.retry import RetryPolicy
from tests.clients.contour_env import start

COUNTERPARTIES = "Catalog_Контрагенты"
SALES = "Document_РеализацияТоваровУслуг"
INJECTION = "' or 1 eq 1 or '"
HOSTILE = 'O\'Brien & Sons = 100% 🚀 ООО "Ёлка"'


@pytest.fixture(scope="module")
def contour(tmp_path_factory):
    running = start(tmp_path_factory.mktemp("onec"), profile="demo")
    yield running
    running.stop()


@pytest.fixture
def onec(contour):
    client = OneCClient(
        contour.onec_url, "Интеграция", "contour", verify=str(contour.ca_file), conn_id="onec_contour"
    )
    yield client
    client.close()


def test_cyrillic_login_works_and_wrong_password_is_an_auth_error(contour, onec):
    assert onec.list_all(COUNTERPARTIES, select=["Ref_Key"])
    # a password no other name contains: the client registers it with the secret scrubber of this process
    bad = OneCClient(
        contour.onec_url, "Интеграция", "n0t-the-1C-Passw0rd", verify=str(contour.ca_file), conn_id="onec_bad"
    )
    with pytest.raises(AuthError) as info:
        bad.list_all(COUNTERPARTIES)
    assert "onec_bad" in str(info.value) and bad.stats.requests == 1


def test_filter_injection_returns_nothing_and_quotes_match_exactly(onec):
    everyone = onec.list_all(COUNTERPARTIES, select=["Ref_Key", "Description"])
    assert len(everyone) > 5
    assert onec.list_all(COUNTERPARTIES, filter=F("Description") == INJECTION) == []
    assert onec.list_all(COUNTERPARTIES, filter=F("ИНН") == INJECTION) == []
    quoted = next(r["Description"] for r in everyone if '"' in r["Description"])
    found = onec.list_all(COUNTERPARTIES, filter=F("Description") == quoted, select=["Description"])
    assert [r["Description"] for r in found] == [quoted]
    target = onec.list_all(COUNTERPARTIES, select=["Ref_Key", "DataVersion"])[-1]
    onec.update(COUNTERPARTIES, target["Ref_Key"], {"Description": HOSTILE}, target["DataVersion"])
    found = onec.list_all(COUNTERPARTIES, filter=F("Description") == HOSTILE, select=["Ref_Key"])
    assert [r["Ref_Key"] for r in found] == [target["Ref_Key"]]
    by_key = onec.list_all(
        COUNTERPARTIES, filter=F("Ref_Key") == guid(target["Ref_Key"]), select=["Description"]
    )
    assert by_key == [{"Description": HOSTILE}]


def test_paging_is_complete_and_matches_count(onec):
    whole = onec.list_all(COUNTERPARTIES, select=["Ref_Key", "DataVersion", "DeletionMark"])
    pages = list(onec.list(COUNTERPARTIES, select=["Ref_Key"], page_size=4))
    keys = [r["Ref_Key"] for p in pages for r in p]
    assert len(keys) == len(set(keys)) == len(whole) == onec.count(COUNTERPARTIES)
    assert set(keys) == {r["Ref_Key"] for r in whole}
    assert all(len(p) == 4 for p in pages[:-1])
    legal = onec.count(COUNTERPARTIES, F("ЮридическоеФизическоеЛицо") == "ЮридическоеЛицо")
    assert 0 < legal <= len(whole)


def test_stale_data_version_gives_412(onec):
    target = onec.list_all(COUNTERPARTIES, select=["Ref_Key", "DataVersion"])[0]
    updated = onec.update(
        COUNTERPARTIES, target["Ref_Key"], {"Комментарий": "Версия 2"}, target["DataVersion"]
    )
    assert updated["DataVersion"] != target["DataVersion"]
    with pytest.raises(PreconditionFailed):
        onec.update(COUNTERPARTIES, target["Ref_Key"], {"Комментарий": "Версия 3"}, target["DataVersion"])
    marked = onec.mark_deleted(COUNTERPARTIES, target["Ref_Key"], updated["DataVersion"])
    assert (
        onec.get(COUNTERPARTIES, target["Ref_Key"])["DeletionMark"] is True and marked["DeletionMark"] is True
    )
    onec.mark_deleted(COUNTERPARTIES, target["Ref_Key"], marked["DataVersion"], mark=False)


def test_create_returns_the_new_object(onec):
    created = onec.create(COUNTERPARTIES, {"Description": "Новый контрагент"})
    assert created["Ref_Key"] and created["DataVersion"] and created["Description"] == "Новый контрагент"
    assert onec.get(COUNTERPARTIES, created["Ref_Key"])["Description"] == "Новый контрагент"


def test_not_found(onec):
    with pytest.raises(NotFound):
        onec.get(COUNTERPARTIES, "00000000-0000-0000-0000-0000000000ff")


def test_writes_into_a_closed_period_are_period_closed(onec):
    closed = onec.list_all(SALES, filter=F("Date") <= datetime(dt.datetime(2026, 3, 31, 23, 59, 59)),
                           select=["Ref_Key", "DataVersion", "Date"])  # fmt: skip
    assert closed, "the demo seeds documents before the prohibition date (2026-03-31)"
    doc = closed[0]
    with pytest.raises(PeriodClosed) as info:
        onec.update(SALES, doc["Ref_Key"], {"Комментарий": "правка"}, doc["DataVersion"])
    assert (
        info.value.status == 500
        and info.value.code == "-1"
        and "Запрещено изменять данные" in str(info.value)
    )
    assert onec.stats.retries == 0
    with pytest.raises(PeriodClosed):
        onec.unpost_document(SALES, doc["Ref_Key"])


def test_parallel_reads_share_one_client(onec):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: len(onec.list_all(COUNTERPARTIES, select=["Ref_Key"])), range(8)))
    assert len(set(results)) == 1 and onec.stats.requests == 8


def test_tls_without_the_contour_ca_is_refused(contour):
    client = OneCClient(
        contour.onec_url, "Интеграция", "contour", verify=True, retry=RetryPolicy(max_attempts=3)
    )
    with pytest.raises(Exception) as info:
        client.list_all(COUNTERPARTIES)
    assert getattr(info.value, "code", None) == "TLS_VERIFY_FAILED" and client.stats.requests == 1


def test_post_and_unpost_in_an_open_period(onec):
    open_docs = onec.list_all(
        SALES,
        filter=(F("Date") > datetime(dt.datetime(2026, 3, 31, 23, 59, 59))) & F("Posted"),
        select=["Ref_Key"],
    )
    assert open_docs, "the demo seeds posted documents after the prohibition date"
    ref = open_docs[0]["Ref_Key"]
    onec.unpost_document(SALES, ref)
    assert onec.get(SALES, ref, select=["Posted"])["Posted"] is False
    onec.post_document(SALES, ref)
    assert onec.get(SALES, ref, select=["Posted"])["Posted"] is True


def test_a_refused_connection_is_retryable_and_proven_not_sent(contour):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = OneCClient(
        f"https://127.0.0.1:{port}/odata/standard.odata/", "Интеграция", "contour",
        verify=str(contour.ca_file), retry=RetryPolicy(max_attempts=1),
    )  # fmt: skip
    with pytest.raises(RetryableError) as info:
        client.create(COUNTERPARTIES, {"Description": "никуда"})
    assert info.value.not_applied and info.value.code == "NewConnectionError"


def test_a_write_whose_answer_never_comes_is_an_unknown_outcome(onec, contour):
    contour.knobs("onec", fault_timeout_rate=1.0, fault_timeout_s=1.0)
    client = OneCClient(
        contour.onec_url, "Интеграция", "contour", verify=str(contour.ca_file), timeout=0.3,
        retry=RetryPolicy(max_attempts=1),
    )  # fmt: skip
    try:
        with pytest.raises(OutcomeUnknown):
            client.create(COUNTERPARTIES, {"Description": "ответ потерян"})
    finally:
        contour.knobs("onec", fault_timeout_rate=0.0)


def test_every_answer_is_shown_to_the_observer(contour):
    answers: list[Answer] = []
    client = OneCClient(
        contour.onec_url, "Интеграция", "contour", verify=str(contour.ca_file), observer=answers.append
    )
    rows = client.list_all(COUNTERPARTIES, select=["Ref_Key"])
    with pytest.raises(NotFound):
        client.get(COUNTERPARTIES, "00000000-0000-0000-0000-00000000abcd")
    (listed, missing) = answers
    assert (listed.verb, listed.status, listed.body["value"]) == ("GET", 200, rows)
    assert missing.status == 404 and missing.seconds > 0 and missing.error is None


def test_an_answer_with_a_byte_order_mark_is_json():
    assert _json_or_none('\ufeff{"value": [1]}'.encode()) == {"value": [1]}
    assert _json_or_none(b"") is None and _json_or_none(b"<html>") is None
