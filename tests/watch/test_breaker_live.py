"""The mass-change circuit breaker under a running Airflow (api-server, scheduler, dag-processor;
LocalExecutor; no triggerer: Airflow 3.3 parks a human-in-the-loop task in ``awaiting_input``): counterparties
are synced once, then a CRM import renames 60 % of the linked companies. The next run stops before writing,
on-call gets a mail and a Slack post, 1C receives nothing while it waits; a person answers through the REST
API. Rejected: the queued writes are abandoned and audited, nothing is written; the next run asks again.
Approved: the renames reach 1C.

The test answers only once the scheduler has taken in the executor's report of the parked try (see
:func:`_parked`): an answer before that loses a race in Airflow 3.3.2's scheduler, which fails the resumed try
as a "state mismatch" and retries it, and the retry asks again."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from crm1c.staging import Staging
from crm1c.watch.breaker import AUDIT_OP
from tests.airflow_live import LiveAirflow, contour_connections
from tests.contour_harness import RunningContour
from tests.notify.servers import LocalSlackReceiver, LocalSmtpServer, html_body
from tests.sync.harness import clients, contour_admin, read_world, rename_in_crm, run_sync, xref_pairs

pytestmark = pytest.mark.airflow
DAG_ID, BREAKER = "sync_counterparties", "mass_change_breaker"
KEY = "counterparty"
SUFFIX = " (импорт)"


def _rename_60_percent(staging: Staging, crm: Any, onec: Any) -> dict[str, str]:
    """What a CRM import does: 60 % of the linked companies get a new name; company id → new name."""
    companies = read_world(crm, onec).companies
    linked = sorted({crm_id for crm_id, _ in xref_pairs(staging)}, key=int)
    renamed = {cid: companies[cid]["TITLE"] + SUFFIX for cid in linked[: round(len(linked) * 0.6)]}
    for company_id, name in renamed.items():
        rename_in_crm(crm, company_id, name)
    return renamed


class OneCLog:
    """The 1C emulator's request log from a mark on."""

    def __init__(self, contour: RunningContour) -> None:
        self.contour = contour
        self.mark()

    def _all(self) -> list[dict[str, Any]]:
        return contour_admin(self.contour, "onec", "requests?limit=100000")["requests"]

    def mark(self) -> None:
        self.after = max((r["id"] for r in self._all()), default=0)

    def writes(self) -> list[str]:
        return [
            f"{r['method']} {r['entity_set']}"
            for r in self._all()
            if r["id"] > self.after and r["method"] != "GET"
        ]


def _hitl_path(run_id: str) -> str:
    return f"/dags/{DAG_ID}/dagRuns/{quote(run_id, safe='')}/taskInstances/{BREAKER}/-1/hitlDetails"


def _waiting(airflow: LiveAirflow, run_id: str, timeout: float = 90) -> dict[str, Any]:
    """The breaker's request once the task waits for a person and the scheduler knows its try has parked."""
    deadline = time.monotonic() + timeout
    while True:
        states = airflow.states(DAG_ID, run_id)
        if states.get(BREAKER) == "awaiting_input" and _parked(airflow, run_id):
            return dict(airflow.api("GET", _hitl_path(run_id)))
        if time.monotonic() > deadline or any(s in ("failed", "upstream_failed") for s in states.values()):
            logs = "\n".join(airflow.task_log(DAG_ID, run_id, t) for t in states)
            raise AssertionError(f"{BREAKER} is not waiting: {states}\n{logs}\n{airflow.logs()}")
        time.sleep(0.5)


def _parked(airflow: LiveAirflow, run_id: str) -> bool:
    """Whether the scheduler has taken in the executor's report that the parked try's process ended.

    The worker parks the task (``awaiting_input``) and exits; the executor reports that exit as a success of
    the same try, and the scheduler takes it in a loop later (its "TaskInstance Finished" line). An answer in
    between resumes the task to ``scheduled``; if the scheduler queues it in the loop that then takes in the
    stale success, Airflow 3.3.2 sees a queued try reported finished, marks it ``up_for_retry`` ("state
    mismatch"), and the retry asks again: the answer is lost. Airflow guards only the ``scheduled`` case of
    this race (apache/airflow#67287 for ``queued``, #72716 for ``running``)."""
    finished = re.compile(
        rf"TaskInstance Finished: dag_id={DAG_ID}, task_id={BREAKER}, run_id={re.escape(run_id)}, "
        r".*\bstate=awaiting_input, .*\bexecutor_state=success\b"
    )
    log = (airflow.home / "scheduler.log").read_text(errors="replace")
    return any(finished.search(line) for line in log.splitlines())


def _answer(airflow: LiveAirflow, run_id: str, option: str) -> None:
    """Answer through the REST API as the admin (the answer is recorded), then wait for the run to succeed."""
    answered = airflow.api("PATCH", _hitl_path(run_id), {"chosen_options": [option], "params_input": {}})
    assert answered["chosen_options"] == [option] and answered["responded_by"]["name"] == "admin", answered
    run = airflow.wait(DAG_ID, run_id, timeout=90, fail_fast=True)  # a lost answer: up_for_retry, fails here
    assert run["state"] == "success", (airflow.states(DAG_ID, run_id), airflow.logs())


def _onec_names(crm: Any, onec: Any) -> set[str]:
    return {row["Description"] for row in read_world(crm, onec).onec_rows.values()}


def _audit(staging: Staging, run_id: str) -> list[Any]:
    from crm1c.staging.schema import audit_log as at

    with staging.engine.connect() as conn:
        return list(conn.execute(at.select().where(at.c.run_id == run_id).order_by(at.c.id)))


def test_a_mass_rename_waits_for_a_person_rejected_then_approved(
    tmp_path: Path,
    demo_contour: RunningContour,
    staging_url: str,
    staging: Staging,
    smtp_server: LocalSmtpServer,
    slack_receiver: LocalSlackReceiver,
) -> None:
    crm, onec = clients(demo_contour)
    run_sync(staging, crm, onec, mode="full")
    run_sync(staging, crm, onec)  # the link-backs the first run queued
    renamed = _rename_60_percent(staging, crm, onec)
    env = contour_connections(demo_contour, staging_url) | {
        "AIRFLOW_CONN_SMTP_DEFAULT": smtp_server.connection(),
        "AIRFLOW_CONN_SLACK_DEFAULT": slack_receiver.connection(),
    }
    onec_log = OneCLog(demo_contour)
    with LiveAirflow(tmp_path / "airflow", env=env) as airflow:
        airflow.wait_for_dag(DAG_ID)

        # -- the breaker trips and waits; a person rejects ----------------------------------------------
        rejected_run = airflow.trigger(DAG_ID, {"mode": "incremental"})
        request = _waiting(airflow, rejected_run)
        assert request["options"] == ["Approve", "Reject"] and request["defaults"] == ["Reject"]
        assert (
            request["subject"]
            == f"Mass change in counterparties: {len(renamed)} of 26 linked records would change"
        )
        assert "Nothing has been written yet" in request["body"]
        [mail] = smtp_server.inbox.wait_for(1)
        assert mail["Subject"].startswith(
            f"[crm1c] mass change in counterparties waits for approval: {len(renamed)} of 26 linked records"
        )
        body = html_body(mail)
        assert f"/dags/{DAG_ID}/runs/{rejected_run}/tasks/{BREAKER}/required_actions" in body
        assert "PATCH http://127.0.0.1:" in body and "/api/v2" + _hitl_path(rejected_run) in body
        for company_id in renamed:  # each held write: the record, where to, what, the fields (no values)
            assert re.search(
                f"<td>crm:{company_id}</td><td>1C</td><td>update</td><td>[^<]*name[^<]*</td>", body
            )
        [post] = slack_receiver.inbox.wait_for(1)
        assert post["text"].startswith(
            ":octagonal_sign: crm1c: mass change in counterparties waits for approval"
        )
        time.sleep(2)  # a moment more of waiting: still nothing written
        assert onec_log.writes() == [], "1C received nothing while the run waited"

        _answer(airflow, rejected_run, "Reject")
        states = airflow.states(DAG_ID, rejected_run)
        assert states[BREAKER] == "success"
        assert {states[t] for t in ("load_onec", "load_crm", "publish")} == {"skipped"}
        assert onec_log.writes() == [], "nothing was written"
        assert not set(renamed.values()) & _onec_names(crm, onec)
        audit = _audit(staging, rejected_run)
        assert [(r.op, r.result) for r in audit if r.op == AUDIT_OP] == [
            (AUDIT_OP, "waiting"),
            (AUDIT_OP, "rejected"),
        ]
        abandoned = {r.entity_key for r in audit if r.result == "abandoned"}
        assert abandoned == {f"crm:{cid}" for cid in renamed}
        assert {r.actor for r in audit if r.result in ("abandoned", "rejected")} == {"admin"}
        assert staging.pending_count(KEY, "onec") == 0

        # -- the next run asks again; a person approves ------------------------------------------------
        approved_run = airflow.trigger(DAG_ID, {"mode": "incremental"})
        _waiting(airflow, approved_run)
        smtp_server.inbox.wait_for(2)
        assert onec_log.writes() == []
        _answer(airflow, approved_run, "Approve")
        states = airflow.states(DAG_ID, approved_run)
        assert set(states.values()) == {"success"}, states

    writes = onec_log.writes()
    assert writes == ["PATCH Catalog_Контрагенты"] * len(renamed), writes
    assert set(renamed.values()) <= _onec_names(crm, onec), "the renames reached 1C"
    results = [(r.op, r.result, r.actor) for r in _audit(staging, approved_run) if r.op == AUDIT_OP]
    assert results == [(AUDIT_OP, "waiting", "crm1c"), (AUDIT_OP, "approved", "admin")]
    assert staging.verify_audit_chain() == (True, None)
