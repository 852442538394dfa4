"""The reconciliation against the contour (both emulators over HTTPS) after a real sync: a clean state is
clean; drift made behind crm1c's back is found with the right kinds and records; it only reads."""

from __future__ import annotations

import uuid

from crm1c.reconcile import Period, ReconcileEnv, SystemLinks, load_reconciliation_config, reconcile
from crm1c.reconcile.links import navigation_ref
from crm1c.reconcile.run import COUNTERPARTIES_ONLY
from tests.reconcile.drift import RequestLog, assert_read_only, inject_drift, inn10
from tests.sync.harness import add_crm_company, add_onec_counterparty, clients, run_sync, state_hash


def run(staging, crm, onec):
    links = SystemLinks.of(crm.base_url, onec.base_url)
    env = ReconcileEnv(crm, onec, staging, load_reconciliation_config(), links, Period(), uuid.uuid4().hex)
    return reconcile(
        env, COUNTERPARTIES_ONLY
    )  # only counterparties are synced here (money: test_reconcile_money)


def synced(contour, staging):
    crm, onec = clients(contour)
    run_sync(staging, crm, onec, mode="full")
    return crm, onec


def totals(report) -> dict:
    return report.totals()["checks"]["counterparties"]["totals"]


def test_a_synced_contour_is_clean(demo_contour, sqlite_staging):
    crm, onec = synced(demo_contour, sqlite_staging)
    report = run(sqlite_staging, crm, onec)
    check = report.checks[0]
    assert report.status == "clean" and check.differences == [], check.differences
    counted = totals(report)
    assert counted["linked"]["staging"] >= 20
    assert counted["records"]["crm"] >= counted["linked"]["staging"] <= counted["records"]["onec"]
    assert counted["quarantined"]["crm"] >= 1, "the demo's bad records are context, not drift"


def test_drift_behind_crm1cs_back_is_found_and_nothing_is_written(demo_contour, staging):
    crm, onec = synced(demo_contour, staging)
    drift = inject_drift(demo_contour, staging, crm, onec)
    twin_inn = inn10("770200001")
    add_crm_company(crm, "ООО Двойник", twin_inn, "770201001")  # typed into both systems, never synced
    twin_ref = add_onec_counterparty(onec, "ООО Двойник", twin_inn, "770201001")

    before = state_hash(crm, onec)
    log = RequestLog(demo_contour)
    report = run(staging, crm, onec)
    assert_read_only(log)
    assert state_hash(crm, onec) == before

    check = report.checks[0]
    assert report.status == "drift"
    assert check.by_kind() == {
        "missing_in_onec": 1, "deleted_in_onec": 1, "requisite_differs": 2, "unmatched_twin": 1,
    }  # fmt: skip
    found = {(d.kind, d.field): d for d in check.differences}
    gone = found["missing_in_onec", None]
    assert (gone.crm.id, gone.onec.id) == (drift.deleted_in_onec.crm_id, drift.deleted_in_onec.onec_id)
    assert gone.onec.name == drift.deleted_in_onec.name, "named as staging last agreed it"
    marked = found["deleted_in_onec", None]
    assert marked.onec.id == drift.marked_in_onec.onec_id and marked.onec.links
    inn = found["requisite_differs", "ИНН"]
    assert inn.crm.id == drift.inn_edited.crm_id
    old_inn = drift.inn_edited.inn
    assert (inn.crm_value, inn.agreed, inn.onec_value) == (old_inn, old_inn, drift.new_inn)
    name = found["requisite_differs", "Наименование"]
    assert name.crm.id == drift.renamed_in_crm.crm_id
    old_name = drift.renamed_in_crm.name
    assert (name.crm_value, name.agreed, name.onec_value) == (drift.new_name, old_name, old_name)
    twin = found["unmatched_twin", "ИНН+КПП"]
    assert twin.onec.id == twin_ref and twin.crm_value == f"inn:{twin_inn}/kpp:770201001"
    assert any(navigation_ref(twin_ref) in url for _, url in twin.onec.links)
