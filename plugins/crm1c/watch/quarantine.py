"""Quarantine growth: after a published run, is the entity's open quarantine growing or too large?

Compared are the open quarantine entries (one per record and field) after this run and after the previous
published run of the entity (its ``run`` audit row); a first run is held against the absolute limit only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from crm1c.watch.message import Message, heading, slack_line, table

if TYPE_CHECKING:
    from crm1c.notify.config import Thresholds
    from crm1c.staging.models import QuarantineItem

#: How many of the newest held entries the alert lists.
NEWEST = 20


@dataclass(frozen=True)
class QuarantineFinding:
    """Why the quarantine of ``entity`` alerts: its open entries now and after the previous run."""

    entity: str
    open_now: int
    open_before: int | None
    reasons: tuple[str, ...]


def check_quarantine(
    entity: str, open_now: int, open_before: int | None, thresholds: Thresholds
) -> QuarantineFinding | None:
    """A finding when the open quarantine grew by more than ``quarantine_growth`` since the previous run
    (``open_before``; None: there was none) or holds more than ``quarantine_max``; else None."""
    reasons = []
    growth, limit = thresholds.quarantine_growth, thresholds.quarantine_max
    if growth is not None and open_before is not None and open_now - open_before > growth:
        reasons.append(f"grew by {open_now - open_before} since the previous run (alert above {growth})")
    if limit is not None and open_now > limit:
        reasons.append(f"holds {open_now} open entries (alert above {limit})")
    return QuarantineFinding(entity, open_now, open_before, tuple(reasons)) if reasons else None


def quarantine_message(finding: QuarantineFinding, held: Sequence[QuarantineItem], link: str) -> Message:
    """The alert: counts, why, and the newest of ``held`` (the open entries) with their reasons."""
    before = "none (first run)" if finding.open_before is None else str(finding.open_before)
    subject = (
        f"[crm1c] quarantine of {finding.entity}: {finding.open_now} open ({'; '.join(finding.reasons)})"
    )
    newest = sorted(held, key=lambda q: (q.first_seen, q.id), reverse=True)[:NEWEST]
    rows = [
        (f"{q.system}:{q.external_id}", q.field, q.reason_en, q.reason_ru, f"{q.first_seen:%Y-%m-%d %H:%M}")
        for q in newest
    ]
    html = (
        heading(subject, link)
        + table(
            ("Entity", "Open now", "After the previous run"), [(finding.entity, finding.open_now, before)]
        )
        + f"<p><b>The {len(newest)} newest held</b> (of {len(held)}; all on the crm1c page):</p>"
        + table(("Record", "Field", "Reason", "Причина", "Held since"), rows)
        + "<p>A held record waits until it is fixed at its source; the next run then syncs it.</p>"
    )
    text = f"crm1c: quarantine of {finding.entity} {'; '.join(finding.reasons)} — {finding.open_now} open"
    return Message(subject, html, slack_line("warning", text, link))
