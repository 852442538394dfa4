"""``python -m crm1c.audit story`` on PostgreSQL staging: the same sync history, the chain verified, then
broken by tampering with one row."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from crm1c.staging import Staging
from tests.audit.scenario import audit_id_of, index_of, play, story, story_lines, tamper
from tests.contour_harness import RunningContour
from tests.dbfixtures import reset_pg_schema
from tests.sync.harness import staging_for

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_staging(pg_session_db: sa.URL) -> Iterator[Staging]:
    """A migrated, empty staging database on PostgreSQL."""
    reset_pg_schema(pg_session_db)
    staging = staging_for(pg_session_db.render_as_string(hide_password=False))
    try:
        yield staging
    finally:
        staging.engine.dispose()


def test_story_and_broken_chain_on_postgres(empty_contour: RunningContour, pg_staging: Staging) -> None:
    world = play(empty_contour, pg_staging)
    head = pg_staging.audit_head()
    assert head is not None

    done = story(f"crm:{world.fixed_crm}", "--staging-url", world.url)
    assert done.returncode == 0, done.stderr
    lines = story_lines(done.stdout)
    held = index_of(lines, f"CRM {world.fixed_crm}", " held ", "field inn", "checksum does not match")
    released = index_of(lines, " released ", after=held)
    written = index_of(lines, "create 1C → done", f"onec_id={world.fixed_ref}", after=released)
    index_of(lines, "update CRM → done (link-back)", after=written)
    assert done.stdout.endswith(f"audit chain: OK ({head[0]} rows)\n")
    by_inn = story(world.created_inn, "--staging-url", world.url)
    assert by_inn.returncode == 0 and f"CRM {world.created_crm} ⇄ 1C {world.created_ref}" in by_inn.stdout

    bad = audit_id_of(pg_staging, f"onec:{world.fixed_ref}", "create")
    pg_staging.engine.dispose()
    tamper(world.url, bad)
    broken = story(world.fixed_ref, "--staging-url", world.url)
    assert broken.returncode == 1
    assert broken.stdout.splitlines()[-1].startswith(f"audit chain: BROKEN at row #{bad} (")
