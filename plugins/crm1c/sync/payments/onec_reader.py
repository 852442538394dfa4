"""Payments from 1C: the deals' settlements, recomputed from the documents that changed, in bounded memory.

**Scan.** Three cheap version scans (``Ref_Key, DataVersion, DeletionMark``), one request each: the customer
receipts (``Document_ПоступлениеНаРасчетныйСчет``, ``ВидОперации = ОплатаПокупателя``) and the invoices and
sales crm1c made (``Комментарий`` holds ``crm1c:``). Every document is kept in staging (entity
:data:`~crm1c.sync.payments.records.DOC_KEY`, its row and version), so a run where nothing changed, and
nothing waits from a run that died (no dirty document, one indexed staging query), ends there: three requests
to 1C, no full read, no recomputation. Posting, unposting and a deletion mark all change a document's
``DataVersion``; a receipt whose operation stops being a customer payment, or an invoice whose tag is
removed, leaves the scan and counts as gone.

**Read (phase A).** Only the new and changed documents are read in full (50 per request; the whole set page
by page when more than a fifth changed, or on a full run), and staged as they come: one staging transaction
per page, none open while 1C is asked. A document whose row changed is stored **dirty** (its deals wait to be
recomputed; the planner never sees these records, it plans :data:`~crm1c.sync.payments.records.KEY` only)
and keeps under ``@was`` the counterparties and deals its earlier version counted for — those of every
version since its deals were last recomputed — so a document that moved to another counterparty or deal
recomputes both sides. A gone document is tombstoned, dirty too. A row whose ``DataVersion`` changed and
nothing else stays clean: its deals would come out the same.

**Recompute (phase B): by counterparty.** Spreading (rules 2–3 of
:func:`~crm1c.domain.money.payments.allocate`) only ever moves money between invoices of the receipt's
counterparty, so a dirty document re-computes every deal of *its* counterparties (now and before), and
nothing else: the counterparties' documents come from staging (``match_key`` = counterparty, an index
lookup; a document without one is staged without, and they come together as the counterparty ""), plus
the counterparties of the invoices their receipts name (a payment for another counterparty's invoice). Cost
per changed document: one indexed staging read of its counterparties' documents and an ``allocate`` over
them — O(documents of those counterparties), independent of the size of the base; the deals whose result
did not change stay clean (their content hash is the same), so the plan and the CRM see only the deals that
really changed. Limitations: when only the invoice side of a third-party payment changes (B's invoice, paid by
A's receipt naming it), A's receipt is not in B's scope; likewise a deal whose documents are made out to two
counterparties is recomputed from those of the counterparty that changed; a ``full`` run recomputes every
deal from every document and repairs that (the nightly full run).

**By groups.** On a full run, and when the dirty documents touch more than :data:`GROUP` counterparties (a
first run, a mass change), the deals are recomputed by groups of about :data:`GROUP` counterparties, one
staging transaction each. A group must then hold everything its deals depend on, so one pass over the staged
documents, a page at a time, first joins into one *component* the counterparties tied by a deal (its
documents made out to two counterparties), a payment (a receipt naming another counterparty's invoice) or a
moved document; groups are made of whole components, and each gives its deals exactly what one
recomputation over all the documents gives (the limitations above do not apply there). A full run
recomputes every component, and gives each deal staging knows that no document names any more an empty
record; an incremental one, the components of the dirty documents.

**Crash-safety.** Each recomputation (the whole of a small one, or one group) stores in ONE staging
transaction the deals' records — a deal that lost its last document gets an empty record (the merge clears
its CRM fields; not a tombstone, which would match no deal) — and clears the dirty flag of the documents it
recomputed. A run that dies anywhere leaves dirty documents, which the next run, whatever its mode and
whether 1C changed or not, recomputes; nothing is counted twice, a recomputation starts from the documents.

**Memory.** One page of 1C rows or of staged documents, one group's documents, the scanned refs and, for the
pass that joins the components, a deal → counterparty map: independent of the number of documents otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
from crm1c.staging import SeenInput, SeenRecord
from crm1c.sync.payments.records import DOC_KEY, KEY, SET, deal_of, deal_seen, doc_seen
from crm1c.sync.runtime import Progress, SyncEnv, log

SCAN = ["Ref_Key", "DataVersion", "DeletionMark"]
SCAN_PAGE = 50_000
FETCH_CHUNK = 50
FULL_READ_SHARE = 0.2
#: Counterparties recomputed in one staging transaction when they are many (whole components: a few more).
GROUP = 200
#: Staged documents read at a time (the dirty ones; the pass that joins the components).
PAGE = 1000
#: What a dirty document's earlier versions counted for: ``{"parties": [...], "deals": [...]}``.
WAS = "@was"
#: Kill point (tests): before each recomputation's transaction, the first one right after the read.
RECOMPUTE = "payments_recompute"
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
    """Scan, stage what changed (dirty), recompute the deals of the counterparties touched (all on a full
    run) — also those a run that died left dirty."""
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
            del page, known  # one scan page in memory at a time, not two
    gone = [
        i for i, _v, deleted in env.staging.seen_versions("onec", DOC_KEY) if not deleted and i not in scanned
    ]
    env.count("onec_scanned", len(scanned))
    many = FULL_READ_SHARE * len(scanned)
    del scanned
    if not gone and not any(changed.values()) and not env.staging.dirty_records("onec", DOC_KEY, limit=1):
        progress.finish()
        return
    for entity_set, refs in changed.items():
        if refs:
            for rows in _read(env, entity_set, refs, full=mode == "full" or len(refs) > many):
                _stage(env, entity_set, rows)
    _stage_gone(env, gone)
    del changed, gone
    pending = None if mode == "full" else _pending(env)
    if pending is None:
        _recompute_by_groups(env, mode, progress)
    elif pending.dirty:
        _recompute(env, _scope(env, pending.parties), pending.deals, None, progress)
    progress.finish()


def _read(env: SyncEnv, entity_set: str, refs: list[str], *, full: bool) -> Iterator[list[dict[str, Any]]]:
    """The documents ``refs`` read in full, a page (one 1C request) at a time."""
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
        if rows := [row for row in page if str(row["Ref_Key"]) in wanted]:
            yield rows


def _stage(env: SyncEnv, entity_set: str, rows: list[dict[str, Any]]) -> None:
    """One page of documents read in full into staging, in one transaction: a changed one dirty, with what
    its earlier versions counted for."""
    refs = [str(row["Ref_Key"]) for row in rows]
    with env.staging.batch() as staging:
        stored = staging.seen_records("onec", DOC_KEY, external_ids=refs, include_deleted=True)
        before = {r.external_id: r for r in stored}
        staged = [
            _staged(row | {SET: entity_set}, before.get(ref)) for ref, row in zip(refs, rows, strict=True)
        ]
        staging.upsert_seen("onec", DOC_KEY, staged)
    env.count("onec_read", len(rows))


def _staged(row: dict[str, Any], before: SeenRecord | None) -> SeenInput:
    """A document's staging row; under :data:`WAS` the counterparties and deals its stored version (and,
    while dirty, that version's own earlier ones) counted for that this one does not."""
    if before is None:
        return doc_seen(row)
    parties, deals = _touched(before)
    was = {"parties": sorted(parties - {counterparty_of(row)}), "deals": sorted(deals - deals_named([row]))}
    return doc_seen(row | {WAS: was} if was["parties"] or was["deals"] else row)


def _touched(record: SeenRecord) -> tuple[set[str], set[str]]:
    """The counterparties and deals a staged document counts for: its own, and while it is dirty (its deals
    not recomputed yet) those of its earlier versions; "" is no counterparty."""
    raw = record.raw
    was = (raw.get(WAS) or {}) if record.dirty else {}
    return {counterparty_of(raw), *was.get("parties", ())}, deals_named([raw]) | set(was.get("deals", ()))


def _stage_gone(env: SyncEnv, gone: list[str]) -> None:
    """Documents gone from the scan: tombstoned, dirty. A clean one's :data:`WAS` is dropped first: its deals
    were recomputed since, the tombstone must not count it again."""
    for part in (gone[k : k + PAGE] for k in range(0, len(gone), PAGE)):
        with env.staging.batch() as staging:
            stored = staging.seen_records("onec", DOC_KEY, external_ids=part)
            stale = [r.raw for r in stored if not r.dirty and WAS in r.raw]
            if stale:
                bare = [{k: v for k, v in raw.items() if k != WAS} for raw in stale]
                staging.upsert_seen("onec", DOC_KEY, [doc_seen(raw, dirty=False) for raw in bare])
            staging.mark_deleted("onec", DOC_KEY, part)


@dataclass
class _Pending:
    """What the dirty documents count for: counterparties and deals, now and before."""

    parties: set[str] = field(default_factory=set)
    deals: set[str] = field(default_factory=set)
    dirty: bool = False


def _pending(env: SyncEnv) -> _Pending | None:
    """What the dirty documents count for; None once that is more than :data:`GROUP` counterparties."""
    pending, after = _Pending(), None
    while page := env.staging.dirty_records("onec", DOC_KEY, limit=PAGE, after=after):
        pending.dirty = True
        for record in page:
            parties, deals = _touched(record)
            pending.parties |= parties
            pending.deals |= deals
        if len(pending.parties) > GROUP:
            return None
        after = page[-1].external_id
    return pending


def _scope(env: SyncEnv, parties: set[str]) -> dict[str, Mapping[str, Any]]:
    """The documents of ``parties``, and of the counterparties of the invoices their receipts name."""
    docs = _documents(env, parties)
    named = _named_invoices(docs.values()) - set(docs)
    if named:  # payments for another counterparty's invoices: that counterparty's deals change too
        stored = env.staging.seen_records("onec", DOC_KEY, external_ids=named)
        docs |= _documents(env, {counterparty_of(r.raw) for r in stored} - parties)
    return docs


def _documents(env: SyncEnv, parties: Iterable[str]) -> dict[str, Mapping[str, Any]]:
    """The live staged documents of ``parties`` by ref ("": those without a counterparty)."""
    keys = sorted(set(parties))
    found = env.staging.by_match_keys("onec", DOC_KEY, [k for k in keys if k]) if any(keys) else {}
    docs = {r.external_id: r.raw for rows in found.values() for r in rows}
    if "" in keys:
        docs |= {r.external_id: r.raw for r in env.staging.without_match_key("onec", DOC_KEY)}
    return docs


def _recompute(
    env: SyncEnv,
    docs: Mapping[str, Mapping[str, Any]],
    before: set[str],
    parties: list[str] | None,
    progress: Progress,
) -> None:
    """The deals ``docs`` name, and ``before`` (those dirty documents named before), recomputed from
    ``docs``; stored in one transaction with the dirty flags cleared of the documents of ``parties`` (of
    every document when None)."""
    records, notes = deal_payments(_split(docs.values()))
    for note in notes:
        log.info("payments: %s", note.reason_en)
    # a deal that lost its last document is an empty record, not a tombstone: the merge clears its fields,
    # and it still matches the deal by its ID when it was never linked (a tombstone matches nothing)
    deals = deals_named(docs.values()) | before
    lost = [DealPayment(deal_id=d, crm_id=d) for d in sorted(deals - set(records))]
    clean = None if parties is None else [p or None for p in parties]
    env.checkpoint(RECOMPUTE)
    with env.staging.batch() as staging:  # one transaction: the deals and the documents that made them
        result = staging.upsert_seen("onec", KEY, [deal_seen(r) for r in [*records.values(), *lost]])
        staging.clear_dirty("onec", DOC_KEY, match_keys=clean)
    env.count("receipts_not_counted", len(notes))
    env.count("onec_recomputed", len(records))
    env.count("onec_changed", len(result.to_sync))
    progress.advance(len(records))


def _recompute_by_groups(env: SyncEnv, mode: str, progress: Progress) -> None:
    """Whole components, about :data:`GROUP` counterparties a transaction: all of them on a full run (then
    the deals no document names any more are emptied), else those of the dirty documents."""
    components = _components(env)
    started = datetime.now(UTC)
    for group in components.groups(everything=mode == "full"):
        before = set().union(*(components.before.get(p, ()) for p in group))
        _recompute(env, _documents(env, group), before, group, progress)
    if mode == "full":  # the deals staging knows that no document named: an empty record each
        unnamed = env.staging.not_seen_since("onec", KEY, started)
        lost = [DealPayment(deal_id=deal_of(i), crm_id=deal_of(i)) for i in unnamed]
        if lost:
            result = env.staging.upsert_seen("onec", KEY, [deal_seen(r) for r in lost])
            env.count("onec_changed", len(result.to_sync))


@dataclass
class _Components:
    """Counterparties whose deals depend on one another's documents, joined (a union-find that keeps only
    the joined ones)."""

    #: every counterparty met → its one instance
    parties: dict[str, str] = field(default_factory=dict)
    #: the counterparties of dirty documents
    dirty: set[str] = field(default_factory=set)
    #: counterparty → the deals its dirty documents named before, or as tombstones
    before: dict[str, set[str]] = field(default_factory=dict)
    parent: dict[str, str] = field(default_factory=dict)

    def party(self, name: str) -> str:
        return self.parties.setdefault(name, name)

    def find(self, party: str) -> str:
        root = party
        while (up := self.parent.get(root, root)) != root:
            root = up
        while party != root:  # path compression
            self.parent[party], party = root, self.parent[party]
        return root

    def join(self, one: str, other: str) -> None:
        one, other = self.find(one), self.find(other)
        if one != other:
            self.parent[one] = other
            self.parent.setdefault(other, other)

    def groups(self, *, everything: bool) -> Iterator[list[str]]:
        """Whole components, about :data:`GROUP` counterparties a group: of every counterparty, or of
        those of the dirty documents."""
        members: dict[str, list[str]] = {}
        for party in self.parent:
            members.setdefault(self.find(party), []).append(party)
        placed: set[str] = set()
        group: list[str] = []
        for party in sorted(self.parties if everything else self.dirty):
            if party not in placed:
                component = members.get(self.find(party), [party])
                placed.update(component)
                group += component
                if len(group) >= GROUP:
                    yield group
                    group = []
        if group:
            yield group


def _components(env: SyncEnv) -> _Components:
    """One pass over the staged documents, a page at a time: every counterparty, joined to those a deal
    (documents made out to both), a payment (a receipt naming the other's invoice) or a moved document ties
    its deals to."""
    out = _Components()
    owner: dict[str, str] = {}  # deal → the counterparty of the first document met that names it
    after = None
    while page := env.staging.seen_records("onec", DOC_KEY, include_deleted=True, after=after, limit=PAGE):
        after = page[-1].external_id
        pays: list[tuple[str, str]] = []  # (the receipt's counterparty, the invoice it names)
        for record in page:
            if record.deleted and not record.dirty:
                continue  # gone, and its deals recomputed since: it counts for nothing
            party = out.party(counterparty_of(record.raw))
            parties, deals = _touched(record)
            for other in parties:
                out.join(party, out.party(other))
            for deal in deals:
                out.join(party, owner.setdefault(deal, party))
            if record.dirty:
                out.dirty.add(party)
                if gone := deals if record.deleted else deals - deals_named([record.raw]):
                    out.before.setdefault(party, set()).update(gone)
            if not record.deleted:
                pays += [(party, ref) for ref in _named_invoices([record.raw])]
        if pays:
            stored = env.staging.seen_records("onec", DOC_KEY, external_ids={ref for _p, ref in pays})
            party_of = {r.external_id: counterparty_of(r.raw) for r in stored}
            for payer, ref in pays:
                if ref in party_of:
                    out.join(payer, out.party(party_of[ref]))
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
