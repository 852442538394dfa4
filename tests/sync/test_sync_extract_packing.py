"""extract_crm fills its batch requests: company calls and requisite calls share requests, the listing
ends without an empty call, and a company whose requisite a full page left out is listed on its own."""

from __future__ import annotations

import math

from tests.sync.harness import clients, run_step, staging_for

E = "counterparty"


def add_company(crm, n: int) -> str:
    return str(crm.call("crm.company.add", {"fields": {"TITLE": f"ООО Тест {n}"}})["result"])


def add_requisite(crm, company_id: str, name: str) -> str:
    fields = {"ENTITY_TYPE_ID": 4, "ENTITY_ID": company_id, "PRESET_ID": 1, "NAME": name}
    return str(crm.call("crm.requisite.add", {"fields": fields})["result"])


def test_a_full_extract_needs_the_fewest_requests_and_reads_every_requisite(shared_contour, scratch):
    shared_contour.seed("scale", 4000)
    crm, onec = clients(shared_contour)
    companies = [c for page in crm.iter_list_batched("crm.company.list", select=["ID"]) for c in page]
    requisites = {}
    for page in crm.iter_list_batched("crm.requisite.list", select=["ID", "ENTITY_ID"]):
        for r in page:
            requisites.setdefault(str(r["ENTITY_ID"]), str(r["ID"]))
    staging = staging_for(f"sqlite:///{scratch}/staging.sqlite3")

    before = crm.stats.requests
    out = run_step(staging, crm, onec, "extract_crm", "full", "run-1")

    calls = 2 * math.ceil(len(companies) / 50)  # company pages + requisite calls of 50 companies
    assert len(companies) > 2500  # more than one request of company pages
    assert crm.stats.requests - before == math.ceil(calls / 50)
    assert out["crm_read"] == len(companies)
    stored = {r.external_id: r.raw["requisite"] for r in staging.seen_records("crm", E)}
    assert {i: (q or {}).get("ID") for i, q in stored.items()} == {
        str(c["ID"]): requisites.get(str(c["ID"])) for c in companies
    }


def test_a_company_left_out_of_a_full_requisite_page_is_read_on_its_own(empty_contour, scratch):
    crm, onec = clients(empty_contour)
    first = {}
    for n in range(49):
        cid = add_company(crm, n)
        first[cid] = add_requisite(crm, cid, f"r{n}")
    add_requisite(crm, next(iter(first)), "second")  # a lower ID than the last company's requisite
    last = add_company(crm, 49)
    first[last] = add_requisite(crm, last, "r49")  # 51 rows for 50 companies: not on the first page
    staging = staging_for(f"sqlite:///{scratch}/staging.sqlite3")

    run_step(staging, crm, onec, "extract_crm", "full", "run-1")

    stored = {r.external_id: r.raw["requisite"]["ID"] for r in staging.seen_records("crm", E)}
    assert stored == first
