"""PHP-bracket query encoding for Bitrix24 ``batch`` sub-commands (protocols C.2, C.12).

``encode({"filter": {">ID": 5}, "select": ["ID", "TITLE"]})`` gives
``filter[%3EID]=5&select[0]=ID&select[1]=TITLE``: brackets stay literal, every key segment and every value
is percent-encoded as UTF-8 (quotes, Cyrillic, emoji, ``&``, ``=``, ``%``, ``+``, spaces), so PHP's
``parse_str`` restores exactly the nested structure. Lists get explicit indices (order kept, nested dicts
inside lists work). A :class:`BatchRef` is written verbatim: it is the ``$result[cmd][…]`` reference that
the portal substitutes before running the command.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote

_REF_PART = re.compile(r"^[A-Za-z0-9_]+$")


@dataclass(frozen=True)
class BatchRef:
    """Reference to an earlier command's result in one batch: ``BatchRef("c0", 49, "ID")``, or the whole
    (scalar) result of an ``*.add``: ``BatchRef("c0")``."""

    command: str
    path: tuple[str | int, ...]

    def __init__(self, command: str, *path: str | int) -> None:
        parts = (command, *path)
        if not all(_REF_PART.match(str(p)) for p in parts):
            raise ValueError(f"invalid batch reference parts: {parts!r}")
        object.__setattr__(self, "command", command)
        object.__setattr__(self, "path", tuple(path))

    def __str__(self) -> str:
        return "$result" + "".join(f"[{p}]" for p in (self.command, *self.path))


def scalar(value: Any) -> str:
    """Text of a scalar as PHP receives it: True→"1", False→"0", None→"", numbers as written."""
    if value is None:
        return ""
    if value is True:
        return "1"
    if value is False:
        return "0"
    if isinstance(value, int | Decimal | str):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    raise TypeError(f"cannot encode a value of type {type(value).__name__} in a Bitrix24 query")


def _quote(text: str) -> str:
    return quote(text, safe="", encoding="utf-8", errors="strict")


def pairs(params: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Flatten ``params`` into encoded ``(key, value)`` pairs; empty arrays are rejected (PHP drops them)."""
    out: list[tuple[str, str]] = []
    for raw_key, value in params.items():
        key = _quote(str(raw_key))
        _flatten(f"{prefix}[{key}]" if prefix else key, value, out)
    return out


def _flatten(key: str, value: Any, out: list[tuple[str, str]]) -> None:
    if isinstance(value, BatchRef):
        out.append((key, str(value)))
    elif isinstance(value, Mapping):
        if not value:
            raise ValueError(f"cannot encode an empty object at {key!r} (PHP would drop the key)")
        out.extend(pairs(value, key))
    elif isinstance(value, Sequence) and not isinstance(value, str | bytes):
        if not value:
            raise ValueError(f"cannot encode an empty array at {key!r} (PHP would drop the key)")
        for index, item in enumerate(value):
            _flatten(f"{key}[{index}]", item, out)
    else:
        out.append((key, _quote(scalar(value))))


def encode(params: Mapping[str, Any]) -> str:
    """``k=v&…`` query string of ``params`` in PHP-bracket form."""
    return "&".join(f"{k}={v}" for k, v in pairs(params))


def command(method: str, params: Mapping[str, Any] | None = None) -> str:
    """One batch ``cmd`` entry: ``method?query`` (just ``method`` without params)."""
    if not re.fullmatch(r"[A-Za-z0-9_.]+", method):
        raise ValueError(f"invalid Bitrix24 method name {method!r}")
    query = encode(params or {})
    return f"{method}?{query}" if query else method
