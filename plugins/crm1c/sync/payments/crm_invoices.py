"""Smart invoices in Bitrix24 (``crm.item``, entityTypeId 31) as payments see them: the stage, and the success
stage of the invoice's category (protocols C.10, C.11).

The success stage is read, never assumed: ``crm.status.list`` of ``SMART_INVOICE_STAGE_<category>``, the
entry whose ``SEMANTICS`` is ``S`` (``DT31_1:P`` on many portals, but not on all). A smart invoice's CRM
record holds ``paid_stage`` (it is in that stage) and keeps the success stage in its row for the writer.

They are read by ids (:func:`read_invoices`) or listed by ``updatedTime`` (:func:`changed_items`), as the
deals are (:mod:`crm1c.sync.payments.crm_deals`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from crm1c.clients.bitrix24_batch import BatchResult
from crm1c.clients.bitrix24_lists import Listing
from crm1c.domain.deal_payment import SMART_INVOICE, DealPayment
from crm1c.staging import SeenInput
from crm1c.sync.payments.records import crm_record_seen
from crm1c.sync.runtime import SyncEnv

ENTITY_TYPE = 31
SELECT = ["id", "categoryId", "stageId", "updatedTime", "assignedById", "companyId"]  # the last two: pilots
SUCCESS = "@success"  # where a smart invoice's row keeps its category's success stage
IDS_PER_LIST = 50


def number(key: str) -> str:
    """The item id of ``invoice:<ID>``."""
    return key.removeprefix(SMART_INVOICE)


def success_stages(env: SyncEnv, categories: Iterable[int]) -> dict[int, str | None]:
    """Category → its success stage (None: the category has none), read once per step per category."""
    known: dict[int, str | None] = env.memo.setdefault("smart_invoice_success", {})
    wanted = sorted({int(c) for c in categories} - set(known))
    if wanted:
        commands = {
            f"s{n}": ("crm.status.list", {"filter": {"ENTITY_ID": f"SMART_INVOICE_STAGE_{category}"}})
            for n, category in enumerate(wanted)
        }

        def parse(result: BatchResult) -> dict[int, str | None]:
            found: dict[int, str | None] = {}
            for n, category in enumerate(wanted):
                if f"s{n}" in result.errors:
                    raise result.errors[f"s{n}"]
                rows = result.results.get(f"s{n}") or []
                found[category] = next((str(r["STATUS_ID"]) for r in rows if r.get("SEMANTICS") == "S"), None)
            return found

        known.update(env.crm.batch_read(commands, parse))
    return known


def read_invoices(env: SyncEnv, keys: list[str]) -> tuple[list[SeenInput], list[str]]:
    """The staging rows of the smart invoices ``keys`` (``invoice:<ID>``) and the keys the CRM no longer has:
    one batch request for up to 2 500 of them, one more for the stages of categories not seen yet."""
    groups = [keys[k : k + IDS_PER_LIST] for k in range(0, len(keys), IDS_PER_LIST)]
    commands = {
        f"i{n}": (
            "crm.item.list",
            {
                "entityTypeId": ENTITY_TYPE,
                "filter": {"@id": [number(k) for k in group]},
                "select": SELECT,
                "start": -1,
            },
        )
        for n, group in enumerate(groups)
    }
    if not commands:
        return [], []

    def parse(result: BatchResult) -> list[dict]:
        rows: list[dict] = []
        for key in commands:
            if key in result.errors:
                raise result.errors[key]
            rows += (result.results.get(key) or {}).get("items") or []
        return rows

    items = env.crm.batch_read(commands, parse)
    found = {key_of(i) for i in items}
    return items_seen(env, items), [k for k in keys if k not in found]


def changed_items(env: SyncEnv, since: str, calls_per_batch: int) -> Listing:
    """The smart invoices updated at or after ``since`` (all of the portal's), ``calls_per_batch`` pages of 50
    per request."""
    return env.crm.iter_list_batched(
        "crm.item.list",
        filter={">=updatedTime": since},
        select=SELECT,
        order_field="id",
        items_key="items",
        params={"entityTypeId": ENTITY_TYPE},
        calls_per_batch=calls_per_batch,
    )


def items_seen(env: SyncEnv, items: list[dict]) -> list[SeenInput]:
    """The staging rows of smart invoices read (the success stages of categories not seen yet are read)."""
    stages = success_stages(env, (int(i.get("categoryId") or 0) for i in items))
    return [invoice_seen(i, stages.get(int(i.get("categoryId") or 0))) for i in items]


def key_of(item: dict[str, Any]) -> str:
    """``invoice:<ID>`` of a smart invoice read."""
    return f"{SMART_INVOICE}{item['id']}"


def invoice_seen(item: dict[str, Any], success: str | None, *, dirty: bool = True) -> SeenInput:
    key = key_of(item)
    row = {**item, SUCCESS: success}
    record = DealPayment(
        deal_id=key, crm_id=key, paid_stage=success is not None and item.get("stageId") == success
    )
    return crm_record_seen(key, row, item.get("updatedTime"), record, dirty=dirty)
