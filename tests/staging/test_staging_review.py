"""quarantine (upsert / resolve) and conflict (dedup / supersede / resolve)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from crm1c.staging import RECORD_LEVEL, NotFoundError, Staging
from crm1c.staging.schema import quarantine as quarantine_table


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def bad_inn(staging, external_id="42", payload=None):
    return staging.quarantine(
        "counterparty",
        "crm",
        external_id,
        "inn",
        "Неверная контрольная сумма ИНН",
        "Bad INN checksum",
        payload,
    )


def test_quarantine_upsert_bumps_occurrences(engine):
    staging = Staging(engine, clock=Clock())
    first = bad_inn(staging, payload={"INN": "7707083894"})
    again = bad_inn(staging, payload={"INN": "7707083895"})
    assert again.id == first.id
    assert again.occurrences == 2
    assert again.first_seen == first.first_seen and again.last_seen > first.last_seen
    assert again.payload == {"INN": "7707083895"}
    other = staging.quarantine("counterparty", "crm", "42", RECORD_LEVEL, "Нет названия", "No name")
    assert other.id != first.id
    assert len(staging.open_quarantine("counterparty")) == 2
    assert staging.open_quarantine("invoice") == []


def test_resolve_quarantine_closes_all_rows_of_the_record(staging):
    bad_inn(staging)
    staging.quarantine("counterparty", "crm", "42", "kpp", "Неверный КПП", "Bad KPP")
    bad_inn(staging, external_id="43")
    assert staging.resolve_quarantine("counterparty", "crm", "42") == 2
    assert staging.resolve_quarantine("counterparty", "crm", "42") == 0
    assert [q.external_id for q in staging.open_quarantine()] == ["43"]
    reopened = bad_inn(staging)  # invalid again later: a new row, counting from 1
    assert reopened.occurrences == 1


def test_one_open_quarantine_row_is_enforced_by_the_database(staging, engine):
    item = bad_inn(staging)
    row = {c: getattr(item, c) for c in [col.name for col in quarantine_table.c] if c != "id"}
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(sa.insert(quarantine_table).values(row))


def test_identical_conflicts_are_recorded_once(staging):
    args = ("counterparty", "42", "guid-a", "phone", "+7 900", "+7 901", "+7 000")
    first = staging.record_conflict(*args)
    assert staging.record_conflict(*args) == first
    assert staging.open_conflicts() == [first]


def test_a_changed_conflict_supersedes_the_open_one(staging):
    first = staging.record_conflict("counterparty", "42", "guid-a", "phone", "+7 900", "+7 901", None)
    second = staging.record_conflict("counterparty", "42", "guid-a", "phone", "+7 902", "+7 901", None)
    assert second.id != first.id
    assert staging.open_conflicts("counterparty") == [second]
    staging.record_conflict("counterparty", "42", "guid-a", "email", {"v": 1}, {"v": 2}, None)
    assert len(staging.open_conflicts("counterparty")) == 2


def test_resolve_conflict(staging):
    conflict = staging.record_conflict("counterparty", "42", "guid-a", "name", "A", "B", "C")
    resolved = staging.resolve_conflict(conflict.id, "onec_wins")
    assert resolved.resolution == "onec_wins" and resolved.resolved_at is not None
    assert staging.open_conflicts() == []
    with pytest.raises(NotFoundError):
        staging.resolve_conflict(conflict.id, "crm_wins")
