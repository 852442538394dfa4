"""A validation finding a manager can act on, in Russian and English."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem with one field of one record.

    ``code`` is stable (for filters and tests); the reasons name the value, e.g.
    ``"ИНН 7707083894: контрольная сумма не сходится"``.
    """

    field: str
    code: str
    reason_ru: str
    reason_en: str


class IssueError(ValueError):
    """A record that cannot be synced as it is; ``issue`` says why (it goes to the quarantine)."""

    def __init__(self, issue: Issue) -> None:
        self.issue = issue
        super().__init__(issue.reason_en)


class DependencyPending(IssueError):
    """The record needs another one that the same load step may still write (e.g. a branch needs its
    head): it is tried again at the end of the step, and held with ``issue`` if it still cannot go."""


def preview(value: str, limit: int = 40) -> str:
    """``value`` cut to ``limit`` characters for a message (the data itself is never cut)."""
    return value if len(value) <= limit else value[: limit - 1] + "…"
