"""Deals → 1C documents (payment invoice, sale) as an engine spec: the CRM defines the terms, the exported
document belongs to 1C (nothing is written back to the deal here: ``sync_payments`` reports the document's
number, date and payment to it)."""

from __future__ import annotations

from typing import Any

from crm1c.domain.sales_document import SalesDocument, content_hash, identity_key, merge, tombstone, validate
from crm1c.sync.engine.onec_scan import OneCScan
from crm1c.sync.invoices.crm_reader import read_documents
from crm1c.sync.invoices.onec_writer import OneCDocumentWriter, currency_refs
from crm1c.sync.invoices.pilot import DocumentPilot
from crm1c.sync.invoices.records import INVOICES, KEY, SALES, onec_seen
from crm1c.sync.runtime import SyncEnv
from crm1c.sync.spec import EntitySpec


def _documents_seen(env: SyncEnv, rows: list[dict], refs: dict[str, str]) -> list[Any]:
    return [onec_seen(refs, row) for row in rows]


INVOICES_SPEC = EntitySpec(
    key=KEY,
    model=SalesDocument,
    noun=("документов", "documents"),
    identity_key=identity_key,
    key_field="deal",
    content_hash=content_hash,
    validate=validate,
    tombstone=tombstone,
    merge_rules=lambda _mapping: None,
    merge=merge,
    link_slots={"crm": "crm_id", "onec": "onec_ref"},
    readers={
        "crm": read_documents,
        "onec": OneCScan(
            KEY, INVOICES, lambda _mapping: [], _documents_seen, more_sets=(SALES,), context=currency_refs
        ),
    },
    writers={"onec": OneCDocumentWriter()},
    pilot_match=DocumentPilot(),
    summed=("crm_unchanged",),
)
