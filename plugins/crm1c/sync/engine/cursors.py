"""Incremental cursors (watermarks) of the CRM readers: staged during extract, promoted by publish.

A reader stages the newest ``DATE_MODIFY`` it read; :func:`promote` makes it the cursor only once the
run's writes are done, so a run that dies before publish reads the same changes again.
"""

from __future__ import annotations

from datetime import datetime

from crm1c.sync.runtime import SyncEnv


def _staged(name: str) -> str:
    return f"{name}:pending"


def since(env: SyncEnv, name: str, mode: str) -> str | None:
    """Where an incremental read of cursor ``name`` starts (the cursor minus the overlap); None: read all."""
    mark = env.staging.get_watermark("crm", name)
    if mode == "full" or mark is None:
        return None
    return (datetime.fromisoformat(mark) - env.overlap).isoformat()


def current(env: SyncEnv, name: str) -> str | None:
    return env.staging.get_watermark("crm", name)


def stage(env: SyncEnv, name: str, value: str) -> None:
    env.staging.set_watermark("crm", _staged(name), value)


def promote(env: SyncEnv, names: tuple[str, ...]) -> None:
    for name in names:
        if mark := env.staging.get_watermark("crm", _staged(name)):
            env.staging.set_watermark("crm", name, mark)


def later(a: str | None, b: str | None) -> str | None:
    """The later of two ISO timestamps (either may be None)."""
    if a is None or b is None:
        return a or b
    return a if datetime.fromisoformat(a) >= datetime.fromisoformat(b) else b
