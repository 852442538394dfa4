"""What on-call reads: who, which entities, the modes, what was marked, what the accountant must see."""

from __future__ import annotations

from datetime import UTC, datetime

from crm1c.rollback.compensate import Compensated
from crm1c.rollback.report import Who, resume_message, rollback_message
from crm1c.rollback.switch import Resumed, RolledBack

WHO = Who(
    "anna", datetime(2026, 5, 4, 9, 30, tzinfo=UTC), "manual__1", "http://af/dags/rollback_switch/runs/m"
)
SINCE = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
ITEMS = [
    Compensated("Catalog_Контрагенты", "a", "marked", "ООО <Альфа> & Ко"),
    Compensated("Document_СчетНаОплатуПокупателю", "d", "listed", "№ 0042 от 2026-05-04"),
    Compensated("Catalog_Контрагенты", "m", "already_marked", "ООО Мета"),
]


def test_rollback_message():
    done = RolledBack("counterparties", "sync_counterparties", False, "on", "read_only", [], ITEMS)
    msg = rollback_message(WHO, [done], SINCE)
    assert msg.subject == "[crm1c] rollback: counterparties → read_only, DAGs paused"
    assert "By anna at 2026-05-04 09:30:00 UTC" in msg.html and "on → read_only" in msg.html
    assert "1 already marked, 1 listed, 1 marked" in msg.html
    assert "ООО &lt;Альфа&gt; &amp; Ко" in msg.html  # escaped
    listed = msg.html.split("For the accountant")[1].split("</ul>")[0]
    assert "№ 0042 от 2026-05-04" in listed and "Альфа" not in listed
    assert "1C → CRM only" in msg.html and "только 1С → CRM" in msg.html
    assert "since 2026-05-04 09:00:00 UTC" in msg.html
    assert msg.text == (
        ":rewind: crm1c rollback by anna: counterparties → read_only, DAGs paused; "
        "1C: 1 deletion-marked, 1 posted listed · <http://af/dags/rollback_switch/runs/m|run>"
    )


def test_rollback_without_compensation_and_with_a_run_still_going():
    done = RolledBack("counterparties", "sync_counterparties", True, "review", "off", ["scheduled__9"], None)
    msg = rollback_message(WHO, [done], None)
    assert "paused (it was already)" in msg.html and "not asked for" in msg.html
    assert "Still running</b> in sync_counterparties: scheduled__9" in msg.html
    assert "deletion-marked" not in msg.text


def test_resume_message():
    done = Resumed("counterparties", "sync_counterparties", "read_only", "on", "resume__manual__2", 7)
    msg = resume_message(WHO, [done])
    assert msg.subject == "[crm1c] resume: counterparties back on, DAGs unpaused"
    assert "read_only → on" in msg.html and "resume__manual__2" in msg.html
    assert msg.text.startswith(":arrow_forward: crm1c resume by anna: counterparties on; DAGs unpaused")
