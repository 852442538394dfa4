"""Each rollout mode's effect on what ``sync_counterparties`` writes, run under ``dag.test()`` against the
contour: what each emulator received (its request log), what both systems hold afterwards, what waits."""

from __future__ import annotations

import re
import ssl
import urllib.request
from typing import Any

import pytest

from tests.contour_harness import RunningContour
from tests.sync.harness import clients, contour_admin, read_world

pytestmark = pytest.mark.airflow
CP, KEY = "counterparties", "counterparty"
NEW_IN_CRM, NEW_IN_ONEC = "7715228038", "4703012568"  # demo: only in the CRM / only in 1C
OTHER_IN_CRM, OTHER_IN_ONEC = "3906044186", "7730036154"
_BITRIX_WRITE = re.compile(r"\.(add|update|delete)$")


class Requests:
    """What each emulator receives from now on: 1C's request log, Bitrix24's per-method call counts."""

    def __init__(self, contour: RunningContour) -> None:
        self.contour = contour
        self.onec_after = max((r["id"] for r in self._onec()), default=0)
        ctx = ssl.create_default_context(cafile=str(contour.ca_file))
        url = f"https://127.0.0.1:{contour.bitrix_port}/_contour/stats"
        urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=5, context=ctx).close()

    def _onec(self) -> list[dict[str, Any]]:
        return contour_admin(self.contour, "onec", "requests?limit=5000")["requests"]

    def onec(self) -> list[dict[str, Any]]:
        return [r for r in self._onec() if r["id"] > self.onec_after]

    def onec_writes(self) -> list[str]:
        return [f"{r['method']} {r['entity_set']}" for r in self.onec() if r["method"] != "GET"]

    def bitrix_calls(self) -> dict[str, int]:
        methods = contour_admin(self.contour, "bitrix", "stats")["methods"]
        return {m: s["calls"] for m, s in methods.items()}

    def bitrix_writes(self) -> dict[str, int]:
        return {m: n for m, n in self.bitrix_calls().items() if _BITRIX_WRITE.search(m)}


def _run(bag, **conf: Any) -> Any:
    from airflow.utils.state import DagRunState

    # every param given: dag.test() keeps a run's params in the DAG object for the next run
    run = bag.dags["sync_counterparties"].test(
        run_conf={"mode": "full", "dry_run": False, "onec_pool": 4} | conf
    )
    assert run.state == DagRunState.SUCCESS
    return run


def _states(run) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in run.get_task_instances()}


def _xcom(run, task_id: str) -> Any:
    return run.get_task_instance(task_id).xcom_pull(task_ids=task_id)


def _inns(contour: RunningContour, system: str) -> set[str]:
    world = read_world(*clients(contour))
    side = world.crm if system == "crm" else world.onec
    return {cp.inn for cp in side.values() if cp is not None}


def test_the_gate_comes_first(bag):
    dag = bag.dags["sync_counterparties"]
    assert dag.get_task("rollout_gate").downstream_task_ids == {"extract_crm", "extract_onec"}
    assert dag.get_task("rollout_gate").upstream_task_ids == set()
    assert [t.task_id for t in dag.tasks if not t.upstream_task_ids] == ["rollout_gate"]


def test_off_skips_every_task_and_nothing_is_read_or_written(bag, airflow_db, connections, staging):
    staging.set_mode(CP, "off", actor="anna")
    seen = Requests(connections)
    run = _run(bag)
    assert set(_states(run).values()) == {"skipped"} and len(_states(run)) == 8
    assert seen.onec() == [] and seen.bitrix_calls() == {}


def test_shadow_lists_what_would_change_and_neither_system_receives_a_write(
    bag, airflow_db, connections, staging
):
    staging.set_mode(CP, "shadow", actor="anna")
    seen = Requests(connections)
    run = _run(bag)

    assert set(_states(run).values()) == {"success"}
    assert _xcom(run, "rollout_gate")["mode"] == "shadow"
    plan = _xcom(run, "plan")
    creates = {(d["target"], d["fields"].get("inn")) for d in plan["would_write"] if d["op"] == "create"}
    assert {("onec", NEW_IN_CRM), ("crm", NEW_IN_ONEC)} <= creates
    assert len(plan["would_write"]) == plan["would_write_onec"] + plan["would_write_crm"]
    assert seen.onec() and seen.bitrix_calls(), "both systems were read"
    assert seen.onec_writes() == [] and seen.bitrix_writes() == {}
    assert staging.pending_count(KEY, "onec") == staging.pending_count(KEY, "crm") == 0
    assert _xcom(run, "publish")["dry_run"] is True


def test_read_only_writes_the_crm_only_and_1c_gets_the_rest_once_on(bag, airflow_db, connections, staging):
    staging.set_mode(CP, "read_only", actor="anna")
    seen = Requests(connections)
    run = _run(bag)

    assert NEW_IN_ONEC in _inns(connections, "crm") and OTHER_IN_ONEC in _inns(connections, "crm")
    assert seen.bitrix_writes().get("crm.company.add", 0) >= 4
    assert seen.onec_writes() == [], "1C received nothing"
    waiting = staging.pending_count(KEY, "onec")
    held = _xcom(run, "load_onec")["onec_held_by_mode"]
    assert 3 <= held <= waiting  # load_crm ran later: the new CRM companies' 1C links wait too
    assert NEW_IN_CRM not in _inns(connections, "onec")

    staging.set_mode(CP, "on", actor="anna")
    seen = Requests(connections)
    _run(bag, mode="incremental")

    assert {NEW_IN_CRM, OTHER_IN_CRM} <= _inns(connections, "onec")
    assert sum(1 for w in seen.onec_writes() if w.startswith("POST")) >= 3
    assert staging.pending_count(KEY, "onec") == 0


def test_pilot_writes_the_pilot_records_only_and_the_rest_once_on(bag, airflow_db, connections, staging):
    staging.set_mode(CP, "pilot", pilot_filter={"inn": [NEW_IN_CRM, NEW_IN_ONEC]}, actor="anna")
    seen = Requests(connections)
    run = _run(bag)

    assert _xcom(run, "plan")["pilot_waiting"] > 20
    assert seen.onec_writes() == ["POST Catalog_Контрагенты"]
    assert seen.bitrix_writes()["crm.company.add"] == 1
    onec, crm = _inns(connections, "onec"), _inns(connections, "crm")
    assert NEW_IN_CRM in onec and NEW_IN_ONEC in crm
    assert OTHER_IN_CRM not in onec and OTHER_IN_ONEC not in crm

    staging.set_mode(CP, "on", actor="anna")
    _run(bag, mode="incremental")  # the records that waited are still dirty: an incremental run takes them

    assert OTHER_IN_CRM in _inns(connections, "onec") and OTHER_IN_ONEC in _inns(connections, "crm")
    assert staging.dirty_records("crm", KEY) == [] and staging.dirty_records("onec", KEY) == []
