"""Transaction handling shared by the repository mixins."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from crm1c.staging.db import read_only
from crm1c.staging.errors import StagingError
from crm1c.staging.schema import utcnow

T = TypeVar("T")
CHUNK = 500  # ids per IN (...) list


class StagingBase:
    """Holds the engine; every public method runs in its own transaction unless given ``conn``."""

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = utcnow) -> None:
        if engine.dialect.name not in ("sqlite", "postgresql"):
            raise StagingError(f"unsupported staging database dialect: {engine.dialect.name}")
        self.engine = engine
        self._reader = read_only(engine)
        self._clock = clock

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """Open one write transaction; pass it as ``conn=`` to several calls so they commit together."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def batch(self) -> Iterator[Any]:
        """A view of this repository whose every call runs in ONE transaction, committed at the end
        (all or nothing): many small writes without a commit each."""
        with self.engine.begin() as conn:
            yield _Bound(self, conn)

    @contextmanager
    def _write(self, conn: Connection | None) -> Iterator[Connection]:
        if conn is not None:
            yield conn
            return
        with self.engine.begin() as new_conn:
            yield new_conn

    @contextmanager
    def _read(self, conn: Connection | None) -> Iterator[Connection]:
        if conn is not None:
            yield conn
            return
        with self._reader.begin() as new_conn:
            yield new_conn

    def _insert(self, table: sa.Table) -> Any:
        """A dialect INSERT that supports ``on_conflict_do_*`` (same API on SQLite and PostgreSQL)."""
        return (postgresql.insert if self.is_postgres else sqlite.insert)(table)

    def _now(self) -> datetime:
        return self._clock()


def to_model(cls: type[T], row: sa.Row[Any] | None, **extra: Any) -> T | None:
    return None if row is None else cls(**row._mapping, **extra)


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _Bound:
    """A repository with ``conn`` filled in for every method (see :meth:`StagingBase.batch`)."""

    def __init__(self, repo: StagingBase, conn: Connection) -> None:
        self._repo, self._conn = repo, conn

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        yield self._conn

    @contextmanager
    def batch(self) -> Iterator[Any]:
        yield self

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._repo, name)
        if not callable(attr) or name.startswith("_"):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("conn", self._conn)
            return attr(*args, **kwargs)

        return call
