"""Deals → 1C documents (``sync_invoices``) by the engine against the contour (HTTPS): guide checks 3, 5, 7.

The demo portal has deals in every VAT situation (22 %, 10 %, no VAT, included and on top, percent and
absolute discounts, a USD deal); counterparties and nomenclature are synced first, as the chain does. Each
document is checked against the deal and 1C's own row rule, independently of crm1c's arithmetic.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from contour.profiles import inn10
from crm1c.clients.bitrix24 import Bitrix24Client
from crm1c.clients.bitrix24_batch import BatchResult
from crm1c.clients.odata_filter import F, guid
from crm1c.domain.deal_payment import label
from crm1c.domain.sales_document import record_id
from crm1c.staging import Staging
from crm1c.staging.schema import write_intent, xref
from crm1c.sync.engine import cursors
from crm1c.sync.entities import entity
from crm1c.sync.invoices.crm_reader import LISTED, read_deals
from crm1c.sync.invoices.records import Unchanged
from crm1c.sync.runtime import KILL_POINTS
from tests.contour_harness import RunningContour
from tests.sync.harness import (
    Killed,
    add_crm_company,
    clients,
    contour_admin,
    crash_at,
    make_env,
    pending_intents_total,
    run_sync,
)

INVOICES, SALES = "Document_СчетНаОплатуПокупателю", "Document_РеализацияТоваровУслуг"
KIND = {INVOICES: "invoice", SALES: "sale"}
DOCUMENT_STEPS = ("extract_crm", "extract_onec", "plan", "load_onec", "publish")
CATALOG_STEPS = ("extract_crm", "extract_onec", "plan", "load_crm", "publish")
PERCENT = {"НДС22": 22, "НДС20": 20, "НДС10": 10, "НДС0": 0, "БезНДС": 0}
CENT = Decimal("0.01")


def prepare(staging: Staging, crm: Any, onec: Any) -> None:
    """The chain up to invoices: counterparties (twice: 1C-born ones get their CRM id), then nomenclature."""
    run_sync(staging, crm, onec)
    run_sync(staging, crm, onec)
    run_sync(staging, crm, onec, ref=entity("nomenclature"), steps=CATALOG_STEPS, run_date=date(2026, 12, 3))


def sync(staging: Staging, crm: Any, onec: Any, **kw: Any) -> dict[str, Any]:
    kw.setdefault("steps", DOCUMENT_STEPS)
    return run_sync(staging, crm, onec, ref=entity("invoices"), **kw)


def documents(onec: Any) -> dict[tuple[str, str], dict]:
    """crm1c's documents in 1C by (deal ID, kind); a second one for the same pair fails the test."""
    found: dict[tuple[str, str], dict] = {}
    for entity_set in (INVOICES, SALES):
        for page in onec.list(entity_set):
            for doc in page:
                tags = [w for w in str(doc.get("Комментарий") or "").split() if w.startswith("crm1c:deal:")]
                if tags and not doc.get("DeletionMark"):
                    key = (tags[0].removeprefix("crm1c:deal:"), KIND[entity_set])
                    assert key not in found, f"two documents for deal {key}"
                    found[key] = doc | {"@set": entity_set}
    return found


def cents(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def check_rows(doc: dict) -> None:
    """Every row follows 1C's rule; the header total is the rows' sum."""
    included, total = bool(doc["СуммаВключаетНДС"]), Decimal(0)
    for table in ("Товары", "Услуги"):
        for row in doc.get(table) or []:
            amount = cents(row["Сумма"]) - cents(row.get("СуммаСкидки") or 0)
            rate = Decimal(PERCENT[row["СтавкаНДС"]])
            vat = amount * rate / (100 + rate) if included else amount * rate / 100
            assert cents(row["СуммаНДС"]) == cents(vat), (doc["Number"], table, row)
            total += amount + (0 if included else cents(row["СуммаНДС"]))
    assert cents(doc["СуммаДокумента"]) == total, doc["Number"]


def staging_pairs(staging: Staging, entity_key: str) -> list[tuple[str, str]]:
    """(CRM id, 1C id) of every link of an entity, in CRM id order."""
    with staging.engine.connect() as conn:
        rows = conn.execute(sa.select(xref.c.crm_id, xref.c.onec_id).where(xref.c.entity == entity_key))
        return sorted((str(c), str(o)) for c, o in rows)


def deal(crm: Any, deal_id: str) -> dict:
    return crm.call("crm.deal.get", {"id": deal_id})["result"]


def onec_writes(contour: RunningContour) -> int:
    requests = contour_admin(contour, "onec", "requests?limit=100000")["requests"]
    return sum(r["method"] not in ("GET", "HEAD") for r in requests)


def test_deals_become_unposted_documents_with_exact_rows(demo_contour: RunningContour, staging: Staging):
    crm, onec = clients(demo_contour)
    prepare(staging, crm, onec)

    summary = sync(staging, crm, onec)

    docs = documents(onec)
    assert summary.get("onec_lookups", 0) == 0, "a sale that waited for its invoice sent nothing: no lookup"
    assert summary["onec_create"] >= len(docs) > 5  # smart invoices' documents are created too
    for (deal_id, kind), doc in docs.items():
        assert not doc["Posted"], "documents are created unposted"
        check_rows(doc)
        source = deal(crm, deal_id)
        if doc["СуммаВключаетНДС"] and source["CURRENCY_ID"] == "RUB":
            assert cents(doc["СуммаДокумента"]) == cents(source["OPPORTUNITY"]), (deal_id, kind)
        if kind == "sale" and (deal_id, "invoice") in docs:
            assert doc["СчетНаОплатуПокупателю_Key"] == docs[(deal_id, "invoice")]["Ref_Key"]
    held = {q.external_id: q for q in staging.open_quarantine("invoice")}
    assert all(q.reason_ru for q in held.values())
    stages = {"PREPAYMENT_INVOICE": ("invoice",), "FINAL_INVOICE": ("invoice",), "WON": ("invoice", "sale")}
    deals = crm.call("crm.deal.list", {"filter": {"CATEGORY_ID": 0}, "select": ["ID", "STAGE_ID"]})["result"]
    query = {"entityTypeId": 31, "select": ["id", "parentId2"]}
    smart = {str(i["parentId2"]): str(i["id"]) for i in crm.call("crm.item.list", query)["result"]["items"]}
    for d in deals:
        for kind in stages.get(d["STAGE_ID"], ()):
            if kind == "invoice" and str(d["ID"]) in smart:  # the bill is the smart invoice's, not the deal's
                assert (str(d["ID"]), kind) not in docs, "a deal with a smart invoice got a second invoice"
                continue
            assert (str(d["ID"]), kind) in docs or f"{d['ID']}:{kind}" in held, (d, kind)
    rubles = onec.list_all("Catalog_Валюты", ["Ref_Key"], F("Code") == "643")[0]["Ref_Key"]
    tagged = [
        d for s in (INVOICES, SALES) for p in onec.list(s) for d in p if "crm1c:" in (d["Комментарий"] or "")
    ]
    foreign = [(d["Комментарий"], d) for d in tagged if d["ВалютаДокумента_Key"] != rubles]
    assert foreign, "the demo has a USD deal"
    for deal_id, doc in foreign:
        [rate] = onec.slice_last(
            "InformationRegister_КурсыВалют",
            date.fromisoformat(doc["Date"][:10]),
            F("Валюта_Key") == guid(doc["ВалютаДокумента_Key"]),
        )
        assert Decimal(str(doc["КурсВзаиморасчетов"])) == Decimal(str(rate["Курс"])) > 1, deal_id
    assert pending_intents_total(staging) == 0

    before = onec_writes(demo_contour)
    again = sync(staging, crm, onec)
    assert onec_writes(demo_contour) == before, "a second run wrote to 1C"
    assert again.get("onec_create", 0) == again.get("onec_update", 0) == 0


def test_vat_rate_follows_the_document_date(demo_contour: RunningContour, sqlite_staging: Staging):
    crm, onec = clients(demo_contour)
    prepare(sqlite_staging, crm, onec)
    sync(sqlite_staging, crm, onec)
    for doc in documents(onec).values():
        on = date.fromisoformat(doc["Date"][:10])
        for row in (doc.get("Товары") or []) + (doc.get("Услуги") or []):
            if on >= date(2026, 1, 1):
                assert row["СтавкаНДС"] not in ("НДС20", "НДС18"), (doc["Number"], row)
            else:
                assert row["СтавкаНДС"] != "НДС22", (doc["Number"], row)


def test_an_edit_updates_an_unposted_document_and_a_posted_one_goes_to_the_accountant(
    demo_contour: RunningContour, sqlite_staging: Staging
):
    crm, onec = clients(demo_contour)
    prepare(sqlite_staging, crm, onec)
    sync(sqlite_staging, crm, onec)
    docs = documents(onec)
    (first, _), (second, _) = [k for k in docs if k[1] == "invoice"][:2]

    for deal_id in (first, second):
        rows = crm.call("crm.deal.productrows.get", {"id": deal_id})["result"]
        rows[0]["QUANTITY"] = float(rows[0]["QUANTITY"]) + 1
        keep = ("PRODUCT_ID", "PRICE", "QUANTITY", "DISCOUNT_TYPE_ID", "DISCOUNT_RATE", "DISCOUNT_SUM")
        keep += ("TAX_RATE", "TAX_INCLUDED", "MEASURE_CODE", "PRODUCT_NAME")
        crm.call(
            "crm.deal.productrows.set",
            {"id": deal_id, "rows": [{k: r[k] for k in keep} for r in rows]},
            write=True,
        )
    onec.post_document(INVOICES, docs[(second, "invoice")]["Ref_Key"])
    posted_before = onec.get(INVOICES, docs[(second, "invoice")]["Ref_Key"])
    sync(sqlite_staging, crm, onec)

    after = documents(onec)
    assert after[(first, "invoice")]["СуммаДокумента"] != docs[(first, "invoice")]["СуммаДокумента"]
    check_rows(after[(first, "invoice")])
    if after[(first, "invoice")]["СуммаВключаетНДС"] and deal(crm, first)["CURRENCY_ID"] == "RUB":
        assert cents(after[(first, "invoice")]["СуммаДокумента"]) == cents(deal(crm, first)["OPPORTUNITY"])
    posted_after = onec.get(INVOICES, docs[(second, "invoice")]["Ref_Key"])
    assert posted_after["DataVersion"] == posted_before["DataVersion"], "a posted document was overwritten"
    conflicts = [c for c in sqlite_staging.open_conflicts("invoice") if c.crm_id == f"{second}:invoice"]
    assert conflicts, "the change to a posted document did not reach the accountant"


def test_a_closed_period_refuses_the_edit_and_the_accountant_hears_of_it(
    demo_contour: RunningContour, sqlite_staging: Staging
):
    crm, onec = clients(demo_contour)
    prepare(sqlite_staging, crm, onec)
    sync(sqlite_staging, crm, onec)
    (deal_id, _), doc = next((k, d) for k, d in documents(onec).items() if k[1] == "invoice")
    demo_contour.knobs("onec", prohibition_date=doc["Date"][:10])
    try:
        crm.call(
            "crm.deal.update",
            {"id": deal_id, "fields": {"COMPANY_ID": deal(crm, deal_id)["COMPANY_ID"]}},
            write=True,
        )
        rows = crm.call("crm.deal.productrows.get", {"id": deal_id})["result"]
        keep = ("PRODUCT_ID", "PRICE", "QUANTITY", "TAX_RATE", "TAX_INCLUDED", "MEASURE_CODE", "PRODUCT_NAME")
        changed = [{k: r[k] for k in keep} | {"QUANTITY": float(r["QUANTITY"]) + 2} for r in rows]
        crm.call("crm.deal.productrows.set", {"id": deal_id, "rows": changed}, write=True)

        sync(sqlite_staging, crm, onec)

        assert onec.get(INVOICES, doc["Ref_Key"])["DataVersion"] == doc["DataVersion"]
        held = [q for q in sqlite_staging.open_quarantine("invoice") if q.external_id == f"{deal_id}:invoice"]
        assert held and "Запрещено изменять данные" in held[0].reason_ru
    finally:
        demo_contour.knobs("onec", prohibition_date=None)


def test_a_lost_deal_marks_its_unposted_documents_for_deletion(
    demo_contour: RunningContour, sqlite_staging: Staging
):
    crm, onec = clients(demo_contour)
    prepare(sqlite_staging, crm, onec)
    sync(sqlite_staging, crm, onec)
    (deal_id, kind), doc = next(iter(documents(onec).items()))

    crm.call("crm.deal.update", {"id": deal_id, "fields": {"STAGE_ID": "LOSE"}}, write=True)
    sync(sqlite_staging, crm, onec)

    gone = onec.get(KIND_SET[kind], doc["Ref_Key"])
    assert gone["DeletionMark"] is True and not gone["Posted"]


KIND_SET = {v: k for k, v in KIND.items()}


def tagged(onec: Any, deal_id: str) -> list[dict]:
    """Every document crm1c made for the deal in 1C, deletion-marked ones too."""
    tag = f"crm1c:deal:{deal_id}"
    return [
        doc
        for entity_set in (INVOICES, SALES)
        for page in onec.list(entity_set)
        for doc in page
        if tag in str(doc.get("Комментарий") or "").split()
    ]


def lose_a_deal(staging: Staging, crm: Any, onec: Any, by_hand: str | None = None) -> tuple[str, dict]:
    """The chain and a documents run; then a won deal (an invoice and a sale) is lost and a run marks its
    documents for deletion — the one of kind ``by_hand`` the accountant marked in 1C before. Returns the
    deal and its documents by kind, as marked."""
    prepare(staging, crm, onec)
    sync(staging, crm, onec)
    docs = documents(onec)
    deal_id = next(d for d, kind in docs if kind == "invoice" and (d, "sale") in docs)
    assert deal(crm, deal_id)["STAGE_ID"] == "WON"
    if by_hand is not None:
        doc = docs[(deal_id, by_hand)]
        onec.mark_deleted(KIND_SET[by_hand], doc["Ref_Key"], doc["DataVersion"])
        sync(staging, crm, onec)  # the deal is live: 1C's mark stands, and nothing is held
        assert held_reason(staging, deal_id, by_hand) is None
    crm.call("crm.deal.update", {"id": deal_id, "fields": {"STAGE_ID": "LOSE"}}, write=True)
    sync(staging, crm, onec)
    marked = {kind: onec.get(KIND_SET[kind], docs[(deal_id, kind)]["Ref_Key"]) for kind in KIND_SET}
    marked = {kind: {k: v for k, v in doc.items() if k != "odata.metadata"} for kind, doc in marked.items()}
    assert all(doc["DeletionMark"] for doc in marked.values()), "setup: the lost deal's documents are marked"
    for kind, doc in marked.items():  # crm1c's mark says so in the document; the accountant's does not
        assert doc["Комментарий"] == f"crm1c:deal:{deal_id}" + ("" if kind == by_hand else " crm1c:cancelled")
    return deal_id, marked


def reopen(crm: Any, deal_id: str) -> None:
    """The manager takes the lost deal up again (won), with one more of each row: its terms change."""
    crm.call("crm.deal.update", {"id": deal_id, "fields": {"STAGE_ID": "WON"}}, write=True)
    more_of_each_row(crm, deal_id, 1)


def by_kind(onec: Any, deal_id: str) -> dict[str, dict]:
    """The deal's documents in 1C by kind, deletion-marked ones too; a second one of a kind fails the test."""
    found: dict[str, dict] = {}
    for doc in tagged(onec, deal_id):
        kind = "sale" if "Услуги" in doc else "invoice"
        assert kind not in found, f"two {kind} documents for deal {deal_id}"
        found[kind] = doc
    return found


def held_reason(staging: Staging, deal_id: str, kind: str) -> str | None:
    held = {q.external_id: q for q in staging.open_quarantine("invoice")}
    found = held.get(f"{deal_id}:{kind}")
    return found.reason_ru if found is not None else None


def test_a_lost_deal_reopened_gets_its_documents_back_with_its_current_terms(
    demo_contour: RunningContour, sqlite_staging: Staging
):
    crm, onec = clients(demo_contour)
    deal_id, marked = lose_a_deal(sqlite_staging, crm, onec)
    reopen(crm, deal_id)
    before = onec_writes(demo_contour)

    sync(sqlite_staging, crm, onec)

    assert onec_writes(demo_contour) - before == 2, "one write restores and updates each document"
    docs = by_kind(onec, deal_id)  # the same documents: never a second one
    for kind, doc in docs.items():
        assert (doc["Ref_Key"], doc["Number"]) == (marked[kind]["Ref_Key"], marked[kind]["Number"])
        assert doc["DeletionMark"] is False and not doc["Posted"]
        assert doc["Комментарий"] == f"crm1c:deal:{deal_id}", "the cancellation's word is taken off"
        assert cents(doc["СуммаДокумента"]) != cents(marked[kind]["СуммаДокумента"]), "the deal's rows now"
        check_rows(doc)
        if doc["СуммаВключаетНДС"] and deal(crm, deal_id)["CURRENCY_ID"] == "RUB":
            assert cents(doc["СуммаДокумента"]) == cents(deal(crm, deal_id)["OPPORTUNITY"])
        assert held_reason(sqlite_staging, deal_id, kind) is None
    assert docs["sale"]["СчетНаОплатуПокупателю_Key"] == docs["invoice"]["Ref_Key"]
    assert pending_intents_total(sqlite_staging) == 0
    before = onec_writes(demo_contour)
    sync(sqlite_staging, crm, onec)
    assert onec_writes(demo_contour) == before, "a second run wrote to 1C"

    payments = ("extract_onec", "extract_crm", "plan", "load_crm", "publish")
    run_sync(sqlite_staging, crm, onec, ref=entity("payments"), steps=payments)
    named = deal(crm, deal_id)["UF_CRM_1C_DOCUMENT"]
    assert named == f"{label(INVOICES, docs['invoice'])}; {label(SALES, docs['sale'])}", "the deal names them"


@pytest.mark.parametrize("fault", ["lost_answer", "before_xref_commit"])
def test_a_deal_reopened_after_an_interrupted_cancellation_gets_its_documents_back(
    fault: str, demo_contour: RunningContour, sqlite_staging: Staging
):
    """The cancellation's deletion mark reached 1C, but its run did not learn so (the answer was lost, or
    the run died before it stored the write): the mark is still crm1c's, and the reopening restores."""
    crm, onec = clients(demo_contour)
    prepare(sqlite_staging, crm, onec)
    sync(sqlite_staging, crm, onec)
    docs = documents(onec)
    deal_id = next(d for d, kind in docs if kind == "invoice" and (d, "sale") in docs)
    crm.call("crm.deal.update", {"id": deal_id, "fields": {"STAGE_ID": "LOSE"}}, write=True)
    if fault == "lost_answer":
        demo_contour.knobs("onec", fault_lost_answer_next=2, fault_lost_answer_on="update")
        try:
            summary = sync(sqlite_staging, crm, onec)
        finally:
            demo_contour.knobs("onec", fault_lost_answer_next=0)
        assert summary["onec_left_pending"] == 2, "setup: both marks were written, their answers lost"
    else:
        with pytest.raises(Killed):
            sync(sqlite_staging, crm, onec, kill_hook=crash_at(fault))
    sync(sqlite_staging, crm, onec)
    marked = by_kind(onec, deal_id)
    assert all(doc["DeletionMark"] for doc in marked.values()), "setup: both documents are marked"
    reopen(crm, deal_id)

    sync(sqlite_staging, crm, onec)

    docs = by_kind(onec, deal_id)
    assert {k: (d["Ref_Key"], d["DeletionMark"]) for k, d in docs.items()} == {
        k: (d["Ref_Key"], False) for k, d in marked.items()
    }
    assert held_reason(sqlite_staging, deal_id, "invoice") is None
    assert held_reason(sqlite_staging, deal_id, "sale") is None


def test_a_reopened_deal_whose_document_the_accountant_marked_goes_to_the_accountant(
    demo_contour: RunningContour, sqlite_staging: Staging
):
    crm, onec = clients(demo_contour)
    deal_id, marked = lose_a_deal(sqlite_staging, crm, onec, by_hand="invoice")
    reopen(crm, deal_id)

    sync(sqlite_staging, crm, onec)

    docs = by_kind(onec, deal_id)
    assert docs["invoice"] == marked["invoice"], "the accountant's mark stands, the document untouched"
    reason = held_reason(sqlite_staging, deal_id, "invoice")
    assert reason is not None, "the accountant does not hear of the reopened deal"
    assert f"Сделка {deal_id}" in reason and marked["invoice"]["Number"] in reason and "не crm1c" in reason
    assert docs["sale"]["DeletionMark"] is False, "the sale crm1c marked is restored"
    assert held_reason(sqlite_staging, deal_id, "sale") is None
    sync(sqlite_staging, crm, onec)
    assert by_kind(onec, deal_id)["invoice"] == marked["invoice"], "nor on the next run"

    invoice = marked["invoice"]
    onec.mark_deleted(INVOICES, invoice["Ref_Key"], invoice["DataVersion"], mark=False)  # as the reason says
    sync(sqlite_staging, crm, onec)

    restored = by_kind(onec, deal_id)["invoice"]
    assert restored["DeletionMark"] is False and restored["Ref_Key"] == invoice["Ref_Key"]
    assert cents(restored["СуммаДокумента"]) != cents(invoice["СуммаДокумента"]), "updated from the deal"
    check_rows(restored)
    assert held_reason(sqlite_staging, deal_id, "invoice") is None


def test_a_reopened_deal_in_a_closed_period_goes_to_the_accountant_until_it_opens(
    demo_contour: RunningContour, sqlite_staging: Staging
):
    crm, onec = clients(demo_contour)
    deal_id, marked = lose_a_deal(sqlite_staging, crm, onec)
    demo_contour.knobs("onec", prohibition_date=max(d["Date"][:10] for d in marked.values()))
    try:
        reopen(crm, deal_id)

        sync(sqlite_staging, crm, onec)

        assert by_kind(onec, deal_id) == marked, "untouched, and no second document"
        for kind, doc in marked.items():
            reason = held_reason(sqlite_staging, deal_id, kind)
            assert reason is not None and "Запрещено изменять данные" in reason and doc["Number"] in reason

        demo_contour.knobs("onec", prohibition_date="")  # the period opens
        sync(sqlite_staging, crm, onec, mode="full")  # a refused write is tried again on a full run
    finally:
        demo_contour.knobs("onec", prohibition_date=None)

    docs = by_kind(onec, deal_id)
    assert {k: (d["Ref_Key"], d["DeletionMark"]) for k, d in docs.items()} == {
        k: (d["Ref_Key"], False) for k, d in marked.items()
    }
    assert held_reason(sqlite_staging, deal_id, "invoice") is None
    assert held_reason(sqlite_staging, deal_id, "sale") is None


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_crash_at_any_kill_point_leaves_no_duplicate_document(
    point: str, demo_contour: RunningContour, sqlite_staging: Staging
):
    crm, onec = clients(demo_contour)
    prepare(sqlite_staging, crm, onec)
    with pytest.raises(Killed):
        sync(sqlite_staging, crm, onec, kill_hook=crash_at(point))
    for _run in range(2):
        sync(sqlite_staging, crm, onec)
    docs = documents(onec)  # asserts one document per deal and kind
    assert len(docs) > 5 and pending_intents_total(sqlite_staging) == 0


def test_a_sale_waiting_for_its_invoice_is_kept_out_of_the_pool_untried(
    demo_contour: RunningContour, sqlite_staging: Staging
):
    """A sale whose invoice is written in the same step is not handed to the pool (nor marked tried) until
    its invoice is settled: a run killed right after its first chunk was marked tried leaves no tried sale
    of a deal whose invoice is still to be written, so the next run looks up only what was really tried."""
    crm, onec = clients(demo_contour)
    prepare(sqlite_staging, crm, onec)
    with pytest.raises(Killed):
        sync(sqlite_staging, crm, onec, kill_hook=crash_at("after_intent"))
    pending = sqlite_staging.pending_intents("invoice", "onec", after_id=0, limit=10_000)
    invoices = {i.source_id.rsplit(":", 1)[0] for i in pending if i.source_id.endswith(":invoice")}
    tried = [i for i in pending if i.tried_at is not None]
    assert tried, "the first chunk was marked tried"
    waiting_sales = [
        i.source_id for i in tried if i.source_id.endswith(":sale") and i.source_id[:-5] in invoices
    ]
    assert not waiting_sales, f"sales tried while their invoice waited: {waiting_sales}"
    summary = sync(sqlite_staging, crm, onec)
    assert summary.get("onec_lookups", 0) == sum(i.op == "create" for i in tried)
    documents(onec)  # one document per deal and kind


def test_an_answer_lost_after_the_create_never_makes_a_second_document(
    demo_contour: RunningContour, sqlite_staging: Staging
):
    crm, onec = clients(demo_contour)
    prepare(sqlite_staging, crm, onec)
    demo_contour.knobs("onec", fault_lost_answer_next=3, fault_lost_answer_on=f"{INVOICES}/create")
    adopted = looked_up = 0
    try:
        for _run in range(3):
            summary = sync(sqlite_staging, crm, onec)
            adopted += summary.get("onec_adopted", 0)
            looked_up += summary.get("onec_lookups", 0)
    finally:
        demo_contour.knobs("onec", fault_lost_answer_next=0)
    docs = documents(onec)  # asserts one document per deal and kind
    assert adopted == looked_up == 3, "each lost answer, and only those, was looked up before retry"
    assert len(docs) > 5 and pending_intents_total(sqlite_staging) == 0


def test_smart_invoices_become_payment_invoices_and_a_failed_one_is_cancelled(
    demo_contour: RunningContour, sqlite_staging: Staging
):
    crm, onec = clients(demo_contour)
    prepare(sqlite_staging, crm, onec)
    sync(sqlite_staging, crm, onec)
    smart = {
        str(i["id"]): i
        for i in crm.call("crm.item.list", {"entityTypeId": 31, "select": ["id", "categoryId", "stageId"]})[
            "result"
        ]["items"]
    }
    tagged = {}
    for page in onec.list(INVOICES):
        for doc in page:
            for word in str(doc.get("Комментарий") or "").split():
                if word.startswith("crm1c:invoice:"):
                    tagged[word.removeprefix("crm1c:invoice:")] = doc
    held = {q.external_id for q in sqlite_staging.open_quarantine("invoice")}
    assert tagged and set(smart) == set(tagged) | {
        i.removeprefix("SI").split(":")[0] for i in held if i[:2] == "SI"
    }
    for doc in tagged.values():
        assert not doc["Posted"]
        check_rows(doc)

    invoice_id = next(iter(tagged))
    category = smart[invoice_id]["categoryId"]
    statuses = crm.call("crm.status.list", {"filter": {"ENTITY_ID": f"SMART_INVOICE_STAGE_{category}"}})[
        "result"
    ]
    failed = next(s["STATUS_ID"] for s in statuses if s.get("SEMANTICS") == "F")
    crm.call(
        "crm.item.update", {"entityTypeId": 31, "id": invoice_id, "fields": {"stageId": failed}}, write=True
    )
    sync(sqlite_staging, crm, onec)

    assert onec.get(INVOICES, tagged[invoice_id]["Ref_Key"])["DeletionMark"] is True


def test_bad_input_waits_with_a_reason_and_the_rest_goes_on(
    demo_contour: RunningContour, sqlite_staging: Staging
):
    crm, onec = clients(demo_contour)
    prepare(sqlite_staging, crm, onec)
    companies = [c for c, _ in staging_pairs(sqlite_staging, "counterparty")]
    products = dict(staging_pairs(sqlite_staging, "nomenclature"))
    services = {
        str(s["id"])
        for s in crm.call(
            "catalog.product.service.list",
            {"filter": {"iblockId": 14}, "select": ["id", "iblockId"]},
        )["result"]["services"]
    }
    service = next(p for p in products if p in services)
    good = next(p for p in products if p not in services)
    crm_only = crm.call(
        "catalog.product.add",
        {"fields": {"iblockId": 14, "name": "Только в CRM", "code": "CRM-ONLY-1"}},
        write=True,
    )["result"]["element"]["id"]
    long_name = ('Монтаж "под ключ"; DROP TABLE deals;-- ' + "ж" * 600)[:600]

    def new_deal(
        company: str, rows: list[dict], currency: str = "RUB", stage: str = "PREPAYMENT_INVOICE"
    ) -> str:
        fields = {
            "TITLE": "Проверка",
            "COMPANY_ID": company,
            "STAGE_ID": stage,
            "CURRENCY_ID": currency,
        }
        deal_id = str(crm.call("crm.deal.add", {"fields": fields}, write=True)["result"])
        crm.call("crm.deal.productrows.set", {"id": deal_id, "rows": rows}, write=True)
        return deal_id

    row = {"PRICE": 1220, "QUANTITY": 1, "TAX_RATE": 22, "TAX_INCLUDED": "Y"}
    fine = new_deal(companies[0], [row | {"PRODUCT_ID": service, "PRODUCT_NAME": long_name}], stage="WON")
    unknown = new_deal(companies[0], [row | {"PRODUCT_ID": good}, row | {"PRODUCT_ID": crm_only}])
    foreign = new_deal(companies[0], [row | {"PRODUCT_ID": good}], currency="CNY")
    ref = next(o for c, o in staging_pairs(sqlite_staging, "counterparty") if c == companies[1])
    onec.mark_deleted("Catalog_Контрагенты", ref, onec.get("Catalog_Контрагенты", ref)["DataVersion"])
    run_sync(sqlite_staging, crm, onec, steps=("extract_onec",))
    orphan = new_deal(companies[1], [row | {"PRODUCT_ID": good}])

    sync(sqlite_staging, crm, onec)

    held = {q.external_id: q for q in sqlite_staging.open_quarantine("invoice")}
    assert str(crm_only) in held[f"{unknown}:invoice"].reason_ru
    assert held[f"{foreign}:invoice"].field == "currency"
    assert "помечен на удаление" in held[f"{orphan}:invoice"].reason_ru
    doc = documents(onec)[(fine, "invoice")]
    assert (
        doc["Товары"][0]["Содержание"] == long_name or doc["Товары"][0]["Номенклатура"] == products[service]
    )
    check_rows(doc)


def test_a_row_whose_unit_units_yaml_does_not_list_holds_its_deal_and_the_rest_goes_on(
    demo_contour: RunningContour, sqlite_staging: Staging
):
    crm, onec = clients(demo_contour)
    prepare(sqlite_staging, crm, onec)
    company = next(c for c, _ in staging_pairs(sqlite_staging, "counterparty"))
    product = next(p for p, _ in staging_pairs(sqlite_staging, "nomenclature"))
    row = {"PRODUCT_ID": product, "PRICE": 1220, "QUANTITY": 1, "TAX_RATE": 22, "TAX_INCLUDED": "Y"}
    deals = {}
    unit = {"listed": {}, "unlisted": {"MEASURE_CODE": 715}}  # ОКЕИ 715 «пара»: not in units.yaml
    for name, measure in unit.items():  # without MEASURE_CODE a row has its product's unit
        fields = {"TITLE": name, "COMPANY_ID": company, "STAGE_ID": "FINAL_INVOICE"}
        deals[name] = str(crm.call("crm.deal.add", {"fields": fields}, write=True)["result"])
        rows = [row, row | measure | {"PRODUCT_NAME": "Перчатки"}]
        crm.call("crm.deal.productrows.set", {"id": deals[name], "rows": rows}, write=True)

    sync(sqlite_staging, crm, onec)

    docs = documents(onec)
    assert (deals["listed"], "invoice") in docs and (deals["unlisted"], "invoice") not in docs
    assert len(docs) > 5, "the other deals are written"
    held = {q.external_id: q for q in sqlite_staging.open_quarantine("invoice")}
    reason = held[f"{deals['unlisted']}:invoice"]
    assert reason.field == "rows.2.MEASURE_CODE"
    assert reason.reason_ru.startswith(f"Сделка {deals['unlisted']}, строка 2 («Перчатки», товар {product})")
    assert "MEASURE_CODE 715 (ОКЕИ 715) не задана в units.yaml" in reason.reason_ru

    rows = crm.call("crm.deal.productrows.get", {"id": deals["unlisted"]})["result"]
    keep = ("PRODUCT_ID", "PRICE", "QUANTITY", "TAX_RATE", "TAX_INCLUDED", "PRODUCT_NAME")
    fixed = [{k: r[k] for k in keep} for r in rows]  # the product's unit again
    crm.call("crm.deal.productrows.set", {"id": deals["unlisted"], "rows": fixed}, write=True)
    sync(sqlite_staging, crm, onec)  # the manager put a listed unit: the held deal goes

    assert (deals["unlisted"], "invoice") in documents(onec)
    still = {q.external_id for q in sqlite_staging.open_quarantine("invoice")}
    assert f"{deals['unlisted']}:invoice" not in still


def contract_reads(contour: RunningContour) -> int:
    requests = contour_admin(contour, "onec", "requests?limit=100000")["requests"]
    return sum(r["method"] == "GET" and r["entity_set"] == "Catalog_ДоговорыКонтрагентов" for r in requests)


def test_the_contract_is_the_mapped_one_else_the_buyer_contract_created_once(
    demo_contour: RunningContour, sqlite_staging: Staging
):
    crm, onec = clients(demo_contour)
    prepare(sqlite_staging, crm, onec)
    before = contract_reads(demo_contour)
    sync(sqlite_staging, crm, onec)
    docs = documents(onec)
    owners = {doc["Контрагент_Key"] for doc in docs.values()}
    assert contract_reads(demo_contour) - before <= -(-len(owners) // 25) < len(owners), "one read per 25"
    contracts = [
        r for page in onec.list("Catalog_ДоговорыКонтрагентов") for r in page if not r["DeletionMark"]
    ]
    buyer = Counter(
        (r["Owner_Key"], r["Description"]) for r in contracts if r["ВидДоговора"] == "СПокупателем"
    )
    assert all(n == 1 for n in buyer.values()), "a buyer contract was created twice"
    by_ref = {r["Ref_Key"]: r for r in contracts}
    for doc in docs.values():
        contract = by_ref[doc["ДоговорКонтрагента_Key"]]
        assert (contract["Owner_Key"], contract["ВидДоговора"]) == (doc["Контрагент_Key"], "СПокупателем")

    (deal_id, _), doc = next(iter(docs.items()))
    inn = onec.get("Catalog_Контрагенты", doc["Контрагент_Key"])["ИНН"]
    named = onec.create(
        "Catalog_ДоговорыКонтрагентов",
        {"Description": "Договор № 15", "Owner_Key": doc["Контрагент_Key"], "ВидДоговора": "СПокупателем"},
    )
    mapping = entity("invoices").load_mapping().model_copy(update={"contracts": {inn: "Договор № 15"}})
    deal_row = {"PRICE": 100, "QUANTITY": 1, "TAX_RATE": 22, "TAX_INCLUDED": "Y"}
    product = crm.call("crm.deal.productrows.get", {"id": deal_id})["result"][0]["PRODUCT_ID"]
    company = deal(crm, deal_id)["COMPANY_ID"]
    fields = {"TITLE": "По договору", "COMPANY_ID": company, "STAGE_ID": "FINAL_INVOICE"}
    new = str(crm.call("crm.deal.add", {"fields": fields}, write=True)["result"])
    crm.call(
        "crm.deal.productrows.set", {"id": new, "rows": [deal_row | {"PRODUCT_ID": product}]}, write=True
    )

    sync(sqlite_staging, crm, onec, mapping=mapping)

    assert documents(onec)[(new, "invoice")]["ДоговорКонтрагента_Key"] == named["Ref_Key"]


def test_a_pilot_writes_only_the_documents_of_its_deals(
    demo_contour: RunningContour, sqlite_staging: Staging
):
    from crm1c.rollout import pilot_predicate
    from crm1c.sync.invoices.pilot import DocumentPilot

    crm, onec = clients(demo_contour)
    prepare(sqlite_staging, crm, onec)
    deals = crm.call("crm.deal.list", {"filter": {"STAGE_ID": "WON"}, "select": ["ID", "COMPANY_ID"]})[
        "result"
    ]
    company = str(deals[0]["COMPANY_ID"])
    pilot = pilot_predicate(DocumentPilot(), {"companies": [company]})

    sync(sqlite_staging, crm, onec, pilot=pilot)

    docs = documents(onec)
    assert docs and {deal(crm, d)["COMPANY_ID"] for d, _ in docs} == {company}
    sync(sqlite_staging, crm, onec)  # the pilot is over: the rest goes too
    assert len(documents(onec)) > len(docs)


# ----------------------------------------------------------------------------- deals left as staged


def test_the_rule_of_what_an_incremental_read_leaves_as_staged():
    """Strictly before the second the previous listing started, each record at its listed version, unheld."""
    start, earlier = "2026-12-03T10:00:05+03:00", "2026-12-03T10:00:04+03:00"
    other = "2026-12-03T09:00:00+03:00"
    rule = Unchanged(start, held={"7"})
    assert rule("5", earlier, [earlier, earlier])
    assert rule("5", "2026-12-03T07:00:04+00:00", ["2026-12-03T07:00:04+00:00"]), "the offset is honoured"
    assert not rule("5", start, [start]), "the start's own second may hold an edit made after the read"
    assert not Unchanged("2026-12-03T10:00:04.5+03:00", set())("5", earlier, [earlier]), "whole seconds"
    assert not rule("5", "2026-12-03T10:00:06+03:00", ["2026-12-03T10:00:06+03:00"])
    assert not rule("5", earlier, [earlier, other]), "a record staged at another version"
    assert not rule("5", earlier, [earlier, None]), "a kind not staged"
    assert not rule("5", earlier, []), "nothing staged"
    assert not rule("7", earlier, [earlier]), "held"
    assert not rule("5", None, [None]) and not rule("5", "garbled", ["garbled"])
    assert not rule("5", "2026-12-03T10:00:04", ["2026-12-03T10:00:04"]), "no offset: not comparable"
    assert not Unchanged(None, set())("5", earlier, [earlier]), "a full run (or the first) leaves nothing"
    assert not Unchanged("", set())("5", earlier, [earlier]), "no server time last run: nothing either"


@pytest.fixture
def open_period(demo_contour: RunningContour) -> Iterator[RunningContour]:
    """The demo contour with no 1C change-prohibition date: no deal is held for 1C's refusal."""
    demo_contour.knobs("onec", prohibition_date="")
    try:
        yield demo_contour
    finally:
        demo_contour.knobs("onec", prohibition_date=None)


def bitrix_calls(contour: RunningContour) -> Counter[str]:
    """Bitrix24 calls so far per method (a batch's sub-calls each under its own), ``requests``: HTTP ones."""
    stats = contour_admin(contour, "bitrix", "stats")
    return Counter({m: s["calls"] for m, s in stats["methods"].items()}) + Counter(requests=stats["requests"])


def next_second() -> None:
    """Wait until the server clock (this machine's) is in a later second than every write so far."""
    time.sleep(1.05 - time.time() % 1)


def later_marker(crm: Any) -> None:
    """A deal and a smart invoice that make no document, modified in a later second than everything before:
    the next run's cursors pass the second of what it reads."""
    next_second()
    crm.call("crm.deal.add", {"fields": {"TITLE": "Позже", "STAGE_ID": "NEW"}}, write=True)
    listed = crm.call("crm.item.list", {"entityTypeId": 31, "select": ["id", "categoryId"]})["result"]
    item = listed["items"][0]
    flt = {"ENTITY_ID": f"SMART_INVOICE_STAGE_{item['categoryId']}"}
    statuses = crm.call("crm.status.list", {"filter": flt})["result"]
    failed = next(s["STATUS_ID"] for s in statuses if s.get("SEMANTICS") == "F")
    fields = {"title": "Отменён", "categoryId": item["categoryId"], "stageId": failed}
    crm.call("crm.item.add", {"entityTypeId": 31, "fields": fields}, write=True)


def paid_and_read(staging: Staging, crm: Any, onec: Any) -> list[str]:
    """The chain and a documents run; then every deal with a document gets a payment-like user field update
    (its ``DATE_MODIFY`` moves, its documents do not), a run reads them, and nothing changes after it.
    Returns those deals."""
    prepare(staging, crm, onec)
    sync(staging, crm, onec)
    paid = sorted({deal_id for deal_id, _ in documents(onec)}, key=int)
    assert len(paid) > 3
    crm.call(
        "crm.deal.userfield.add",
        {"fields": {"FIELD_NAME": "1C_PAY_STATUS", "USER_TYPE_ID": "string"}},
        write=True,
    )
    for deal_id in paid:
        crm.call(
            "crm.deal.update", {"id": deal_id, "fields": {"UF_CRM_1C_PAY_STATUS": "Оплачен"}}, write=True
        )
    later_marker(crm)
    sync(staging, crm, onec)
    ids = [record_id(d, kind) for d in paid for kind in ("invoice", "sale")]
    modified = {d: deal(crm, d)["DATE_MODIFY"] for d in paid}
    staged = staging.versions_of("crm", "invoice", ids)
    assert staged and all(v == modified[i.split(":")[0]] for i, v in staged.items()), "every one read again"
    return paid


def more_of_each_row(crm: Any, deal_id: str, more: int) -> None:
    """The deal's product rows, each with ``more`` more of its item (its documents change)."""
    rows = crm.call("crm.deal.productrows.get", {"id": deal_id})["result"]
    keep = ("PRODUCT_ID", "PRICE", "QUANTITY", "DISCOUNT_TYPE_ID", "DISCOUNT_RATE", "DISCOUNT_SUM")
    keep += ("TAX_RATE", "TAX_INCLUDED", "MEASURE_CODE", "PRODUCT_NAME")
    changed = [{k: r[k] for k in keep} | {"QUANTITY": float(r["QUANTITY"]) + more} for r in rows]
    crm.call("crm.deal.productrows.set", {"id": deal_id, "rows": changed}, write=True)


def test_a_no_change_run_reads_no_deal_details_again(open_period: RunningContour, sqlite_staging: Staging):
    crm, onec = clients(open_period)
    paid = paid_and_read(sqlite_staging, crm, onec)
    docs = documents(onec)
    held = {q.external_id for q in sqlite_staging.open_quarantine("invoice")}
    assert not [i for i in held if not i.startswith("SI")], "no deal is held here"

    before, requests = bitrix_calls(open_period), crm.stats.requests
    summary = sync(sqlite_staging, crm, onec)

    calls = bitrix_calls(open_period) - before
    assert calls["crm.deal.productrows.get"] == calls["crm.stagehistory.list"] == 0, calls
    assert calls["crm.item.productrow.list"] == len(held), "only the held smart invoice is read again"
    assert summary["crm_unchanged"] >= len(paid) and summary.get("crm_read", 0) == len(held)
    assert crm.stats.requests - requests == calls["requests"] <= 5, calls
    assert summary.get("onec_create", 0) == summary.get("onec_update", 0) == 0
    assert documents(onec) == docs

    env = make_env(sqlite_staging, crm, onec, mapping=entity("invoices").load_mapping())
    requests = crm.stats.requests
    read_deals(env, "incremental")
    assert crm.stats.requests - requests <= 2, "the deals: one listing request (and one for smart invoices)"
    assert env.counters["crm_unchanged"] >= len(paid) and not env.counters["crm_read"]


def test_a_deal_edited_in_the_overlap_window_is_read_and_its_document_updated(
    open_period: RunningContour, sqlite_staging: Staging
):
    crm, onec = clients(open_period)
    paid_and_read(sqlite_staging, crm, onec)
    docs = documents(onec)
    deal_id = next(d for d, kind in docs if kind == "invoice")
    more_of_each_row(crm, deal_id, 1)

    before = bitrix_calls(open_period)
    sync(sqlite_staging, crm, onec)

    calls = bitrix_calls(open_period) - before
    assert calls["crm.deal.productrows.get"] == calls["crm.stagehistory.list"] == 1, "that deal alone"
    after = documents(onec)
    for key in [k for k in docs if k[0] == deal_id]:
        assert after[key]["СуммаДокумента"] != docs[key]["СуммаДокумента"]
        check_rows(after[key])
    assert {k: d["DataVersion"] for k, d in after.items() if k[0] != deal_id} == {
        k: d["DataVersion"] for k, d in docs.items() if k[0] != deal_id
    }


def test_a_held_deal_is_read_again_though_unchanged(open_period: RunningContour, sqlite_staging: Staging):
    crm, onec = clients(open_period)
    prepare(sqlite_staging, crm, onec)
    sync(sqlite_staging, crm, onec)
    (source, _), _doc = next(iter(documents(onec).items()))
    product = crm.call("crm.deal.productrows.get", {"id": source})["result"][0]["PRODUCT_ID"]
    company = add_crm_company(crm, "ООО Новый покупатель", inn10("771999001"), "771901001")
    fields = {"TITLE": "Новый покупатель", "COMPANY_ID": company, "STAGE_ID": "FINAL_INVOICE"}
    deal_id = str(crm.call("crm.deal.add", {"fields": fields}, write=True)["result"])
    row = {"PRODUCT_ID": product, "PRICE": 1220, "QUANTITY": 1, "TAX_RATE": 22, "TAX_INCLUDED": "Y"}
    crm.call("crm.deal.productrows.set", {"id": deal_id, "rows": [row]}, write=True)
    later_marker(crm)
    sync(sqlite_staging, crm, onec)
    held = {q.external_id: q for q in sqlite_staging.open_quarantine("invoice")}
    assert held[f"{deal_id}:invoice"].field == "counterparty", "held: the company is not in 1C yet"

    run_sync(sqlite_staging, crm, onec)  # the counterparties: the new company goes to 1C
    before = bitrix_calls(open_period)
    sync(sqlite_staging, crm, onec)

    calls = bitrix_calls(open_period) - before
    assert calls["crm.deal.productrows.get"] == 1, "the held deal is read again, the others are not"
    assert (deal_id, "invoice") in documents(onec)
    assert f"{deal_id}:invoice" not in {q.external_id for q in sqlite_staging.open_quarantine("invoice")}


def test_more_smart_invoices_than_a_batch_holds_are_read(
    demo_contour: RunningContour, sqlite_staging: Staging
):
    """A listing request gives up to 2,500 smart invoices; their rows are read 50 per batch request."""
    crm, onec = clients(demo_contour)
    listed = crm.call("crm.item.list", {"entityTypeId": 31, "select": ["id", "categoryId", "stageId"]})
    first = listed["result"]["items"][0]
    for n in range(50):
        fields = {"title": f"Счёт {n}", "categoryId": first["categoryId"], "stageId": first["stageId"]}
        crm.call("crm.item.add", {"entityTypeId": 31, "fields": fields}, write=True)
    before = bitrix_calls(demo_contour)

    run_sync(sqlite_staging, crm, onec, ref=entity("invoices"), steps=("extract_crm",))

    calls = bitrix_calls(demo_contour) - before
    assert calls["crm.item.productrow.list"] == len(listed["result"]["items"]) + 50


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


class Listings:
    """The Bitrix24 client, its listings' requests passing :meth:`batch_read` here (a test steps in there)."""

    iter_list_batched = Bitrix24Client.iter_list_batched  # its requests: self.batch_read

    def __init__(self, crm: Bitrix24Client) -> None:
        self.crm = crm

    def __getattr__(self, name: str) -> Any:
        return getattr(self.crm, name)

    def batch_read(self, commands: dict, parse: Any) -> Any:
        return self.crm.batch_read(commands, parse)


class EditedAgainInTheSecondOfItsRead(Listings):
    """The race: the deal listing reads 50 deals a request; ``deal_id`` is edited in a new second T just
    before the listing, read in its first request, edited again in T right after its rows were read; then
    ``marker`` is edited in T+1 and read by a later request of the listing (the newest DATE_MODIFY read)."""

    def __init__(self, crm: Bitrix24Client, deal_id: str, marker: str) -> None:
        super().__init__(crm)
        self.deal_id, self.marker = deal_id, marker
        self.listing_requests, self.edited_again = 0, False

    def iter_list_batched(self, method: str, **kw: Any) -> Any:
        if method == "crm.deal.list":
            kw["calls_per_batch"] = 1
            next_second()
            more_of_each_row(self.crm, self.deal_id, 1)  # second T: DATE_MODIFY T
        return Listings.iter_list_batched(self, method, **kw)

    def batch_read(self, commands: dict, parse: Any) -> Any:
        result = super().batch_read(commands, parse)
        texts = [c for c in commands.values() if isinstance(c, str)]
        self.listing_requests += any(c.startswith("crm.deal.list") for c in texts)
        reads = {"crm.deal.productrows.get": {"id": self.deal_id}}
        if not self.edited_again and any(
            isinstance(c, tuple) and reads.get(c[0]) == c[1] for c in commands.values()
        ):
            assert self.listing_requests == 1, "the deal is read by the listing's first request"
            more_of_each_row(self.crm, self.deal_id, 1)  # still second T, after the read: DATE_MODIFY T
            next_second()
            self.crm.call("crm.deal.update", {"id": self.marker, "fields": {"TITLE": "T+1"}}, write=True)
            self.edited_again = True
        return result


def test_an_edit_in_the_second_of_the_read_is_read_next_run(
    open_period: RunningContour, sqlite_staging: Staging
):
    crm, onec = clients(open_period)
    paid_and_read(sqlite_staging, crm, onec)
    deal_id = min((d for d, kind in documents(onec) if kind == "invoice"), key=int)
    fields = {"TITLE": "Без документов", "STAGE_ID": "NEW"}
    added = crm.batch([("crm.deal.add", {"fields": fields})] * 50, write=True)
    marker = str(added["cmd49"])  # the listing needs a second request: past the deals of its first

    race = EditedAgainInTheSecondOfItsRead(crm, deal_id, marker)
    sync(sqlite_staging, race, onec)

    assert race.edited_again and race.listing_requests >= 2
    modified = deal(crm, deal_id)["DATE_MODIFY"]
    staged = sqlite_staging.versions_of("crm", "invoice", [f"{deal_id}:invoice"])[f"{deal_id}:invoice"]
    assert staged == modified, "setup: both edits in one second, the deal read between them"
    newest = str(sqlite_staging.get_watermark("crm", "invoice"))
    assert moment(newest) >= moment(deal(crm, marker)["DATE_MODIFY"]) > moment(modified), "T+1 was read"
    assert Unchanged(newest, set())(deal_id, modified, [staged]), "the newest DATE_MODIFY would leave it"
    started = str(sqlite_staging.get_watermark("crm", "invoice", LISTED))
    assert moment(started) == moment(modified), "the listing started in the second of the edits"
    before, docs = bitrix_calls(open_period), documents(onec)

    sync(sqlite_staging, crm, onec)

    calls = bitrix_calls(open_period) - before
    assert calls["crm.deal.productrows.get"] == 1, "the deal is read again (the others are left)"
    after = documents(onec)[(deal_id, "invoice")]
    assert after["СуммаДокумента"] != docs[(deal_id, "invoice")]["СуммаДокумента"], "the second edit is in 1C"
    check_rows(after)


class WithoutServerTime(Listings):
    """Answers to the listings' requests carry no ``time.date_start``."""

    def batch_read(self, commands: dict, parse: Any) -> Any:
        def bare(result: BatchResult) -> Any:
            result.date_start = None
            return parse(result)

        return super().batch_read(commands, bare)


def test_a_listing_without_the_servers_time_leaves_nothing_unread_next_run(
    open_period: RunningContour, sqlite_staging: Staging
):
    crm, onec = clients(open_period)
    paid = paid_and_read(sqlite_staging, crm, onec)
    env = make_env(sqlite_staging, WithoutServerTime(crm), onec, mapping=entity("invoices").load_mapping())
    read_deals(env, "incremental")
    assert env.counters["crm_unchanged"] >= len(paid), "the previous run's listing start still holds"
    cursors.promote(env, "invoice")
    assert sqlite_staging.get_watermark("crm", "invoice", LISTED) == ""

    env = make_env(sqlite_staging, crm, onec, mapping=entity("invoices").load_mapping())
    read_deals(env, "incremental")
    assert not env.counters["crm_unchanged"] and env.counters["crm_read"] >= len(paid)


def test_an_intent_whose_document_does_not_read_is_held_and_the_chunk_goes_on(
    demo_contour: RunningContour, sqlite_staging: Staging
):
    crm, onec = clients(demo_contour)
    prepare(sqlite_staging, crm, onec)
    run_id = "broken-payload"
    sync(sqlite_staging, crm, onec, steps=("extract_crm", "extract_onec", "plan"), run_id=run_id)
    [first, *rest] = sqlite_staging.pending_intents("invoice", "onec")
    broken = {**first.payload, "merged": {**first.payload["merged"], "goods": "not rows"}}
    with sqlite_staging.engine.begin() as conn:
        conn.execute(sa.update(write_intent).where(write_intent.c.id == first.id).values(payload=broken))

    summary = sync(sqlite_staging, crm, onec, steps=("load_onec", "publish"), run_id=run_id)

    assert summary["onec_create"] > 0 and rest, "the load went on: the other documents were written"
    held = {q.external_id: q for q in sqlite_staging.open_quarantine("invoice")}
    assert first.source_id in held and "unexpected" in held[first.source_id].reason_en.lower()
