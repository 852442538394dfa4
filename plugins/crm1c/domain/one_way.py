"""A one-way merge: 1C is the master of a record's fields and the CRM follows (nomenclature, payments).

The merge never writes 1C. Where the CRM holds another value than 1C, the 1C value is written to the CRM;
where the CRM value also differs from the agreed base, somebody edited it in the CRM: that is reported as a
conflict (1C wins) and overwritten.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Conflict:
    """A CRM edit of a field 1C owns: it is overwritten with the 1C value and reported."""

    field: str
    base: Any
    crm: Any
    onec: Any
    winner: str = "onec"


@dataclass(frozen=True)
class OneWayMerge:
    """What the merge of an entity 1C is the master of returns (:class:`crm1c.sync.spec.Merged`)."""

    merged: Any
    to_crm: dict[str, Any] = field(default_factory=dict)
    to_onec: dict[str, Any] = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)


def follow(base: Any, crm: Any, want: Mapping[str, Any]) -> tuple[dict[str, Any], list[Conflict]]:
    """The fields where ``crm`` differs from what 1C ``want``\\ s (to write to the CRM), and among them the
    ones the CRM changed since the agreed ``base`` (None: no base yet, nothing to report)."""
    to_crm = {name: value for name, value in want.items() if getattr(crm, name) != value}
    conflicts = [
        Conflict(name, getattr(base, name), getattr(crm, name), value)
        for name, value in to_crm.items()
        if base is not None and getattr(crm, name) != getattr(base, name)
    ]
    return to_crm, conflicts
