"""The ``reconcile`` DAG end to end under ``dag.test()``: the contour synced first (the whole chain, up to
payments), then a clean run (mail and Slack say "no drift"), then drift made behind crm1c's back — in
counterparties and in money — reported by e-mail (the HTML holds the records and both values) and Slack
(the counts and the top differences), kept in staging; only reads reach the systems, and no credential
appears in the mail, the Slack text, the stored report or the XCom."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest

from tests.airflow_live import contour_connections
from tests.contour_harness import BITRIX_TOKEN, ONEC_PASSWORD
from tests.notify.servers import SLACK_TOKEN, html_body
from tests.reconcile.drift import RequestLog, assert_read_only, inject_drift, linked_legal_pairs
from tests.reconcile.money import chain, inject_money_drift, without_own_documents
from tests.sync.harness import clients, run_sync, staging_for, state_hash

pytestmark = pytest.mark.airflow
SECRETS = (BITRIX_TOKEN, ONEC_PASSWORD, SLACK_TOKEN)
AIRFLOW_UI = "http://airflow.test:8080/"
WRONG_TOKEN = "wr0ng0webhook0token0f0r0reconcile"


class Cells(HTMLParser):
    """The text of every table row (one string per cell) and every link target of an HTML page."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.hrefs: list[str] = []
        self._cell: list[str] | None = None
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "a":
            self.hrefs += [v for k, v in attrs if k == "href"]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def row_with(self, *parts: str) -> list[str]:
        found = [r for r in self.rows if all(any(p in cell for cell in r) for p in parts)]
        assert len(found) == 1, f"one row with {parts}, got {found}"
        return found[0]


def connect(monkeypatch, contour, url: str, smtp_server, slack_receiver, **kw) -> None:
    """The DAG's connections: the contour, the staging file, the local SMTP server and Slack receiver."""
    env = contour_connections(contour, url, **kw)
    env |= {
        "AIRFLOW_CONN_SMTP_DEFAULT": smtp_server.connection(),
        "AIRFLOW_CONN_SLACK_DEFAULT": slack_receiver.connection(),
        "AIRFLOW__API__BASE_URL": AIRFLOW_UI,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def synced(demo_contour, scratch, monkeypatch, smtp_server, slack_receiver):
    """The contour synced into a staging file the DAG's connections point at, as are SMTP and Slack: the
    demo's own sales documents deleted, then the chain up to payments (:func:`tests.reconcile.money.chain`);
    yields the receipts made too."""
    url = f"sqlite:///{scratch / 'staging.sqlite3'}"
    connect(monkeypatch, demo_contour, url, smtp_server, slack_receiver)
    staging = staging_for(url)
    crm, onec = clients(demo_contour)
    run_sync(staging, crm, onec, mode="full")
    without_own_documents(demo_contour, onec)
    paid = chain(staging, crm, onec)
    yield demo_contour, staging, crm, onec, paid
    staging.engine.dispose()


def test_the_dag_is_wired_from_the_reconcile_operator(bag):
    from crm1c.notify import EmailFailureNotifier, SlackFailureNotifier
    from crm1c.operators import ReconcileOperator

    assert bag.import_errors == {}
    dag = bag.dags["reconcile"]
    assert {"crm1c", "reconciliation"} <= set(dag.tags) and dag.max_active_runs == 1
    assert dag.timetable.expression == "0 0 * * *" and "read only" in dag.doc_md
    [task] = dag.tasks
    assert type(task) is ReconcileOperator and task.retries >= 1
    assert (task.period_from, task.period_to, task.send) == (
        "{{ params.period_from }}", "{{ params.period_to }}", "{{ params.send }}",
    )  # fmt: skip
    assert [type(n) for n in task.on_failure_callback] == [EmailFailureNotifier, SlackFailureNotifier]
    assert set(dag.params.keys()) == {"period_from", "period_to", "send"}


def test_clean_then_drift_reported_and_kept(bag, airflow_db, synced, smtp_server, slack_receiver):
    from airflow.utils.state import DagRunState

    contour, staging, crm, onec, paid = synced
    dag = bag.dags["reconcile"]

    # runs of one DAG object under dag.test() may carry a param into the next: each run names them all;
    # no period: the previous and the current month
    assert dag.test(run_conf={"send": False}).state == DagRunState.SUCCESS
    assert staging.latest_report().status == "clean", "kept without being sent"
    assert staging.latest_report().period_from is not None, "the default period is stored"
    assert dag.test(run_conf={"send": True}).state == DagRunState.SUCCESS
    [mail] = smtp_server.inbox.wait_for(1)
    assert mail["Subject"].endswith(": no drift") and "Расхождений нет" in html_body(mail)
    assert "Счета на оплату / invoices" in html_body(mail) and "Дебиторская задолженность" in html_body(mail)
    [post] = slack_receiver.inbox.wait_for(1)
    assert post["text"].startswith(":white_check_mark: crm1c reconciliation: no drift")
    assert "receivables:" in post["text"]
    assert [r.status for r in staging.reports()] == ["clean", "clean"]

    taken = {p.onec_id.lower() for p in linked_legal_pairs(staging, crm, onec)[:5]}
    money = inject_money_drift(staging, crm, onec, paid, taken)
    drift = inject_drift(contour, staging, crm, onec)
    before, log = state_hash(crm, onec), RequestLog(contour)
    run = dag.test(run_conf={"period_from": "2026-01-01", "period_to": None, "send": True})
    assert run.state == DagRunState.SUCCESS
    assert_read_only(log)
    assert state_hash(crm, onec) == before, "the reconciliation wrote nothing"

    totals = run.get_task_instance("reconcile").xcom_pull(task_ids="reconcile")
    kinds = {name: check["by_kind"] for name, check in totals["checks"].items()}
    assert kinds["counterparties"] == {"missing_in_onec": 1, "deleted_in_onec": 1, "requisite_differs": 2}
    assert kinds["invoices"]["amount_differs"] == 1 and kinds["invoices"]["hand_made_in_onec"] >= 1
    won = int(money.edited_won)  # a won deal's edit moves its counterparty's revenue and debt too
    assert kinds["revenue"] == {"revenue_differs": 1 + won}
    assert kinds["payments"] == {"paid_differs": 1}
    assert kinds["receivables"] == {"receivables_differ": 2 + won}
    count = sum(n for by_kind in kinds.values() for n in by_kind.values())
    assert totals["status"] == "drift" and totals["differences"] == count
    mail, post = smtp_server.inbox.wait_for(2)[1], slack_receiver.inbox.wait_for(2)[1]
    assert mail["Subject"].endswith(f": DRIFT, {count} differences")
    assert_drift_mail(mail, drift, crm.base_url, onec.base_url)
    assert_money_mail(mail, money, crm.base_url)
    text = post["text"]
    assert text.startswith(f":warning: crm1c reconciliation: drift: {count} differences")
    assert "invoice amount differs ×1" in text and "paid on a deal differs ×1" in text
    assert f"CRM {money.new_amount} ≠ 1C {money.old_total}" in text, "the top differences name money too"
    assert f"<{AIRFLOW_UI}dags/reconcile/runs/" in text

    stored = staging.latest_report()
    assert stored.status == "drift" and stored.totals == totals and len(stored.differences) == count
    assert str(stored.period_from) == "2026-01-01" and stored.period_to is None
    everything = [mail.as_string(), html_body(mail), json.dumps(post, ensure_ascii=False), stored.html]
    everything += [json.dumps([stored.totals, stored.differences, totals], ensure_ascii=False)]
    for text in everything:
        for secret in SECRETS:
            assert secret not in text


def assert_money_mail(mail, money, crm_base: str) -> None:
    """The edited invoice (CRM, agreed, 1C), the deal's paid sum, the revenue typed by hand, with links."""
    page = Cells(html_body(mail))
    edited = page.row_with(f"сделка / deal {money.edited_deal}", "Сумма / amount")
    assert edited[3:6] == [str(money.new_amount), str(money.old_total), str(money.old_total)]
    paid = page.row_with(f"сделка / deal {money.receipt.deal}", "Оплачено / paid")
    assert paid[3] == str(money.receipt.amount) and paid[5] == "0.00"
    assert page.row_with("Выручка / revenue", "12345.00")
    assert page.row_with(f"Ref_Key {money.hand_made['Ref_Key']}")
    assert f"{crm_base}/crm/deal/details/{money.edited_deal}/" in page.hrefs
    assert any("#e1cib/data/" in h and "ref=" in h for h in page.hrefs)


def assert_drift_mail(mail, drift, crm_base: str, odata_root: str) -> None:
    """The records behind each difference, both values (and the agreed one), links into both systems."""
    assert mail["To"] == "oncall@localhost"
    page = Cells(html_body(mail))
    edited, renamed = drift.inn_edited, drift.renamed_in_crm
    assert page.row_with(edited.name, "ИНН", drift.new_inn)[3:6] == [edited.inn, edited.inn, drift.new_inn]
    assert page.row_with(drift.new_name, "Наименование")[3:6] == [drift.new_name, renamed.name, renamed.name]
    assert page.row_with(drift.deleted_in_onec.name, "нет / absent")
    assert page.row_with(drift.marked_in_onec.name, "deletion mark")
    assert f"{crm_base}/crm/company/details/{edited.crm_id}/" in page.hrefs
    publication = odata_root.removesuffix("odata/standard.odata/")
    assert any(h.startswith(f"{publication}#e1cib/data/") for h in page.hrefs)


def test_bad_credentials_fail_at_once_keep_a_failed_report_and_alert(
    bag, airflow_db, demo_contour, scratch, monkeypatch, smtp_server, slack_receiver
):
    from airflow.sdk.exceptions import ParamValidationError
    from airflow.utils.state import DagRunState

    url = f"sqlite:///{scratch / 'staging.sqlite3'}"
    connect(monkeypatch, demo_contour, url, smtp_server, slack_receiver, bitrix_token=WRONG_TOKEN)
    dag = bag.dags["reconcile"]
    with pytest.raises(ParamValidationError):
        dag.test(run_conf={"period_from": "yesterday"})

    run = dag.test()
    assert run.state == DagRunState.FAILED
    assert run.get_task_instance("reconcile").try_number == 1, "failed without retrying"
    [mail] = smtp_server.inbox.wait_for(1)
    assert mail["Subject"] == "[crm1c] reconcile.reconcile failed (reconciliation)"
    [post] = slack_receiver.inbox.wait_for(1)
    staging = staging_for(url)
    [stored] = staging.reports()
    staging.engine.dispose()
    assert stored.status == "failed" and "HTTP 401" in stored.totals["error"]
    for text in (mail.as_string(), json.dumps(post), json.dumps(stored.totals)):
        for secret in (WRONG_TOKEN, *SECRETS):
            assert secret not in text
