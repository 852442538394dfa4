"""Stories as one document (plain JSON types, credentials scrubbed), printed as text or as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from crm1c.audit.chain import ChainCheck
from crm1c.audit.query import Query
from crm1c.audit.story import Story
from crm1c.audit.timeline import timeline
from crm1c.redaction import redact_json as scrub

SYSTEM_NAMES = {"crm": "CRM", "onec": "1C", "crm1c": "crm1c"}
_SEP = " · "


def document(query: Query, stories: list[Story], chain: ChainCheck) -> dict[str, Any]:
    """What ``--json`` prints and the text is made from."""
    doc = {
        "query": str(query),
        "stories": [_story(story) for story in stories],
        "audit_chain": asdict(chain),
    }
    return scrub(json.loads(json.dumps(doc, default=_iso)))


def _story(story: Story) -> dict[str, Any]:
    subject = story.subject
    return {
        "entity": subject.entity,
        "crm_ids": list(subject.crm_ids),
        "onec_ids": list(subject.onec_ids),
        "records": [asdict(r) for r in story.seen],
        "links": [asdict(x) for x in story.links],
        "events": timeline(story),
        "intents": [asdict(i) for i in story.intents],
        "quarantine": [asdict(q) for q in story.quarantine],
        "conflicts": [asdict(c) for c in story.conflicts],
        "audit": [asdict(a) for a in story.audit + story.runs],
    }


def as_json(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2)


def as_text(doc: dict[str, Any]) -> str:
    blocks = [_story_text(story) for story in doc["stories"]]
    if not blocks:
        blocks = [f"no record matches {doc['query']} in staging"]
    return "\n\n".join([*blocks, chain_line(doc["audit_chain"])]) + "\n"


def chain_line(chain: dict[str, Any]) -> str:
    if chain["ok"]:
        return f"audit chain: OK ({chain['rows']} rows)"
    bad = chain["first_bad"]
    row = f"#{chain['first_bad_id']}"
    if bad:
        who = f"by {bad['actor']}, run {bad['run_id'] or '-'}"
        row += f" ({_ts(bad['ts'])} {bad['op']} {bad['entity_key'] or '-'} → {bad['result']}, {who})"
    reason = "it, or the row before it, was altered or removed"
    return f"audit chain: BROKEN at row {row} of {chain['rows']}: {reason}"


def _story_text(story: dict[str, Any]) -> str:
    crm, onec = story["crm_ids"], story["onec_ids"]
    pair = " ⇄ ".join(filter(None, [_ids("CRM", crm), _ids("1C", onec)]))
    lines = [f"{story['entity']} — {pair}", "", "Records"]
    lines += [line for r in story["records"] for line in _record_lines(r)] or ["  (never read)"]
    lines += [_link_line(x) for x in story["links"]]
    lines += ["", "Story (oldest first)"]
    lines += [_event_line(e) for e in story["events"]]
    lines += _section("Write intents", [_intent_line(i) for i in story["intents"]])
    lines += _section("Quarantine", [_quarantine_line(q) for q in story["quarantine"]])
    lines += _section("Conflicts", [_conflict_line(c) for c in story["conflicts"]])
    return "\n".join(lines)


def _section(title: str, lines: list[str]) -> list[str]:
    return ["", title, *lines] if lines else []


def _record_lines(r: dict[str, Any]) -> list[str]:
    state = "deleted at the source" if r["deleted"] else "live"
    when = f"first seen {_ts(r['first_seen'])}, last seen {_ts(r['last_seen'])}"
    name = _label(f"{r['system']}:{r['external_id']}", full=True)
    head = f"  {name}: {when}, version {r['version']}, {state}"
    return [head, f"      {_content(r['normalised'])}"]


def _link_line(x: dict[str, Any]) -> str:
    return f"  linked{_role(x)} {_ts(x['created_at'])}: CRM {x['crm_id']} ⇄ 1C {x['onec_id']}"


def _content(normalised: Any) -> str:
    if not isinstance(normalised, dict):
        return "(no readable content)"
    if "codec_error" in normalised:
        return f"unreadable: {_kv(normalised['codec_error'])}"
    return _kv({k: v for k, v in normalised.items() if v not in (None, False, "")})


def _event_line(e: dict[str, Any]) -> str:
    record = _label(e["record"]) if e["record"] else "—"
    text, label = _EVENT_TEXT[e["kind"]](e)
    return f"  {_ts(e['ts'])}  {record:<12} {label:<10} {text}"


def _seen_text(e: dict[str, Any]) -> tuple[str, str]:
    return "first read into staging", "seen"


def _last_seen_text(e: dict[str, Any]) -> tuple[str, str]:
    state = ", deleted at the source" if e["deleted"] else ""
    return f"last read, version {e['version']}{state}", "read"


def _held_text(e: dict[str, Any]) -> tuple[str, str]:
    times = f" (seen {e['occurrences']}×)" if e["occurrences"] > 1 else ""
    return f"field {e['field']}: {e['reason_ru']} / {e['reason_en']}{times}", "held"


def _released_text(e: dict[str, Any]) -> tuple[str, str]:
    return f"field {e['field']}: valid again, hold released", "released"


def _conflict_text(e: dict[str, Any]) -> tuple[str, str]:
    return f"field {e['field']} edited on both sides ({_values(e)}); the owner's value wins", "conflict"


def _conflict_resolved_text(e: dict[str, Any]) -> tuple[str, str]:
    return f"conflict #{e['conflict']} closed: {e['resolution']}", "resolved"


def _intent_opened_text(e: dict[str, Any]) -> tuple[str, str]:
    back = " — link-back: the partner's new id" if e["link_back"] else ""
    fields = f" fields {', '.join(e['fields'])}" if e["fields"] else ""
    run = f"; run {e['run_id'] or '-'}"
    return f"#{e['intent']} {e['op']}{_role(e)} → {_target(e, True)} queued{back}:{fields}{run}", "intent"


def _intent_tried_text(e: dict[str, Any]) -> tuple[str, str]:
    return f"#{e['intent']} {e['op']} → {_target(e, True)}: call started (attempt {e['attempts']})", "tried"


def _intent_closed_text(e: dict[str, Any]) -> tuple[str, str]:
    error = f": {e['error']}" if e["error"] else ""
    return f"#{e['intent']} {e['op']} → {_target(e)}{error}", e["state"]


def _linked_text(e: dict[str, Any]) -> tuple[str, str]:
    return f"⇄ 1C {e['onec_id']}{_role(e)}", "linked"


def _audit_text(e: dict[str, Any]) -> tuple[str, str]:
    system = SYSTEM_NAMES.get(e["system"] or "", e["system"] or "-")
    back = " (link-back)" if e["link_back"] else ""
    detail = _kv(e["detail"]) if isinstance(e["detail"], dict) else _v(e["detail"])
    who = f"by {e['actor']}, run {e['run_id'] or '-'}"
    return f"#{e['audit']} {e['op']} {system} → {e['result']}{back}{_SEP}{detail}{_SEP}{who}", "audit"


def _run_text(e: dict[str, Any]) -> tuple[str, str]:
    chain = "" if e.get("audit_chain_ok", True) else ", audit chain NOT ok"
    return f"#{e['audit']} run {e['run_id']} published{chain}{_SEP}{_kv(e['counts'])}", "run"


_EVENT_TEXT = {
    "seen": _seen_text,
    "last_seen": _last_seen_text,
    "held": _held_text,
    "released": _released_text,
    "conflict": _conflict_text,
    "conflict_resolved": _conflict_resolved_text,
    "intent_opened": _intent_opened_text,
    "intent_tried": _intent_tried_text,
    "intent_closed": _intent_closed_text,
    "linked": _linked_text,
    "audit": _audit_text,
    "run": _run_text,
}


def _intent_line(i: dict[str, Any]) -> str:
    target = f"{i['target_system']}:{i['target_id'] or '(new)'}"
    tried = f", tried {_ts(i['tried_at'])}" if i["tried_at"] else ""
    error = f", error: {i['error']}" if i["error"] else ""
    run = f", run {i['run_id'] or '-'}"
    where = f"{i['source_system']}:{i['source_id']} → {target}"
    return f"  #{i['id']} {i['op']} {where}: {i['state']}, attempts {i['attempts']}{tried}{error}{run}"


def _quarantine_line(q: dict[str, Any]) -> str:
    state = f"released {_ts(q['resolved_at'])}" if q["resolved_at"] else "OPEN"
    where = f"{q['system']}:{q['external_id']} field {q['field']}"
    return f"  #{q['id']} {where}: {state}, seen {q['occurrences']}×; {q['reason_ru']} / {q['reason_en']}"


def _conflict_line(c: dict[str, Any]) -> str:
    state = f"closed {_ts(c['resolved_at'])} ({c['resolution']})" if c["resolved_at"] else "open"
    return f"  #{c['id']} field {c['field']}: {_values(c)}; detected {_ts(c['detected_at'])}, {state}"


def _values(conflict: dict[str, Any]) -> str:
    """The three values of a conflicting field."""
    crm, onec, base = (_v(conflict[f"{side}_value"]) for side in ("crm", "onec", "base"))
    return f"CRM {crm}, 1C {onec}, base {base}"


def _role(row: dict[str, Any]) -> str:
    return f" ({row['role']})" if row["role"] else ""


def _target(e: dict[str, Any], before_write: bool = False) -> str:
    """The intent's target; a create's id does not exist before the write."""
    name = SYSTEM_NAMES[e["target_system"]]
    if e["op"] == "create" and before_write:
        return f"{name} (new record)"
    return f"{name} {e['target_id']}" if e["target_id"] else name


def _label(key: str, *, full: bool = False) -> str:
    """``crm:42`` → ``CRM 42``; ``onec:<Ref_Key>`` → ``1C <first 8 digits>`` (``full``: the whole key)."""
    system, _, external_id = key.partition(":")
    name = SYSTEM_NAMES.get(system, system)
    return f"{name} {external_id if full or system != 'onec' else external_id[:8]}"


def _ids(name: str, ids: list[str]) -> str:
    return f"{name} {', '.join(ids)}" if ids else ""


def _kv(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={', '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in values.items())


def _v(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    raise TypeError(f"cannot put {type(value).__name__} in a story")


def _ts(iso: str | None) -> str:
    """``2026-12-02T19:19:46.003512+00:00`` → ``2026-12-02 19:19:46.003Z``."""
    return "-" if not iso else f"{iso[:10]} {iso[11:23]}Z"
