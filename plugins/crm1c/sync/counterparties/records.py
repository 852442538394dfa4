"""Conversions between staging rows, canonical counterparties and write-intent payloads."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from crm1c import hashing
from crm1c.domain.counterparty import Counterparty, content_hash, identity_key, tombstone
from crm1c.domain.counterparty_codec import CodecError, from_bitrix, from_onec
from crm1c.domain.issues import Issue
from crm1c.staging import SeenInput, SeenRecord, WriteIntent

ENTITY = "counterparty"
ONEC_SET = "Catalog_Контрагенты"
CODEC_ERROR = "codec_error"


def seen_input(
    external_id: str, raw: Any, version: str | None, build: Any, *, dirty: bool = True
) -> SeenInput:
    """A staging row for one source record; a record the codec cannot read keeps its :class:`Issue`."""
    try:
        cp: Counterparty = build()
    except CodecError as exc:
        return SeenInput(external_id, raw, {CODEC_ERROR: asdict(exc.issue)}, version, dirty=dirty)
    return SeenInput(
        external_id,
        raw,
        cp.model_dump(mode="json"),
        version,
        content_hash=content_hash(cp),
        match_key=identity_key(cp),
        dirty=dirty,
    )


def crm_seen(company: dict, requisite: dict | None, mapping: Any, *, dirty: bool = True) -> SeenInput:
    raw = {"company": company, "requisite": requisite}
    version = max(
        filter(None, [company.get("DATE_MODIFY"), (requisite or {}).get("DATE_MODIFY")]), default=None
    )
    return seen_input(
        str(company["ID"]), raw, version, lambda: from_bitrix(company, requisite, mapping), dirty=dirty
    )


def onec_seen(row: dict, mapping: Any, head_lookup: Any = None, *, dirty: bool = True) -> SeenInput:
    return seen_input(
        str(row["Ref_Key"]),
        row,
        row.get("DataVersion"),
        lambda: from_onec(row, mapping, head_lookup),
        dirty=dirty,
    )


def codec_issue(record: SeenRecord) -> Issue | None:
    data = record.normalised
    if isinstance(data, dict) and CODEC_ERROR in data:
        return Issue(**data[CODEC_ERROR])
    return None


def canonical(record: SeenRecord | None) -> Counterparty | None:
    """The counterparty a seen record holds (a tombstone when deleted at the source), or None."""
    if record is None or record.normalised is None or codec_issue(record) is not None:
        return None
    cp = Counterparty(**record.normalised)
    return tombstone(cp) if record.deleted and not cp.deleted else cp


def intent_payload(
    fields: dict[str, Any],
    merged: Counterparty,
    crm_id: str | None,
    onec_id: str | None,
    *,
    target_hash: str | None = None,
    base: Any = None,
) -> dict:
    """What a loader needs: the canonical fields to write, the agreed record and both ids; and what the
    plan saw: the target record's content hash (None for a create) and the pair's agreed base."""
    payload = {
        "fields": fields,
        "merged": merged.model_dump(mode="json"),
        "crm_id": crm_id,
        "onec_id": onec_id,
    }
    payload |= {"base_hash": content_hash_of(base)}
    if target_hash is not None:
        payload["target_hash"] = target_hash
    return payload


def content_hash_of(base: Any) -> str | None:
    """The hash of an agreed base as stored in xref (None when the pair had none)."""
    return hashing.content_hash(base) if base is not None else None


def target_moved(intent: WriteIntent, current: SeenRecord | None) -> bool:
    """The target record changed since the plan that queued this write (an edit, or an earlier attempt of
    this very write): writing now could put older data over a newer edit, so the pair is planned again."""
    expected = intent.payload.get("target_hash")
    return expected is not None and current is not None and current.content_hash != expected


def base_moved(intent: WriteIntent, base: Any) -> bool:
    """The pair's agreed base was re-agreed since this write was planned: completing it must not put the
    older merged record back as the base."""
    return "base_hash" in intent.payload and intent.payload["base_hash"] != content_hash_of(base)
