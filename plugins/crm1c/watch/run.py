"""The checks at the end of a run (its publish step): quarantine growth and the Bitrix24 rate budget."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from crm1c.watch.budget import budget_message, check_budget, step_uses
from crm1c.watch.quarantine import check_quarantine, quarantine_message
from crm1c.watch.queries import previous_run

if TYPE_CHECKING:
    from crm1c.notify.config import Thresholds
    from crm1c.watch.message import Message


def run_alerts(
    staging: Any,
    key: str,
    entity: str,
    run_id: str,
    totals: Mapping[str, Any],
    thresholds: Thresholds,
    link: str,
) -> list[Message]:
    """What on-call must hear about run ``run_id`` of ``entity`` (staging name ``key``), given publish's
    ``totals``. A dry run holds nothing in quarantine, so only its rate budget is checked."""
    messages = []
    if not totals.get("dry_run"):
        before = previous_run(staging, key, run_id)
        open_before = (before.detail or {}).get("open_quarantine") if before is not None else None
        found = check_quarantine(entity, int(totals["open_quarantine"]), open_before, thresholds)
        if found is not None:
            messages.append(quarantine_message(found, staging.open_quarantine(key), link))
    steps = step_uses(s for s in staging.run_stats(run_id) if s.entity == key)
    spent = check_budget(entity, steps, thresholds)
    if spent is not None:
        messages.append(budget_message(spent, link))
    return messages
