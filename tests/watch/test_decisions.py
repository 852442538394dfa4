"""The run checks' decisions on hand-made numbers: quarantine growth, the Bitrix24 rate budget, the
mass-change breaker (a first sync against a mass rename), and the texts they send (escaped)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from crm1c.notify.config import Thresholds
from crm1c.staging.models import QuarantineItem, RunStats
from crm1c.watch.breaker import answer_url, approval_text, decide
from crm1c.watch.budget import (
    REFUSED_429,
    REFUSED_503,
    REQUESTS,
    WAITED_MS,
    StepUse,
    budget_message,
    check_budget,
    rate_counters,
    step_uses,
)
from crm1c.watch.quarantine import check_quarantine, quarantine_message

DEFAULTS = Thresholds()
T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
LINK = "http://airflow.test/dags/sync_counterparties/runs/r1/tasks/publish"


# ----------------------------------------------------------------------------------------- quarantine


def test_quarantine_growth_over_the_threshold_alerts():
    found = check_quarantine("counterparties", 17, 5, DEFAULTS)
    assert found is not None
    assert found.reasons == ("grew by 12 since the previous run (alert above 10)",)


@pytest.mark.parametrize(("now", "before"), [(15, 5), (4, 5), (99, 95)])
def test_growth_up_to_the_threshold_or_shrinking_is_quiet(now, before):
    assert check_quarantine("counterparties", now, before, DEFAULTS) is None


def test_a_first_run_is_held_against_the_absolute_limit_only():
    assert check_quarantine("counterparties", 60, None, DEFAULTS) is None
    found = check_quarantine("counterparties", 101, None, DEFAULTS)
    assert found is not None and found.reasons == ("holds 101 open entries (alert above 100)",)


def test_both_reasons_and_switching_the_checks_off():
    found = check_quarantine("counterparties", 150, 20, DEFAULTS)
    assert found is not None and len(found.reasons) == 2
    off = Thresholds(quarantine_growth=None, quarantine_max=None)
    assert check_quarantine("counterparties", 150, 20, off) is None


def _held(n: int, reason: str = "INN 7707083894: checksum does not match") -> QuarantineItem:
    seen = T0 + timedelta(minutes=n)
    return QuarantineItem(
        n, "counterparty", "crm", str(n), "inn", "ИНН: " + reason, reason, None, seen, seen, 1, None
    )


def test_the_quarantine_alert_lists_the_newest_held_with_reasons_escaped():
    held = [_held(n) for n in range(1, 32)] + [_held(32, "<script>alert(1)</script>")]
    found = check_quarantine("counterparties", 32, 5, DEFAULTS)
    assert found is not None
    message = quarantine_message(found, held, LINK)

    assert message.subject.startswith("[crm1c] quarantine of counterparties: 32 open (grew by 27")
    assert "crm:32" in message.html and "crm:13" in message.html and "crm:12" not in message.html  # 20 newest
    assert "<script>" not in message.html and "&lt;script&gt;" in message.html
    assert "ИНН: INN 7707083894" in message.html and "checksum does not match" in message.html
    assert "The 20 newest held</b> (of 32" in message.html
    assert message.text.startswith(":warning: crm1c: quarantine of counterparties grew by 27")
    assert message.text.endswith(f"<{LINK}|task>")


# -------------------------------------------------------------------------------------------- budget


def test_rate_counters_from_the_client_stats():
    stats = {"requests": 40.0, "http_503": 3.0, "retries": 3.0, "limiter_wait_seconds": 1.2345}
    assert rate_counters(stats) == {REQUESTS: 40, REFUSED_503: 3, REFUSED_429: 0, WAITED_MS: 1234}


def _stats(task: str, seconds: float, **counters: int) -> RunStats:
    return RunStats("r1", "counterparty", task, T0, T0 + timedelta(seconds=seconds), counters)


def test_step_uses_are_the_steps_that_talked_to_bitrix24():
    rows = [
        _stats("plan", 3, planned_update_onec=4),
        _stats("load_crm", 10, **{REQUESTS: 5, WAITED_MS: 6000}),
        _stats("extract_crm", 4, **{REQUESTS: 20, REFUSED_503: 2, WAITED_MS: 0}),
    ]
    assert step_uses(rows) == [
        StepUse("extract_crm", 4.0, 20, 2, 0, 0.0),
        StepUse("load_crm", 10.0, 5, 0, 0, 6.0),
    ]
    assert step_uses(rows)[1].wait_share == pytest.approx(0.6)


def test_any_refusal_alerts_by_default_a_tolerance_can_be_set():
    steps = [StepUse("extract_crm", 4.0, 20, 2, 1, 0.0)]
    found = check_budget("counterparties", steps, DEFAULTS)
    assert found is not None
    assert found.reasons == ("Bitrix24 refused 3 request(s) (2× 503, 1× 429; alert above 0)",)
    assert check_budget("counterparties", steps, Thresholds(rate_refusals_max=3)) is None


def test_waiting_in_the_limiter_for_most_of_a_step_alerts():
    steps = [StepUse("extract_crm", 10.0, 20, 0, 0, 4.0), StepUse("load_crm", 10.0, 60, 0, 0, 7.5)]
    found = check_budget("counterparties", steps, DEFAULTS)
    assert found is not None
    assert found.reasons == ("load_crm waited for the rate limit 75% of its time (alert above 50%)",)
    assert check_budget("counterparties", steps, Thresholds(rate_wait_share=None)) is None
    assert check_budget("counterparties", [], DEFAULTS) is None, "a run that never called Bitrix24"


def test_the_budget_alert_has_a_row_per_step():
    found = check_budget("counterparties", [StepUse("extract_crm", 4.0, 20, 2, 0, 0.5)], DEFAULTS)
    assert found is not None
    message = budget_message(found, LINK)
    assert message.subject == "[crm1c] Bitrix24 rate budget running out (counterparties)"
    assert "<td>extract_crm</td><td>4.0</td><td>20</td><td>2</td><td>0</td><td>0.5</td>" in message.html
    assert "refused 2 request(s)" in message.text


# ------------------------------------------------------------------------------------------- breaker


def test_a_first_sync_never_trips_the_breaker():
    verdict = decide("counterparties", changes=0, known=0, thresholds=DEFAULTS)
    assert not verdict.trips and verdict.share is None and "first sync" in verdict.why
    # the engine does not count the first match of a pair; even if something did, nothing was linked before
    assert not decide("counterparties", changes=500, known=0, thresholds=DEFAULTS).trips


def test_a_mass_rename_trips_the_breaker():
    verdict = decide("counterparties", changes=60, known=100, thresholds=DEFAULTS)
    assert verdict.trips and verdict.share == pytest.approx(0.6)
    assert verdict.why == (
        "60 of 100 linked records would change (60%; the breaker trips above 30% and from 10 records)"
    )
    assert "Nothing has been written yet" in approval_text(verdict, 24)
    assert "No answer within 24 h counts as Reject" in approval_text(verdict, 24)


@pytest.mark.parametrize(
    ("changes", "known", "thresholds"),
    [
        (30, 100, DEFAULTS),  # exactly the share: not above it
        (9, 12, DEFAULTS),  # a small entity: 75 %, but fewer than mass_change_min
        (60, 100, Thresholds(mass_change_share=None)),  # switched off
        (60, 100, Thresholds(mass_change_share=0.7)),
    ],
)
def test_what_does_not_trip_the_breaker(changes, known, thresholds):
    assert not decide("counterparties", changes, known, thresholds).trips


# ---------------------------------------------------------------------------------------- layering


def test_the_decisions_import_no_airflow():
    code = (
        "import sys; import crm1c.watch.run, crm1c.watch.breaker, crm1c.watch.budget;"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'airflow'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="plugins"
    )
    assert out.stdout.strip() == "[]"


def test_the_answer_url_quotes_the_run_id():
    url = answer_url(
        "http://airflow.test:8080/", "sync_counterparties", "manual__2026-05-04T10:00:00+00:00", "b"
    )
    assert url == (
        "http://airflow.test:8080/api/v2/dags/sync_counterparties/dagRuns/"
        "manual__2026-05-04T10%3A00%3A00%2B00%3A00/taskInstances/b/-1/hitlDetails"
    )
