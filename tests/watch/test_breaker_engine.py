"""The breaker's measure and its staging side against the contour, without Airflow: the engine counts
changes to records linked before the run (a first sync counts none), and holding, rejecting and approving a
run's queued writes leave staging as documented."""

from __future__ import annotations

import uuid

import pytest

from crm1c.notify.config import Thresholds
from crm1c.staging import Staging
from crm1c.watch import breaker
from crm1c.watch.queries import linked_count
from tests.contour_harness import RunningContour
from tests.sync.harness import (
    add_crm_company,
    clients,
    read_world,
    rename_in_crm,
    run_step,
    run_sync,
    xref_pairs,
)

KEY = "counterparty"
NEW_INN = "7702070139"  # a valid ИНН the demo data does not hold


def _plan(staging: Staging, crm, onec, run_id: str) -> dict:
    for step in ("extract_crm", "extract_onec"):
        run_step(staging, crm, onec, step, "incremental", run_id)
    return run_step(staging, crm, onec, "plan", "incremental", run_id)


def _rename_share(staging: Staging, crm, onec, share: float) -> list[str]:
    """Rename ``share`` of the linked CRM companies, as a CRM import would; their ids."""
    companies = read_world(crm, onec).companies
    linked = sorted({crm_id for crm_id, _ in xref_pairs(staging)}, key=int)
    renamed = linked[: round(len(linked) * share)]
    for company_id in renamed:
        rename_in_crm(crm, company_id, companies[company_id]["TITLE"] + " (импорт)")
    return renamed


@pytest.fixture
def synced(demo_contour: RunningContour, staging: Staging):
    crm, onec = clients(demo_contour)
    first = uuid.uuid4().hex
    run_sync(staging, crm, onec, mode="full", run_id=first)
    run_sync(staging, crm, onec)  # the link-backs the first run queued for the next one
    return crm, onec, first


def test_a_first_sync_counts_no_change_to_existing_records(staging: Staging, synced):
    _crm, _onec, first = synced
    [plan] = [s.counters for s in staging.run_stats(first) if s.task == "plan"]
    assert plan["planned_update_onec"] + plan["planned_update_crm"] > 0, "first matches were updated"
    assert plan.get("planned_changes_existing", 0) == 0, "nothing was linked before: none counts"
    verdict = breaker.decide("counterparties", 0, 0, Thresholds())
    assert not verdict.trips


def test_a_mass_rename_is_counted_once_per_linked_record_creates_are_not(staging: Staging, synced):
    crm, onec, _first = synced
    renamed = _rename_share(staging, crm, onec, 0.6)
    add_crm_company(crm, "ООО Новый клиент", NEW_INN, "770201001")
    run_id = uuid.uuid4().hex
    plan = _plan(staging, crm, onec, run_id)

    assert plan["planned_changes_existing"] == len(renamed) == plan["planned_update_onec"]
    assert plan["planned_create_onec"] == 1
    known = linked_count(staging, KEY) - plan.get("matched", 0)
    verdict = breaker.decide("counterparties", plan["planned_changes_existing"], known, Thresholds())
    assert verdict.trips and verdict.share == pytest.approx(len(renamed) / known)


def test_held_rejected_then_asked_again_then_approved(staging: Staging, synced):
    crm, onec, _first = synced
    renamed = _rename_share(staging, crm, onec, 0.6)
    run_id = uuid.uuid4().hex
    plan = _plan(staging, crm, onec, run_id)
    verdict = breaker.decide("counterparties", plan["planned_changes_existing"], 26, Thresholds())
    intents = breaker.run_intents(staging, KEY, run_id)
    assert sorted(i.source_id for i in intents) == sorted(renamed)

    breaker.held(staging, KEY, run_id, verdict, intents)
    assert {r.external_id for r in staging.dirty_records("crm", KEY)} == set(renamed), "planned again if lost"
    assert staging.latest_audit("mass_change").result == "waiting"

    assert breaker.rejected(staging, KEY, run_id, "anna", intents, timed_out=False) == len(renamed)
    assert breaker.run_intents(staging, KEY, run_id) == [] and staging.pending_count(KEY, "onec") == 0
    assert {staging.get_intent(i.id).state for i in intents} == {"abandoned"}
    trail = staging.audit_trail(KEY, f"crm:{renamed[0]}")
    assert (trail[-1].op, trail[-1].result, trail[-1].actor) == ("update", "abandoned", "anna")
    assert trail[-1].detail["reason"] == "mass change rejected by anna"
    summary = staging.latest_audit("mass_change")
    assert (summary.result, summary.detail["abandoned"]) == ("rejected", len(renamed))
    assert {r.external_id for r in staging.dirty_records("crm", KEY)} == set(renamed), "still to plan"
    load = run_step(staging, crm, onec, "load_onec", "incremental", run_id)
    assert load.get("onec_update", 0) == 0, "nothing was written"

    again = uuid.uuid4().hex
    assert _plan(staging, crm, onec, again)["planned_changes_existing"] == len(renamed), "it asks again"
    intents = breaker.run_intents(staging, KEY, again)
    breaker.approved(staging, KEY, again, "boris", intents)
    assert staging.dirty_records("crm", KEY) == []
    assert staging.latest_audit("mass_change").actor == "boris"
    assert run_step(staging, crm, onec, "load_onec", "incremental", again)["onec_update"] == len(renamed)
    assert staging.verify_audit_chain() == (True, None)


def test_no_answer_in_time_is_audited_as_a_timeout(staging: Staging):
    assert breaker.rejected(staging, KEY, "run-9", "timeout", [], timed_out=True) == 0
    row = staging.latest_audit("mass_change")
    assert (row.result, row.actor, row.detail) == (
        "timed_out",
        "timeout",
        {"abandoned": 0, "reason": "mass change not approved in time"},
    )
