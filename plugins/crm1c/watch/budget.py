"""The Bitrix24 rate budget: did the portal refuse us, or did the rate limiter hold a step back too long?

The Bitrix24 steps (extract_crm, load_crm) keep their client's request stats in the run's counters
(:func:`rate_counters`); publish reads them back per step from the run stats (:func:`step_uses`).
A ``503`` is Bitrix24's QUERY_LIMIT_EXCEEDED (its leaky bucket is full), a ``429`` its
OPERATION_TIME_LIMIT (a method used up its operating time): either means people working in the CRM are
being refused too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING

from crm1c.watch.message import Message, heading, percent, slack_line, table

if TYPE_CHECKING:
    from crm1c.notify.config import Thresholds
    from crm1c.staging.models import RunStats

#: Run counters of a Bitrix24 step ← its client's stats (:class:`crm1c.clients.stats.ClientStats`).
REQUESTS, REFUSED_503, REFUSED_429 = "crm_requests", "crm_http_503", "crm_http_429"
WAITED_MS = "crm_limiter_wait_ms"
_FROM_STATS = {REQUESTS: "requests", REFUSED_503: "http_503", REFUSED_429: "http_429"}


def rate_counters(stats: Mapping[str, float]) -> dict[str, int]:
    """The counters a step adds from its Bitrix24 client's ``stats.snapshot()``."""
    counters = {name: int(stats.get(stat, 0)) for name, stat in _FROM_STATS.items()}
    counters[WAITED_MS] = round(1000 * stats.get("limiter_wait_seconds", 0))
    return counters


@dataclass(frozen=True)
class StepUse:
    """One Bitrix24 step of a run: how long it took, what it sent, what was refused, how long it waited."""

    task: str
    seconds: float
    requests: int
    refused_503: int
    refused_429: int
    waited: float

    @property
    def refused(self) -> int:
        return self.refused_503 + self.refused_429

    @property
    def wait_share(self) -> float:
        """Seconds in the limiter per second of the step (above 1 with parallel requests)."""
        return self.waited / self.seconds if self.seconds > 0 else 0.0


def step_uses(stats: Iterable[RunStats]) -> list[StepUse]:
    """The steps of a run's stats that talked to Bitrix24, by task."""
    return sorted((_use(row) for row in stats if REQUESTS in (row.counters or {})), key=lambda u: u.task)


def _use(row: RunStats) -> StepUse:
    counters = row.counters
    seconds = (row.finished_at - row.started_at).total_seconds() if row.finished_at else 0.0
    refused = int(counters.get(REFUSED_503, 0)), int(counters.get(REFUSED_429, 0))
    return StepUse(row.task, seconds, int(counters[REQUESTS]), *refused, counters.get(WAITED_MS, 0) / 1000)


@dataclass(frozen=True)
class BudgetFinding:
    entity: str
    steps: tuple[StepUse, ...]
    reasons: tuple[str, ...]


def check_budget(entity: str, steps: Sequence[StepUse], thresholds: Thresholds) -> BudgetFinding | None:
    """A finding when Bitrix24 refused more than ``rate_refusals_max`` requests in the run, or a step
    waited in the limiter for more than ``rate_wait_share`` of its time; else None."""
    reasons = []
    refused, most = sum(s.refused for s in steps), thresholds.rate_refusals_max
    if most is not None and refused > most:
        kinds = f"{sum(s.refused_503 for s in steps)}× 503, {sum(s.refused_429 for s in steps)}× 429"
        reasons.append(f"Bitrix24 refused {refused} request(s) ({kinds}; alert above {most})")
    share = thresholds.rate_wait_share
    for step in steps:
        if share is not None and step.wait_share > share:
            reasons.append(
                f"{step.task} waited for the rate limit {percent(step.wait_share)} of its time "
                f"(alert above {percent(share)})"
            )
    return BudgetFinding(entity, tuple(steps), tuple(reasons)) if reasons else None


def budget_message(finding: BudgetFinding, link: str) -> Message:
    subject = f"[crm1c] Bitrix24 rate budget running out ({finding.entity})"
    rows = [
        (s.task, f"{s.seconds:.1f}", s.requests, s.refused_503, s.refused_429, f"{s.waited:.1f}",
         percent(s.wait_share))
        for s in finding.steps
    ]  # fmt: skip
    html = (
        heading(subject, link)
        + "".join(f"<p>{escape(reason)}</p>" for reason in finding.reasons)
        + table(("Step", "Seconds", "Requests", "503", "429", "Waited, s", "Waited, share"), rows)
        + "<p>The portal's budget is shared with everyone working in the CRM: check other integrations "
        "on the same webhook, the connection's plan (standard / enterprise) and the run's schedule.</p>"
    )
    text = f"crm1c: Bitrix24 rate budget running out ({finding.entity}): {'; '.join(finding.reasons)}"
    return Message(subject, html, slack_line("hourglass", text, link))
