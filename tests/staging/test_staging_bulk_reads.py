"""The planner's bulk reads: each answers what its one-record sibling answers, for many records at once."""

from __future__ import annotations

from crm1c.staging import SeenInput

E = "counterparty"
N = 1_100  # more than one IN (...) chunk of 500


def seen(ext_id: str, key: str | None) -> SeenInput:
    return SeenInput(ext_id, raw={"ID": ext_id}, normalised={"id": ext_id}, version="v1", match_key=key)


def test_by_match_keys_agrees_with_by_match_key(staging):
    staging.upsert_seen("crm", E, [seen(f"c{i}", f"k{i % 700}") for i in range(N)])
    staging.upsert_seen("onec", E, [seen("o1", "k1")])  # another system
    staging.upsert_seen("crm", "product", [seen("p1", "k1")])  # another entity
    staging.mark_deleted("crm", E, ["c1"])  # a tombstone carries its key but is not a live holder

    wanted = [f"k{i}" for i in range(700)] + ["k-nobody"]
    groups = staging.by_match_keys("crm", E, wanted)

    assert set(groups) == set(wanted)
    assert groups["k-nobody"] == []
    assert [r.external_id for r in groups["k1"]] == ["c701"]
    for key in ("k0", "k2", "k699"):
        assert groups[key] == staging.by_match_key("crm", E, key)


def test_xrefs_of_each_side(staging):
    for i in range(N):
        staging.link(E, f"{i}", f"ref-{i}")
    staging.link("product", "5", "ref-p5")

    by_crm = staging.xrefs_of(E, "crm", [str(i) for i in range(0, N, 2)] + ["missing"])
    assert len(by_crm) == (N + 1) // 2 and "missing" not in by_crm
    assert by_crm["1000"] == staging.xref_by_crm(E, "1000")
    by_onec = staging.xrefs_of(E, "onec", ["ref-5", "ref-p5"])
    assert list(by_onec) == ["ref-5"] and by_onec["ref-5"].crm_id == "5"


def test_pending_intents_of_only_pending_of_that_direction(staging):
    ids = [str(i) for i in range(N)]
    for i in ids:
        staging.open_intent(E, "onec", "update", "crm", i, {"n": i}, target_id=f"ref-{i}")
    done = staging.open_intent(E, "onec", "update", "crm", "done", {"n": 0}, target_id="ref-done")
    staging.complete_intent(done.id, "ref-done")
    staging.open_intent(E, "crm", "update", "onec", "0", {"n": 0}, target_id="c0")  # other direction

    found = staging.pending_intents_of(E, "onec", "crm", [*ids, "done", "none"])
    assert set(found) == set(ids)
    assert found["7"] == staging.pending_intent(E, "onec", "crm", "7")
    assert staging.pending_intents_of(E, "crm", "onec", ["0", "1"]).keys() == {"0"}


def test_quarantined_ids_only_open_rows(staging):
    for i in range(N):
        staging.quarantine(E, "crm", str(i), "inn", "плохой ИНН", "bad INN")
    staging.resolve_quarantine(E, "crm", "3")
    staging.quarantine(E, "onec", "ref-1", "kpp", "плохой КПП", "bad KPP")

    held = staging.quarantined_ids(E, "crm", [str(i) for i in range(N)] + ["ref-1"])
    assert held == {str(i) for i in range(N)} - {"3"}
    assert staging.quarantined_ids(E, "onec", ["ref-1", "1"]) == {"ref-1"}


def test_seen_records_a_page_at_a_time(staging):
    staging.upsert_seen("onec", E, [seen(f"{i:04d}", None) for i in range(N)])
    staging.mark_deleted("onec", E, ["0001"])

    pages, after = [], None
    while page := staging.seen_records("onec", E, include_deleted=True, after=after, limit=500):
        pages.append([r.external_id for r in page])
        after = page[-1].external_id

    assert [len(p) for p in pages] == [500, 500, 100]
    assert [i for page in pages for i in page] == [f"{i:04d}" for i in range(N)]
    live = staging.seen_records("onec", E, after="0000", limit=2)
    assert [r.external_id for r in live] == ["0002", "0003"], "a tombstone only when asked for"


def test_clear_dirty_all_or_by_match_key(staging):
    rows = [seen("a1", "k1"), seen("a2", "k1"), seen("b1", "k2"), seen("n1", None), seen("n2", None)]
    staging.upsert_seen("onec", E, rows)
    staging.upsert_seen("onec", "product", [seen("p1", "k1")])  # another entity keeps its flag
    staging.mark_deleted("onec", E, ["a2"])  # a tombstone is dirty, and keeps its key

    def dirty() -> list[str]:
        return [r.external_id for r in staging.dirty_records("onec", E)]

    staging.clear_dirty("onec", E, match_keys=["k1", "k-nobody"])
    assert dirty() == ["b1", "n1", "n2"]
    staging.clear_dirty("onec", E, match_keys=[None])
    assert dirty() == ["b1"]
    staging.upsert_seen("onec", E, [SeenInput("n1", raw={"x": 2})])  # changed: dirty again
    assert dirty() == ["b1", "n1"]
    staging.clear_dirty("onec", E)
    assert dirty() == []
    assert [r.external_id for r in staging.dirty_records("onec", "product")] == ["p1"]


def test_without_match_key_lists_the_live_records_that_have_none(staging):
    staging.upsert_seen("onec", E, [seen("n2", None), seen("k", "k1"), seen("n1", None), seen("n3", None)])
    staging.upsert_seen("crm", E, [seen("n0", None)])  # another system
    staging.mark_deleted("onec", E, ["n3"])

    assert [r.external_id for r in staging.without_match_key("onec", E)] == ["n1", "n2"]
