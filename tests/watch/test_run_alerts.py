"""The publish step's alerts, end to end under ``dag.test()`` against the contour, received by a real local
SMTP server and Slack webhook receiver: the quarantine growing past its threshold (a CRM import of bad
records), and the Bitrix24 rate budget running out (the portal answering 503 QUERY_LIMIT_EXCEEDED)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests

from contour.profiles import inn10
from tests.contour_harness import BITRIX_TOKEN, ONEC_PASSWORD, RunningContour
from tests.notify.servers import SLACK_TOKEN, LocalSlackReceiver, LocalSmtpServer, html_body
from tests.sync.harness import add_crm_company, clients, contour_admin

pytestmark = pytest.mark.airflow
DAG_ID = "sync_counterparties"
SECRETS = (BITRIX_TOKEN, ONEC_PASSWORD, SLACK_TOKEN)
BAD_IMPORT = 12  # one over the default quarantine_growth (10)


def _run(bag, **conf: Any) -> Any:
    from airflow.utils.state import DagRunState

    # every param given: dag.test() keeps a run's params in the DAG object for the next run
    run = bag.dags[DAG_ID].test(run_conf={"mode": "incremental", "dry_run": False, "onec_pool": 4} | conf)
    assert run.state == DagRunState.SUCCESS
    return run


def _totals(run) -> dict[str, Any]:
    return run.get_task_instance("publish").xcom_pull(task_ids="publish")


def _bad_inn(n: int) -> str:
    """A 10-digit ИНН whose check digit is wrong."""
    valid = inn10(f"77090{n:04d}")
    return valid[:-1] + str((int(valid[-1]) + 1) % 10)


def _the_alert(alert_connections: tuple[LocalSmtpServer, LocalSlackReceiver]) -> tuple[str, str, str]:
    """The one mail (its subject and HTML) and the one Slack post that arrived, with no credential in any."""
    smtp, slack = alert_connections
    [mail], [post] = smtp.inbox.wait_for(1), slack.inbox.wait_for(1)
    body = html_body(mail)
    for text in (mail.as_string(), body, json.dumps(post, ensure_ascii=False)):
        for secret in SECRETS:
            assert secret not in text
    return str(mail["Subject"]), body, str(post["text"])


def test_a_crm_import_of_bad_records_grows_the_quarantine_and_on_call_hears_of_it(
    bag,
    airflow_db,
    connections: RunningContour,
    alert_connections: tuple[LocalSmtpServer, LocalSlackReceiver],
):
    smtp, slack = alert_connections
    first = _totals(_run(bag, mode="full"))
    assert first["open_quarantine"] == 5 and first["audit_chain_ok"] is True
    assert smtp.messages == [] and slack.posts == [], "a first run under quarantine_max is quiet"

    crm, _onec = clients(connections)
    imported = {
        add_crm_company(crm, f"ООО Импорт {n}", _bad_inn(n), "770901001"): _bad_inn(n)
        for n in range(BAD_IMPORT)
    }
    second = _totals(_run(bag))

    assert second["open_quarantine"] == first["open_quarantine"] + BAD_IMPORT
    subject, body, slack_text = _the_alert(alert_connections)
    assert subject == (
        "[crm1c] quarantine of counterparties: 17 open (grew by 12 since the previous run (alert above 10))"
    )
    assert "<td>counterparties</td><td>17</td><td>5</td>" in body
    for company_id, inn in imported.items():
        assert f"<td>crm:{company_id}</td><td>inn</td>" in body
        assert f"INN {inn}: checksum does not match" in body
    assert "контрольная сумма не сходится" in body, "the Russian reason too"
    assert slack_text.startswith(":warning: crm1c: quarantine of counterparties grew by 12")
    assert "/dags/sync_counterparties/runs/" in slack_text and "/tasks/publish" in slack_text


def _bitrix_stats(contour: RunningContour) -> dict[str, Any]:
    return dict(contour_admin(contour, "bitrix", "stats"))


class _OtherApp:
    """Another integration on the same portal and webhook, without a rate limiter of its own."""

    def __init__(self, contour: RunningContour) -> None:
        self.url, self.ca = contour.bitrix_webhook + "crm.company.list.json", str(contour.ca_file)
        self.statuses: list[int] = []
        self.in_flight = 0
        self._lock = threading.Lock()

    def send(self, session: requests.Session) -> None:
        with self._lock:
            self.in_flight += 1
        status = session.post(self.url, json={}, verify=self.ca, timeout=30).status_code
        with self._lock:
            self.in_flight -= 1
            self.statuses.append(status)

    def may_have_been_refused(self) -> int:
        """Its answered 503s and its requests still in flight (the portal counts a refusal on arrival)."""
        with self._lock:
            return self.statuses.count(503) + self.in_flight


@contextmanager
def _other_app_keeps_the_bucket_full(contour: RunningContour, senders: int = 8) -> Iterator[_OtherApp]:
    """The other app keeps ``senders`` requests in flight: the portal's shared leaky bucket is full when the
    sync starts and stays full until the portal has refused the sync once (its retry then gets through)."""
    other, done = _OtherApp(contour), threading.Event()
    refused_before = _bitrix_stats(contour)["rejected_503"]

    def keep_sending() -> None:
        with requests.Session() as session:
            while not done.is_set():
                other.send(session)

    def watch() -> None:
        while not done.wait(0.05):
            if _bitrix_stats(contour)["rejected_503"] - refused_before > other.may_have_been_refused():
                done.set()  # the sync was refused: the other app calms down

    pool = [threading.Thread(target=keep_sending, name=f"other-app-{n}") for n in range(senders)]
    pool.append(threading.Thread(target=watch, name="other-app-watch"))
    for thread in pool:
        thread.start()
    try:
        deadline = time.monotonic() + 30
        while 503 not in other.statuses:  # the bucket is full before the sync starts
            assert time.monotonic() < deadline, f"the bucket never filled: {other.statuses}"
            time.sleep(0.05)
        yield other
    finally:
        done.set()
        for thread in pool:
            thread.join()


@pytest.fixture
def limited_portal(connections: RunningContour) -> Iterator[RunningContour]:
    """Bitrix24 on the standard plan (2 requests/s, burst 50, then 503 QUERY_LIMIT_EXCEEDED), each answer
    0.4 s after its request; back to no limit afterwards (the contour serves the module's other tests)."""
    connections.knobs("bitrix", rate_plan="standard", latency_ms=400)
    yield connections
    connections.knobs("bitrix", rate_plan="off", latency_ms=0)


def test_the_portal_refusing_requests_tells_on_call_that_the_rate_budget_runs_out(
    bag,
    airflow_db,
    limited_portal: RunningContour,
    alert_connections: tuple[LocalSmtpServer, LocalSlackReceiver],
):
    connections = limited_portal
    before = _bitrix_stats(connections)["rejected_503"]
    with _other_app_keeps_the_bucket_full(connections) as other_app:
        totals = _totals(_run(bag, mode="full"))
    refused = _bitrix_stats(connections)["rejected_503"] - before - other_app.statuses.count(503)

    assert totals["crm_http_503"] == refused >= 1, "every refusal the portal made to the sync is counted"
    assert totals["crm_requests"] > refused and totals["onec_create"] >= 1, "the run still completed"
    subject, body, slack_text = _the_alert(alert_connections)
    assert subject == "[crm1c] Bitrix24 rate budget running out (counterparties)"
    assert f"Bitrix24 refused {refused} request(s) ({refused}× 503, 0× 429; alert above 0)" in body
    assert "<td>extract_crm</td>" in body and "<td>load_crm</td>" in body
    assert slack_text.startswith(":hourglass: crm1c: Bitrix24 rate budget running out (counterparties)")
