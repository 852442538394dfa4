"""Incremental cursors (watermarks) of the CRM readers: staged during extract, promoted by publish.

A reader stages the newest ``DATE_MODIFY`` it read; :func:`promote` makes every staged cursor of the entity
current only once the run's writes are done, so a run that dies before publish reads the same changes
again. An entity may keep several cursors (``cursor=""`` is its main one, e.g. ``"requisite"`` another).
"""

from __future__ import annotations

from datetime import datetime

from crm1c.sync.runtime import SyncEnv


def since(env: SyncEnv, key: str, mode: str, cursor: str = "") -> str | None:
    """Where an incremental read starts (the cursor minus the overlap); None: read everything."""
    mark = current(env, key, cursor)
    if mode == "full" or mark is None:
        return None
    return (datetime.fromisoformat(mark) - env.overlap).isoformat()


def current(env: SyncEnv, key: str, cursor: str = "") -> str | None:
    return env.staging.get_watermark("crm", key, cursor)


def stage(env: SyncEnv, key: str, value: str, cursor: str = "") -> None:
    env.staging.stage_watermark("crm", key, value, cursor)


def promote(env: SyncEnv, key: str) -> None:
    env.staging.promote_watermarks("crm", key)


def later(a: str | None, b: str | None) -> str | None:
    """The later of two ISO timestamps (either may be None)."""
    if a is None or b is None:
        return a or b
    return a if datetime.fromisoformat(a) >= datetime.fromisoformat(b) else b
