"""Every counterparty of both systems, read in full through the clients' list methods (reads only).

Each record is decoded by the counterparty codec (:mod:`crm1c.domain.counterparty_codec`), so it is
compared in the form the sync compares it in; a record the codec cannot read keeps its id and name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm1c.domain import systems as s
from crm1c.domain.counterparty import Counterparty
from crm1c.domain.counterparty_codec import (
    CodecError,
    HeadLookup,
    bitrix_select,
    from_bitrix,
    from_onec,
    onec_select,
)
from crm1c.domain.text import normalize_line


@dataclass(frozen=True)
class Entry:
    """One record: ``cp`` is None when the codec could not read it (``name`` is then the raw one)."""

    id: str
    cp: Counterparty | None
    name: str | None
    deleted: bool = False

    @property
    def live(self) -> bool:
        return not self.deleted


def read_crm(crm: Any, mapping: Any) -> dict[str, Entry]:
    """Every company with its first requisite (lowest ID), by company ID."""
    company_select, requisite_select = bitrix_select(mapping)
    requisites: dict[str, dict] = {}
    company_type = int(s.REQUISITE_ENTITY_TYPE_COMPANY)
    flt = {"ENTITY_TYPE_ID": company_type}
    for page in crm.iter_list_batched("crm.requisite.list", filter=flt, select=requisite_select):
        for row in page:  # keyset pages come by rising ID: the first one seen is the lowest
            requisites.setdefault(str(row["ENTITY_ID"]), row)
    return {
        str(company["ID"]): _crm_entry(company, requisites.get(str(company["ID"])), mapping)
        for page in crm.iter_list_batched("crm.company.list", select=company_select)
        for company in page
    }


def read_onec(onec: Any, mapping: Any, entity_set: str) -> dict[str, Entry]:
    """Every counterparty that is not a folder, by Ref_Key; ``deleted`` = deletion mark."""
    rows = {
        str(row[s.ONEC_REF_KEY]).lower(): row
        for page in onec.list(entity_set, select=onec_select(mapping))
        for row in page
        if row.get(s.ONEC_IS_FOLDER) is not True
    }

    def head(ref: str) -> Counterparty | None:
        row = rows.get(ref)
        return _onec_entry(row, mapping).cp if row is not None else None

    return {ref: _onec_entry(row, mapping, head) for ref, row in rows.items()}


def _crm_entry(company: dict, requisite: dict | None, mapping: Any) -> Entry:
    cid = str(company["ID"])
    try:
        cp = from_bitrix(company, requisite, mapping)
    except CodecError:
        return Entry(cid, None, _name(company.get("TITLE")))
    return Entry(cid, cp, cp.name)


def _onec_entry(row: dict, mapping: Any, head: HeadLookup | None = None) -> Entry:
    ref, deleted = str(row[s.ONEC_REF_KEY]).lower(), row.get(s.ONEC_DELETION_MARK) is True
    try:
        cp = from_onec(row, mapping, head)
    except CodecError:
        return Entry(ref, None, _name(row.get("Description")), deleted)
    return Entry(ref, cp, cp.name, deleted)


def _name(value: Any) -> str | None:
    return normalize_line(value) if isinstance(value, str) else None
