"""The guide's check 9: the logs hold everything on-call needs to analyse an incident.

One run of ``sync_counterparties`` under ``dag.test()`` against the demo contour with three incidents:

* a record held in quarantine: a CRM company whose ИНН fails its checksum (demo data);
* a write the target rejects: 1C refuses to create one counterparty with a validation error (HTTP 400,
  internal code 4, "Неверное значение свойства…"; injected into the 1C emulator for that ИНН);
* a retried 5xx: the 1C emulator answers its first requests with its 500 "internal error" (fault knob).

The run goes through a real Airflow (api-server, scheduler, dag-processor: :class:`LiveAirflow`), so its task
log files are the ones on-call reads in the UI (``logs/dag_id=…/run_id=…/task_id=…/attempt=N.log``). They
must say, for each incident: the run id, the entity, the step, the record (system:id), the field and reason of
the hold; the external system's error for the rejected write (with no credential in it); the retry with its
error; and every step's summary counters. The audit log in staging must tie every write and every hold of the
run to its run id, as ``scripts/crm1c-audit story`` shows it.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from contour import dataset
from contour.profiles import is_valid_inn, is_valid_kpp
from crm1c.clients.retry import RetryPolicy
from crm1c.staging.schema import audit_log
from tests.airflow_live import LiveAirflow, contour_connections
from tests.contour_harness import BITRIX_TOKEN, ONEC_PASSWORD, RunningContour, start_contour
from tests.notify.servers import SLACK_TOKEN, LocalSlackReceiver, LocalSmtpServer
from tests.security.faults import FiveHundredsForAWhile, RejectWrite
from tests.sync.harness import clients, run_step, run_sync, staging_for

pytestmark = [pytest.mark.airflow, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
SYNC = "sync_counterparties"
STEPS = ("extract_crm", "extract_onec", "plan", "load_onec", "load_crm", "publish")
REFUSAL = "ОсновнойДоговорКонтрагента: договор не найден"


@dataclass
class TaskLog:
    """The log file of a task's last try: where it is (its path names the run and the task) and its lines."""

    task_id: str
    path: str
    lines: list[str]

    def with_all(self, *parts: str) -> list[str]:
        return [line for line in self.lines if all(p in line for p in parts)]


def task_logs(home: Path, run_id: str) -> dict[str, TaskLog]:
    """Each task's last log file of the run; a JSON line becomes ``level logger event key=value …``."""
    logs: dict[str, TaskLog] = {}
    for folder in sorted((home / "logs" / f"dag_id={SYNC}" / f"run_id={run_id}").glob("task_id=*")):
        last = max(folder.glob("attempt=*.log"), key=lambda p: int(p.stem.split("=")[1]))
        task_id = folder.name.removeprefix("task_id=")
        logs[task_id] = TaskLog(task_id, str(last.relative_to(home)), [_line(raw) for raw in last.open()])
    return logs


def _line(raw: str) -> str:
    try:
        entry = json.loads(raw)
    except ValueError:
        return raw.rstrip("\n")
    if not isinstance(entry, dict):
        return raw.rstrip("\n")
    head = [str(entry.pop(k, "")) for k in ("level", "logger", "event")]
    entry.pop("timestamp", None)
    return " ".join([*head, *(f"{k}={v}" for k, v in entry.items())])


def _rejected_company() -> dataset.Company:
    """A valid CRM-only legal entity of the demo: crm1c creates it in 1C (where the write is refused)."""
    return next(
        c
        for c in dataset.build("demo").companies
        if c.in_crm and not c.in_onec and c.kind == "legal" and c.head_key is None
        and is_valid_inn(c.inn) and is_valid_kpp(c.kpp) and len(c.full_name) < 500
    )  # fmt: skip


@pytest.fixture
def contour(tmp_path: Path) -> Iterator[RunningContour]:
    running = start_contour(tmp_path / "contour", profile="demo")
    yield running
    running.stop()


def test_the_task_logs_and_the_audit_log_tell_the_story_of_an_incident(
    contour: RunningContour,
    tmp_path: Path,
    smtp_server: LocalSmtpServer,
    slack_receiver: LocalSlackReceiver,
) -> None:
    url = f"sqlite:///{tmp_path / 'staging.sqlite3'}"
    env = contour_connections(contour, url) | {
        "AIRFLOW_CONN_SMTP_DEFAULT": smtp_server.connection(),
        "AIRFLOW_CONN_SLACK_DEFAULT": slack_receiver.connection(),
    }
    refused = _rejected_company()
    with LiveAirflow(tmp_path / "airflow", env=env) as airflow:
        airflow.wait_for_dag(SYNC)
        with (
            FiveHundredsForAWhile(contour, 2) as faults,
            RejectWrite(contour, refused.inn, REFUSAL) as reject,
        ):
            run_id = airflow.trigger(SYNC, {"mode": "full"})
            try:
                assert airflow.wait(SYNC, run_id, timeout=180, fail_fast=True)["state"] == "success"
            except AssertionError as exc:
                raise AssertionError(f"{exc}\n{airflow.logs()}") from None
    assert faults.served >= 2 and reject.rejected == 1, "both faults happened"

    staging = staging_for(url)
    held = {(q.system, q.external_id, q.field): q for q in staging.open_quarantine("counterparty")}
    staging.engine.dispose()
    [bad_inn] = [k for k, q in held.items() if k[0] == "crm" and k[2] == "inn" and "checksum" in q.reason_en]
    [rejected] = [k for k, q in held.items() if "1C rejected the write" in q.reason_en]
    bad_inn_id, rejected_id = f"crm:{bad_inn[1]}", f"{rejected[0]}:{rejected[1]}"

    logs = task_logs(airflow.home, run_id)
    assert set(STEPS) <= set(logs), f"a log for every step: {sorted(logs)}"
    problems: list[str] = []

    shown: dict[str, str] = {}

    def need(task: str, what: str, *parts: str) -> list[str]:
        found = logs[task].with_all(*parts)
        if not found:
            problems.append(f"{task}: no line with {what} ({' + '.join(parts)})")
        else:
            shown[found[0]] = task
        return found

    for step in STEPS:  # whose log it is (its path): the run and the step; and the step's summary counters
        if f"run_id={run_id}" not in logs[step].path or f"task_id={step}" not in logs[step].path:
            problems.append(f"{step}: its log file does not name the run and the step: {logs[step].path}")
        need(step, "the step's summary counters", f"counterparties {step}: {{")
    # the held record: entity, step, record, field, reason, run
    need("plan", "the held record", "held counterparty", bad_inn_id, "field inn", "checksum does not match")
    need("plan", "the held record's run", bad_inn_id, run_id)
    need("plan", "what plan held in all", "counterparties plan: {", "'quarantined': ")
    # the rejected write: the record, the target, 1C's own error, the run
    need(
        "load_onec", "the rejected write", "held counterparty", rejected_id, "1C rejected the write", REFUSAL
    )
    need("load_onec", "the rejected write's 1C error", rejected_id, "Неверное значение свойства")
    need("load_onec", "what was refused, where, 1C's code", rejected_id, "create in onec", "code onec_4")
    need("load_onec", "the rejected write's run", rejected_id, run_id)
    need("load_onec", "the rejected write's step", rejected_id, "load_onec")
    # the retry: what failed, the error, that it is retried
    need("extract_onec", "the retried 5xx", "onec GET Catalog_Контрагенты failed", "HTTP 500", "retry 1")
    print(
        "\nwhat the task logs say:\n" + "\n".join(f"  [{task}] {line[:400]}" for line, task in shown.items())
    )
    assert not problems, "the logs miss what on-call needs:\n" + "\n".join(problems)

    secrets = (BITRIX_TOKEN, f":{ONEC_PASSWORD}", SLACK_TOKEN)
    leaking = [line for log in logs.values() for line in log.lines if any(s in line for s in secrets)]
    assert not leaking, leaking

    # the audit log: every write and every hold of this run carries its run id
    staging = staging_for(url)
    with staging.engine.connect() as conn:
        rows = list(conn.execute(sa.select(audit_log).where(audit_log.c.op != "run")))
    staging.engine.dispose()
    writes = [r for r in rows if r.system in ("crm", "onec") and r.op in ("create", "update", "mark_deleted")]
    holds = [r for r in rows if r.result in ("held", "rejected")]
    assert writes and holds and {r.run_id for r in writes + holds} == {run_id}
    assert {(r.entity_key, r.result) for r in holds} >= {(bad_inn_id, "held"), (rejected_id, "rejected")}
    for record, result in ((bad_inn_id, "held"), (rejected_id, "rejected")):
        story = _story(record, url)
        assert (run_id, result) in story, f"{record}: the story does not tie the {result} to the run"


def _story(record: str, url: str) -> set[tuple[str | None, str | None]]:
    """``(run id, result)`` of each event of ``scripts/crm1c-audit story <record> --json``."""
    done = subprocess.run(
        [str(REPO / "scripts" / "crm1c-audit"), "story", record, "--json", "--staging-url", url],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    found: set[tuple[str | None, str | None]] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "run_id" in node:
                found.add((node.get("run_id"), node.get("result")))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(done.stdout))
    return found


def test_a_write_left_pending_names_its_record_and_the_error(
    contour: RunningContour, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A write 1C answers with a 500 is left pending for the task's retry (which looks a create up before
    sending it again); its log line says which record, what write, where, and 1C's error."""
    caplog.set_level(logging.WARNING, logger="crm1c.sync")
    staging = staging_for(f"sqlite:///{tmp_path / 'staging.db'}")
    crm, onec = clients(contour, retry=RetryPolicy(max_attempts=1))
    run_id = "manual__incident"
    run_sync(staging, crm, onec, mode="full", steps=("extract_crm", "extract_onec", "plan"), run_id=run_id)
    with FiveHundredsForAWhile(contour, 1000), pytest.raises(RuntimeError, match="could not be confirmed"):
        _load_like_the_operator(staging, crm, onec, run_id)
    staging.engine.dispose()
    pending = [r.getMessage() for r in caplog.records if "left pending" in r.getMessage()]
    assert pending, "no write was left pending"
    for line in pending:
        assert re.search(
            r"intent \d+ \((create|update) in onec of counterparty crm:\d+\) left pending: ", line
        ), line
        assert "[onec HTTP 500 -1] onec " in line and "Catalog_Контрагенты" in line, line


def _load_like_the_operator(staging: Any, crm: Any, onec: Any, run_id: str) -> None:
    """``load_onec`` as its operator runs it: writes left unconfirmed fail the task."""
    counters = run_step(staging, crm, onec, "load_onec", "full", run_id)
    left = counters.get("onec_left_pending", 0)
    if left:
        raise RuntimeError(f"{left} write(s) could not be confirmed")
