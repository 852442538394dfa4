"""A real sync against the contour whose records each have a story, and the command run on it.

* ``fixed``: a CRM company held for a wrong ИНН, fixed in the CRM, then created in 1C and linked back;
* ``created``: a CRM company created in 1C at once (the ИНН query finds both sides);
* ``conflict``: typed in 1C, created in the CRM, then renamed on both sides (the CRM owns the name).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from contour.profiles import inn10
from crm1c.staging import Staging
from crm1c.staging.schema import audit_log
from tests.sync.harness import (
    add_crm_company,
    add_onec_counterparty,
    check_all,
    clients,
    read_world,
    rename_in_crm,
    rename_in_onec,
    run_sync,
)

REPO = Path(__file__).resolve().parents[2]
ENTITY = "counterparty"
CONN_ENV = "AIRFLOW_CONN_CRM1C_STAGING"
DROP_TRIGGERS = {
    "sqlite": ["DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete"],
    "postgresql": ["DROP TRIGGER audit_log_no_update_delete ON audit_log"],
}


@dataclass(frozen=True)
class Scenario:
    url: str
    fixed_crm: str
    fixed_ref: str
    bad_inn: str
    created_crm: str
    created_ref: str
    created_inn: str
    conflict_crm: str
    conflict_ref: str


def play(contour: Any, staging: Staging) -> Scenario:
    """Three syncs: the hold, the fix and the conflict, then the universal invariants."""
    crm, onec = clients(contour)
    good = inn10("770708389")
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)  # wrong check digit
    fixed = add_crm_company(crm, 'ООО "Меридиан"', bad, "770701001")
    created_inn = inn10("772814563")
    created = add_crm_company(crm, 'ООО "Бета"', created_inn, "772801001")
    conflict_ref = add_onec_counterparty(onec, 'ООО "Гамма"', inn10("500100732"), "500101001")
    run_sync(staging, crm, onec)

    requisite = read_world(crm, onec).requisites[fixed]["ID"]
    crm.call("crm.requisite.update", {"id": requisite, "fields": {"RQ_INN": good}}, write=True)
    conflict_crm = _linked_crm(staging, conflict_ref)
    rename_in_crm(crm, conflict_crm, 'ООО "Гамма-CRM"')
    rename_in_onec(onec, conflict_ref, 'ООО "Гамма-1С"')
    for _run in range(2):
        run_sync(staging, crm, onec)
    check_all(staging, crm, onec)
    return Scenario(
        url=staging.engine.url.render_as_string(hide_password=False),
        fixed_crm=fixed,
        fixed_ref=_linked_ref(staging, fixed),
        bad_inn=bad,
        created_crm=created,
        created_ref=_linked_ref(staging, created),
        created_inn=created_inn,
        conflict_crm=conflict_crm,
        conflict_ref=conflict_ref,
    )


def _linked_ref(staging: Staging, crm_id: str) -> str:
    link = staging.xref_by_crm(ENTITY, crm_id)
    assert link is not None, f"CRM {crm_id} is not linked"
    return link.onec_id


def _linked_crm(staging: Staging, ref: str) -> str:
    link = staging.xref_by_onec(ENTITY, ref)
    assert link is not None, f"1C {ref} is not linked"
    return link.crm_id


def audit_env(**extra: str) -> dict[str, str]:
    """The environment of the command: ``PYTHONPATH=plugins`` and no staging connection unless given."""
    env = {k: v for k, v in os.environ.items() if k != CONN_ENV}
    return {**env, "PYTHONPATH": str(REPO / "plugins"), **extra}


def story(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``python -m crm1c.audit story …`` in a child process."""
    return subprocess.run(
        [sys.executable, "-m", "crm1c.audit", "story", *args],
        cwd=REPO,
        env=env or audit_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def story_lines(out: str) -> list[str]:
    """The lines of the "Story" section of a text story."""
    lines = out.splitlines()
    start = lines.index("Story (oldest first)") + 1
    return lines[start : lines.index("", start)]


def index_of(lines: list[str], *parts: str, after: int = -1) -> int:
    """The first line after ``after`` that holds every part."""
    for n, line in enumerate(lines):
        if n > after and all(part in line for part in parts):
            return n
    raise AssertionError(f"no line after #{after} holds {parts}:\n" + "\n".join(lines))


def copy_sqlite(url: str, target: Path) -> str:
    """A consistent copy of a SQLite staging file (WAL included); returns its URL."""
    source = sqlite3.connect(sa.make_url(url).database or "")
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        source.close()
        copy.close()
    return f"sqlite:///{target}"


def tamper(url: str, audit_id: int) -> None:
    """What someone with write access to the database could do: drop the guard triggers, edit one row."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for ddl in DROP_TRIGGERS[engine.dialect.name]:
                conn.exec_driver_sql(ddl)
            forged = {"fields": ["name"], "intent": 0}
            conn.execute(sa.update(audit_log).where(audit_log.c.id == audit_id).values(detail=forged))
    finally:
        engine.dispose()


def audit_id_of(staging: Staging, entity_key: str, op: str) -> int:
    """The id of the first audit row of one record and operation."""
    rows = [a for a in staging.audit_trail(ENTITY, entity_key) if a.op == op]
    assert rows, f"no {op} audit row for {entity_key}"
    return rows[0].id
