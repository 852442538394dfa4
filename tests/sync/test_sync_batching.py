"""load_crm packs each Bitrix24 batch request by commands (≤50), not by a fixed number of records."""

from __future__ import annotations

from tests.sync.harness import clients, run_sync, staging_for

COMMENTS = 40  # one command each (company COMMENTS): fits one request of ≤50 commands, not two of 25 records


def test_forty_one_command_updates_go_in_one_batch_request(shared_contour, scratch):
    shared_contour.seed("scale", 60)
    crm, onec = clients(shared_contour)
    staging = staging_for(f"sqlite:///{scratch}/staging.sqlite3")
    for _ in range(3):  # converge: creates, then link-backs
        run_sync(staging, crm, onec)
    rows = onec.list_all("Catalog_Контрагенты", select=["Ref_Key", "DataVersion", "Code"])
    linked = [r for r in rows if staging.xref_by_onec("counterparty", r["Ref_Key"]) is not None][:COMMENTS]
    assert len(linked) == COMMENTS
    for row in linked:
        onec.update(
            "Catalog_Контрагенты",
            row["Ref_Key"],
            {"Комментарий": f"сверка {row['Code']}"},
            row["DataVersion"],
        )

    run_sync(staging, crm, onec, steps=("extract_crm", "extract_onec", "plan", "load_onec"))
    before = crm.stats.requests
    out = run_sync(staging, crm, onec, steps=("load_crm",))
    assert out["crm_update"] == COMMENTS
    assert crm.stats.requests - before == 1
