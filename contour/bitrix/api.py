"""The method registry: handlers take a :class:`Call` and return a :class:`Reply` (or raise ``ApiError``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from contour.bitrix.app import BitrixApp


@dataclass
class Reply:
    result: Any
    total: int | None = None
    next: int | None = None


@dataclass
class Call:
    """One method invocation (top level or inside ``batch``). Parameter names are case-insensitive."""

    app: BitrixApp
    method: str
    params: dict[str, Any]
    user_id: int = 1
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.params = {str(k).lower(): v for k, v in self.params.items()}

    def param(self, name: str, default: Any = None) -> Any:
        return self.params.get(name.lower(), default)

    def emit(self, event: str, fields: dict[str, Any]) -> None:
        """Queue an outbound event; the app sends it once the method has succeeded (after commit)."""
        self.events.append((event, fields))


Handler = Callable[[Call], Reply]
REGISTRY: dict[str, Handler] = {}


def method(*names: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for name in names:
            REGISTRY[name.lower()] = fn
        return fn

    return register
