"""Deals from Bitrix24 as the 1C documents they define (one record per deal and document kind).

Incremental by ``DATE_MODIFY`` (with the overlap window). For each deal at a stage the mapping names, or
with documents already, its product rows (``crm.deal.productrows.get``) and stage history
(``crm.stagehistory.list``: the date the deal reached the stage is the document's date, never
``MOVED_TIME``) are read in batch requests, and each document is computed with 1C's row arithmetic
(:mod:`crm1c.domain.money.documents`). A deal at a failed stage cancels its documents. What the document
needs from the other entities comes from staging: the counterparty's and the items' 1C references. A deal
held for something that was missing (an item not synced yet, say) is read again on every run, so it goes
as soon as that is fixed.

An incremental run leaves a listed deal unread (no details, no upsert) when each document record it makes is
staged at its ``DATE_MODIFY`` and that second is strictly before the one in which the portal started the
previous run's listing (its ``time.date_start``, kept in the cursor ``listed``). That is safe because Bitrix24
keeps ``DATE_MODIFY`` to the whole second and that listing read everything after it started, so the deal's
last edit of that second had been made when it was read and any edit since carries a later ``DATE_MODIFY``
(the newest ``DATE_MODIFY`` read would not do: a deal read early in a second may be edited again within it
while a later request of the same listing reads a deal of the next second). Always read: on a full run,
without a previous listing start (the first run, or an answer without the server's time), a held deal, a deal
at a failed stage (it cancels its documents) and a deal whose document kinds would change.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from crm1c.clients.bitrix24_batch import BatchResult
from crm1c.domain.sales_document import SMART_PREFIX, SalesDocument, record_id
from crm1c.staging import SeenInput
from crm1c.sync.engine import cursors
from crm1c.sync.engine.cursors import later
from crm1c.sync.invoices.builder import DocumentBuilder
from crm1c.sync.invoices.records import KEY, Unchanged, crm_seen, held_sources
from crm1c.sync.invoices.smart_reader import read_smart_invoices
from crm1c.sync.runtime import Progress, SyncEnv

SELECT = [
    "ID",
    "ASSIGNED_BY_ID",
    "TITLE",
    "CATEGORY_ID",
    "STAGE_ID",
    "STAGE_SEMANTIC_ID",
    "COMPANY_ID",
    "CURRENCY_ID",
    "DATE_MODIFY",
]
LISTED = "listed"  # the cursor of when the portal started the deal listing (the rule above)
KINDS = ("invoice", "sale")
DEALS_PER_BATCH = 25  # two commands each: product rows and stage history
REFUSED_BY_ONEC = "*"  # the field of a hold for 1C's own refusal (see crm1c.sync.engine.load_onec)


def read_documents(env: SyncEnv, mode: str) -> None:
    """The CRM reader of the entity: deals, then smart invoices. Records held last time are planned again:
    what held them (a rate, a contract) may be there now. One 1C refused (a closed period, say) is tried again
    on a full run or when its deal changes, not on every run."""
    read_deals(env, mode)
    read_smart_invoices(env, mode)
    held = [
        q.external_id
        for q in env.staging.open_quarantine(KEY)
        if q.system == "crm" and (mode == "full" or q.field != REFUSED_BY_ONEC)
    ]
    if held:
        env.staging.set_dirty("crm", KEY, held, True)


def read_deals(env: SyncEnv, mode: str) -> None:
    """Deals changed since the cursor (all on a full run) and the deals held last time, into staging."""
    progress = Progress("extract_crm")
    held = held_sources(env, smart=False)
    reader = _DealReader(env, Unchanged.of_run(env, mode, held, LISTED))
    flt: dict[str, Any] = {}
    if (since := cursors.since(env, KEY, mode)) is not None:
        flt[">=DATE_MODIFY"] = since
    mark, listed = None, set()
    listing = env.crm.iter_list_batched("crm.deal.list", filter=flt, select=SELECT)
    for page in listing:
        reader.store(page)
        progress.advance(len(page))
        for deal in page:
            mark = later(mark, deal.get("DATE_MODIFY"))
            listed.add(str(deal["ID"]))
    again = sorted(held - listed, key=int)
    for start in range(0, len(again), 50):
        flt = {"ID": again[start : start + 50]}
        reader.store(env.crm.call("crm.deal.list", {"filter": flt, "select": SELECT})["result"])
    if mark is not None:
        cursors.stage(env, KEY, mark)
    Unchanged.stage(env, LISTED, listing.date_start)
    if mode == "full":  # documents of deals that are gone are cancelled
        gone = [
            i
            for i, _version, deleted in env.staging.seen_versions("crm", KEY)
            if not deleted and not i.startswith(SMART_PREFIX) and i.split(":")[0] not in listed
        ]
        env.count("crm_deleted", len(env.staging.mark_deleted("crm", KEY, gone)))
    progress.finish()


class _DealReader:
    """Turns pages of deals into document records; what every deal needs is read once per step."""

    def __init__(self, env: SyncEnv, unchanged: Unchanged) -> None:
        self.env, self.unchanged = env, unchanged
        self.builder = DocumentBuilder(env)

    def store(self, deals: list[dict]) -> None:
        env, wanted = self.env, []
        cancelled: list[str] = []
        ids = [record_id(str(d["ID"]), k) for d in deals for k in KINDS]
        stored = env.staging.versions_of("crm", KEY, ids)  # the page's records, in one query
        for deal in deals:
            deal_id = str(deal["ID"])
            existing = [k for k in KINDS if record_id(deal_id, k) in stored]
            if deal.get("STAGE_SEMANTIC_ID") == "F":
                cancelled += [record_id(deal_id, k) for k in existing]
                continue
            mapped = env.mapping.documents_for(deal.get("CATEGORY_ID"), str(deal.get("STAGE_ID")))
            kinds = [k for k in KINDS if k in mapped or k in existing]
            if kinds:
                wanted.append((deal, kinds))
        billed = [str(d["ID"]) for d, kinds in wanted if "invoice" in kinds]
        invoiced = self._with_smart_invoices([i for i in billed if record_id(i, "invoice") not in stored])
        wanted = [
            (deal, [k for k in kinds if k != "invoice" or str(deal["ID"]) not in invoiced])
            for deal, kinds in wanted
        ]
        wanted = [(deal, kinds) for deal, kinds in wanted if kinds]
        fresh = [(deal, kinds) for deal, kinds in wanted if not self._as_staged(deal, kinds, stored)]
        env.count("crm_unchanged", sum(len(kinds) for _, kinds in wanted) - sum(len(k) for _, k in fresh))
        wanted = fresh
        if cancelled:
            env.count("crm_cancelled", len(env.staging.mark_deleted("crm", KEY, cancelled)))
        for start in range(0, len(wanted), DEALS_PER_BATCH):
            part = wanted[start : start + DEALS_PER_BATCH]
            rows, history = self._details([str(d["ID"]) for d, _ in part])
            records = [
                self._record(deal, kind, rows[str(deal["ID"])], history[str(deal["ID"])])
                for deal, kinds in part
                for kind in kinds
            ]
            result = env.staging.upsert_seen("crm", KEY, records)
            env.count("crm_read", len(records))
            env.count("crm_changed", len(result.to_sync))

    def _as_staged(self, deal: dict, kinds: list[str], stored: dict[str, str | None]) -> bool:
        """Whether the deal is left as staged (the rule in the module's docstring): the kinds it makes now
        are the kinds it has records of, each staged at the deal's listed ``DATE_MODIFY``."""
        deal_id = str(deal["ID"])
        ids = [record_id(deal_id, k) for k in kinds]
        if {k for k in KINDS if record_id(deal_id, k) in stored} != set(kinds):
            return False
        return self.unchanged(deal_id, deal.get("DATE_MODIFY"), [stored[i] for i in ids])

    def _with_smart_invoices(self, ids: list[str]) -> set[str]:
        """The deals among ``ids`` (none with an invoice record yet) that have smart invoices: their payment
        invoices come from the smart invoices (one invoice per bill, never the deal's as well)."""
        env = self.env
        if not env.mapping.smart_invoices or not ids:
            return set()
        found: set[str] = set()
        for start in range(0, len(ids), 50):
            pages = env.crm.iter_list(
                "crm.item.list",
                filter={"@parentId2": ids[start : start + 50]},
                select=["id", "parentId2"],
                order_field="id",
                items_key="items",
                params={"entityTypeId": 31},
            )
            found |= {str(item["parentId2"]) for page in pages for item in page}
        return found

    def _details(self, ids: list[str]) -> tuple[dict[str, list[dict]], dict[str, list[dict]]]:
        """Product rows and stage history of up to 25 deals, in one batch request."""
        commands: dict[str, Any] = {}
        for n, deal_id in enumerate(ids):
            commands[f"r{n}"] = ("crm.deal.productrows.get", {"id": deal_id})
            history = {"filter": {"OWNER_ID": deal_id}, "order": {"ID": "ASC"}}
            commands[f"h{n}"] = ("crm.stagehistory.list", {"entityTypeId": 2, **history})

        def parse(result: BatchResult) -> tuple[dict[str, list[dict]], dict[str, list[dict]]]:
            for key in commands:
                if key in result.errors:
                    raise result.errors[key]
            rows = {i: list(result.results.get(f"r{n}") or []) for n, i in enumerate(ids)}
            history = {
                i: list((result.results.get(f"h{n}") or {}).get("items") or []) for n, i in enumerate(ids)
            }
            return rows, history

        return self.env.crm.batch_read(commands, parse)

    def _record(self, deal: dict, kind: str, rows: list[dict], history: list[dict]) -> SeenInput:
        deal_id = str(deal["ID"])
        raw = {**deal, "@rows": rows, "@history": history}
        return crm_seen(record_id(deal_id, kind), raw, lambda: self._document(deal, kind, rows, history))

    def _document(self, deal: dict, kind: str, rows: list[dict], history: list[dict]) -> SalesDocument:
        """The document the deal defines; what is missing raises IssueError (the record is held)."""
        deal_id = str(deal["ID"])
        on = self._date(deal, kind, history)
        what = f"Сделка {deal_id}|Deal {deal_id}"
        record = record_id(deal_id, kind)
        return self.builder.document(
            record, what, deal.get("COMPANY_ID"), deal.get("CURRENCY_ID"), kind, on, rows
        )

    def _date(self, deal: dict, kind: str, history: list[dict]) -> date:
        """When the deal first reached a stage that makes ``kind`` (else its current stage, else today)."""
        category = deal.get("CATEGORY_ID")
        reached = [
            h for h in history if kind in self.env.mapping.documents_for(category, str(h.get("STAGE_ID")))
        ]
        for entry in reached or [h for h in history if h.get("STAGE_ID") == deal.get("STAGE_ID")]:
            return datetime.fromisoformat(str(entry["CREATED_TIME"])).date()
        return self.env.today()
