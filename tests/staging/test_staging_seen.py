"""seen_record: change detection, batch dedup, tombstones; watermarks and run stats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from crm1c.staging import SeenInput, content_hash


def rec(ext_id: str, name: str, version: str = "v1", **kw) -> SeenInput:
    return SeenInput(
        ext_id, raw={"ID": ext_id, "TITLE": name}, normalised={"name": name}, version=version, **kw
    )


def test_new_changed_unchanged(staging):
    first = staging.upsert_seen("crm", "counterparty", [rec("1", "Ромашка"), rec("2", "Лютик")])
    assert (first.new, first.changed, first.unchanged) == (["1", "2"], [], [])

    second = staging.upsert_seen(
        "crm", "counterparty", [rec("1", "Ромашка", "v2"), rec("2", "Лютик 2", "v2")]
    )
    assert (second.new, second.changed, second.unchanged) == ([], ["2"], ["1"])
    assert second.to_sync == ["2"]

    one = staging.get_seen("crm", "counterparty", "1")
    assert one.version == "v2"  # touched: version and last_seen follow the source
    assert one.last_seen >= one.first_seen
    assert staging.get_seen("crm", "counterparty", "2").normalised == {"name": "Лютик 2"}


def test_same_second_edit_is_detected_by_content_hash(staging):
    """Bitrix DATE_MODIFY has 1 s resolution: same version, different content is still a change."""
    staging.upsert_seen("crm", "counterparty", [rec("1", "A", "2025-01-01T10:00:00+03:00")])
    result = staging.upsert_seen("crm", "counterparty", [rec("1", "B", "2025-01-01T10:00:00+03:00")])
    assert result.changed == ["1"]


def test_duplicates_in_a_batch_keep_the_last(staging):
    batch = [rec("1", "A", "v1"), rec("2", "X"), rec("1", "A", "v1"), rec("1", "B", "v2")]
    result = staging.upsert_seen("onec", "counterparty", batch)
    assert result.duplicates == 2
    assert sorted(result.new) == ["1", "2"]
    assert staging.get_seen("onec", "counterparty", "1").version == "v2"


def test_content_hash_defaults_to_hash_of_normalised(staging):
    staging.upsert_seen("crm", "counterparty", [rec("1", "A")])
    assert staging.get_seen("crm", "counterparty", "1").content_hash == content_hash({"name": "A"})
    staging.upsert_seen("crm", "counterparty", [SeenInput("2", raw={"x": 1})])
    assert staging.get_seen("crm", "counterparty", "2").content_hash == content_hash({"x": 1})


def test_systems_and_entities_are_separate(staging):
    staging.upsert_seen("crm", "counterparty", [rec("1", "A")])
    assert staging.upsert_seen("onec", "counterparty", [rec("1", "A")]).new == ["1"]
    assert staging.upsert_seen("crm", "invoice", [rec("1", "A")]).new == ["1"]


def test_tombstone_and_resurrection(staging):
    staging.upsert_seen("crm", "counterparty", [rec("1", "A"), rec("2", "B")])
    assert staging.mark_deleted("crm", "counterparty", ["1", "404"]) == ["1"]
    assert staging.mark_deleted("crm", "counterparty", ["1"]) == []  # already tombstoned
    assert [r.external_id for r in staging.seen_records("crm", "counterparty")] == ["2"]
    assert len(staging.seen_records("crm", "counterparty", include_deleted=True)) == 2

    again = staging.upsert_seen("crm", "counterparty", [rec("1", "A")])
    assert again.changed == ["1"]
    assert staging.get_seen("crm", "counterparty", "1").deleted is False


def test_large_batches_and_id_filter(staging):
    ids = [f"{i:05d}" for i in range(1200)]
    assert len(staging.upsert_seen("onec", "item", [rec(i, i) for i in ids]).new) == 1200
    assert len(staging.upsert_seen("onec", "item", [rec(i, i) for i in ids]).unchanged) == 1200
    picked = staging.seen_records("onec", "item", external_ids=ids[::2])
    assert [r.external_id for r in picked] == ids[::2]


def test_datetimes_are_utc_aware_and_values_round_trip(staging):
    msk = timezone(timedelta(hours=3))
    source_ts = datetime(2025, 3, 1, 12, 30, 15, 123456, tzinfo=msk)
    raw = {"amount": Decimal("10.50"), "name": "ООО «Ромашка» 🌼", "when": source_ts}
    staging.upsert_seen("crm", "invoice", [SeenInput("7", raw=raw, source_ts=source_ts)])
    row = staging.get_seen("crm", "invoice", "7")
    assert row.source_ts == source_ts and row.source_ts.tzinfo == UTC
    assert row.raw == {
        "amount": "10.50",
        "name": "ООО «Ромашка» 🌼",
        "when": "2025-03-01T09:30:15.123456+00:00",
    }
    assert row.first_seen.tzinfo == UTC


def test_naive_datetimes_are_rejected(staging):
    with pytest.raises(Exception, match="naive datetime"):
        staging.upsert_seen("crm", "invoice", [SeenInput("7", raw={}, source_ts=datetime(2025, 1, 1))])


def test_upsert_and_watermark_commit_together(staging):
    with pytest.raises(RuntimeError), staging.transaction() as conn:
        staging.upsert_seen("crm", "counterparty", [rec("1", "A")], conn=conn)
        staging.set_watermark("crm", "counterparty", "2025-01-01T00:00:00+03:00", conn=conn)
        raise RuntimeError("crash before commit")
    assert staging.get_seen("crm", "counterparty", "1") is None
    assert staging.get_watermark("crm", "counterparty") is None

    with staging.transaction() as conn:
        staging.upsert_seen("crm", "counterparty", [rec("1", "A")], conn=conn)
        staging.set_watermark("crm", "counterparty", "w1", conn=conn)
    assert staging.get_watermark("crm", "counterparty") == "w1"
    staging.set_watermark("crm", "counterparty", "w2")
    assert staging.get_watermark("crm", "counterparty") == "w2"
    assert staging.get_watermark("onec", "counterparty") is None


def test_run_stats_are_upserted(staging):
    start = datetime(2025, 1, 1, tzinfo=UTC)
    staging.record_run_stats("run1", "counterparty", "extract_crm", start, None, {"read": 10})
    staging.record_run_stats("run1", "counterparty", "extract_crm", start, start + timedelta(1), {"read": 12})
    staging.record_run_stats("run1", "counterparty", "load_onec", start, None, {"created": 3})
    stats = staging.run_stats("run1")
    assert [(s.task, s.counters) for s in stats] == [
        ("extract_crm", {"read": 12}),
        ("load_onec", {"created": 3}),
    ]
    assert stats[0].finished_at == start + timedelta(1)
