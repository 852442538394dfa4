"""Issue 9 §6 (reliability.md T15): no credential ever appears in what the DAGs write — logs, XCom, the
Airflow metadata DB, staging, reports, alerts (mail and Slack) or the crm1c page — even when they fail.

Every DAG runs under ``dag.test()`` against a private contour, a local SMTP server and a Slack receiver, with
forced errors:

* ``sync_counterparties`` while the 1C emulator answers 5xx for a while (fault knob; reads are retried);
* ``sync_counterparties`` with a wrong 1C password in ``onec_default`` (auth failure, alert) while Slack is
  down (the Slack alert fails and is logged);
* ``sync_counterparties`` with a wrong webhook token in ``bitrix24_default``;
* ``reconcile`` (clean, sent) and ``reconcile`` with the wrong token (a failed report is kept);
* ``rollout``: shadow, a shadow sync (the would-be writes in XCom), back on, and a pilot with a bad filter;
* ``rollback_switch`` whose Airflow API connection's password is refused.

Then everything they wrote is read back — every log record of every logger at DEBUG (message and
traceback), the process output (where ``dag.test()`` writes the task logs), any file under the test's
``AIRFLOW_HOME/logs``, every row of the runs in the Airflow metadata DB (XCom, rendered fields, event log,
task instances) and the XCom values pulled through the task instances, every row of every staging table,
the stored reconciliation reports, each mail (as sent and decoded), each Slack post, the crm1c page with the
story of every held record — and scanned for the contour's credentials (webhook token, 1C password and its
Basic-auth form, the Slack webhook token) and the wrong ones planted in the connections. Before a clean
result is trusted, the same collection is repeated with a secret planted in each kind of place, and the
scanner must name each one.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import smtplib
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from crm1c.staging.schema import metadata as staging_metadata
from tests.airflow_live import contour_connections
from tests.contour_harness import BITRIX_TOKEN, ONEC_PASSWORD, ONEC_USER, RunningContour, start_contour
from tests.notify.servers import SLACK_TOKEN, LocalSlackReceiver, LocalSmtpServer
from tests.security.faults import FiveHundredsForAWhile
from tests.security.scan import (
    CapturingHandler,
    Corpus,
    Secret,
    airflow_rows,
    file_texts,
    mail_texts,
    report,
    scan,
    slack_texts,
    table_rows,
)
from tests.sync.harness import staging_for

pytestmark = pytest.mark.airflow

WRONG_TOKEN = "wr0ng0webhook0token0planted0k7"
WRONG_1C_PASSWORD = "wr0ng-1c-pa55w0rd-planted-q3"
API_PASSWORD = "airflow-api-pa55w0rd-planted-z5"
PLANTED = "pl4nted0secret0for0the0scanner"
SECRETS = (
    Secret("Bitrix24 webhook token", BITRIX_TOKEN),
    Secret("1C password", ONEC_PASSWORD, word=True),
    Secret("1C Basic credentials", f"{ONEC_USER}:{ONEC_PASSWORD}"),
    Secret("Slack webhook token", SLACK_TOKEN),
    Secret("wrong webhook token (planted)", WRONG_TOKEN),
    Secret("wrong 1C password (planted)", WRONG_1C_PASSWORD),
    Secret("wrong 1C Basic credentials (planted)", f"{ONEC_USER}:{WRONG_1C_PASSWORD}"),
    Secret("Airflow API password (planted)", API_PASSWORD),
)
#: Loggers of the test's stand-ins for the outside world, running in this process: the emulators (their access
#: log holds the webhook URL, as a portal's own log does) and the SMTP server (it logs what it receives; the
#: mails themselves are scanned).
SERVERS = ("contour", "mail.log")
SYNC, RECONCILE, ROLLOUT, SWITCH = "sync_counterparties", "reconcile", "rollout", "rollback_switch"
CP = "counterparties"


class RefusingAirflowApi:
    """An "Airflow API server" that refuses every login (``POST /auth/token`` → 401)."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                body = b'{"detail": "Invalid credentials"}'
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def connection(self) -> str:
        port = self.server.server_address[1]
        return json.dumps(
            {"conn_type": "http", "host": "127.0.0.1", "port": port, "schema": "http", "login": "admin",
             "password": API_PASSWORD}
        )  # fmt: skip

    def __enter__(self) -> RefusingAirflowApi:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class World:
    """The contour, staging file, receivers and connections of the test, and what it ran."""

    def __init__(
        self,
        contour: RunningContour,
        staging_url: str,
        smtp: LocalSmtpServer,
        slack: LocalSlackReceiver,
        api: RefusingAirflowApi,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        self.contour, self.staging_url, self.smtp, self.slack = contour, staging_url, smtp, slack
        self.api, self.monkeypatch = api, monkeypatch
        self.runs: list[Any] = []

    def connect(self, *, bitrix_token: str = BITRIX_TOKEN, onec_password: str = ONEC_PASSWORD) -> None:
        env = contour_connections(self.contour, self.staging_url, bitrix_token=bitrix_token)
        onec = json.loads(env["AIRFLOW_CONN_ONEC_DEFAULT"])
        env["AIRFLOW_CONN_ONEC_DEFAULT"] = json.dumps(onec | {"password": onec_password})
        env |= {
            "AIRFLOW_CONN_SMTP_DEFAULT": self.smtp.connection(),
            "AIRFLOW_CONN_SLACK_DEFAULT": self.slack.connection(),
            "AIRFLOW_CONN_AIRFLOW_API": self.api.connection(),
            "AIRFLOW__API__BASE_URL": "http://airflow.test:8080/",
        }
        for name, value in env.items():
            self.monkeypatch.setenv(name, value)

    def run(self, dag: Any, conf: dict[str, Any]) -> Any:
        run = dag.test(run_conf=conf)
        self.runs.append(run)
        return run


def _states(run: Any) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


@pytest.fixture
def world(
    tmp_path: Path,
    smtp_server: LocalSmtpServer,
    slack_receiver: LocalSlackReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[World]:
    monkeypatch.delenv("CRM1C_ROLLOUT_PROFILE", raising=False)
    contour = start_contour(tmp_path / "contour", profile="demo")
    with RefusingAirflowApi() as api:
        here = World(
            contour,
            f"sqlite:///{tmp_path / 'staging.sqlite3'}",
            smtp_server,
            slack_receiver,
            api,
            monkeypatch,
        )
        here.connect()
        try:
            yield here
        finally:
            contour.stop()


@pytest.fixture
def every_log_record() -> Iterator[CapturingHandler]:
    """Every record of every logger, at DEBUG, for the whole test."""
    handler = CapturingHandler()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def run_everything(bag: Any, world: World) -> None:
    """Each DAG, with its forced errors; the states say the errors really happened."""
    from airflow.utils.state import DagRunState

    sync, reconcile, rollout, switch = (bag.dags[d] for d in (SYNC, RECONCILE, ROLLOUT, SWITCH))
    full = {"mode": "full", "dry_run": False, "onec_pool": 4}

    with FiveHundredsForAWhile(world.contour, 3) as faults:
        run = world.run(sync, full)
    assert run.state == DagRunState.SUCCESS, _states(run)
    assert faults.served >= 3, "the 1C emulator never answered 5xx"

    world.connect(onec_password=WRONG_1C_PASSWORD)
    world.slack.status = 500  # Slack is down: that alert fails (and says so in the log)
    run = world.run(sync, full)
    world.slack.status = 200
    assert run.get_task_instance("extract_onec").state == "failed", _states(run)

    world.connect(bitrix_token=WRONG_TOKEN)
    run = world.run(sync, full)
    assert run.get_task_instance("extract_crm").state == "failed", _states(run)

    world.connect()
    assert world.run(reconcile, {"period_from": None, "period_to": None, "send": True}).state == "success"
    world.connect(bitrix_token=WRONG_TOKEN, onec_password=WRONG_1C_PASSWORD)
    assert world.run(reconcile, {"period_from": None, "period_to": None, "send": True}).state == "failed"

    world.connect()
    mode = {"entity": CP, "pilot_filter": {}}
    assert world.run(rollout, mode | {"mode": "shadow"}).state == "success"
    shadow = world.run(sync, full)
    assert shadow.state == DagRunState.SUCCESS, _states(shadow)
    assert shadow.get_task_instance("plan").xcom_pull(task_ids="plan")["would_write"] is not None
    assert world.run(rollout, mode | {"mode": "on"}).state == "success"
    bad_filter = {"entity": CP, "mode": "pilot", "pilot_filter": {"department": ["5"]}}
    assert world.run(rollout, bad_filter).state == "failed"

    run = world.run(switch, {"action": "rollback", "entities": [CP], "target_mode": "read_only",
                             "since": None, "compensate": False})  # fmt: skip
    assert run.get_task_instance("rollback").state == "failed", _states(run)


def collect(world: World, records: CapturingHandler, output: str, airflow_home: Path) -> Corpus:
    """Everything the runs wrote, as ``(where, text)``."""
    from airflow import settings

    corpus: Corpus = [
        *records.texts(servers=SERVERS),
        *(("process output", line) for line in output.splitlines()),
    ]
    corpus += file_texts(airflow_home / "logs") if (airflow_home / "logs").exists() else []
    corpus += airflow_rows(settings.engine, [run.run_id for run in world.runs])
    for run in world.runs:
        for ti in run.get_task_instances():
            value = ti.xcom_pull(task_ids=ti.task_id)
            where = f"XCom {run.dag_id}.{ti.task_id} ({run.run_id})"
            corpus.append((where, json.dumps(value, ensure_ascii=False, default=str)))
    staging = staging_for(world.staging_url)
    try:
        corpus += table_rows(staging.engine, staging_metadata.sorted_tables, "staging")
        for stored in staging.reports(limit=1000):
            text = json.dumps([stored.totals, stored.differences], ensure_ascii=False, default=str)
            corpus += [(f"reconciliation report #{stored.id} HTML", stored.html or "")]
            corpus += [(f"reconciliation report #{stored.id} totals", text)]
    finally:
        staging.engine.dispose()
    corpus += crm1c_page(world.staging_url)
    corpus += mail_texts(world.smtp.messages)
    corpus += slack_texts(world.slack.posts)
    return corpus


def crm1c_page(staging_url: str) -> Corpus:
    """The crm1c page as the UI renders it (from staging as the page opens it), and the story of every
    record held in quarantine."""
    from crm1c.audit.source import open_staging
    from crm1c.ui import data, pages

    now = datetime.now(UTC)
    state = {"q": "", "sort": "oldest", "report": None}
    staging = open_staging(staging_url)
    try:
        out = [("crm1c page", pages.render(data.overview(staging, now), None, state, "", [], now))]
        for held in staging.open_quarantine():
            asked = f"{held.system}:{held.external_id}" if held.system == "crm" else held.external_id
            story = data.story(staging, asked)
            html = pages.render(None, story, state | {"q": asked}, "", [], now)
            out.append((f"crm1c page, story of {asked}", html))
    finally:
        staging.engine.dispose()
    return out


def plant(world: World, airflow_home: Path) -> dict[str, Callable[[str], bool]]:
    """A secret in each kind of place the scan reads; returns what each planted finding's place looks like."""
    from airflow.models.xcom import XComModel

    logging.getLogger("crm1c.sync").warning("planted: GET /rest/1/%s/crm.company.list.json", PLANTED)
    basic = base64.b64encode(f"{ONEC_USER}:{ONEC_PASSWORD}".encode()).decode()
    logging.getLogger("crm1c.clients.onec").debug("planted: Authorization: Basic %s", basic)
    print(f"planted in the process output: {PLANTED}", flush=True)
    folder = airflow_home / "logs" / "dag_id=planted" / "run_id=planted" / "task_id=planted"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "attempt=1.log").write_text(f'{{"event": "token {PLANTED}"}}\n')
    run = world.runs[0]
    XComModel.set("planted", {"token": PLANTED}, dag_id=run.dag_id, task_id="publish", run_id=run.run_id)
    staging = staging_for(world.staging_url)
    staging.audit("planted", run.run_id, CP, None, "planted", "crm1c", "planted", {"note": PLANTED})
    staging.engine.dispose()
    mail = EmailMessage()
    mail["Subject"], mail["From"], mail["To"] = "planted", "crm1c@localhost", "oncall@localhost"
    mail.set_content(f"Тело письма со словом {PLANTED}", charset="utf-8", cte="base64")
    before = len(world.smtp.messages)
    with smtplib.SMTP("127.0.0.1", world.smtp.port, timeout=5) as smtp:
        smtp.send_message(mail)
    world.smtp.inbox.wait_for(before + 1)
    quoted = f"https://portal/rest/1/{SLACK_TOKEN.replace('/', '%2F')}/"
    requests.post(world.slack.url + "/planted", json={"text": quoted}, timeout=5)
    return {
        "planted log record": lambda w: w.startswith("log record") and "crm1c.sync" in w,
        "1C password as Basic header": lambda w: w.startswith("log record") and "crm1c.clients.onec" in w,
        "process output": lambda w: w == "process output",
        "task log file": lambda w: w.startswith("file dag_id=planted"),
        "XCom in the metadata DB": lambda w: w.startswith("Airflow DB table xcom"),
        "staging row": lambda w: w.startswith("staging table audit_log"),
        "base64 mail body": lambda w: w.startswith("mail #") and "part text/plain" in w,
        "URL-encoded Slack token": lambda w: w.startswith("Slack post"),
    }


def _kind(where: str) -> str:
    """The kind of place a text came from (``Airflow DB table xcom``, ``staging table quarantine``, …)."""
    for prefix in ("Airflow DB table ", "staging table "):
        if where.startswith(prefix):
            return " ".join(where.split()[: len(prefix.split()) + 1])
    return where.split(" #")[0].split(" (")[0].split(",")[0] if not where.startswith("file ") else "log file"


def test_no_credential_in_anything_the_dags_wrote(
    bag: Any,
    airflow_db: None,
    world: World,
    every_log_record: CapturingHandler,
    capfd: pytest.CaptureFixture[str],
) -> None:
    airflow_home = Path(os.environ["AIRFLOW_HOME"])
    run_everything(bag, world)
    out, err = capfd.readouterr()
    real = collect(world, every_log_record, out + err, airflow_home)
    assert len(world.smtp.messages) >= 4 and len(world.slack.posts) >= 3, "the alerts went out"
    assert any(where.startswith("Airflow DB table xcom") for where, _ in real), "XCom rows were read"
    output = [text for where, text in real if where == "process output"]
    assert sum("HTTP 401" in line for line in output) >= 2, "both auth failures are in the task logs"
    assert any("HTTP 500" in text and "retry" in text for _, text in every_log_record.texts()), "5xx retried"

    # the scanner first proves it finds a secret wherever one is planted, in the form it would leak in
    expected = plant(world, airflow_home)
    out, err = capfd.readouterr()
    planted = scan(
        collect(world, every_log_record, out + err, airflow_home), (*SECRETS, Secret("planted", PLANTED))
    )
    new = [
        f for f in planted if (f.secret, f.where) not in {(g.secret, g.where) for g in scan(real, SECRETS)}
    ]
    for what, place in expected.items():
        assert any(place(f.where) for f in new), f"the scanner missed the {what}:\n{report(new)}"
    assert {f.secret for f in new} <= {
        "planted",
        "1C password",
        "1C Basic credentials",
        "Slack webhook token",
    }

    findings = scan(real, SECRETS)
    kinds = Counter(_kind(where) for where, _ in real)
    print(f"\nscanned {len(real)} texts from {len(world.runs)} runs: {dict(sorted(kinds.items()))}")
    assert not findings, report(findings)


# ----------------------------------------------------------------------------- a real Airflow's log files

ROTATED_TOKEN = "r0tated0webhook0token0m2"
ROTATED_PASSWORD = "rotated-1c-pa55w0rd-v8"


@pytest.mark.slow
def test_no_credential_in_the_log_files_of_a_real_airflow(
    tmp_path: Path, smtp_server: LocalSmtpServer, slack_receiver: LocalSlackReceiver
) -> None:
    """The task log files as a real deployment writes them (api-server, scheduler, dag-processor, task
    processes; every JSON line through Airflow's own masking), and each component's log: one sync while
    1C answers 5xx for a while, one after both systems' credentials were changed on their side (the
    connections' ones are now wrong: both extracts fail on authentication and on-call is alerted)."""
    from tests.airflow_live import LiveAirflow

    contour = start_contour(tmp_path / "contour", profile="demo")
    env = contour_connections(contour, f"sqlite:///{tmp_path / 'staging.sqlite3'}") | {
        "AIRFLOW_CONN_SMTP_DEFAULT": smtp_server.connection(),
        "AIRFLOW_CONN_SLACK_DEFAULT": slack_receiver.connection(),
    }
    secrets = (
        *SECRETS,
        Secret("rotated webhook token", ROTATED_TOKEN),
        Secret("rotated 1C password", ROTATED_PASSWORD),
    )
    try:
        with LiveAirflow(tmp_path / "airflow", env=env) as airflow:
            airflow.wait_for_dag(SYNC)
            with FiveHundredsForAWhile(contour, 3) as faults:
                ok = airflow.trigger(SYNC, {"mode": "full"})
                assert airflow.wait(SYNC, ok, timeout=180)["state"] == "success", airflow.logs()
            assert faults.served >= 3
            contour.knobs("onec", password=ROTATED_PASSWORD)
            contour.knobs("bitrix", webhook_token=ROTATED_TOKEN)
            failed = airflow.trigger(SYNC, {"mode": "full"})
            assert airflow.wait(SYNC, failed, timeout=180)["state"] == "failed", airflow.logs()
            states = airflow.states(SYNC, failed)
            assert states["extract_crm"] == states["extract_onec"] == "failed", states
            smtp_server.inbox.wait_for(2)
    finally:
        contour.stop()
    logs = file_texts(airflow.home / "logs")
    task_files = {where.rsplit(":", 1)[0] for where, _ in logs}
    assert any(f"run_id={failed}" in f and "task_id=extract_onec" in f for f in task_files), sorted(
        task_files
    )
    assert any("HTTP 401" in text for _, text in logs), "the auth failures are in the task logs"
    corpus = list(logs)
    for name in ("api-server", "scheduler", "dag-processor", "db"):
        lines = (airflow.home / f"{name}.log").read_text(errors="replace").splitlines()
        corpus += [(f"{name} log line {n}", line) for n, line in enumerate(lines, 1)]
    corpus += mail_texts(smtp_server.messages) + slack_texts(slack_receiver.posts)
    findings = scan(corpus, secrets)
    print(
        f"\nscanned {len(corpus)} lines of {len(task_files)} task log files, the components' logs and alerts"
    )
    assert not findings, report(findings)
