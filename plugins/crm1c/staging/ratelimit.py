"""The database-backed Bitrix24 rate bucket, and :func:`make_limiter`, the one way to build a limiter.

:class:`SqlBucket` keeps the leaky bucket of :mod:`crm1c.clients.ratelimit` in table ``rate_limit_bucket``
(created in the staging database by migration 0002; :mod:`crm1c.staging.schema` copies the table from here),
so every task, process and host hitting one portal shares one budget, as the portal does. It lives here, not
with the plain HTTP clients, which stay free of SQLAlchemy.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from crm1c.clients.ratelimit import (
    PLANS,
    BucketSpec,
    LocalBucket,
    NoLimit,
    RateLimiter,
    drained,
    plan_spec,
    reserve,
    saturate,
    shared_local_bucket,
)

DEFAULT_KEY = "bitrix24"

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
        return 0.0 if row is None else drained(row.level, now - row.updated_at, self.spec.rate)

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


def make_limiter(
    plan: str | None, *, engine: Engine | None = None, key: str | None = None, reserve: float = 0.0
) -> RateLimiter:
    """The limiter for a Bitrix24 plan ("standard" | "enterprise" | "off"/None; any other is a ValueError).

    With ``engine``: a :class:`SqlBucket` under ``key`` shared by every process using that database. Without:
    an in-process bucket, shared by every caller of this process that passes the same ``key`` (one per portal,
    plan and reserve), or a private one when ``key`` is None. ``reserve`` (0 ≤ r < 1) is the share of the
    portal's drain rate left for the other apps and people on it: the bucket drains for us at
    ``drain × (1 − reserve)``. The default 0 takes the whole rate (the Bitrix24 hook passes the connection's
    ``reserve``, 0.2 unless set).
    """
    spec = plan_spec(plan, reserve)
    if spec is None:
        return NoLimit()
    if engine is not None:
        return SqlBucket(engine, key or DEFAULT_KEY, spec)
    if key is None:
        return LocalBucket(spec)
    return shared_local_bucket(f"{key}:{plan}" + (f":reserve={spec.reserve:g}" if spec.reserve else ""), spec)
