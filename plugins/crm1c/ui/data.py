"""What the crm1c page shows, gathered from staging (plain Python, no Airflow import).

Every figure comes from the staging repository and :mod:`crm1c.rollout` (the effective mode); the story of
one record from :mod:`crm1c.audit`. Texts are returned as stored: :mod:`crm1c.ui.pages` escapes and scrubs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from crm1c.audit.chain import check_chain
from crm1c.audit.query import QueryError, parse_query
from crm1c.audit.render import as_text, document
from crm1c.audit.story import find_stories
from crm1c.rollout import RolloutConfigError, active_profile, effective_policy, load_rollout_defaults
from crm1c.staging.models import AuditEntry, Conflict, QuarantineItem, ReconciliationReport, RunStats
from crm1c.sync.entities import ENTITY_NAMES, entity
from crm1c.ui.queries import last_published_run, last_task_stats

LIMIT = 500  # rows of quarantine and of conflicts shown
HISTORY = 20  # reconciliation reports listed
SORTS = ("oldest", "newest")


@dataclass(frozen=True)
class EntityRow:
    """One entity (named as in DAG ids): its effective mode, where it comes from, its last run."""

    name: str
    mode: str
    source: str
    meaning: tuple[str, str] = ("", "")  # English, Russian
    last_run: AuditEntry | None = None
    last_task: RunStats | None = None


@dataclass(frozen=True)
class Held:
    """An open quarantine row and how long it has waited (now − first seen)."""

    item: QuarantineItem
    waited: timedelta


@dataclass
class Overview:
    now: datetime
    entities: list[EntityRow] = field(default_factory=list)
    held: list[Held] = field(default_factory=list)
    held_total: int = 0
    sort: str = "oldest"
    conflicts: list[Conflict] = field(default_factory=list)
    conflicts_total: int = 0
    reports: list[ReconciliationReport] = field(default_factory=list)
    report: ReconciliationReport | None = None  # the one shown (the latest unless another was asked for)
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StoryResult:
    """The story of what was searched: the CLI's text, or why there is none."""

    asked: str
    text: str | None = None
    error: str | None = None
    found: bool = False
    chain_ok: bool = True


def overview(staging: Any, now: datetime, sort: str = "oldest", report_id: int | None = None) -> Overview:
    """Everything but the story: modes and last runs, open quarantine and conflicts, reconciliation."""
    page = Overview(now=now, sort=sort if sort in SORTS else "oldest")
    page.entities = entity_rows(staging, page.problems)
    held = staging.open_quarantine()
    page.held_total = len(held)
    held.sort(key=lambda q: (q.first_seen, q.id), reverse=page.sort == "newest")
    page.held = [Held(q, now - q.first_seen) for q in held[:LIMIT]]
    conflicts = staging.open_conflicts()
    page.conflicts_total, page.conflicts = len(conflicts), conflicts[:LIMIT]
    page.reports = staging.reports(limit=HISTORY)
    page.report = _chosen(page.reports, report_id, page.problems)
    return page


def entity_rows(staging: Any, problems: list[str]) -> list[EntityRow]:
    """Every entity crm1c syncs (and any other with a mode set), in DAG order."""
    try:
        defaults: Any = load_rollout_defaults()
        profile = active_profile()
    except RolloutConfigError as exc:
        defaults, profile = None, None
        problems.append(str(exc))
    names = list(ENTITY_NAMES) + sorted(set(staging.modes()) - set(ENTITY_NAMES))
    return [_entity_row(staging, name, defaults, profile) for name in names]


def _entity_row(staging: Any, name: str, defaults: Any, profile: str | None) -> EntityRow:
    key = entity(name).key if name in ENTITY_NAMES else None
    runs: dict[str, Any] = {}
    if key is not None:
        runs = {"last_run": last_published_run(staging, key), "last_task": last_task_stats(staging, key)}
    if defaults is None and staging.get_mode(name) is None:
        return EntityRow(name, "?", "the rollout defaults cannot be read", **runs)
    try:
        policy = effective_policy(staging, name, defaults, profile=profile)
    except (ValueError, RolloutConfigError) as exc:
        return EntityRow(name, "?", str(exc), **runs)
    return EntityRow(name, policy.mode.value, policy.source, policy.explain(), **runs)


def _chosen(
    reports: list[ReconciliationReport], report_id: int | None, problems: list[str]
) -> ReconciliationReport | None:
    if report_id is None:
        return reports[0] if reports else None
    found = next((r for r in reports if r.id == report_id), None)
    if found is None:
        problems.append(f"reconciliation report #{report_id} is not among the last {HISTORY}")
    return found


def story(staging: Any, text: str) -> StoryResult:
    """The story of a CRM id, 1C Ref_Key or ИНН, exactly as ``crm1c-audit story`` tells it."""
    try:
        query = parse_query(text)
    except QueryError as exc:
        return StoryResult(text, error=str(exc))
    stories = find_stories(staging, query)
    chain = check_chain(staging)
    body = as_text(document(query, stories, chain))
    return StoryResult(str(query), text=body, found=bool(stories), chain_ok=chain.ok)
