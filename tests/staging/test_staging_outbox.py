"""write_intent: the single-pending rule, crash recovery and complete+link atomicity."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from crm1c.staging import Completion, IntentStateError, NotFoundError, XrefConflictError
from crm1c.staging.schema import write_intent, xref

PAYLOAD = {"Description": "Ромашка", "ИНН": "7707083893"}
MATCH = "inn:7707083893/kpp:770701001"


def open_create(staging, source_id="42", **kw):
    return staging.open_intent(
        "counterparty", "onec", "create", "crm", source_id, PAYLOAD, match_key=MATCH, run_id="r1", **kw
    )


def test_open_is_committed_and_pending(staging, engine):
    intent = open_create(staging)
    assert (intent.state, intent.attempts, intent.resumed, intent.target_id) == ("pending", 1, False, None)
    with engine.connect() as conn:  # visible from another connection: committed before the external call
        assert conn.execute(sa.select(write_intent.c.state)).scalar_one() == "pending"
    assert staging.pending_intents("counterparty", "onec") == [intent]
    assert staging.pending_intents("counterparty", "crm") == []


def test_reopening_returns_the_pending_intent_as_the_crash_signal(staging):
    first = open_create(staging)
    again = staging.open_intent(
        "counterparty", "onec", "create", "crm", "42", {"other": 1}, match_key=MATCH, run_id="r2"
    )
    assert again.resumed and again.id == first.id
    assert (again.attempts, again.run_id, again.payload) == (2, "r2", PAYLOAD)  # payload of the first attempt
    assert len(staging.pending_intents("counterparty", "onec")) == 1
    assert open_create(staging, source_id="43").id != first.id


def test_one_pending_intent_is_enforced_by_the_database(staging, engine):
    intent = open_create(staging)
    row = {c: getattr(intent, c) for c in [col.name for col in write_intent.c] if c != "id"}
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(sa.insert(write_intent).values(row))
    staging.complete_intent(intent.id, "guid-a")
    with engine.begin() as conn:  # a done one does not count
        conn.execute(sa.insert(write_intent).values(row))


def test_concurrent_opens_create_exactly_one_intent(staging):
    with ThreadPoolExecutor(max_workers=6) as pool:
        intents = list(pool.map(lambda _: open_create(staging), range(12)))
    assert len({i.id for i in intents}) == 1
    assert sum(not i.resumed for i in intents) == 1
    assert staging.get_intent(intents[0].id).attempts == 12


def test_create_needs_a_match_key(staging):
    with pytest.raises(ValueError, match="match_key"):
        staging.open_intent("counterparty", "onec", "create", "crm", "42", PAYLOAD)
    update = staging.open_intent("counterparty", "onec", "update", "crm", "42", PAYLOAD, target_id="guid-a")
    assert update.match_key is None and update.target_id == "guid-a"


def test_complete_is_idempotent_and_checks_state(staging):
    intent = open_create(staging)
    done = staging.complete_intent(intent.id, "guid-a")
    assert (done.state, done.target_id) == ("done", "guid-a")
    assert staging.complete_intent(intent.id, "guid-a") == done
    with pytest.raises(IntentStateError, match="it is done"):
        staging.complete_intent(intent.id, "guid-b")
    with pytest.raises(IntentStateError):
        staging.fail_intent(intent.id, "late failure")
    with pytest.raises(NotFoundError):
        staging.complete_intent(999, "x")
    assert not open_create(staging).resumed  # the next change to the same record opens a fresh intent


def test_update_intent_cannot_complete_with_another_target(staging):
    intent = staging.open_intent("counterparty", "onec", "update", "crm", "42", PAYLOAD, target_id="guid-a")
    with pytest.raises(IntentStateError, match="targets guid-a"):
        staging.complete_intent(intent.id, "guid-b")


def test_fail_and_abandon(staging):
    failed = staging.fail_intent(open_create(staging).id, "400 ИНН invalid")
    assert (failed.state, failed.error) == ("failed", "400 ИНН invalid")
    abandoned = staging.abandon_intent(open_create(staging).id, "superseded")
    assert abandoned.state == "abandoned"
    assert staging.pending_intents("counterparty", "onec") == []


def test_complete_and_link_in_one_transaction(staging):
    intent = open_create(staging)
    link = staging.complete_intent_and_link(intent.id, "guid-a", base=PAYLOAD, crm_hash="h", onec_hash="h")
    assert (link.crm_id, link.onec_id, link.base) == ("42", "guid-a", PAYLOAD)
    assert staging.get_intent(intent.id).state == "done"
    # a retry after the commit (e.g. the task was re-run) is harmless
    assert staging.complete_intent_and_link(intent.id, "guid-a", base=PAYLOAD, crm_hash="h", onec_hash="h")


def test_complete_and_link_from_onec_to_crm(staging):
    intent = staging.open_intent("counterparty", "crm", "create", "onec", "guid-z", PAYLOAD, match_key=MATCH)
    link = staging.complete_intent_and_link(intent.id, "77", base=PAYLOAD, crm_hash=None, onec_hash="h")
    assert (link.crm_id, link.onec_id) == ("77", "guid-z")


def written_intents(staging, n: int, *, linked: bool = True) -> list:
    """Completions of ``n`` written intents: updates of linked pairs, else creates of new ones."""
    items = []
    for i in range(n):
        if linked:
            staging.link("counterparty", str(i), f"guid-{i}", base={"v": 0})
        op = {"target_id": f"guid-{i}"} if linked else {"match_key": f"m{i}"}
        intent = staging.open_intent(
            "counterparty", "onec", "update" if linked else "create", "crm", str(i), PAYLOAD, **op
        )
        items.append(Completion(intent.id, f"guid-{i}", str(i), f"guid-{i}", {"v": i}, "h", f"h{i}"))
    return items


def test_many_completions_of_linked_pairs(staging):
    items = written_intents(staging, 3)
    staging.complete_many_and_relink("counterparty", items)
    for item in items:
        assert staging.get_intent(item.intent_id).state == "done"
        link = staging.xref_by_crm("counterparty", item.crm_id)
        assert (link.base, link.crm_hash, link.onec_hash) == (item.base, "h", item.onec_hash)
    staging.complete_many_and_relink("counterparty", items)  # a re-run: the careful path, idempotent
    assert staging.pending_intents("counterparty", "onec") == []


def test_many_completions_take_the_careful_path_when_a_row_is_missed(staging):
    items = written_intents(staging, 2)
    staging.abandon_intent(items[1].intent_id, "cancelled by an operator meanwhile")
    with pytest.raises(IntentStateError):
        staging.complete_many_and_relink("counterparty", items)
    assert staging.get_intent(items[0].intent_id).state == "pending"  # nothing of the batch was kept
    assert staging.xref_by_crm("counterparty", "0").base == {"v": 0}


def test_many_completions_of_creates_link_the_new_pairs(staging):
    items = written_intents(staging, 3, linked=False)
    staging.complete_many_and_link("counterparty", items)
    for item in items:
        assert staging.get_intent(item.intent_id).state == "done"
        link = staging.xref_by_crm("counterparty", item.crm_id)
        assert (link.onec_id, link.base, link.onec_hash) == (item.onec_id, item.base, item.onec_hash)
    staging.complete_many_and_link("counterparty", items)  # a re-run: the careful path, idempotent
    assert len(staging.xrefs_of("counterparty", "crm", ["0", "1", "2"])) == 3


def test_many_creates_keep_nothing_when_one_would_break_the_link(staging):
    items = written_intents(staging, 3, linked=False)
    staging.link("counterparty", "99", "guid-1")  # another CRM record holds the second 1C record
    with pytest.raises(XrefConflictError):
        staging.complete_many_and_link("counterparty", items)
    assert [staging.get_intent(i.intent_id).state for i in items] == ["pending"] * 3
    assert staging.xref_by_crm("counterparty", "0") is None


def test_complete_and_link_is_atomic_when_the_link_fails(staging, engine):
    staging.link("counterparty", "41", "guid-a")
    intent = open_create(staging)
    with pytest.raises(XrefConflictError):
        staging.complete_intent_and_link(intent.id, "guid-a", base=PAYLOAD, crm_hash="h", onec_hash="h")
    assert staging.get_intent(intent.id).state == "pending"  # the intent was not completed either
    assert staging.xref_by_crm("counterparty", "42") is None


def test_complete_and_link_rolls_back_with_the_callers_transaction(staging, engine):
    intent = open_create(staging)
    with pytest.raises(RuntimeError), staging.transaction() as conn:
        staging.complete_intent_and_link(
            intent.id, "guid-a", base={}, crm_hash=None, onec_hash=None, conn=conn
        )
        raise RuntimeError("crash before commit")
    assert staging.get_intent(intent.id).state == "pending"
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(xref)).scalar_one() == 0
