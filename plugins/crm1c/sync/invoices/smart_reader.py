"""Smart invoices (``crm.item``, entityTypeId 31) from Bitrix24 as 1C payment invoices.

Incremental by ``updatedTime`` (their own cursor). A smart invoice at a stage whose meaning is failure
(``SEMANTICS`` F in ``crm.status.list`` ``SMART_INVOICE_STAGE_<category>``: never a hard-coded stage id)
cancels its document; at any other stage it has one, dated by its ``begindate``. Its product rows
(``crm.item.productrow.list``, ownerType ``SI``) are the deal rows' fields in camelCase. An incremental run
leaves a listed smart invoice unread (no rows, no upsert) by the deals' rule (see ``crm_reader``): not held,
not failed, its record staged at its ``updatedTime`` and that second strictly before the second the portal
started the previous run's smart-invoice listing (the cursor ``smart_invoice_listed``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crm1c.clients.bitrix24_batch import BatchResult
from crm1c.domain.sales_document import SalesDocument, record_id
from crm1c.staging import SeenInput
from crm1c.sync.engine import cursors
from crm1c.sync.engine.cursors import later
from crm1c.sync.invoices.builder import DocumentBuilder
from crm1c.sync.invoices.records import KEY, Unchanged, crm_seen, held_sources
from crm1c.sync.runtime import SyncEnv

SMART_INVOICE = 31
CURSOR = "smart_invoice"
LISTED = "smart_invoice_listed"  # when the portal started the listing (the rule above)
SELECT = [
    "id",
    "title",
    "categoryId",
    "assignedById",
    "stageId",
    "companyId",
    "currencyId",
    "begindate",
    "createdTime",
    "updatedTime",
]
#: A ``crm.item.productrow`` field → the ``crm.deal.productrows`` name the row arithmetic reads.
ROW_NAMES = {
    "price": "PRICE",
    "priceExclusive": "PRICE_EXCLUSIVE",
    "priceNetto": "PRICE_NETTO",
    "priceBrutto": "PRICE_BRUTTO",
    "quantity": "QUANTITY",
    "discountTypeId": "DISCOUNT_TYPE_ID",
    "discountRate": "DISCOUNT_RATE",
    "discountSum": "DISCOUNT_SUM",
    "taxRate": "TAX_RATE",
    "taxIncluded": "TAX_INCLUDED",
    "measureCode": "MEASURE_CODE",
    "productId": "PRODUCT_ID",
    "productName": "PRODUCT_NAME",
    "type": "TYPE",
}
PER_BATCH = 50


def read_smart_invoices(env: SyncEnv, mode: str) -> None:
    """Smart invoices changed since their cursor (all on a full run), and the ones held last time."""
    if not env.mapping.smart_invoices:
        return
    held = held_sources(env, smart=True)
    reader = _SmartInvoices(env, Unchanged.of_run(env, mode, held, LISTED))
    flt: dict[str, Any] = {}
    if (since := cursors.since(env, KEY, mode, CURSOR)) is not None:
        flt[">=updatedTime"] = since
    mark, listed = None, set()
    params = {"entityTypeId": SMART_INVOICE}
    listing = env.crm.iter_list_batched(
        "crm.item.list", filter=flt, select=SELECT, order_field="id", items_key="items", params=params
    )
    for page in listing:
        reader.store(page)
        for item in page:
            mark = later(mark, item.get("updatedTime"))
            listed.add(str(item["id"]))
    again = sorted(held - listed, key=int)
    for start in range(0, len(again), PER_BATCH):
        query = {**params, "filter": {"@id": again[start : start + PER_BATCH]}, "select": SELECT}
        reader.store(env.crm.call("crm.item.list", query)["result"]["items"])
    if mark is not None:
        cursors.stage(env, KEY, mark, CURSOR)
    Unchanged.stage(env, LISTED, listing.date_start)


class _SmartInvoices:
    def __init__(self, env: SyncEnv, unchanged: Unchanged) -> None:
        self.env, self.builder, self.unchanged = env, DocumentBuilder(env), unchanged
        self.failed: dict[int, set[str]] = {}

    def store(self, invoices: list[dict]) -> None:
        env = self.env
        live = [
            i
            for i in invoices
            if str(i.get("stageId")) not in self._failure_stages(int(i.get("categoryId") or 0))
        ]
        cancelled = [record_id(str(i["id"]), "invoice", smart=True) for i in invoices if i not in live]
        if cancelled:
            env.count("crm_cancelled", len(env.staging.mark_deleted("crm", KEY, cancelled)))
        live = self._fresh(live)
        for start in range(0, len(live), PER_BATCH):  # a listed page holds up to 2,500
            part = live[start : start + PER_BATCH]
            rows = self._rows([str(i["id"]) for i in part])
            records = [self._record(i, rows[str(i["id"])]) for i in part]
            result = env.staging.upsert_seen("crm", KEY, records)
            env.count("crm_read", len(records))
            env.count("crm_changed", len(result.to_sync))

    def _fresh(self, live: list[dict]) -> list[dict]:
        """The live invoices to read: all but those left as staged (one staging query, incremental runs)."""
        if not live or self.unchanged.before is None:
            return live
        ids = {str(i["id"]): record_id(str(i["id"]), "invoice", smart=True) for i in live}
        stored = self.env.staging.versions_of("crm", KEY, ids.values())
        fresh = [
            i
            for i in live
            if not self.unchanged(str(i["id"]), i.get("updatedTime"), [stored.get(ids[str(i["id"])])])
        ]
        self.env.count("crm_unchanged", len(live) - len(fresh))
        return fresh

    def _failure_stages(self, category: int) -> set[str]:
        """The stages of a smart-invoice category that mean failure, read once per step."""
        if category not in self.failed:
            flt = {"ENTITY_ID": f"SMART_INVOICE_STAGE_{category}"}
            statuses = self.env.crm.call("crm.status.list", {"filter": flt})["result"]
            self.failed[category] = {str(s["STATUS_ID"]) for s in statuses if s.get("SEMANTICS") == "F"}
        return self.failed[category]

    def _rows(self, ids: list[str]) -> dict[str, list[dict]]:
        """The product rows of up to 50 smart invoices, in one batch request, as deal rows."""
        commands = {
            f"r{n}": ("crm.item.productrow.list", {"filter": {"=ownerType": "SI", "=ownerId": i}})
            for n, i in enumerate(ids)
        }

        def parse(result: BatchResult) -> dict[str, list[dict]]:
            for key in commands:
                if key in result.errors:
                    raise result.errors[key]
            return {
                i: [_deal_row(r) for r in (result.results.get(f"r{n}") or {}).get("productRows") or []]
                for n, i in enumerate(ids)
            }

        return self.env.crm.batch_read(commands, parse)

    def _record(self, invoice: dict, rows: list[dict]) -> SeenInput:
        invoice_id = str(invoice["id"])
        record = record_id(invoice_id, "invoice", smart=True)
        what = f"Счёт CRM {invoice_id}|CRM invoice {invoice_id}"
        company, currency = invoice.get("companyId"), invoice.get("currencyId")
        raw = {**invoice, "DATE_MODIFY": invoice.get("updatedTime"), "@rows": rows}

        def build() -> SalesDocument:
            on = datetime.fromisoformat(str(invoice.get("begindate") or invoice.get("createdTime"))).date()
            return self.builder.document(record, what, company, currency, "invoice", on, rows)

        return crm_seen(record, raw, build)


def _deal_row(row: dict[str, Any]) -> dict[str, Any]:
    return {deal: row.get(item) for item, deal in ROW_NAMES.items()}
