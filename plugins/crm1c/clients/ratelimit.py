"""Client-side leaky bucket matching the Bitrix24 one (protocols C.13): +1 per HTTP request, drains Y/s,
the portal answers 503 QUERY_LIMIT_EXCEEDED above X. Plans: standard Y=2, X=50; enterprise Y=5, X=250.

:meth:`acquire` *reserves* a slot: it adds 1 to the level and sleeps until the level, drained, is back at
the capacity (X minus a safety margin). One transaction per request, fair (FIFO by reservation), and
conservative: reserved-but-unsent requests already count. Backends share one interface:
:class:`LocalBucket` (threads of one process) and :class:`SqlBucket` (every process and host using one
database, so all tasks hitting one portal share the budget, as the portal does).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError


@dataclass(frozen=True)
class BucketSpec:
    """Drain rate (requests/s), burst X, and the safety margin kept below X."""

    drain: float
    burst: int
    margin: int | None = None

    @property
    def capacity(self) -> float:
        margin = self.margin if self.margin is not None else max(2, round(self.burst * 0.1))
        return max(1.0, float(self.burst - margin))


PLANS: dict[str, BucketSpec] = {"standard": BucketSpec(2.0, 50), "enterprise": BucketSpec(5.0, 250)}


def drained(level: float, elapsed: float, drain: float) -> float:
    """Level after ``elapsed`` seconds of draining (never below 0)."""
    return max(0.0, level - max(0.0, elapsed) * drain)


def reserve(level: float, updated_at: float, now: float, spec: BucketSpec) -> tuple[float, float]:
    """Reserve one request: return ``(new_level, wait)``; the caller may send after ``wait`` seconds."""
    new_level = drained(level, now - updated_at, spec.drain) + 1.0
    return new_level, max(0.0, (new_level - spec.capacity) / spec.drain)


def saturate(level: float, updated_at: float, now: float, spec: BucketSpec) -> float:
    """Level to store after the portal said 503: assume its bucket is full (at least X)."""
    return max(drained(level, now - updated_at, spec.drain), float(spec.burst))


class RateLimiter(Protocol):
    """What the Bitrix24 client needs from a limiter."""

    def acquire(self) -> float:
        """Block until one request may be sent; return the seconds waited."""
        ...

    def penalize(self) -> None:
        """The server answered 503 QUERY_LIMIT_EXCEEDED: treat its bucket as full."""
        ...


class NoLimit:
    """A limiter that never waits (plan "off")."""

    def acquire(self) -> float:
        return 0.0

    def penalize(self) -> None:
        return None


class LocalBucket:
    """Thread-safe in-process bucket."""

    def __init__(
        self,
        spec: BucketSpec,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.spec = spec
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._level, self._updated = 0.0, clock()

    def acquire(self) -> float:
        with self._lock:
            now = self._clock()
            self._level, wait = reserve(self._level, self._updated, now, self.spec)
            self._updated = now
        if wait > 0:
            self._sleep(wait)
        return wait

    def penalize(self) -> None:
        with self._lock:
            now = self._clock()
            self._level, self._updated = saturate(self._level, self._updated, now, self.spec), now

    @property
    def level(self) -> float:
        with self._lock:
            return drained(self._level, self._clock() - self._updated, self.spec.drain)


metadata = sa.MetaData()
rate_limit_bucket = sa.Table(
    "rate_limit_bucket",
    metadata,
    sa.Column("bucket_key", sa.Text, primary_key=True),
    sa.Column("level", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)


class SqlBucket:
    """Bucket kept in table ``rate_limit_bucket``; one short locking transaction per request.

    PostgreSQL: ``SELECT … FOR UPDATE`` on the row, time from the database clock (shared by all hosts).
    SQLite: ``BEGIN IMMEDIATE`` (issued here unless the engine already did), time from this host.
    """

    def __init__(
        self,
        engine: Engine,
        key: str,
        spec: BucketSpec = PLANS["standard"],
        *,
        sleep: Callable[[float], None] = time.sleep,
        lock_retries: int = 20,
    ) -> None:
        self.engine, self.key, self.spec = engine, key, spec
        self._sleep = sleep
        self._lock_retries = lock_retries

    def acquire(self) -> float:
        wait = self._update(lambda level, updated, now: reserve(level, updated, now, self.spec))
        if wait > 0:
            self._sleep(wait)
        return wait

    def penalize(self) -> None:
        self._update(lambda level, updated, now: (saturate(level, updated, now, self.spec), 0.0))

    @property
    def level(self) -> float:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(rate_limit_bucket).where(rate_limit_bucket.c.bucket_key == self.key)
            ).first()
            now = self._now(conn)
        return 0.0 if row is None else drained(row.level, now - row.updated_at, self.spec.drain)

    def _update(self, step: Callable[[float, float, float], tuple[float, float]]) -> float:
        for attempt in range(self._lock_retries):
            try:
                return self._transaction(step)
            except OperationalError as exc:  # SQLite "database is locked" past the busy timeout
                if "locked" not in str(exc).lower() or attempt == self._lock_retries - 1:
                    raise
                self._sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    def _transaction(self, step: Callable[[float, float, float], tuple[float, float]]) -> float:
        table = rate_limit_bucket
        with self.engine.begin() as conn:
            self._lock_sqlite(conn)
            row = self._locked_row(conn)
            now = max(self._now(conn), row.updated_at)  # read the clock only once the row is ours
            level, wait = step(row.level, row.updated_at, now)
            conn.execute(
                table.update().where(table.c.bucket_key == self.key).values(level=level, updated_at=now)
            )
        return wait

    def _locked_row(self, conn: Connection) -> sa.Row:
        query = (
            sa.select(rate_limit_bucket.c.level, rate_limit_bucket.c.updated_at)
            .where(rate_limit_bucket.c.bucket_key == self.key)
            .with_for_update()
        )
        row = conn.execute(query).first()
        if row is None:
            self._insert_row(conn)
            row = conn.execute(query).one()
        return row

    @staticmethod
    def _lock_sqlite(conn: Connection) -> None:
        if conn.dialect.name != "sqlite":
            return
        raw = conn.connection.driver_connection
        if not getattr(raw, "in_transaction", False):
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    @staticmethod
    def _now(conn: Connection) -> float:
        if conn.dialect.name == "postgresql":
            return float(conn.execute(sa.text("SELECT extract(epoch FROM clock_timestamp())")).scalar_one())
        return time.time()

    def _insert_row(self, conn: Connection) -> None:
        values = {"bucket_key": self.key, "level": 0.0, "updated_at": self._now(conn)}
        dialect = {"postgresql": postgresql, "sqlite": sqlite}.get(conn.dialect.name)
        if dialect is None:
            conn.execute(rate_limit_bucket.insert().values(**values))
        else:
            conn.execute(dialect.insert(rate_limit_bucket).values(**values).on_conflict_do_nothing())


def make_limiter(plan: str | None, *, engine: Engine | None = None, key: str = "bitrix24") -> RateLimiter:
    """Limiter for a plan ("standard" | "enterprise" | "off"/None); SQL-backed when ``engine`` is given."""
    if not plan or plan == "off":
        return NoLimit()
    if plan not in PLANS:
        raise ValueError(f"unknown Bitrix24 plan {plan!r}; expected one of {sorted(PLANS)} or 'off'")
    spec = PLANS[plan]
    return SqlBucket(engine, key, spec) if engine is not None else LocalBucket(spec)
