"""The payments DAG: it parses, reads 1C before the CRM (the CRM reader needs the deal ids 1C knows), never
loads 1C, runs on the invoices' asset or on time, and emits ``crm1c://payments``."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.airflow


def test_payments_dag_is_wired_as_documented(bag):
    assert "sync_payments" in bag.dags and not bag.import_errors
    dag = bag.dags["sync_payments"]
    assert {"crm1c", "payments"} <= set(dag.tags)
    assert dag.max_active_runs == 1 and dag.doc_md
    assert {t.task_id for t in dag.tasks} == {
        "rollout_gate",
        "extract_onec",
        "extract_crm",
        "plan",
        "mass_change_breaker",
        "load_crm",
        "publish",
    }
    assert dag.get_task("extract_crm").upstream_task_ids == {"extract_onec"}
    assert dag.get_task("plan").upstream_task_ids == {"extract_crm"}
    assert [o.name for o in dag.get_task("publish").outlets] == ["crm1c://payments"]
    for task in dag.tasks:
        assert task.entity == "payments" and task.retries >= 2
    assert type(dag.timetable).__name__ == "AssetOrTimeSchedule"  # the SDK's class, not the core's
    assert "*/30 * * * *" in str(dag.timetable)
    assert "crm1c://invoices" in str(dag.timetable.asset_condition)
