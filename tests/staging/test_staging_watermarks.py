"""Watermarks: sub-cursors, staged values promoted by publish, and the pre-0003 encoded keys."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from crm1c.staging.schema import watermark

CP = "counterparty"


def rows(engine) -> set[tuple]:
    query = sa.select(*(watermark.c[n] for n in ("system", "entity", "cursor", "value", "pending_value")))
    with engine.connect() as conn:
        return set(conn.execute(query).tuples())


def test_sub_cursors_are_independent(staging):
    staging.set_watermark("crm", CP, "c1")
    staging.set_watermark("crm", CP, "r1", "requisite")
    staging.set_watermark("crm", CP, "r2", cursor="requisite")
    assert staging.get_watermark("crm", CP) == "c1"
    assert staging.get_watermark("crm", CP, "requisite") == "r2"
    assert staging.get_watermark("crm", CP, "other") is None
    assert staging.get_watermark("onec", CP, "requisite") is None


def test_staged_values_wait_for_promotion(staging, engine):
    staging.set_watermark("crm", CP, "c1")
    staging.stage_watermark("crm", CP, "c2")
    staging.stage_watermark("crm", CP, "r1", "requisite")  # a cursor with only a staged value so far
    staging.stage_watermark("crm", "deal", "d1")
    assert staging.get_watermark("crm", CP) == "c1"
    assert staging.get_watermark("crm", CP, "requisite") is None
    assert staging.staged_watermark("crm", CP) == "c2"
    assert staging.staged_watermark("crm", CP, "requisite") == "r1"

    assert staging.promote_watermarks("crm", CP) == {"": "c2", "requisite": "r1"}
    assert (staging.get_watermark("crm", CP), staging.get_watermark("crm", CP, "requisite")) == ("c2", "r1")
    assert staging.staged_watermark("crm", CP) is None
    assert staging.staged_watermark("crm", "deal") == "d1"  # another entity is not promoted
    assert staging.promote_watermarks("crm", CP) == {}  # nothing staged: nothing changes
    assert staging.promote_watermarks("onec", "deal") == {}
    assert rows(engine) == {
        ("crm", CP, "", "c2", None),
        ("crm", CP, "requisite", "r1", None),
        ("crm", "deal", "", None, "d1"),
    }


def test_staging_keeps_the_value_and_promotion_joins_the_callers_transaction(staging):
    staging.set_watermark("crm", CP, "c1")
    staging.stage_watermark("crm", CP, "c2")
    staging.set_watermark("crm", CP, "c1b")  # setting the value leaves the staged one alone
    assert staging.staged_watermark("crm", CP) == "c2"
    with pytest.raises(RuntimeError), staging.transaction() as conn:
        assert staging.promote_watermarks("crm", CP, conn=conn) == {"": "c2"}
        raise RuntimeError("crash before commit")
    assert (staging.get_watermark("crm", CP), staging.staged_watermark("crm", CP)) == ("c1b", "c2")
    with staging.batch() as batch:
        batch.stage_watermark("crm", CP, "c3")
        assert batch.promote_watermarks("crm", CP) == {"": "c3"}
    assert staging.get_watermark("crm", CP) == "c3"


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.stage_watermark("crm", f"{CP}.requisite", "x"),
        lambda s: s.staged_watermark("crm", f"{CP}:pending"),
        lambda s: s.promote_watermarks("crm", f"{CP}.requisite"),
        lambda s: s.get_watermark("crm", f"{CP}.requisite"),
        lambda s: s.get_watermark("crm", f"{CP}:pending"),
        lambda s: s.set_watermark("crm", "a:b", "x"),
    ],
)
def test_a_cursor_is_not_spelled_into_the_entity_name(staging, call):
    with pytest.raises(ValueError, match="cursor="):
        call(staging)
