"""The mass-change circuit breaker: a run that would change too many of the records already linked stops
before writing and waits for a person (plain Python; the waiting is Airflow's, in
:class:`crm1c.operators.breaker.MassChangeBreakerOperator`).

The share is ``changes / known``: ``changes`` are the linked pairs for which the plan queued an update or a
deletion mark (the engine's ``planned_changes_existing``), ``known`` the pairs linked before the run.
Creating new records never counts, and a run with nothing linked before it (a first sync) never trips.

While it waits, the run's queued writes are :func:`held`: their source records are flagged for the planner
again, so a run that never gets an answer (failed, or marked by hand) leaves nothing that a later run's
loads would write unasked — that run plans them again and asks again. :func:`approved` lifts the hold;
:func:`rejected` abandons the writes (audited one by one) and keeps the records flagged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from crm1c.watch.message import Message, heading, percent, slack_line, table

if TYPE_CHECKING:
    from crm1c.notify.config import Thresholds
    from crm1c.staging.models import WriteIntent

#: The audit operation of the breaker's decisions.
AUDIT_OP = "mass_change"
#: How many of the held writes the alert lists.
LISTED = 20
_SYSTEM_NAMES = {"crm": "CRM", "onec": "1C"}
_ANSWER = '{"chosen_options": ["Approve"]}'  # or ["Reject"]


@dataclass(frozen=True)
class Verdict:
    """The breaker's decision for one run of ``entity``: ``trips`` and, in words, ``why``."""

    entity: str
    changes: int
    known: int
    share: float | None
    limit: float | None
    minimum: int
    trips: bool
    why: str

    def summary(self) -> dict[str, Any]:
        """The verdict as the XCom and the audit row keep it."""
        return asdict(self)


def decide(entity: str, changes: int, known: int, thresholds: Thresholds) -> Verdict:
    """Trip when ``changes`` of the ``known`` linked records is more than ``mass_change_share`` of them
    and at least ``mass_change_min``."""
    limit, minimum = thresholds.mass_change_share, thresholds.mass_change_min
    share = changes / known if known > 0 else None
    if limit is None:
        return Verdict(entity, changes, known, share, limit, minimum, False, "the breaker is off")
    if share is None:
        why = "nothing was linked before this run (a first sync): creating records is never a mass change"
        return Verdict(entity, changes, known, share, limit, minimum, False, why)
    trips = share > limit and changes >= minimum
    why = (
        f"{changes} of {known} linked records would change ({percent(share)}; "
        f"the breaker trips above {percent(limit)} and from {minimum} records)"
    )
    return Verdict(entity, changes, known, share, limit, minimum, trips, why)


def run_intents(staging: Any, key: str, run_id: str) -> list[WriteIntent]:
    """The writes this run queued and has not tried yet: what the breaker holds back."""
    return [
        intent
        for target in _SYSTEM_NAMES
        for intent in staging.pending_intents(key, target)
        if intent.run_id == run_id and intent.tried_at is None
    ]


def held(staging: Any, key: str, run_id: str, verdict: Verdict, intents: Sequence[WriteIntent]) -> None:
    """The run waits: flag the writes' source records for the planner again; audit it."""
    _flag(staging, key, intents, dirty=True)
    detail = verdict.summary() | {"held_writes": len(intents)}
    staging.audit("crm1c", run_id, key, None, AUDIT_OP, None, "waiting", detail)


def approved(staging: Any, key: str, run_id: str, who: str, intents: Sequence[WriteIntent]) -> None:
    """A person approved: the writes go ahead (the loads make them); the records need no planning again."""
    _flag(staging, key, intents, dirty=False)
    staging.audit(who, run_id, key, None, AUDIT_OP, None, "approved", {"writes": len(intents)})


def rejected(
    staging: Any, key: str, run_id: str, who: str, intents: Sequence[WriteIntent], *, timed_out: bool
) -> int:
    """Rejected (or no answer in time): abandon the writes, each audited; their records stay flagged, so the
    next run plans them again and asks again. Returns how many were abandoned."""
    reason = "mass change not approved in time" if timed_out else f"mass change rejected by {who}"
    row: dict[str, Any] = {"actor": who, "run_id": run_id, "entity": key}
    entries = []
    for intent in intents:
        staging.abandon_intent(intent.id, reason)
        where = f"{intent.source_system}:{intent.source_id}"
        entries.append(
            row
            | {"entity_key": where, "op": intent.op, "system": intent.target_system, "result": "abandoned"}
            | {"detail": {"intent": intent.id, "reason": reason}}
        )
    summary = {"abandoned": len(intents), "reason": reason}
    result = "timed_out" if timed_out else "rejected"
    entries.append(
        row | {"entity_key": None, "op": AUDIT_OP, "system": None, "result": result, "detail": summary}
    )
    staging.audit_many(entries)
    return len(intents)


def breaker_message(
    verdict: Verdict, intents: Sequence[WriteIntent], links: tuple[str, str], hours: float | None
) -> Message:
    """The alert sent before the run waits: entity, share, counts, the first writes held, how to answer
    (``links``: the request's page in Airflow's UI, its REST URL)."""
    page, api = links
    subject = f"[crm1c] mass change in {verdict.entity} waits for approval: {verdict.why}"
    rows = [
        (f"{i.source_system}:{i.source_id}", _SYSTEM_NAMES.get(i.target_system, i.target_system), i.op,
         ", ".join(sorted((i.payload or {}).get("fields") or {})))
        for i in intents[:LISTED]
    ]  # fmt: skip
    html = (
        heading(subject, page)
        + f"<p>{escape(approval_text(verdict, hours))}</p>"
        + f"<p>Through the REST API: <code>PATCH {escape(api)}</code> "
        + f"with <code>{escape(_ANSWER)}</code>.</p>"
        + f"<p><b>The first {len(rows)} of {len(intents)} held writes</b> (ids and field names):</p>"
        + table(("Record", "Written to", "Operation", "Fields"), rows)
    )
    text = f"crm1c: mass change in {verdict.entity} waits for approval — {verdict.why}"
    return Message(subject, html, slack_line("octagonal_sign", text, page))


def approval_text(verdict: Verdict, hours: float | None) -> str:
    """What to do, in plain words (also the body of the request in Airflow's "Required actions")."""
    timeout = (
        f"No answer within {hours:g} h counts as Reject." if hours else "It waits until someone answers."
    )
    return (
        f"{verdict.why}. Nothing has been written yet. In Airflow, open the run's Required actions and "
        "choose Approve: the writes go through; or Reject: they are abandoned (audited), nothing is "
        f"written, and the next run asks again until the source is corrected. {timeout}"
    )


def answer_url(base_url: str, dag_id: str, run_id: str, task_id: str) -> str:
    """The REST URL a person PATCHes with ``{"chosen_options": ["Approve"]}`` (or ``["Reject"]``)."""
    run = quote(run_id, safe="")
    return f"{base_url.rstrip('/')}/api/v2/dags/{dag_id}/dagRuns/{run}/taskInstances/{task_id}/-1/hitlDetails"


def _flag(staging: Any, key: str, intents: Sequence[WriteIntent], *, dirty: bool) -> None:
    for system in _SYSTEM_NAMES:
        ids = [i.source_id for i in intents if i.source_system == system]
        if ids:
            staging.set_dirty(system, key, ids, dirty)
