"""The ``rollback_switch`` parameters as they arrive from the form (or a caller), typed and checked.

Each function returns the typed value or raises :class:`ValueError` saying what is accepted.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

ACTIONS = ("rollback", "resume")
TARGET_MODES = ("read_only", "off")


def as_action(value: Any) -> str:
    if value not in ACTIONS:
        raise ValueError(f"action must be one of {', '.join(ACTIONS)}, got {value!r}")
    return str(value)


def as_entities(value: Any) -> list[str]:
    """A list of entity names as in DAG ids (a single name is a list of one); duplicates dropped."""
    from crm1c.sync.entities import ENTITY_NAMES

    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list | tuple) or not names:
        raise ValueError(f"entities must be a non-empty list of {', '.join(ENTITY_NAMES)}, got {value!r}")
    unknown = [n for n in names if n not in ENTITY_NAMES]
    if unknown:
        raise ValueError(f"unknown entities {unknown!r}; known: {', '.join(ENTITY_NAMES)}")
    return list(dict.fromkeys(names))


def as_target_mode(value: Any) -> str:
    if value not in TARGET_MODES:
        raise ValueError(f"target_mode must be one of {', '.join(TARGET_MODES)}, got {value!r}")
    return str(value)


def as_since(value: Any) -> datetime | None:
    """An ISO 8601 timestamp (``2026-05-04T09:30:00+03:00``; no offset means UTC), or None when empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise ValueError(f"since must be an ISO 8601 timestamp, got {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def compensation_since(compensate: bool, since: datetime | None) -> datetime | None:
    """``since`` when compensation is asked for (then it is required), else None."""
    if compensate and since is None:
        raise ValueError("compensate needs since: the moment from which crm1c's creations are undone")
    return since if compensate else None
