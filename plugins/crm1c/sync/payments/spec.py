"""Payments 1C → CRM as an engine spec: one record per deal that has a crm1c document in 1C (its 1C side is
computed from the documents, :mod:`crm1c.sync.payments.onec_reader`), matched by the deal id; 1C is the
master of the four fields and nothing is written there. A pilot takes deals as ``sync_invoices`` does (by
funnel, responsible user or company: the CRM side's row carries them)."""

from __future__ import annotations

from crm1c.domain.deal_payment import DealPayment, content_hash, identity_key, merge, tombstone, validate
from crm1c.sync.invoices.pilot import DocumentPilot
from crm1c.sync.payments.crm_deals import read_deals
from crm1c.sync.payments.crm_writer import CrmDealWriter
from crm1c.sync.payments.onec_reader import read_payments
from crm1c.sync.payments.records import KEY
from crm1c.sync.spec import EntitySpec

PAYMENTS = EntitySpec(
    key=KEY,
    model=DealPayment,
    noun=("сделок", "deals"),
    identity_key=identity_key,
    key_field="deal_id",
    content_hash=content_hash,
    validate=validate,
    tombstone=tombstone,
    merge_rules=lambda _mapping: None,
    merge=merge,
    link_slots={"crm": "crm_id", "onec": "onec_ref"},
    readers={"crm": read_deals, "onec": read_payments},
    writers={"crm": CrmDealWriter()},
    summed=("crm_fields_created", "receipts_not_counted", "onec_recomputed"),
    pilot_match=DocumentPilot(),  # the deals (and smart invoices) sync_invoices' pilot takes
)
