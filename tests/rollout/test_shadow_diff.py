"""A dry run (mode shadow) writes nothing and its plan lists the writes it would make, per record."""

from __future__ import annotations

import uuid
from collections import Counter

from crm1c.sync import runtime
from tests.sync.harness import (
    clients,
    pending_intents_total,
    run_step,
    run_sync,
    state_hash,
    xref_pairs,
)

NEW_IN_CRM, NEW_IN_ONEC = "7715228038", "4703012568"  # demo: only in the CRM / only in 1C


def _dry_plan(staging, crm, onec) -> dict:
    run_id = uuid.uuid4().hex
    for step in ("extract_crm", "extract_onec"):
        run_step(staging, crm, onec, step, "full", run_id, dry_run=True)
    return run_step(staging, crm, onec, "plan", "full", run_id, dry_run=True)


def test_the_plan_lists_what_it_would_write_and_writes_nothing(demo_contour, staging):
    crm, onec = clients(demo_contour)
    before = state_hash(crm, onec)

    plan = _dry_plan(staging, crm, onec)

    diff = plan["would_write"]
    assert {tuple(sorted(d)) for d in diff} == {("crm_id", "fields", "onec_id", "op", "target")}
    by_target = Counter(d["target"] for d in diff)
    assert by_target == {"onec": plan["would_write_onec"], "crm": plan["would_write_crm"]}
    pairs = [(d["target"], d["crm_id"], d["onec_id"]) for d in diff]
    assert len(pairs) == len(set(pairs)), "a pair planned from both sides is listed once"
    creates = {(d["target"], d["fields"].get("inn")) for d in diff if d["op"] == "create"}
    assert {("onec", NEW_IN_CRM), ("crm", NEW_IN_ONEC)} <= creates
    new_in_1c = next(d for d in diff if d["op"] == "create" and d["fields"].get("inn") == NEW_IN_CRM)
    assert new_in_1c["crm_id"] and new_in_1c["onec_id"] is None
    assert new_in_1c["fields"]["name"] == 'ООО "Новые горизонты"'
    assert any(d["op"] == "update" and d["crm_id"] and d["onec_id"] for d in diff)  # e.g. a name to align

    assert state_hash(crm, onec) == before, "neither system was written"
    assert pending_intents_total(staging) == 0 and xref_pairs(staging) == []
    assert staging.open_quarantine("counterparty") == []
    again = _dry_plan(staging, crm, onec)  # nothing was handled: the next dry run lists the same
    assert again["would_write"] == diff


def test_the_list_is_capped_and_the_rest_counted(demo_contour, staging, monkeypatch):
    crm, onec = clients(demo_contour)
    monkeypatch.setattr(runtime, "DIFF_CAP", 3)
    plan = _dry_plan(staging, crm, onec)
    total = plan["would_write_onec"] + plan["would_write_crm"]
    assert len(plan["would_write"]) == 3 and plan["would_write_unlisted"] == total - 3 > 0


def test_a_real_run_lists_nothing(demo_contour, staging):
    crm, onec = clients(demo_contour)
    run_id = uuid.uuid4().hex
    for step in ("extract_crm", "extract_onec"):
        run_step(staging, crm, onec, step, "full", run_id)
    plan = run_step(staging, crm, onec, "plan", "full", run_id)
    assert "would_write" not in plan and plan["planned_create_onec"] >= 1
    assert run_sync(staging, crm, onec)["dry_run"] is False
