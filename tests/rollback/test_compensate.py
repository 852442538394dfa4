"""Compensation per 1C object: catalog objects are marked, posted documents listed and never touched."""

from __future__ import annotations

from crm1c.clients.errors import PeriodClosed
from crm1c.rollback.compensate import ALREADY, GONE, LISTED, MARKED, REFUSED, compensate_one, decide
from tests.rollback.fakes import FakeOneC

CATALOG, INVOICE = "Catalog_Контрагенты", "Document_СчетНаОплатуПокупателю"


def test_decide():
    assert decide({"DeletionMark": False}) == MARKED
    assert decide({"DeletionMark": True}) == ALREADY
    assert decide({"DeletionMark": False, "Posted": False}) == MARKED
    assert decide({"DeletionMark": False, "Posted": True}) == LISTED
    assert decide({"DeletionMark": True, "Posted": True}) == LISTED


def test_a_counterparty_is_deletion_marked_with_if_match():
    onec = FakeOneC(
        {"a": {"Ref_Key": "a", "DataVersion": "v1", "DeletionMark": False, "Description": "ООО А"}}
    )
    done = compensate_one(onec, CATALOG, "a")
    assert (done.result, done.title) == (MARKED, "ООО А")
    assert onec.marks == [(CATALOG, "a", "v1")]


def test_a_posted_document_is_listed_and_never_touched():
    doc = {"Ref_Key": "d", "DataVersion": "v1", "DeletionMark": False, "Posted": True, "Number": "0042"}
    onec = FakeOneC({"d": doc | {"Date": "2026-05-04T10:00:00"}})
    done = compensate_one(onec, INVOICE, "d")
    assert (done.result, done.title) == (LISTED, "№ 0042 от 2026-05-04")
    assert onec.marks == [] and onec.objects["d"]["DeletionMark"] is False


def test_an_unposted_document_is_marked():
    onec = FakeOneC({"d": {"Ref_Key": "d", "DataVersion": "v1", "DeletionMark": False, "Posted": False}})
    assert compensate_one(onec, INVOICE, "d").result == MARKED
    assert onec.marks == [(INVOICE, "d", "v1")]


def test_marked_already_and_gone_are_left_alone():
    onec = FakeOneC({"m": {"Ref_Key": "m", "DataVersion": "v1", "DeletionMark": True}})
    assert compensate_one(onec, CATALOG, "m").result == ALREADY
    assert compensate_one(onec, CATALOG, "missing").result == GONE
    assert onec.marks == []


def test_a_changed_object_is_read_again_once_then_left_for_a_person():
    onec = FakeOneC({"a": {"Ref_Key": "a", "DataVersion": "v1", "DeletionMark": False}})
    onec.stale["a"] = 1
    assert compensate_one(onec, CATALOG, "a").result == MARKED
    assert onec.marks == [(CATALOG, "a", "v1'")]
    onec = FakeOneC({"b": {"Ref_Key": "b", "DataVersion": "v1", "DeletionMark": False}})
    onec.stale["b"] = 2
    done = compensate_one(onec, CATALOG, "b")
    assert (done.result, onec.marks) == (REFUSED, [])
    assert "by hand" in done.reason


def test_a_refusal_is_a_result_with_its_reason():
    onec = FakeOneC({"d": {"Ref_Key": "d", "DataVersion": "v1", "DeletionMark": False, "Posted": False}})
    onec.refuse["d"] = PeriodClosed("Запрещено изменять данные до 01.04.2026", system="onec", status=400)
    done = compensate_one(onec, INVOICE, "d")
    assert done.result == REFUSED and "01.04.2026" in done.reason
