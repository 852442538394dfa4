"""Pilot filters: which records a ``pilot`` run syncs, e.g. ``{"inn": ["7707083893"], "assigned_by": ["7"]}``.

An entity says which keys it understands and how they map to its records
(:attr:`crm1c.sync.spec.EntitySpec.pilot_match`); a record is in the pilot when any key matches it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

PilotFilter = dict[str, list[str]]


def check_pilot_filter(value: Any, keys: Collection[str]) -> PilotFilter:
    """``value`` as stored: ``{key: [values as text]}`` (a single value becomes a list of one).

    Raises :class:`ValueError` naming the problem: not an object, empty, an unknown key, an empty list, a
    value that is not text or a number.
    """
    known = ", ".join(keys)
    if not isinstance(value, Mapping) or not value:
        raise ValueError(
            f'pilot_filter must be a non-empty object such as {{"inn": ["7707083893"]}}; keys: {known}'
        )
    unknown = sorted(str(k) for k in value if k not in keys)
    if unknown:
        raise ValueError(f"pilot_filter: unknown key(s) {', '.join(unknown)}; known: {known}")
    return {str(key): _values(str(key), items) for key, items in value.items()}


def _values(key: str, items: Any) -> list[str]:
    items = items if isinstance(items, list | tuple) else [items]
    out = []
    for item in items:
        text = str(item).strip() if isinstance(item, str | int) and not isinstance(item, bool) else ""
        if not text:
            raise ValueError(f"pilot_filter.{key}: {item!r} is not a value to match (give text or numbers)")
        out.append(text)
    if not out:
        raise ValueError(f"pilot_filter.{key}: the list is empty")
    return out


def pilot_predicate(
    match: Callable[[Any, PilotFilter], bool], pilot_filter: PilotFilter
) -> Callable[[Any], bool]:
    """The engine's per-record check (:attr:`crm1c.sync.runtime.SyncEnv.pilot`) for one filter."""
    return lambda record: match(record, pilot_filter)
