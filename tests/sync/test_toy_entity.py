"""A toy entity (:mod:`tests.sync.toy_entity`) synced by the generic engine, untouched, against the contour.

CRM ``crm.product`` ⇄ 1C ``Catalog_Номенклатура`` by article: records typed on either side meet on both,
linked 1:1; edits flow; a crash at any kill point is recovered without a duplicate; a bad record is held
while the rest goes on. Everything entity-specific lives in the test package, nothing in ``plugins/``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from crm1c.staging import Staging
from crm1c.sync.runtime import KILL_POINTS
from tests.contour_harness import RunningContour
from tests.sync import toy_entity
from tests.sync.conftest import REPO, child_env
from tests.sync.harness import (
    Killed,
    audit_results,
    clients,
    contour_admin,
    crash_at,
    intents_total,
    pending_intents_total,
    run_sync,
)
from tests.sync.toy_entity import KEY, ONEC_SET, TOY_REF, tagged

CRM_ONLY = [("Болт М6", "B-M6"), ("Гайка М6", "N-M6")]
ONEC_ONLY = [("Шайба 6", "W-6"), ("Винт М4", "S-M4")]
BOTH = ("D-8", "Дюбель 8×40", "Дюбель (1С)")  # article, CRM name, 1C name


def sync(staging: Staging, crm: Any, onec: Any, **kw: Any) -> dict[str, Any]:
    return run_sync(staging, crm, onec, ref=TOY_REF, **kw)


def add_product(crm: Any, name: str, article: str) -> str:
    return str(crm.call("crm.product.add", {"fields": {"NAME": name, "CODE": article}}, write=True)["result"])


def add_item(onec: Any, name: str, article: str, **extra: Any) -> str:
    return str(onec.create(ONEC_SET, {"Description": name, "Артикул": article, **extra})["Ref_Key"])


def seed(contour: RunningContour) -> tuple[Any, Any]:
    crm, onec = clients(contour)
    for name, article in CRM_ONLY:
        add_product(crm, name, article)
    for name, article in ONEC_ONLY:
        add_item(onec, name, article)
    add_product(crm, BOTH[1], BOTH[0])
    add_item(onec, BOTH[2], BOTH[0])
    return crm, onec


def products(crm: Any) -> dict[str, dict]:
    return {str(p["ID"]): p for page in crm.iter_list("crm.product.list", select=["*"]) for p in page}


def items(onec: Any) -> dict[str, dict]:
    rows = (r for page in onec.list(ONEC_SET, page_size=1000) for r in page)
    return {str(r["Ref_Key"]): r for r in rows if not r.get("IsFolder") and not r.get("DeletionMark")}


def check_converged(staging: Staging, crm: Any, onec: Any, held: frozenset[str] = frozenset()) -> None:
    """No article twice on a side; every other record has its partner by article with the same name, both
    ids in each other's link slot and in xref; no pending intent."""
    crm_rows, onec_rows = list(products(crm).values()), list(items(onec).values())
    crm_by = {p["CODE"]: p for p in crm_rows if (p["CODE"] or "") not in held}
    onec_by = {r["Артикул"]: r for r in onec_rows if r["Артикул"] not in held}
    for side in (Counter(p["CODE"] for p in crm_rows), Counter(r["Артикул"] for r in onec_rows)):
        assert all(n == 1 for n in side.values()), f"duplicates: {side}"
    assert set(crm_by) == set(onec_by)
    for article, product in crm_by.items():
        row = onec_by[article]
        assert product["NAME"] == row["Description"], article
        assert product["XML_ID"] == row["Ref_Key"], article
        assert tagged(row["Комментарий"]) == str(product["ID"]), article
        link = staging.xref_by_crm(KEY, str(product["ID"]))
        assert link is not None and link.onec_id == row["Ref_Key"], article
    assert pending_intents_total(staging) == 0


def onec_requests(contour: RunningContour) -> list[dict]:
    return contour_admin(contour, "onec", "requests?limit=100000")["requests"]


def writes(contour: RunningContour) -> tuple[int, dict[str, int]]:
    """1C POST/PATCH requests so far, and Bitrix24 calls per method other than lists."""
    stats = contour_admin(contour, "bitrix", "stats")["methods"]
    onec_writes = sum(r["method"] not in ("GET", "HEAD") for r in onec_requests(contour))
    return onec_writes, {m: n for m, n in stats.items() if not m.endswith(".list")}


def test_records_typed_on_each_side_meet_on_both(empty_contour: RunningContour, sqlite_staging: Staging):
    crm, onec = seed(empty_contour)
    add_item(onec, "Крепёж", "", IsFolder=True)  # a folder: never synced

    summary = sync(sqlite_staging, crm, onec)

    assert summary["conflicts"] == 1 and summary["quarantined"] == 0
    assert len(products(crm)) == len(items(onec)) == 5
    for product in products(crm).values():  # each linked 1:1 already; 1C-born records get the tag next run
        link = sqlite_staging.xref_by_crm(KEY, str(product["ID"]))
        assert link is not None and sqlite_staging.xref_by_onec(KEY, link.onec_id) == link
        assert items(onec)[link.onec_id]["Артикул"] == product["CODE"]
    [conflict] = sqlite_staging.open_conflicts(KEY)
    assert (conflict.field, conflict.crm_value, conflict.onec_value) == ("name", BOTH[1], BOTH[2])
    both = [r for r in items(onec).values() if r["Артикул"] == BOTH[0]]
    assert [r["Description"] for r in both] == [BOTH[1]], "the CRM wins a conflict"

    sync(sqlite_staging, crm, onec)  # the CRM ids of 1C-born records: queued by load_crm, after load_onec
    check_converged(sqlite_staging, crm, onec)
    before, intents = writes(empty_contour), intents_total(sqlite_staging)
    for mode in ("incremental", "full"):
        requests = len(onec_requests(empty_contour))
        sync(sqlite_staging, crm, onec, mode=mode)
        assert writes(empty_contour) == before, f"a {mode} run after convergence wrote something"
        assert intents_total(sqlite_staging) == intents
        if mode == "incremental":  # the version scan only: the folder's version is known, it is not re-read
            assert len(onec_requests(empty_contour)) - requests == 1


def test_an_edit_flows_to_the_other_side(empty_contour: RunningContour, sqlite_staging: Staging):
    crm, onec = seed(empty_contour)
    for _run in range(2):
        sync(sqlite_staging, crm, onec)
    by_article = {p["CODE"]: p for p in products(crm).values()}
    pid, ref = str(by_article["B-M6"]["ID"]), by_article["W-6"]["XML_ID"]

    crm.call("crm.product.update", {"id": pid, "fields": {"NAME": "Болт М6 оцинк."}}, write=True)
    onec.update(ONEC_SET, ref, {"Description": "Шайба 6 пружинная"}, items(onec)[ref]["DataVersion"])
    sync(sqlite_staging, crm, onec)

    check_converged(sqlite_staging, crm, onec)
    assert products(crm)[pid]["NAME"] == items(onec)[by_article["B-M6"]["XML_ID"]]["Description"]
    assert items(onec)[by_article["B-M6"]["XML_ID"]]["Description"] == "Болт М6 оцинк."
    assert products(crm)[str(by_article["W-6"]["ID"])]["NAME"] == "Шайба 6 пружинная"
    assert len(sqlite_staging.open_conflicts(KEY)) == 1, "only the first match's conflict"

    nut = by_article["N-M6"]  # edited on both sides: the CRM wins, the conflict is recorded with its base
    crm.call("crm.product.update", {"id": nut["ID"], "fields": {"NAME": "Гайка (CRM)"}}, write=True)
    onec.update(
        ONEC_SET, nut["XML_ID"], {"Description": "Гайка (1С)"}, items(onec)[nut["XML_ID"]]["DataVersion"]
    )
    sync(sqlite_staging, crm, onec)
    check_converged(sqlite_staging, crm, onec)
    assert items(onec)[nut["XML_ID"]]["Description"] == "Гайка (CRM)"
    conflict = sqlite_staging.open_conflicts(KEY)[-1]
    assert (conflict.field, conflict.base_value, conflict.crm_value, conflict.onec_value) == (
        "name",
        "Гайка М6",
        "Гайка (CRM)",
        "Гайка (1С)",
    )

    crm.call("crm.product.delete", {"id": pid}, write=True)  # a deletion: seen by a full run
    sync(sqlite_staging, crm, onec, mode="full")
    assert by_article["B-M6"]["XML_ID"] not in items(onec), "marked for deletion in 1C"


CRASHES = [(point, 1) for point in KILL_POINTS] + [
    ("after_intent", 2),  # in load_crm, 1C already written
    ("after_external_create", 3),  # the CRM batch, after both 1C creates
    ("before_xref_commit", 4),  # in load_crm
]


@pytest.mark.parametrize(("point", "nth"), CRASHES)
def test_a_crash_at_a_kill_point_is_recovered_without_duplicates(
    point: str, nth: int, empty_contour: RunningContour, sqlite_staging: Staging
):
    crm, onec = seed(empty_contour)
    with pytest.raises(Killed):
        sync(sqlite_staging, crm, onec, kill_hook=crash_at(point, nth))
    for _rerun in range(2):
        sync(sqlite_staging, crm, onec)

    check_converged(sqlite_staging, crm, onec)
    assert len(products(crm)) == len(items(onec)) == 5
    if point in ("after_external_create", "before_xref_commit"):  # written, not linked: found, not redone
        assert audit_results(sqlite_staging)["adopted"] >= 1


@pytest.mark.parametrize("typed_in", ["crm", "onec"])
def test_a_twin_typed_after_a_crash_is_paired_not_duplicated(
    typed_in: str, empty_contour: RunningContour, sqlite_staging: Staging
):
    """The sync dies once its create is marked tried; meanwhile someone types the record on the target side:
    the writer's lookup finds a twin that is not ours, the pair is planned again (the CRM's name wins)."""
    crm, onec = clients(empty_contour)
    if typed_in == "crm":
        add_item(onec, "Шуруп (1С)", "SH-1")
    else:
        add_product(crm, "Шуруп", "SH-1")
    with pytest.raises(Killed):
        sync(sqlite_staging, crm, onec, kill_hook=crash_at("after_intent"))
    if typed_in == "crm":
        add_product(crm, "Шуруп", "SH-1")
    else:
        add_item(onec, "Шуруп (1С)", "SH-1")
    for _rerun in range(2):
        sync(sqlite_staging, crm, onec)

    check_converged(sqlite_staging, crm, onec)
    assert [r["Description"] for r in items(onec).values()] == ["Шуруп"]
    assert audit_results(sqlite_staging)["replanned"] == 1


def test_a_tried_update_is_not_sent_once_its_source_went_back(
    empty_contour: RunningContour, sqlite_staging: Staging
):
    """A CRM rename's 1C update is marked tried, then the sync dies before sending it; the rename is
    undone. The next plan finds both sides alike and writes nothing: the tried update is stale and is
    abandoned — sent, it put the undone name in 1C, stored 1C as written, and the two sides stayed apart."""
    crm, onec = seed(empty_contour)
    for _run in range(2):
        sync(sqlite_staging, crm, onec)
    product = next(p for p in products(crm).values() if p["CODE"] == "B-M6")
    rename = {"id": product["ID"], "fields": {"NAME": "Болт М6 (ошибка)"}}
    crm.call("crm.product.update", rename, write=True)
    with pytest.raises(Killed):
        sync(sqlite_staging, crm, onec, kill_hook=crash_at("after_intent"))
    crm.call("crm.product.update", {"id": product["ID"], "fields": {"NAME": product["NAME"]}}, write=True)
    onec_writes = writes(empty_contour)[0]

    sync(sqlite_staging, crm, onec)

    assert items(onec)[product["XML_ID"]]["Description"] == product["NAME"]
    assert writes(empty_contour)[0] == onec_writes, "the stale update was sent"
    check_converged(sqlite_staging, crm, onec)


def test_an_invalid_record_is_held_and_the_rest_goes_on(
    empty_contour: RunningContour, sqlite_staging: Staging
):
    crm, onec = seed(empty_contour)
    bad = add_product(crm, "Без артикула", "")

    for _run in range(2):
        summary = sync(sqlite_staging, crm, onec)

    [held] = sqlite_staging.open_quarantine(KEY)
    assert (held.system, held.external_id, held.field, held.reason_en) == (
        "crm",
        bad,
        "article",
        "article is empty",
    )
    assert summary["open_quarantine"] == 1
    check_converged(sqlite_staging, crm, onec, held=frozenset({""}))
    assert len(items(onec)) == 5


def test_the_toy_needs_nothing_from_counterparties_or_plugins():
    files = [Path(toy_entity.__file__), Path(__file__)]
    assert not any(f.resolve().is_relative_to(REPO / "plugins") for f in files)
    for f in files:
        imports = []
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom):
                imports.append(node.module or "")
            elif isinstance(node, ast.Import):
                imports += [a.name for a in node.names]
        assert not [m for m in imports if "counterpart" in m], f"{f.name} imports counterparty code"
    # loading the spec and the engine's entry points pulls no counterparty module either
    probe = (
        "import sys, crm1c.sync.pipeline, crm1c.sync.engine.plan, crm1c.sync.engine.load_onec, "
        "crm1c.sync.engine.load_crm, crm1c.sync.engine.publish, tests.sync.toy_entity as t; "
        "t.TOY_REF.spec(); "
        "print(sorted(m for m in sys.modules if 'counterpart' in m))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], env=child_env(), cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout
