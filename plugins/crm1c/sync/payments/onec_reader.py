"""Payments from 1C: the deals' settlements, recomputed from the documents that changed.

**Scan.** Three cheap version scans (``Ref_Key, DataVersion, DeletionMark``), one request each: the customer
receipts (``Document_ПоступлениеНаРасчетныйСчет``, ``ВидОперации = ОплатаПокупателя``) and the invoices and
sales crm1c made (``Комментарий`` holds ``crm1c:``). Every document's version is kept in staging (entity
:data:`~crm1c.sync.payments.records.DOC_KEY`, with its row), so a run where nothing changed ends there: three
requests to 1C, no full read, no recomputation. Posting, unposting and a deletion mark all change a
document's ``DataVersion``; a receipt whose operation stops being a customer payment, or an invoice whose
tag is removed, leaves the scan and counts as gone.

**Read.** Only the new and changed documents are read in full (50 per request; the whole set page by page
when more than a fifth changed, or on a full run).

**Recompute: by counterparty.** Spreading (rules 2–3 of :func:`~crm1c.domain.money.payments.allocate`) only
ever moves money between invoices of the receipt's counterparty, so a changed document re-computes every
deal of *its* counterparties (old and new counterparty when it moved), and nothing else: the counterparties'
documents come from staging (``match_key`` = counterparty, an index lookup), plus the counterparties of the
invoices their receipts name (a payment for another counterparty's invoice). Cost per changed document: one
indexed staging read of its counterparties' documents and an ``allocate`` over them — O(documents of those
counterparties), independent of the size of the base; the deals whose result did not change stay clean
(their content hash is the same), so the plan and the CRM see only the deals that really changed.
Limitation: when only the invoice side of a third-party payment changes (B's invoice, paid by A's receipt
naming it), A's receipt is not in B's scope; a ``full`` run recomputes every deal from every document and
repairs that (the nightly full run).

The deals' records, the deals that lost their last document (an empty record: the CRM fields are cleared)
and the documents' new versions are stored in ONE staging transaction: a run that dies before it reads the
same changes again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from crm1c.clients.odata_filter import Expr, F, guid
from crm1c.domain.deal_payment import (
    INVOICES,
    RECEIPTS,
    SALES,
    DealPayment,
    Documents,
    counterparty_of,
    deal_payments,
    deals_named,
    reference,
)
from crm1c.domain.money.payments import CUSTOMER_PAYMENT
from crm1c.sync.payments.records import DOC_KEY, KEY, SET, deal_of, deal_seen, doc_seen
from crm1c.sync.runtime import Progress, SyncEnv, log

SCAN = ["Ref_Key", "DataVersion", "DeletionMark"]
SCAN_PAGE = 50_000
FETCH_CHUNK = 50
FULL_READ_SHARE = 0.2
_HEAD = [
    "Ref_Key",
    "DataVersion",
    "DeletionMark",
    "Number",
    "Date",
    "Posted",
    "СуммаДокумента",
    "Комментарий",
]
#: Per set: the objects that matter, and what is read of them.
SETS: dict[str, tuple[Expr, list[str]]] = {
    RECEIPTS: (
        F("ВидОперации") == CUSTOMER_PAYMENT,
        [*_HEAD, "ВидОперации", "Контрагент", "Контрагент_Type", "РасшифровкаПлатежа"],
    ),
    INVOICES: (
        F("Комментарий").contains("crm1c:"),
        [*_HEAD, "Контрагент_Key", "ДоговорКонтрагента_Key", "ВалютаДокумента_Key"],
    ),
    SALES: (
        F("Комментарий").contains("crm1c:"),
        [
            *_HEAD,
            "Контрагент_Key",
            "ДоговорКонтрагента_Key",
            "ВалютаДокумента_Key",
            "СчетНаОплатуПокупателю_Key",
        ],
    ),
}


def read_payments(env: SyncEnv, mode: str) -> None:
    """Scan, read what changed, recompute the deals of the counterparties touched (all on a full run)."""
    progress = Progress("extract_onec")
    scanned: set[str] = set()
    changed: dict[str, list[str]] = {}
    for entity_set, (only, _select) in SETS.items():
        changed[entity_set] = []
        for page in env.onec.list(entity_set, select=SCAN, page_size=SCAN_PAGE, filter=only):
            known = env.staging.versions_of("onec", DOC_KEY, [str(r["Ref_Key"]) for r in page])
            for row in page:
                ref = str(row["Ref_Key"])
                scanned.add(ref)
                if mode == "full" or known.get(ref) != row.get("DataVersion"):
                    changed[entity_set].append(ref)
    gone = [
        i for i, _v, deleted in env.staging.seen_versions("onec", DOC_KEY) if not deleted and i not in scanned
    ]
    env.count("onec_scanned", len(scanned))
    if not gone and not any(changed.values()):
        progress.finish()
        return
    fresh: dict[str, dict[str, Any]] = {}
    for entity_set, refs in changed.items():
        if refs:
            full = mode == "full" or len(refs) > FULL_READ_SHARE * len(scanned)
            for row in _read(env, entity_set, refs, full=full):
                fresh[str(row["Ref_Key"])] = row | {SET: entity_set}
    touched = [*fresh, *gone]
    before = {r.external_id: r.raw for r in env.staging.seen_records("onec", DOC_KEY, external_ids=touched)}
    docs, deals = _scope(env, mode, fresh, gone, before)
    records, notes = deal_payments(_split(docs.values()))
    for note in notes:
        log.info("payments: %s", note.reason_en)
    env.count("receipts_not_counted", len(notes))
    # a deal that lost its last document is an empty record, not a tombstone: the merge clears its fields,
    # and it still matches the deal by its ID when it was never linked (a tombstone matches nothing)
    lost = [DealPayment(deal_id=d, crm_id=d) for d in sorted(deals - set(records))]
    with env.staging.batch() as staging:  # one transaction: the deals and the versions that made them
        result = staging.upsert_seen("onec", KEY, [deal_seen(r) for r in [*records.values(), *lost]])
        staging.upsert_seen("onec", DOC_KEY, [doc_seen(row) for row in fresh.values()])
        staging.mark_deleted("onec", DOC_KEY, gone)
    env.count("onec_read", len(fresh))
    env.count("onec_recomputed", len(records))
    env.count("onec_changed", len(result.to_sync))
    progress.advance(len(records))
    progress.finish()


def _read(env: SyncEnv, entity_set: str, refs: list[str], *, full: bool) -> Iterable[dict[str, Any]]:
    only, select = SETS[entity_set]
    wanted = set(refs)
    if full:
        pages: Iterable[list[dict]] = env.onec.list(entity_set, select=select, page_size=1000, filter=only)
    else:
        pages = (
            env.onec.list_all(entity_set, select=select, filter=F("Ref_Key").in_(guid(r) for r in part))
            for part in (refs[k : k + FETCH_CHUNK] for k in range(0, len(refs), FETCH_CHUNK))
        )
    for page in pages:
        yield from (row for row in page if str(row["Ref_Key"]) in wanted)


def _scope(
    env: SyncEnv,
    mode: str,
    fresh: dict[str, dict[str, Any]],
    gone: list[str],
    before: Mapping[str, Any],
) -> tuple[dict[str, Mapping[str, Any]], set[str]]:
    """The documents to recompute from (staging's, with this run's changes applied) and the deals whose
    record may change: on a full run all of them; else those of the counterparties touched."""
    if mode == "full":
        stored = ((r.external_id, r.raw) for r in env.staging.seen_records("onec", DOC_KEY))
        docs = _current(stored, fresh, set(gone), None)
        known = {deal_of(i) for i, _v, deleted in env.staging.seen_versions("onec", KEY) if not deleted}
        return docs, known | deals_named(docs.values())
    parties = {counterparty_of(row) for row in [*fresh.values(), *before.values()]} - {""}
    docs = _by_parties(env, parties, fresh, gone)
    named = _named_invoices(docs.values()) - set(docs)
    if named:  # payments for another counterparty's invoices: that counterparty's deals change too
        stored = env.staging.seen_records("onec", DOC_KEY, external_ids=named)
        parties |= {counterparty_of(r.raw) for r in stored} - {""}
        docs = _by_parties(env, parties, fresh, gone)
    return docs, deals_named([*docs.values(), *before.values()])


def _by_parties(
    env: SyncEnv, parties: set[str], fresh: dict[str, dict[str, Any]], gone: list[str]
) -> dict[str, Mapping[str, Any]]:
    found = env.staging.by_match_keys("onec", DOC_KEY, sorted(parties)) if parties else {}
    stored = ((r.external_id, r.raw) for rows in found.values() for r in rows)
    return _current(stored, fresh, set(gone), parties)


def _current(
    stored: Iterable[tuple[str, Any]],
    fresh: dict[str, dict[str, Any]],
    gone: set[str],
    parties: set[str] | None,
) -> dict[str, Mapping[str, Any]]:
    """Staging's documents with this run's reads over them and the gone ones left out; the fresh ones of
    ``parties`` (all of them when None) join."""
    out: dict[str, Mapping[str, Any]] = {ref: raw for ref, raw in stored if ref not in gone}
    for ref, row in fresh.items():
        if parties is None or ref in out or counterparty_of(row) in parties:
            out[ref] = row
    return out


def _named_invoices(rows: Iterable[Mapping[str, Any]]) -> set[str]:
    return {
        key
        for row in rows
        if row.get(SET) == RECEIPTS
        for line in row.get("РасшифровкаПлатежа") or []
        if (key := reference(line.get("СчетНаОплату_Key"))) is not None
    }


def _split(rows: Iterable[Mapping[str, Any]]) -> Documents:
    docs = Documents()
    lists = {RECEIPTS: docs.receipts, INVOICES: docs.invoices, SALES: docs.sales}
    for row in rows:
        lists[row[SET]].append(row)
    return docs
