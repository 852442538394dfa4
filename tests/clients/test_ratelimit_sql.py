"""The SQL-backed bucket shares one budget across processes (SQLite file and PostgreSQL)."""

from __future__ import annotations

import multiprocessing
import time

import pytest
import sqlalchemy as sa

from crm1c.clients.ratelimit import BucketSpec
from crm1c.staging.ratelimit import SqlBucket, metadata, rate_limit_bucket
from tests.clients._bucket_worker import hammer
from tests.clients.test_ratelimit import server_max_level

DRAIN, BURST, PROCS, EACH = 20.0, 10, 3, 20


def run_processes(url: str, key: str) -> list[float]:
    ctx = multiprocessing.get_context("spawn")
    start_at = time.time() + 3.0  # after every child has imported and connected
    with ctx.Pool(PROCS) as pool:
        results = pool.starmap(hammer, [(url, key, DRAIN, BURST, EACH, start_at)] * PROCS)
    return [t for times in results for t in times]


def check_shared_budget(times: list[float]) -> None:
    total = PROCS * EACH
    assert len(times) == total
    span = max(times) - min(times)
    assert span >= (total - BURST) / DRAIN - 0.15, "the processes did not share one bucket"
    assert server_max_level(times, DRAIN) <= BURST + 1.0


def test_table_shape():
    assert [c.name for c in rate_limit_bucket.columns] == ["bucket_key", "level", "updated_at"]
    assert rate_limit_bucket.c.bucket_key.primary_key
    assert not rate_limit_bucket.c.level.nullable and not rate_limit_bucket.c.updated_at.nullable


def test_sqlite_bucket_shared_across_processes(tmp_path):
    url = f"sqlite:///{tmp_path / 'bucket.db'}"
    engine = sa.create_engine(url)
    metadata.create_all(engine)
    check_shared_budget(run_processes(url, "bitrix24:portal"))
    bucket = SqlBucket(engine, "bitrix24:portal", BucketSpec(DRAIN, BURST, margin=0))
    assert 0 <= bucket.level <= BURST + 1


def test_sqlite_bucket_penalize_and_keys_are_independent(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'b.db'}")
    metadata.create_all(engine)
    waits: list[float] = []
    a = SqlBucket(engine, "a", BucketSpec(2.0, 50), sleep=waits.append)
    b = SqlBucket(engine, "b", BucketSpec(2.0, 50), sleep=waits.append)
    a.penalize()
    assert a.acquire() > 0
    assert b.acquire() == 0.0


@pytest.mark.postgres
def test_postgres_bucket_shared_across_processes(pg_url):
    engine = sa.create_engine(pg_url)
    metadata.create_all(engine)
    try:
        check_shared_budget(run_processes(pg_url, "bitrix24:portal"))
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(rate_limit_bucket)).scalar_one() == 1
    finally:
        engine.dispose()
