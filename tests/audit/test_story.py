"""``python -m crm1c.audit story`` after a real sync on SQLite staging: by CRM id, Ref_Key and ИНН, as text
and JSON, the audit chain verified and broken by tampering, credentials scrubbed, the default staging."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from crm1c.staging import Staging
from tests.audit.scenario import (
    REPO,
    Scenario,
    audit_env,
    audit_id_of,
    copy_sqlite,
    index_of,
    play,
    story,
    story_lines,
    tamper,
)
from tests.contour_harness import BITRIX_TOKEN, RunningContour
from tests.sync.harness import staging_for

OK, CHAIN_BROKEN, NO_MATCH, NO_STAGING = 0, 1, 2, 3


@pytest.fixture(scope="module")
def world(shared_contour: RunningContour, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    """One sync history for the whole module (read-only: tests that change it work on a copy)."""
    shared_contour.seed("empty")
    staging = staging_for(f"sqlite:///{tmp_path_factory.mktemp('audit') / 'staging.sqlite3'}")
    try:
        yield play(shared_contour, staging)
    finally:
        staging.engine.dispose()


def _rows(world: Scenario) -> int:
    """How many rows the audit log holds."""
    staging = staging_for(world.url)
    try:
        head = staging.audit_head()
    finally:
        staging.engine.dispose()
    assert head is not None
    return head[0]


def test_story_by_crm_id_from_hold_to_link_back(world: Scenario) -> None:
    done = story(f"crm:{world.fixed_crm}", "--staging-url", world.url)

    assert done.returncode == OK, done.stderr
    out = done.stdout
    assert out.startswith(f"counterparty — CRM {world.fixed_crm} ⇄ 1C {world.fixed_ref}\n")
    lines = story_lines(out)
    crm = f"CRM {world.fixed_crm}"
    seen = index_of(lines, crm, " seen ", "first read")
    reasons = ("контрольная сумма", "checksum does not match")
    held = index_of(lines, crm, " held ", "field inn", *reasons, after=seen)
    released = index_of(lines, crm, " released ", "field inn", after=held)
    written = index_of(lines, " audit ", "create 1C → done", f"onec_id={world.fixed_ref}", after=released)
    back = ("update CRM → done (link-back)", "fields=onec_ref")
    linked_back = index_of(lines, crm, " audit ", *back, after=written)
    assert "by crm1c, run " in lines[written] and "by crm1c, run " in lines[linked_back]
    assert world.bad_inn in lines[held]
    assert f"#1 crm:{world.fixed_crm} field inn: released" in out  # the quarantine section
    assert out.endswith(f"audit chain: OK ({_rows(world)} rows)\n")
    assert story(world.fixed_crm, "--staging-url", world.url).stdout == out  # "123" is "crm:123"


def test_story_by_ref_key_shows_the_conflict_with_all_three_values(world: Scenario) -> None:
    done = story(world.conflict_ref.upper(), "--staging-url", world.url)

    assert done.returncode == OK, done.stderr
    out = done.stdout
    assert out.startswith(f"counterparty — CRM {world.conflict_crm} ⇄ 1C {world.conflict_ref}\n")
    lines = story_lines(out)
    onec = f"1C {world.conflict_ref[:8]}"
    seen = index_of(lines, onec, " seen ")
    created = index_of(lines, " audit ", "create CRM → done", f"crm_id={world.conflict_crm}", after=seen)
    values = 'CRM "ООО \\"Гамма-CRM\\"", 1C "ООО \\"Гамма-1С\\"", base "ООО \\"Гамма\\""'
    conflict = index_of(lines, " conflict ", "field name", values, after=created)
    index_of(lines, " audit ", "update 1C → done", "fields=crm_id, name", after=conflict)
    assert f"Conflicts\n  #1 field name: {values}; detected " in out
    assert out.endswith(" rows)\n") and "audit chain: OK" in out


def test_story_by_inn_as_json_holds_both_systems(world: Scenario) -> None:
    done = story(world.created_inn, "--entity", "counterparties", "--json", "--staging-url", world.url)

    assert done.returncode == OK, done.stderr
    doc = json.loads(done.stdout)
    assert doc["query"] == f"inn:{world.created_inn}"
    assert doc["audit_chain"] == {"ok": True, "rows": _rows(world), "first_bad": None, "first_bad_id": None}
    [only] = doc["stories"]
    assert (only["crm_ids"], only["onec_ids"]) == ([world.created_crm], [world.created_ref])
    assert {(r["system"], r["external_id"]) for r in only["records"]} == {
        ("crm", world.created_crm),
        ("onec", world.created_ref),
    }
    kinds = [(e["kind"], e["record"]) for e in only["events"]]
    crm, onec = f"crm:{world.created_crm}", f"onec:{world.created_ref}"
    order = [("seen", crm), ("intent_opened", crm), ("linked", crm), ("audit", onec), ("audit", crm)]
    order.append(("run", None))
    positions = [kinds.index(step) for step in order]
    assert positions == sorted(positions), kinds
    write = next(e for e in only["events"] if e["kind"] == "audit" and e["record"] == onec)
    assert (write["op"], write["result"], write["actor"]) == ("create", "done", "crm1c")
    assert write["detail"]["onec_id"] == world.created_ref and write["run_id"]
    stamps = [e["ts"] for e in only["events"]]
    assert stamps == sorted(stamps)


def test_nothing_matches_exits_2(world: Scenario) -> None:
    done = story("crm:999999", "--staging-url", world.url)
    assert done.returncode == NO_MATCH
    assert "no record matches crm:999999" in done.stdout and "audit chain: OK" in done.stdout
    unreadable = story("ООО Ромашка", "--staging-url", world.url)
    assert unreadable.returncode == NO_MATCH and "cannot read" in unreadable.stderr


def test_a_tampered_audit_row_breaks_the_chain(world: Scenario, tmp_path: Path) -> None:
    url = copy_sqlite(world.url, tmp_path / "tampered.sqlite3")
    staging = staging_for(url)
    bad = audit_id_of(staging, f"onec:{world.fixed_ref}", "create")
    staging.engine.dispose()
    tamper(url, bad)

    done = story(f"crm:{world.fixed_crm}", "--staging-url", url)
    assert done.returncode == CHAIN_BROKEN
    last = done.stdout.splitlines()[-1]
    assert last.startswith(f"audit chain: BROKEN at row #{bad} (") and "create onec:" in last
    as_json = story(f"crm:{world.fixed_crm}", "--json", "--staging-url", url)
    assert as_json.returncode == CHAIN_BROKEN
    chain = json.loads(as_json.stdout)["audit_chain"]
    assert (chain["ok"], chain["first_bad_id"], chain["first_bad"]["id"]) == (False, bad, bad)


def test_credentials_never_reach_the_output(world: Scenario, tmp_path: Path) -> None:
    url = copy_sqlite(world.url, tmp_path / "leaky.sqlite3")
    staging: Staging = staging_for(url)
    webhook = f"https://portal.example/rest/1/{BITRIX_TOKEN}/crm.company.update"
    payload = {"fields": {"comment": f"see {webhook}"}, "password": "s3cret-pw", "crm_id": world.created_crm}
    intent = staging.open_intent(
        "counterparty", "onec", "update", "crm", world.created_crm, payload, target_id=world.created_ref
    )
    staging.fail_intent(
        intent.id, f"HTTPError 500 for {webhook}?auth=tok3n at https://bob:hunter2@db.example/"
    )
    staging.engine.dispose()

    for extra in ((), ("--json",)):
        done = story(f"crm:{world.created_crm}", *extra, "--staging-url", url)
        assert done.returncode == OK, done.stderr
        for secret in (BITRIX_TOKEN, "s3cret-pw", "tok3n", "hunter2"):
            assert secret not in done.stdout
        assert "/rest/***/***/crm.company.update" in done.stdout and "https://***@db.example/" in done.stdout


def test_default_staging_is_the_airflow_home_file_via_the_wrapper(world: Scenario, tmp_path: Path) -> None:
    copy_sqlite(world.url, tmp_path / "staging.sqlite3")
    done = _wrapper(f"crm:{world.fixed_crm}", cwd=tmp_path, env=audit_env(AIRFLOW_HOME=str(tmp_path)))
    assert done.returncode == OK, done.stderr
    assert f"CRM {world.fixed_crm} ⇄ 1C {world.fixed_ref}" in done.stdout

    nowhere = audit_env(AIRFLOW_HOME=str(tmp_path / "no"))
    missing = _wrapper(f"crm:{world.fixed_crm}", cwd=tmp_path, env=nowhere)
    assert missing.returncode == NO_STAGING and "no staging database" in missing.stderr


def test_default_staging_from_the_airflow_connection(world: Scenario, tmp_path: Path) -> None:
    path = copy_sqlite(world.url, tmp_path / "from-connection.sqlite3").removeprefix("sqlite:///")
    connection = json.dumps({"conn_type": "sqlite", "host": path})
    env = audit_env(AIRFLOW_CONN_CRM1C_STAGING=connection, AIRFLOW_HOME=str(tmp_path / "airflow"))
    done = story(world.created_inn, env=env)
    assert done.returncode == OK, done.stderr
    assert f"CRM {world.created_crm} ⇄ 1C {world.created_ref}" in done.stdout


def _wrapper(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``scripts/crm1c-audit story …``, started from another directory."""
    return subprocess.run(
        [str(REPO / "scripts" / "crm1c-audit"), "story", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
