"""What each rollout mode means for a run (plain logic, no Airflow)."""

from __future__ import annotations

import pytest

from crm1c.rollout import Mode, RunPolicy, policy_for
from crm1c.staging.schema import ROLLOUT_MODES

CP = "counterparties"
PILOT = {"inn": ["7707083893"], "assigned_by": ["7"]}


def test_the_modes_are_the_ones_staging_accepts():
    assert tuple(m.value for m in Mode) == ROLLOUT_MODES


@pytest.mark.parametrize(
    ("mode", "onec", "crm", "dry", "post"),
    [
        ("off", False, False, True, False),
        ("shadow", False, False, True, False),
        ("pilot", True, True, False, True),
        ("read_only", False, True, False, False),
        ("review", True, True, False, False),
        ("on", True, True, False, True),
    ],
)
def test_what_each_mode_writes(mode, onec, crm, dry, post):
    policy = policy_for(CP, mode, pilot_filter=PILOT)
    assert (policy.writes_onec, policy.writes_crm, policy.dry_run, policy.post_documents) == (
        onec,
        crm,
        dry,
        post,
    )
    assert (policy.writes("onec"), policy.writes("crm")) == (onec, crm)
    assert policy.pilot_filter == (PILOT if mode == "pilot" else None)


@pytest.mark.parametrize("mode", [m.value for m in Mode])
def test_a_dry_run_request_writes_nothing_in_any_mode(mode):
    policy = policy_for(CP, mode, pilot_filter=PILOT, dry_run=True)
    assert policy.dry_run and not policy.writes_onec and not policy.writes_crm and not policy.post_documents
    english, russian = policy.explain()
    if mode not in ("off", "shadow"):
        assert "dry_run requested" in english and "запрошен dry_run" in russian


def test_pilot_needs_a_filter():
    with pytest.raises(ValueError, match="mode pilot needs a pilot filter"):
        policy_for(CP, "pilot")


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="'sometimes' is not a valid Mode"):
        policy_for(CP, "sometimes")


@pytest.mark.parametrize(
    ("mode", "english", "russian"),
    [
        ("off", "every task of this run is skipped", "все задачи этого запуска пропущены"),
        ("shadow", "nothing is written; the plan step lists what would change", "ничего не записывается"),
        ("pilot", "pilot filter (inn = 7707083893; assigned_by = 7)", "фильтр пилота (inn = 7707083893"),
        (
            "read_only",
            "changes for 1C are planned and wait in the outbox",
            "изменения для 1С планируются и ждут",
        ),
        ("on", "synced both ways", "синхронизация в обе стороны"),
    ],
)
def test_the_log_says_what_the_mode_means_in_english_and_russian(mode, english, russian):
    en, ru = policy_for(CP, mode, pilot_filter=PILOT).explain()
    assert en.startswith(f"counterparties: mode {mode}: ") and english in en
    assert ru.startswith(f"counterparties: mode {mode}: ") and russian in ru


def test_review_says_when_it_behaves_as_on():
    en, ru = policy_for(CP, "review").explain()
    assert "counterparties has no documents to post, so this run writes exactly as in on" in en
    assert "у counterparties нет документов для проведения" in ru
    en, _ = policy_for("invoices", "review", posts_documents=True).explain()
    assert en == (
        "invoices: mode review: written as in on, but 1C documents stay unposted and postings await approval"
    )


def test_the_policy_travels_as_a_small_xcom():
    policy = policy_for(CP, "pilot", pilot_filter=PILOT, source="set by anna")
    data = policy.to_xcom()
    assert data == {
        "entity": CP, "mode": "pilot", "writes_onec": True, "writes_crm": True, "dry_run": False,
        "post_documents": True, "pilot_filter": PILOT, "source": "set by anna", "posts_documents": False,
    }  # fmt: skip
    assert RunPolicy.from_xcom(data) == policy
    assert RunPolicy.from_xcom(data).mode is Mode.PILOT
