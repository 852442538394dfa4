"""Counterparties both ways: Bitrix24 company + requisite ⇄ 1C ``Catalog_Контрагенты``, as an engine spec."""

from __future__ import annotations

from typing import Any

from crm1c.domain.counterparty import Counterparty, content_hash, identity_key, tombstone, validate
from crm1c.domain.counterparty_codec import onec_select
from crm1c.domain.merge import MergeResult, Ownership, merge
from crm1c.sync.counterparties.crm_reader import read_companies
from crm1c.sync.counterparties.crm_writer import CrmCompanyWriter
from crm1c.sync.counterparties.onec_writer import OneCCounterpartyWriter
from crm1c.sync.counterparties.pilot import CounterpartyPilot
from crm1c.sync.counterparties.records import KEY, ONEC_SET, onec_page_seen
from crm1c.sync.engine.onec_scan import OneCScan
from crm1c.sync.spec import EntitySpec


def _merge(
    base: Counterparty | None, crm: Counterparty | None, onec: Counterparty | None, ownership: Ownership
) -> MergeResult:
    return merge(base, crm, onec, ownership)


def _ownership(mapping: Any) -> Ownership:
    return mapping.merge_ownership()


COUNTERPARTIES = EntitySpec(
    key=KEY,
    model=Counterparty,
    noun=("контрагентов", "counterparties"),
    identity_key=identity_key,
    key_field="inn",
    content_hash=content_hash,
    validate=validate,
    tombstone=tombstone,
    merge_rules=_ownership,
    merge=_merge,
    link_slots={"crm": "crm_id", "onec": "onec_ref"},
    readers={
        "crm": read_companies,
        "onec": OneCScan(KEY, ONEC_SET, onec_select, onec_page_seen),
    },
    writers={"onec": OneCCounterpartyWriter(), "crm": CrmCompanyWriter()},
    pilot_match=CounterpartyPilot(),
)
