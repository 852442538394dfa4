"""BatchLookups: a batch's questions answered from a few queries, its writes seen at once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from crm1c.staging import SeenInput
from crm1c.sync.engine.lookups import BatchLookups

E = "counterparty"


def seen(ext_id: str, key: str) -> SeenInput:
    return SeenInput(ext_id, raw={"ID": ext_id}, normalised={"id": ext_id}, version="v1", match_key=key)


@contextmanager
def statements(engine: sa.Engine) -> Iterator[list[str]]:
    """The SQL statements run on ``engine`` inside the block (SQLite's explicit BEGIN left out)."""
    ran: list[str] = []

    def note(conn, cursor, statement, *args) -> None:
        if not statement.startswith("BEGIN"):
            ran.append(statement)

    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        yield ran
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)


def world(staging) -> list:
    """CRM 1..40 with keys k1..k40; 1..20 linked to 1C o1..o20; 1C o21..o40 unlinked, same keys; a twin of
    CRM 5 (key k5) and intents and quarantine rows here and there. Returns the dirty CRM records."""
    staging.upsert_seen("crm", E, [seen(str(i), f"k{i}") for i in range(1, 41)] + [seen("99", "k5")])
    staging.upsert_seen("onec", E, [seen(f"o{i}", f"k{i}") for i in range(1, 41)])
    for i in range(1, 21):
        staging.link(E, str(i), f"o{i}")
    staging.open_intent(E, "onec", "update", "crm", "3", {"n": 3}, target_id="o3")
    staging.open_intent(E, "crm", "update", "onec", "o4", {"n": 4}, target_id="4")
    staging.quarantine(E, "crm", "7", "inn", "плохой ИНН", "bad INN")
    return staging.dirty_records("crm", E, limit=100)


def test_prefetch_answers_the_planners_questions_without_queries(staging):
    batch = [r for r in world(staging) if r.external_id != "99"]
    look = BatchLookups(staging, E, "crm", batch)
    with statements(staging.engine) as ran:
        for r in batch:
            i = int(r.external_id)
            link = look.xref("crm", r.external_id)
            assert (link.onec_id if link else None) == (f"o{i}" if i <= 20 else None)
            partner = f"o{i}"
            assert look.seen("onec", partner).external_id == partner
            assert [x.external_id for x in look.by_key("onec", f"k{i}")] == [partner]
            assert look.xref("onec", partner) == link
            assert look.held("crm", r.external_id) is (i == 7)
            assert (look.pending_intent("onec", r.external_id) is not None) is (i == 3)
            assert (look.pending_intent("crm", partner) is not None) is (i == 4)
        assert [x.external_id for x in look.by_key("crm", "k5")] == ["5", "99"]
        assert look.xref("crm", "99") is None
    assert ran == []


def test_questions_outside_the_batch_fall_through_to_staging(staging):
    batch = [r for r in world(staging) if r.external_id == "1"]
    look = BatchLookups(staging, E, "crm", batch)
    with statements(staging.engine) as ran:
        assert look.xref("crm", "2").onec_id == "o2"
        assert look.seen("onec", "o33").external_id == "o33"
        assert [x.external_id for x in look.by_key("crm", "k5")] == ["5", "99"]
        assert look.pending_intent("onec", "3").target_id == "o3"
        assert look.held("crm", "7") is True
        asked = len(ran)
        look.xref("crm", "2"), look.seen("onec", "o33"), look.held("crm", "7")  # kept: no second query
    assert asked == 5 and len(ran) == asked


def test_writes_are_seen_by_later_records_and_reach_staging(staging):
    batch = world(staging)
    with staging.batch() as bound:
        look = BatchLookups(bound, E, "crm", batch)
        link = look.link("30", "o30", base={"name": "x"})
        assert look.xref("crm", "30") is link and look.xref("onec", "o30") is link
        updated = look.update_base("30", "o30", base={"name": "y"}, crm_hash="h", onec_hash="h")
        assert updated.base == {"name": "y"}
        assert look.xref("onec", "o30").base == {"name": "y"}

        queued = look.pending_intent("onec", "3")
        look.abandon_intent(queued, "superseded")
        assert look.pending_intent("onec", "3") is None
        fresh = look.open_intent("onec", "update", "3", {"n": 33}, target_id="o3")
        assert look.pending_intent("onec", "3") is fresh

        look.quarantine("crm", "8", "kpp", "плохой КПП", "bad KPP")
        assert look.held("crm", "8") is True
        look.release("crm", "7")
        assert look.held("crm", "7") is False

        for r in batch:
            look.handled(r)
        with statements(staging.engine) as ran:
            look.flush()
        assert len(ran) == 1  # every handled record cleared in one UPDATE
    assert staging.xref_by_crm(E, "30").base == {"name": "y"}
    assert staging.pending_intent(E, "onec", "crm", "3").payload == {"n": 33}
    assert staging.quarantined_ids(E, "crm", ["7", "8"]) == {"8"}
    assert staging.dirty_records("crm", E) == []
