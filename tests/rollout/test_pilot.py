"""Pilots: the filter, which counterparties it selects, and the engine planning only those (the rest wait)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from crm1c.rollout import check_pilot_filter, pilot_predicate
from crm1c.staging import SeenRecord
from crm1c.sync.counterparties.pilot import KEYS
from crm1c.sync.counterparties.spec import COUNTERPARTIES
from tests.sync.harness import clients, read_world, rename_in_onec, run_sync, xref_pairs

CP = "counterparty"
NEW_IN_CRM, NEW_IN_ONEC = "7715228038", "4703012568"  # demo: only in the CRM / only in 1C
OTHER_IN_CRM, OTHER_IN_ONEC = "3906044186", "7730036154"
T0 = datetime(2026, 3, 2, tzinfo=UTC)


def _record(system: str, external_id: str, normalised: Any, raw: Any = None) -> SeenRecord:
    return SeenRecord(system, CP, external_id, None, None, "h", raw or {}, normalised, False, T0, T0)


# ------------------------------------------------------------------------------------------ the filter


def test_a_filter_is_normalised_to_lists_of_text():
    assert check_pilot_filter({"inn": "7707083893", "companies": [12, " 13 "]}, KEYS) == {
        "inn": ["7707083893"],
        "companies": ["12", "13"],
    }


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({}, "pilot_filter must be a non-empty object"),
        (None, "pilot_filter must be a non-empty object"),
        (["inn"], "pilot_filter must be a non-empty object"),
        ({"department": ["5"]}, "unknown key(s) department; known: companies, inn, assigned_by"),
        ({"inn": []}, "pilot_filter.inn: the list is empty"),
        ({"inn": [""]}, "pilot_filter.inn: '' is not a value to match"),
        ({"inn": [True]}, "pilot_filter.inn: True is not a value to match"),
        ({"inn": [{"x": 1}]}, "is not a value to match"),
    ],
)
def test_a_bad_filter_is_refused_with_the_reason(value, problem):
    with pytest.raises(ValueError) as caught:
        check_pilot_filter(value, KEYS)
    assert problem in str(caught.value)


# ------------------------------------------------------------------------- which counterparties it takes


CRM_42 = _record(
    "crm", "42", {"inn": "7707083893", "crm_id": "42"}, {"company": {"ID": "42", "ASSIGNED_BY_ID": "7"}}
)
ONEC_LINKED = _record("onec", "guid-a", {"inn": "7728145639", "crm_id": "43"}, {"Ref_Key": "guid-a"})
ONEC_ONLY = _record("onec", "guid-b", {"inn": "4703012568"}, {"Ref_Key": "guid-b"})
UNREADABLE = _record("crm", "44", {"codec_error": {"field": "inn"}}, {"company": {"ID": "44"}})


@pytest.mark.parametrize(
    ("pilot_filter", "selected"),
    [
        ({"companies": ["42"]}, {"42"}),
        ({"companies": ["43"]}, {"guid-a"}),  # a 1C record by the company id it carries
        ({"inn": ["7707083893", "4703012568"]}, {"42", "guid-b"}),
        ({"assigned_by": ["7"]}, {"42"}),  # 1C records: through their linked company (the engine asks)
        ({"assigned_by": ["8"], "inn": ["7728145639"]}, {"guid-a"}),  # any key is enough
        ({"inn": ["0000000000"]}, set()),
    ],
)
def test_what_each_key_selects(pilot_filter, selected):
    match = COUNTERPARTIES.pilot_match
    records = (CRM_42, ONEC_LINKED, ONEC_ONLY, UNREADABLE)
    assert {r.external_id for r in records if match(r, pilot_filter)} == selected
    assert match.keys == ("companies", "inn", "assigned_by")


# --------------------------------------------------------------------------------------- in the engine


def _inns(world: Any, system: str) -> set[str]:
    side = world.crm if system == "crm" else world.onec
    return {cp.inn for cp in side.values() if cp is not None}


def test_a_pilot_writes_its_records_only_the_rest_wait_and_go_through_once_on(demo_contour, staging):
    crm, onec = clients(demo_contour)
    pilot = pilot_predicate(COUNTERPARTIES.pilot_match, {"inn": [NEW_IN_CRM, NEW_IN_ONEC]})

    summary = run_sync(staging, crm, onec, mode="full", pilot=pilot)

    world = read_world(crm, onec)
    assert NEW_IN_CRM in _inns(world, "onec") and NEW_IN_ONEC in _inns(world, "crm")
    assert OTHER_IN_CRM not in _inns(world, "onec") and OTHER_IN_ONEC not in _inns(world, "crm")
    assert (summary["onec_create"], summary["crm_create"]) == (1, 1)
    assert summary["crm_update"] == 1  # the CRM company created in 1C gets its 1C id (the link-back)
    assert summary["open_quarantine"] == 0  # the demo's bad records wait too: nobody looked at them yet
    assert len(xref_pairs(staging)) == 2
    waiting = staging.dirty_records("crm", CP, limit=1000) + staging.dirty_records("onec", CP, limit=1000)
    assert len(waiting) > 20 and not {NEW_IN_CRM, NEW_IN_ONEC} & {r.normalised.get("inn") for r in waiting}

    summary = run_sync(staging, crm, onec)  # on: an incremental run takes every record still waiting

    world = read_world(crm, onec)
    assert {OTHER_IN_CRM, NEW_IN_CRM} <= _inns(world, "onec")
    assert {OTHER_IN_ONEC, NEW_IN_ONEC} <= _inns(world, "crm")
    assert summary["open_quarantine"] >= 4
    assert staging.dirty_records("crm", CP) == [] and staging.dirty_records("onec", CP) == []


def test_a_pilot_takes_an_edit_of_the_partner_of_a_record_in_it(demo_contour, staging):
    """A 1C edit of a counterparty whose CRM company is in the pilot is in the pilot (the CRM side may be the
    only one a filter key can see, e.g. the responsible user)."""
    crm, onec = clients(demo_contour)
    run_sync(staging, crm, onec, mode="full")
    run_sync(staging, crm, onec)  # link-backs
    (in_crm, in_onec), (out_crm, out_onec) = xref_pairs(staging)[:2]
    rename_in_onec(onec, in_onec, 'ООО "Пилотная"')
    rename_in_onec(onec, out_onec, 'ООО "Подождёт"')
    pilot = pilot_predicate(
        lambda r, f: r.system == "crm" and r.external_id in f["companies"], {"companies": [in_crm]}
    )

    summary = run_sync(staging, crm, onec, pilot=pilot)

    assert summary["onec_update"] + summary["crm_update"] == 1
    assert [r.external_id for r in staging.dirty_records("onec", CP)] == [out_onec]
    run_sync(staging, crm, onec)
    assert staging.dirty_records("onec", CP) == [] and out_crm != in_crm
