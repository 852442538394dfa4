"""Payments staging records: names, ids, and the staging rows of deals (both sides) and 1C documents."""

from __future__ import annotations

from typing import Any

from crm1c.domain.deal_payment import (
    SMART_INVOICE,
    DealPayment,
    content_hash,
    counterparty_of,
    identity_key,
)
from crm1c.staging import SeenInput
from crm1c.sync.engine.records import seen_input

KEY = "payment"
#: The 1C documents payments are computed from (receipts, crm1c-tagged invoices and sales), one staging row
#: each (system ``onec``): their versions tell the next scan what changed, their rows feed a recomputation.
#: The planner never sees them (it plans :data:`KEY` only): a document is dirty while the deals it counts
#: for wait to be recomputed (:mod:`crm1c.sync.payments.onec_reader`).
DOC_KEY = "payment_doc"
SET = "@set"  # where a staged document keeps its entity set
DEAL_PREFIX = "deal:"


def onec_id(deal_id: str) -> str:
    """The external id of a deal's 1C-side record (a synthetic record: no 1C object has it): ``deal:<ID>``;
    a smart invoice's is its key, ``invoice:<ID>``."""
    return deal_id if deal_id.startswith(SMART_INVOICE) else f"{DEAL_PREFIX}{deal_id}"


def deal_of(external_id: str) -> str:
    """The record's key (a deal id or ``invoice:<ID>``) from its 1C-side external id."""
    return external_id.removeprefix(DEAL_PREFIX)


def deal_seen(record: DealPayment, *, dirty: bool = True) -> SeenInput:
    """The staging row of a deal's 1C-side record (computed from documents)."""
    external_id = onec_id(str(record.deal_id))
    record = record.model_copy(update={"onec_ref": external_id})
    return _seen(external_id, record.model_dump(mode="json"), None, record, dirty)


def crm_record_seen(
    external_id: str, row: dict[str, Any], version: Any, record: DealPayment, *, dirty: bool = True
) -> SeenInput:
    """The staging row of a CRM deal (external id: its ID) or smart invoice (``invoice:<ID>``)."""
    return _seen(external_id, row, version, record, dirty)


def doc_seen(row: dict[str, Any], *, dirty: bool = True) -> SeenInput:
    """A 1C document as staging keeps it: matched by its counterparty (what a recomputation loads); dirty
    when new or changed (its deals are to be recomputed)."""
    return SeenInput(
        str(row["Ref_Key"]),
        row,
        None,
        row.get("DataVersion"),
        match_key=counterparty_of(row) or None,
        dirty=dirty,
    )


def _seen(external_id: str, raw: Any, version: Any, record: DealPayment, dirty: bool) -> SeenInput:
    return seen_input(
        external_id,
        raw,
        version,
        lambda: record,
        content_hash=content_hash,
        identity_key=identity_key,
        dirty=dirty,
    )
