"""Typed OData v3 ``$filter`` literals and a tiny expression builder (protocols A.10, reliability F12).

User data reaches a filter only as a typed literal: strings are quoted with ``'`` doubled, GUIDs and dates
are validated, field paths must be identifiers. Nothing is ever concatenated from raw text::

    expr = (F("ИНН") == inn) & ~F("DeletionMark") | F("Контрагент/ИНН").startswith("77")
    expr = F("Контрагент_Key") == guid(ref)                       # guid'…'
    expr = F("Date") >= datetime(dt.datetime(2026, 1, 1))         # datetime'2026-01-01T00:00:00'
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

_SEGMENT = re.compile(r"^[^\W\d]\w*$", re.UNICODE)


class Literal:
    """An already-rendered, validated literal (made only by the builders below)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"Literal({self.text})"


def string(value: str) -> Literal:
    """``'…'`` with every ``'`` doubled."""
    if not isinstance(value, str):
        raise TypeError(f"string literal needs str, got {type(value).__name__}")
    return Literal("'" + value.replace("'", "''") + "'")


def guid(value: str | uuid.UUID) -> Literal:
    """``guid'…'`` of a valid UUID (raises ValueError otherwise)."""
    return Literal(f"guid'{uuid.UUID(str(value))}'")


def datetime(value: dt.datetime | dt.date) -> Literal:
    """``datetime'YYYY-MM-DDTHH:MM:SS'``: 1C has no time zones and no fractional seconds (truncated)."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            raise ValueError("1C dates carry no time zone: convert to the infobase's local time first")
        value = value.replace(microsecond=0)
    elif isinstance(value, dt.date):
        value = dt.datetime(value.year, value.month, value.day)
    else:
        raise TypeError(f"datetime literal needs date/datetime, got {type(value).__name__}")
    return Literal(f"datetime'{value.isoformat(timespec='seconds')}'")


def number(value: int | float | Decimal) -> Literal:
    """A bare number (no exponent); booleans and NaN/inf are refused."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise TypeError(f"number literal needs int/float/Decimal, got {type(value).__name__}")
    if isinstance(value, int):
        return Literal(str(value))
    dec = Decimal(str(value)) if isinstance(value, float) else value
    if not dec.is_finite():
        raise ValueError("number literal must be finite")
    return Literal(format(dec, "f"))


def boolean(value: bool) -> Literal:
    if not isinstance(value, bool):
        raise TypeError("boolean literal needs bool")
    return Literal("true" if value else "false")


def literal(value: Any) -> Literal:
    """Typed literal of a Python value (str → string, never guid: use :func:`guid` for keys)."""
    if isinstance(value, Literal):
        return value
    if value is None:
        return Literal("null")
    if isinstance(value, bool):
        return boolean(value)
    if isinstance(value, str):
        return string(value)
    if isinstance(value, uuid.UUID):
        return guid(value)
    if isinstance(value, dt.date):
        return datetime(value)
    return number(value)


class Expr:
    """A filter expression; combine with ``&``, ``|``, ``~``. ``str(expr)`` renders it."""

    def render(self) -> str:
        raise NotImplementedError

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        return f"Expr({self.render()})"

    def __and__(self, other: Expr) -> Expr:
        return _Logic("and", self, _expr(other))

    def __or__(self, other: Expr) -> Expr:
        return _Logic("or", self, _expr(other))

    def __invert__(self) -> Expr:
        return _Raw(f"not ({self.render()})")

    def __bool__(self) -> bool:
        raise TypeError(
            "filter expressions have no truth value: use &, | and ~ (not and/or/not, no chaining)"
        )


def _expr(value: Any) -> Expr:
    if not isinstance(value, Expr):
        raise TypeError(f"expected a filter expression, got {type(value).__name__}")
    return value


class _Raw(Expr):
    def __init__(self, text: str) -> None:
        self._text = text

    def render(self) -> str:
        return self._text


class _Logic(Expr):
    def __init__(self, op: str, left: Expr, right: Expr) -> None:
        self.op, self.left, self.right = op, left, right

    def render(self) -> str:
        return f"({self.left.render()}) {self.op} ({self.right.render()})"


def _operand(value: Any) -> str:
    return value.path if isinstance(value, F) else literal(value).text


class F(Expr):
    """A property path: ``F("ИНН")``, navigation ``F("Контрагент/ИНН")``; alone it means ``F eq true``."""

    def __init__(self, path: str) -> None:
        segments = path.split("/") if isinstance(path, str) else []
        if not segments or not all(_SEGMENT.match(s) for s in segments):
            raise ValueError(f"invalid OData property path {path!r}")
        self.path = path

    def render(self) -> str:
        return f"{self.path} eq true"

    def __invert__(self) -> Expr:
        return _Raw(f"{self.path} eq false")

    def _cmp(self, op: str, value: Any) -> Expr:
        return _Raw(f"{self.path} {op} {_operand(value)}")

    def __eq__(self, value: Any) -> Expr:  # type: ignore[override]
        return self._cmp("eq", value)

    def __ne__(self, value: Any) -> Expr:  # type: ignore[override]
        return self._cmp("ne", value)

    def __lt__(self, value: Any) -> Expr:
        return self._cmp("lt", value)

    def __le__(self, value: Any) -> Expr:
        return self._cmp("le", value)

    def __gt__(self, value: Any) -> Expr:
        return self._cmp("gt", value)

    def __ge__(self, value: Any) -> Expr:
        return self._cmp("ge", value)

    __hash__ = None  # type: ignore[assignment]

    def startswith(self, prefix: str) -> Expr:
        return _Raw(f"startswith({self.path}, {string(prefix).text}) eq true")

    def endswith(self, suffix: str) -> Expr:
        return _Raw(f"endswith({self.path}, {string(suffix).text}) eq true")

    def contains(self, part: str) -> Expr:
        return _Raw(f"substringof({string(part).text}, {self.path}) eq true")

    def in_(self, values: Iterable[Any]) -> Expr:
        """``(p eq v1) or (p eq v2) …``; an empty set is refused (it would match everything or nothing)."""
        items = [self == v for v in values]
        if not items:
            raise ValueError("in_() needs at least one value")
        out = items[0]
        for item in items[1:]:
            out = out | item
        return out
