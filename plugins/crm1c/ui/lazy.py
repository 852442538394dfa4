"""An ASGI app built at its first request, so that registering the plugin imports nothing heavy."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class LazyApp:
    """Calls ``factory`` (``"package.module:function"``) once, then hands every request to what it built."""

    def __init__(self, factory: str) -> None:
        self.factory = factory
        self._app: Callable[[Scope, Receive, Send], Awaitable[None]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:
            module, _, name = self.factory.partition(":")
            self._app = getattr(importlib.import_module(module), name)()
        await self._app(scope, receive, send)
