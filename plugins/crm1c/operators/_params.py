"""Task parameters as they arrive after template rendering (strings, unless the DAG renders native objects).

Each function returns the typed value or raises :class:`ValueError` naming the parameter and what it accepts.
A value still holding a Jinja expression is left alone at construction time and checked once rendered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

MODES = ("incremental", "full")
POOL_RANGE = (1, 16)
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def is_template(value: Any) -> bool:
    """True for a string Airflow will render (``"{{ params.mode }}"``): checked after rendering instead."""
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def early(value: T, convert: Callable[[Any], Any]) -> T:
    """``value`` unchanged, after refusing a bad literal at DAG parse time (a template is checked once
    rendered)."""
    if not is_template(value):
        convert(value)
    return value


def as_bool(value: Any, name: str = "dry_run") -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError(f"{name} must be true or false, got {value!r}")


def as_mode(value: Any) -> str:
    mode = value.strip().lower() if isinstance(value, str) else value
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {value!r}")
    return str(mode)


def as_pool(value: Any) -> int:
    low, high = POOL_RANGE
    try:
        pool = int(value.strip()) if isinstance(value, str) else value
    except ValueError:
        pool = None
    if isinstance(pool, bool) or not isinstance(pool, int) or not low <= pool <= high:
        raise ValueError(f"onec_pool must be a whole number from {low} to {high}, got {value!r}")
    return pool
