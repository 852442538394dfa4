"""Three-way merge of a counterparty between the CRM and 1C, against the last agreed state (the base).

A field changed on one side flows to the other. Changed on both sides to different values: the owner's
value wins and a :class:`FieldConflict` is reported. Deletion on one side propagates as an intent
(``{"deleted": True}``; in 1C that means ``DeletionMark``); the engine does the I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from crm1c.domain.counterparty import Counterparty, Side, tombstone

#: Fields only one system holds: the CRM company ID, and 1C's own key and a branch's head.
LINK_HOMES: dict[str, Side] = {
    "crm_id": "crm",
    "onec_ref": "onec",
    "head_ref": "onec",
    "head_inn": "onec",
    "head_kpp": "onec",
}
_NO_BASE = object()


@dataclass(frozen=True)
class Ownership:
    """``owners``: two-way field → the side that wins a conflict; ``homes``: one-way field → its system."""

    owners: Mapping[str, Side]
    homes: Mapping[str, Side] = field(default_factory=lambda: dict(LINK_HOMES))


@dataclass(frozen=True)
class FieldConflict:
    """A field both systems changed to different values since the base (``base`` None when there is none)."""

    field: str
    base: Any
    crm: Any
    onec: Any
    winner: Side


@dataclass(frozen=True)
class MergeResult:
    """``to_crm`` / ``to_onec``: canonical field → value to write there. ``merged``: the agreed record."""

    merged: Counterparty
    to_crm: dict[str, Any]
    to_onec: dict[str, Any]
    conflicts: list[FieldConflict]


def merge(
    base: Counterparty | None,
    crm: Counterparty | None,
    onec: Counterparty | None,
    ownership: Ownership,
) -> MergeResult:
    """Merge one counterparty. ``None`` means absent on that side: a new record when there is no base,
    a deletion when there is one. ``base`` None with both sides present is a first match: every
    difference between two filled values is a conflict.
    """
    if crm is None and onec is None:
        raise ValueError("merge needs the record on at least one side")
    if base is not None:
        crm = crm if crm is not None else tombstone(base)
        onec = onec if onec is not None else tombstone(base)
    if onec is None:
        return _create(crm, "onec", ownership)  # type: ignore[arg-type]
    if crm is None:
        return _create(onec, "crm", ownership)
    return _merge_both(base, crm, onec, ownership)


def _create(source: Counterparty, target: Side, ownership: Ownership) -> MergeResult:
    if source.deleted:
        return MergeResult(source, {}, {}, [])
    payload = _payload(source, ownership, target)
    return MergeResult(source, payload if target == "crm" else {}, payload if target == "onec" else {}, [])


def _payload(cp: Counterparty, ownership: Ownership, target: Side) -> dict[str, Any]:
    """Everything ``target`` needs to (re)create ``cp``: the filled two-way fields and the link back."""
    out = {name: getattr(cp, name) for name in ownership.owners if getattr(cp, name) is not None}
    link = "crm_id" if target == "onec" else "onec_ref"
    if getattr(cp, link) is not None:
        out[link] = getattr(cp, link)
    return out


def _merge_both(
    base: Counterparty | None, crm: Counterparty, onec: Counterparty, ownership: Ownership
) -> MergeResult:
    values: dict[str, Any] = {}
    writes: dict[Side, dict[str, Any]] = {"crm": {}, "onec": {}}
    conflicts: list[FieldConflict] = []
    for name, owner in ownership.owners.items():
        b = getattr(base, name) if base is not None else _NO_BASE
        value, loser, conflict = _merge_field(name, b, getattr(crm, name), getattr(onec, name), owner)
        values[name] = value
        if loser is not None:
            writes[loser][name] = value
        if conflict is not None:
            conflicts.append(conflict)
    sides: dict[Side, Counterparty] = {"crm": crm, "onec": onec}
    for name in Counterparty.model_fields:
        if name not in values:
            first = sides[ownership.homes.get(name, "crm")]
            second = onec if first is crm else crm
            values[name] = getattr(first, name) if getattr(first, name) is not None else getattr(second, name)
    merged = Counterparty(**values)
    if merged.deleted:
        return _deletion(base, crm, onec, merged, ownership, conflicts)
    for side, cp in sides.items():
        if cp.deleted:  # brought back: the side that deleted it needs the whole record again
            writes[side] = _payload(merged, ownership, side)
    conflicts += _link_writes(base, crm, onec, writes)
    return MergeResult(merged, writes["crm"], writes["onec"], conflicts)


def _merge_field(
    name: str, b: Any, c: Any, o: Any, owner: Side
) -> tuple[Any, Side | None, FieldConflict | None]:
    """(merged value, side to write it to or None, conflict or None) for one two-way field."""
    if c == o:
        return c, None, None
    if b is not _NO_BASE:
        if c == b:
            return o, "crm", None
        if o == b:
            return c, "onec", None
    elif c is None or o is None:
        return (o, "crm", None) if c is None else (c, "onec", None)
    loser: Side = "onec" if owner == "crm" else "crm"
    value = c if owner == "crm" else o
    return value, loser, FieldConflict(name, None if b is _NO_BASE else b, c, o, owner)


def _deletion(
    base: Counterparty | None,
    crm: Counterparty,
    onec: Counterparty,
    merged: Counterparty,
    ownership: Ownership,
    conflicts: list[FieldConflict],
) -> MergeResult:
    """Only the deletion flows; edits the other side made since the base are reported, not lost silently."""
    to_crm = {} if crm.deleted else {"deleted": True}
    to_onec = {} if onec.deleted else {"deleted": True}
    if base is not None and crm.deleted != onec.deleted and not any(c.field == "deleted" for c in conflicts):
        winner: Side = "crm" if crm.deleted else "onec"
        survivor = onec if crm.deleted else crm
        if any(getattr(survivor, n) != getattr(base, n) for n in ownership.owners if n != "deleted"):
            conflicts.append(FieldConflict("deleted", base.deleted, crm.deleted, onec.deleted, winner))
    return MergeResult(merged, to_crm, to_onec, conflicts)


def _link_writes(
    base: Counterparty | None, crm: Counterparty, onec: Counterparty, writes: dict[Side, dict[str, Any]]
) -> list[FieldConflict]:
    """Each system stores the other's key: fill it where missing; a different key there is a conflict."""
    conflicts = []
    links: tuple[tuple[str, Counterparty, Side], ...] = (("crm_id", crm, "onec"), ("onec_ref", onec, "crm"))
    for link, source, target in links:
        ours, stored = getattr(source, link), getattr(crm if target == "crm" else onec, link)
        if ours is None or stored == ours:
            continue
        writes[target][link] = ours
        if stored is not None:
            b = getattr(base, link) if base is not None else None
            conflicts.append(
                FieldConflict(link, b, getattr(crm, link), getattr(onec, link), LINK_HOMES[link])
            )
    return conflicts
