"""T1 (reliability.md §5), F5: the sync dies at each named kill point, then runs again; nothing is lost,
nothing is duplicated, and a record created before the crash is found and adopted, never created twice.

Two variants: the sync runs in a child process that really ends with ``os._exit(137)`` at the point
(``CRM1C_KILL_AT``), and a cheaper in-process one where ``SyncEnv.kill_hook`` raises there. Both directions:
companies only in the CRM must be created in 1C; counterparties only in 1C must be created in the CRM.
The child processes are forked from a pre-imported server (:class:`~tests.sync.harness.ForkServer`); one
test starts the command line entry point the plain way, to keep that path honest.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from contour.profiles import inn10, inn12
from crm1c.staging import Staging
from crm1c.staging.schema import write_intent
from crm1c.sync.runtime import KILL_POINTS
from tests.contour_harness import RunningContour
from tests.sync.conftest import REPO, child_env
from tests.sync.harness import (
    STEPS,
    ForkServer,
    Killed,
    add_crm_company,
    add_onec_counterparty,
    audit_results,
    check_all,
    clients,
    contour_admin,
    count_rows,
    crash_at,
    intents_total,
    read_world,
    run_sync,
    state_hash,
    xref_pairs,
)

#: Two records per direction: an organisation (ИНН+КПП, with quotes) and a sole proprietor (12-digit ИНН).
RECORDS = {
    "crm_to_onec": [
        ('ООО "Альфа-Строй"', inn10("770708389"), "770701001"),
        ("ИП Петров Пётр Петрович", inn12("5001007322"), None),
    ],
    "onec_to_crm": [
        ('ООО "Д\'Артаньян и Ко"', inn10("772814563"), "772801001"),
        ("ИП Сидорова Анна Ивановна", inn12("5029184730"), None),
    ],
}
#: The step each kill point stops, per direction (only that direction has anything to write).
DIES_IN = {
    ("after_intent", "crm_to_onec"): "load_onec",
    ("after_external_create", "crm_to_onec"): "load_onec",
    ("before_xref_commit", "crm_to_onec"): "load_onec",
    ("after_intent", "onec_to_crm"): "load_crm",
    ("after_external_create", "onec_to_crm"): "load_crm",
    ("before_xref_commit", "onec_to_crm"): "load_crm",
    ("before_watermark", "crm_to_onec"): "publish",
    ("before_watermark", "onec_to_crm"): "publish",
}
#: Points after which the target record exists but the link does not: recovery must adopt it.
WRITTEN_BEFORE = {"after_external_create", "before_xref_commit"}


def _seed(contour: RunningContour, direction: str) -> None:
    crm, onec = clients(contour)
    for name, inn, kpp in RECORDS[direction]:
        if direction == "crm_to_onec":
            add_crm_company(crm, name, inn, kpp)
        else:
            add_onec_counterparty(onec, name, inn, kpp)


def _target_count(contour: RunningContour, direction: str) -> int:
    """How many of the direction's records exist on the target side now."""
    crm, onec = clients(contour)
    world = read_world(crm, onec)
    return len(world.onec_rows) if direction == "crm_to_onec" else len(world.companies)


def _sync_args(contour: RunningContour, staging_url: str) -> list[str]:
    return [
        *("--bitrix", contour.bitrix_base, "--onec", contour.onec_url),
        *("--ca", str(contour.ca_file), "--staging", staging_url),
    ]


def _check_died_at(proc: subprocess.CompletedProcess, point: str, direction: str) -> None:
    assert proc.returncode == 137, f"the sync should have died at {point}:\n{proc.stdout}\n{proc.stderr}"
    assert f"CRM1C_KILL_AT={point}" in proc.stderr
    steps = [line.split()[1] for line in proc.stdout.splitlines() if line.startswith("step ")]
    assert steps[-1] == DIES_IN[point, direction], f"died in {steps[-1]}, not {DIES_IN[point, direction]}"


def _check_crash_state(staging: Staging, contour: RunningContour, point: str, direction: str) -> None:
    """The crash happened where it should: what exists right after it, before any recovery."""
    created = _target_count(contour, direction)
    if point != "before_watermark":
        assert xref_pairs(staging) == [], "nothing may be linked before the first settle"
    if point == "after_intent":
        assert created == 0, "killed before the external call: nothing created yet"
        pending = count_rows(staging, write_intent, write_intent.c.state == "pending")
        tried = count_rows(staging, write_intent, write_intent.c.tried_at.is_not(None))
        assert pending == tried == len(RECORDS[direction]), "the intents were committed as tried first"
    elif point in WRITTEN_BEFORE:
        assert created >= 1, "killed after the external create: the record is in the target, unlinked"
    else:
        assert created == len(RECORDS[direction])


def _check_recovered(staging: Staging, contour: RunningContour, point: str, direction: str) -> None:
    crm, onec = clients(contour)
    world = check_all(staging, crm, onec)  # 0 lost, 0 duplicated, xref 1:1, audit chain intact
    assert len(world.companies) == len(world.onec_rows) == len(RECORDS[direction])
    assert len(xref_pairs(staging)) == len(RECORDS[direction])
    results = audit_results(staging)
    if point in WRITTEN_BEFORE:
        assert results["adopted"] >= 1, (
            f"recovery did not adopt the record created before the crash: {results}"
        )
    creates = results["adopted"] + results["done"]
    assert creates >= len(RECORDS[direction])


@pytest.mark.slow
@pytest.mark.parametrize("direction", sorted(RECORDS))
@pytest.mark.parametrize("point", KILL_POINTS)
def test_sigkill_at_point_then_rerun(
    point: str,
    direction: str,
    empty_contour: RunningContour,
    staging: Staging,
    fork_server: ForkServer,
) -> None:
    _seed(empty_contour, direction)
    url = staging.engine.url.render_as_string(hide_password=False)

    proc = fork_server.run(_sync_args(empty_contour, url), {"CRM1C_KILL_AT": point})

    _check_died_at(proc, point, direction)
    _check_crash_state(staging, empty_contour, point, direction)

    crm, onec = clients(empty_contour)
    for _rerun in range(2):
        run_sync(staging, crm, onec)
    _check_recovered(staging, empty_contour, point, direction)


@pytest.mark.slow
def test_sigkill_from_a_fresh_interpreter(empty_contour: RunningContour, sqlite_staging: Staging) -> None:
    """The plain way an operator would run it: ``python -m tests.sync.harness`` with CRM1C_KILL_AT set."""
    point, direction = "after_external_create", "crm_to_onec"
    _seed(empty_contour, direction)
    url = sqlite_staging.engine.url.render_as_string(hide_password=False)
    argv = [sys.executable, "-m", "tests.sync.harness", *_sync_args(empty_contour, url)]
    env = child_env(CRM1C_KILL_AT=point)
    proc = subprocess.run(argv, env=env, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)

    _check_died_at(proc, point, direction)
    _check_crash_state(sqlite_staging, empty_contour, point, direction)
    crm, onec = clients(empty_contour)
    for _rerun in range(2):
        run_sync(sqlite_staging, crm, onec)
    _check_recovered(sqlite_staging, empty_contour, point, direction)


@pytest.mark.parametrize("direction", sorted(RECORDS))
@pytest.mark.parametrize("point", KILL_POINTS)
def test_crash_in_process_at_point_then_rerun(
    point: str, direction: str, empty_contour: RunningContour, sqlite_staging: Staging
) -> None:
    _seed(empty_contour, direction)
    crm, onec = clients(empty_contour)
    with pytest.raises(Killed):
        run_sync(sqlite_staging, crm, onec, kill_hook=crash_at(point))
    _check_crash_state(sqlite_staging, empty_contour, point, direction)

    for _rerun in range(2):
        run_sync(sqlite_staging, crm, onec)
    _check_recovered(sqlite_staging, empty_contour, point, direction)


#: (point, nth pass) in the demo exchange: the first pass, and one in the other loader where there is one
#: (load_onec creates 6 records and settles 22 intents before load_crm starts).
DEMO_CRASHES = [
    ("after_intent", 1),  # load_onec, before any 1C call
    ("after_intent", 2),  # load_crm, 1C already written
    ("after_external_create", 1),  # the first 1C create of a pool of four connections
    ("after_external_create", 7),  # the first CRM batch (25 records) is written
    ("before_xref_commit", 1),
    ("before_xref_commit", 30),  # in load_crm, after every 1C intent settled
    ("before_watermark", 1),
]


@pytest.mark.parametrize(("point", "nth"), DEMO_CRASHES)
def test_crash_mid_demo_exchange_then_rerun(
    point: str, nth: int, demo_contour: RunningContour, sqlite_staging: Staging
) -> None:
    """The demo exchange (both ways, branches, conflicts, bad records) dies at the nth pass of a point."""
    crm, onec = clients(demo_contour)
    with pytest.raises(Killed):
        run_sync(sqlite_staging, crm, onec, kill_hook=crash_at(point, nth))
    for _rerun in range(2):
        run_sync(sqlite_staging, crm, onec)
    check_all(sqlite_staging, crm, onec)
    if point in WRITTEN_BEFORE:
        assert audit_results(sqlite_staging)["adopted"] >= 1


def test_rerun_after_convergence_changes_nothing(
    demo_contour: RunningContour, sqlite_staging: Staging
) -> None:
    """Once converged, any single step, or the whole sync (incremental or full), writes nothing anywhere."""
    crm, onec = clients(demo_contour)
    for _run in range(2):
        run_sync(sqlite_staging, crm, onec)
    check_all(sqlite_staging, crm, onec)
    before, intents = state_hash(crm, onec), intents_total(sqlite_staging)
    writes = _onec_writes(demo_contour)
    stats = contour_admin(demo_contour, "bitrix", "stats")["methods"]

    for steps in [(step,) for step in STEPS] + [STEPS]:
        for mode in ("incremental", "full"):
            run_sync(sqlite_staging, crm, onec, mode=mode, steps=steps)
            assert state_hash(crm, onec) == before, f"{steps} ({mode}) changed a system"
            assert intents_total(sqlite_staging) == intents, f"{steps} ({mode}) opened a write intent"

    assert _onec_writes(demo_contour) == writes, "a POST/PATCH reached 1C"
    after = contour_admin(demo_contour, "bitrix", "stats")["methods"]
    changed = {m: after[m] for m in after if not m.endswith(".list") and after[m] != stats.get(m)}
    assert not changed, f"Bitrix24 write methods were called: {changed}"
    check_all(sqlite_staging, crm, onec)


def _onec_writes(contour: RunningContour) -> int:
    log = contour_admin(contour, "onec", "requests?limit=100000")["requests"]
    return sum(1 for r in log if r["method"] not in ("GET", "HEAD"))


@pytest.mark.parametrize("typed_in", ["crm", "onec"])
def test_twin_typed_by_hand_after_a_crash_is_matched_not_duplicated(
    typed_in: str, empty_contour: RunningContour, sqlite_staging: Staging
) -> None:
    """Regression: the sync dies right after marking a create as tried; before the next run someone types
    the same counterparty on the target side. The next runs must pair the two (first match: the CRM's
    name wins, the difference is a recorded conflict), never create a second one or adopt it blindly."""
    crm, onec = clients(empty_contour)
    inn, kpp = inn10("772814563"), "772801001"
    crm_name, onec_name = 'ООО "Бета"', "Бета (набрано вручную)"
    if typed_in == "crm":  # the 1C record was on its way to the CRM
        add_onec_counterparty(onec, onec_name, inn, kpp)
    else:
        add_crm_company(crm, crm_name, inn, kpp)

    with pytest.raises(Killed):
        run_sync(sqlite_staging, crm, onec, kill_hook=crash_at("after_intent"))
    if typed_in == "crm":
        add_crm_company(crm, crm_name, inn, kpp)
    else:
        add_onec_counterparty(onec, onec_name, inn, kpp)
    for _rerun in range(2):
        run_sync(sqlite_staging, crm, onec)

    world = check_all(sqlite_staging, crm, onec)
    assert len(world.companies) == len(world.onec_rows) == 1
    assert [c["TITLE"] for c in world.companies.values()] == [crm_name]
    assert [r["Description"] for r in world.onec_rows.values()] == [crm_name]
    conflicts = sqlite_staging.open_conflicts("counterparty")
    assert [(c.field, c.crm_value, c.onec_value) for c in conflicts if c.field == "name"] == [
        ("name", crm_name, onec_name)
    ]


def test_many_interrupted_creates_are_looked_up_in_several_batches(
    empty_contour: RunningContour, sqlite_staging: Staging
) -> None:
    """20 CRM creates interrupted after the batch call: the lookups (3 commands each) exceed one batch."""
    crm, onec = clients(empty_contour)
    for i in range(20):
        add_onec_counterparty(onec, f"ООО «Партнёр {i}»", inn10(f"7701{i:05d}"), f"7701{i:02d}001")

    with pytest.raises(Killed):
        run_sync(sqlite_staging, crm, onec, kill_hook=crash_at("after_external_create"))
    assert len(read_world(crm, onec).companies) == 20
    for _rerun in range(2):
        run_sync(sqlite_staging, crm, onec)
    world = check_all(sqlite_staging, crm, onec)
    assert len(world.companies) == 20
    assert audit_results(sqlite_staging)["adopted"] == 20
