"""Counterparty staging rows: what the readers store for a Bitrix24 company and a 1C counterparty."""

from __future__ import annotations

from typing import Any

from crm1c.domain.counterparty import Counterparty, content_hash, identity_key
from crm1c.domain.counterparty_codec import HeadLookup, from_bitrix, from_onec
from crm1c.staging import SeenInput, SeenRecord
from crm1c.sync.engine.records import codec_issue, seen_input

KEY = "counterparty"  # the staging entity name
ONEC_SET = "Catalog_Контрагенты"
COMPANY_TYPE_ID = 4  # crm.requisite ENTITY_TYPE_ID of a company


def crm_seen(company: dict, requisite: dict | None, mapping: Any, *, dirty: bool = True) -> SeenInput:
    raw = {"company": company, "requisite": requisite}
    version = max(
        filter(None, [company.get("DATE_MODIFY"), (requisite or {}).get("DATE_MODIFY")]), default=None
    )
    return seen_input(
        str(company["ID"]),
        raw,
        version,
        lambda: from_bitrix(company, requisite, mapping),
        content_hash=content_hash,
        identity_key=identity_key,
        dirty=dirty,
    )


def onec_seen(
    row: dict, mapping: Any, head_lookup: HeadLookup | None = None, *, dirty: bool = True
) -> SeenInput:
    return seen_input(
        str(row["Ref_Key"]),
        row,
        row.get("DataVersion"),
        lambda: from_onec(row, mapping, head_lookup),
        content_hash=content_hash,
        identity_key=identity_key,
        dirty=dirty,
    )


def counterparty_of(record: SeenRecord | None) -> Counterparty | None:
    """The counterparty a seen record holds, or None (absent, or its codec could not read it)."""
    if record is None or record.normalised is None or codec_issue(record) is not None:
        return None
    return Counterparty(**record.normalised)


def onec_page_seen(env: Any, rows: list[dict]) -> list[SeenInput]:
    """Staging records of one page of 1C counterparties: a branch's head is looked up in the same page
    first, then among the 1C records already in staging."""
    page = {str(row["Ref_Key"]): row for row in rows}

    def head(ref: str) -> Counterparty | None:
        if ref in page:
            seen = onec_seen(page[ref], env.mapping)
            return Counterparty(**seen.normalised) if seen.match_key is not None else None
        return counterparty_of(env.staging.get_seen("onec", KEY, ref))

    return [onec_seen(row, env.mapping, head) for row in rows]
