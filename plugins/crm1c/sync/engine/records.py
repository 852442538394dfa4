"""Conversions between staging rows, canonical records and write-intent payloads, for any entity."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from crm1c import hashing
from crm1c.domain.issues import Issue, IssueError
from crm1c.staging import SeenInput, SeenRecord, WriteIntent, Xref
from crm1c.sync.spec import EntitySpec

#: Where a staging row keeps the issue of a source record its codec could not read.
CODEC_ERROR = "codec_error"


def seen_input(
    external_id: str,
    raw: Any,
    version: str | None,
    build: Callable[[], Any],
    *,
    content_hash: Callable[[Any], str],
    identity_key: Callable[[Any], str | None],
    dirty: bool = True,
) -> SeenInput:
    """A staging row for one source record (``build`` reads it into the canonical model); a record the
    codec cannot read keeps its :class:`Issue` — also for an error nobody foresaw (a malformed date, say):
    one record never stops a read, it waits in quarantine with the error."""
    try:
        record = build()
    except IssueError as exc:
        return SeenInput(external_id, raw, {CODEC_ERROR: asdict(exc.issue)}, version, dirty=dirty)
    except Exception as exc:  # one record's surprise must not stop the exchange
        what = f"{type(exc).__name__}: {exc}"
        issue = Issue(
            "*",
            "unreadable",
            f"Запись не прочитана ({what}); она ждёт разбора, обмен продолжается",
            f"The record could not be read ({what}); it waits for a look, the exchange goes on",
        )
        return SeenInput(external_id, raw, {CODEC_ERROR: asdict(issue)}, version, dirty=dirty)
    return SeenInput(
        external_id,
        raw,
        record.model_dump(mode="json"),
        version,
        content_hash=content_hash(record),
        match_key=identity_key(record),
        dirty=dirty,
    )


def codec_issue(record: SeenRecord) -> Issue | None:
    data = record.normalised
    if isinstance(data, dict) and CODEC_ERROR in data:
        return Issue(**data[CODEC_ERROR])
    return None


def canonical(spec: EntitySpec, record: SeenRecord | None) -> Any:
    """The canonical record a seen record holds (a tombstone when deleted at the source), or None."""
    if record is None or record.normalised is None or codec_issue(record) is not None:
        return None
    value = spec.model(**record.normalised)
    return spec.tombstone(value) if record.deleted and not value.deleted else value


def merged_of(spec: EntitySpec, intent: WriteIntent) -> Any:
    """The agreed record an intent carries, with both systems' ids in their link slots."""
    p = intent.payload
    ids = {spec.link_slots[s]: p.get(f"{s}_id") for s in ("crm", "onec")}
    return spec.model(**p["merged"]).model_copy(update=ids)


def intent_payload(
    fields: dict[str, Any],
    merged: Any,
    crm_id: str | None,
    onec_id: str | None,
    *,
    target_hash: str | None = None,
    base: Any = None,
) -> dict:
    """What a loader needs: the canonical fields to write, the agreed record and both ids; and what the
    plan saw: the target record's content hash (None for a create) and the pair's agreed base."""
    payload = {"fields": fields, "merged": merged.model_dump(mode="json"), "crm_id": crm_id}
    payload |= {"onec_id": onec_id, "base_hash": content_hash_of(base)}
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


def base_moved(intent: WriteIntent, link: Xref) -> bool:
    """The pair's agreed base was re-agreed since this write was planned: completing it must not put the
    older merged record back as the base. (A link unchanged since the intent was opened cannot have moved:
    no hash needed in the usual case.)"""
    if "base_hash" not in intent.payload or link.updated_at <= intent.created_at:
        return False
    return intent.payload["base_hash"] != content_hash_of(link.base)
