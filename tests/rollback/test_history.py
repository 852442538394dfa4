"""What the audit log says: the 1C objects crm1c created since a moment, the mode before a rollback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from crm1c.rollback.history import ModeBefore, created_refs, mode_before_rollback, restore_target
from crm1c.staging import AuditEntry

SINCE = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def row(op: str, system: str | None, result: str, key: str | None, *, minutes: int = 1, **kw: Any) -> Any:
    values: dict[str, Any] = {
        "id": kw.pop("id", 1), "ts": SINCE + timedelta(minutes=minutes), "actor": "crm1c", "run_id": "r",
        "entity": kw.pop("entity", "counterparty"), "entity_key": key, "op": op, "system": system,
        "result": result, "detail": kw.pop("detail", None), "prev_hash": "", "hash": "",
    }  # fmt: skip
    return AuditEntry(**values)


def test_only_creations_in_1c_done_or_adopted_since_the_moment_for_the_entity():
    rows = [
        row("create", "onec", "done", "onec:a"),
        row("create", "onec", "adopted", "onec:b"),  # an earlier attempt's creation, found again
        row("create", "onec", "done", "onec:a", minutes=5),  # the same object twice: once
        row("create", "onec", "done", "onec:at-since", minutes=0),
        row("create", "onec", "done", "onec:old", minutes=-1),  # before since
        row("create", "crm", "done", "crm:42"),  # created in the CRM: not 1C's to undo
        row("update", "onec", "done", "onec:updated"),  # existed before: typed by hand, only updated
        row("mark_deleted", "onec", "done", "onec:gone"),
        row("create", "onec", "rejected", "crm:7"),  # refused by 1C: nothing was created
        row("create", "onec", "replanned", "crm:8"),
        row("create", "onec", "done", "onec:other", entity="nomenclature"),
    ]
    assert created_refs(rows, "counterparty", SINCE) == ["a", "b", "at-since"]


def test_a_rollback_remembers_the_current_mode():
    current = ModeBefore("pilot", {"inn": ["7707083893"]})
    assert mode_before_rollback(None, current) == current
    resumed = row("resume", None, "done", None, entity="counterparties", detail={"to": "on"})
    assert mode_before_rollback(resumed, current) == current


def test_rolling_back_twice_keeps_the_mode_of_before_the_first_rollback():
    first = row(
        "rollback", None, "done", None, id=7, entity="counterparties",
        detail={"from": "review", "pilot_filter": None, "to": "read_only"},
    )  # fmt: skip
    assert mode_before_rollback(first, ModeBefore("read_only")) == ModeBefore("review", None, 7)
    # someone set a mode by hand since: that is the mode to come back to
    assert mode_before_rollback(first, ModeBefore("shadow")) == ModeBefore("shadow")


def test_resume_restores_the_remembered_mode_and_a_second_resume_changes_nothing():
    rolled = row(
        "rollback", None, "done", None, id=9, entity="counterparties",
        detail={"from": "pilot", "pilot_filter": {"inn": ["7707083893"]}, "to": "off"},
    )  # fmt: skip
    assert restore_target(rolled) == ModeBefore("pilot", {"inn": ["7707083893"]}, 9)
    assert restore_target(None) == ModeBefore("on")
    resumed = row("resume", None, "done", None, detail={"to": "review", "rollback_audit_id": 9})
    assert restore_target(resumed) == ModeBefore("review", None, 9)
