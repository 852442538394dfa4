"""What a reconciliation finds: the records behind a difference, each check's result, the whole report."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

System = Literal["crm", "onec"]
#: ``drift``: more drift differences than tolerated; ``clean`` otherwise (tolerated ones are still listed).
Status = Literal["clean", "drift"]


@dataclass(frozen=True)
class RecordRef:
    """One record of one system as the report shows it; ``links`` are ``(label, url)`` into that system;
    ``what`` names the kind of record before its id (default: a CRM company, a 1C Ref_Key)."""

    system: System
    id: str
    name: str | None
    inn: str | None = None
    kpp: str | None = None
    links: tuple[tuple[str, str], ...] = ()
    what: str | None = None


@dataclass(frozen=True)
class Difference:
    """One thing the systems disagree on. ``field`` is set for a value that differs; the values are what
    each side holds and what staging last agreed (``agreed``); ``note`` says what was found, in words."""

    kind: str
    crm: RecordRef | None
    onec: RecordRef | None
    field: str | None = None
    crm_value: str | None = None
    onec_value: str | None = None
    agreed: str | None = None
    note: str = ""


@dataclass(frozen=True)
class Total:
    """A line of a check's totals: what is counted (an int) or summed (rubles as text, ``"1234.50"``) on
    each side (None: not counted there)."""

    key: str
    label: str
    crm: int | str | None = None
    staging: int | str | None = None
    onec: int | str | None = None


@dataclass
class CheckResult:
    """What one check found; which kinds are drift and how many are tolerated come from the config."""

    name: str
    title: tuple[str, str]
    totals: list[Total]
    differences: list[Difference]
    drift_kinds: frozenset[str]
    max_differences: int
    #: ``kind → (ru, en)`` titles for the report; ``headline``: the totals in a few words (Slack).
    kind_titles: dict[str, tuple[str, str]] = field(default_factory=dict)
    headline: str = ""
    #: why the check did not compare (e.g. the entity it checks is not synced yet); None: it did
    skipped: str | None = None

    @classmethod
    def not_checked(cls, name: str, title: tuple[str, str], reason: str) -> CheckResult:
        """A check that did not run: no totals, no differences, clean; ``reason`` says why."""
        return cls(name, title, [], [], frozenset(), 0, headline=f"not checked ({reason})", skipped=reason)

    @property
    def drift_differences(self) -> list[Difference]:
        return [d for d in self.differences if d.kind in self.drift_kinds]

    @property
    def status(self) -> Status:
        return "drift" if len(self.drift_differences) > self.max_differences else "clean"

    def by_kind(self) -> dict[str, int]:
        return dict(Counter(d.kind for d in self.differences))

    def kind_title(self, kind: str) -> tuple[str, str]:
        return self.kind_titles.get(kind, (kind, kind))


@dataclass(frozen=True)
class Period:
    """The period money checks look at (either end open); counterparties are compared as they are now.

    The DAG's default (both params empty) is :meth:`default`: the previous calendar month and the current
    one, so a document dated late last month and edited this month is still looked at."""

    start: date | None = None
    end: date | None = None

    @classmethod
    def default(cls, today: date) -> Period:
        """From the first day of the month before ``today``'s to the last day of ``today``'s month."""
        first = today.replace(day=1)
        previous = (first - timedelta(days=1)).replace(day=1)
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        return cls(previous, last)

    def holds(self, day: date | None) -> bool:
        """Whether ``day`` is in the period (an unknown day is in an open-ended one only)."""
        if day is None:
            return self.start is None and self.end is None
        return (self.start is None or day >= self.start) and (self.end is None or day <= self.end)

    @classmethod
    def parse(cls, start: Any, end: Any) -> Period:
        """From rendered task params: ISO dates (``2026-01-31``), or empty / ``None`` for an open end.
        Raises :class:`ValueError` naming the bad one."""
        period = cls(_date(start, "period_from"), _date(end, "period_to"))
        if period.start and period.end and period.start > period.end:
            raise ValueError(f"period_from {period.start} is after period_to {period.end}")
        return period

    def __str__(self) -> str:
        if self.start is None and self.end is None:
            return "—"
        return f"{self.start or '…'} – {self.end or '…'}"


@dataclass
class Report:
    run_id: str
    started_at: datetime
    finished_at: datetime
    period: Period
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def status(self) -> Status:
        return "drift" if any(c.status == "drift" for c in self.checks) else "clean"

    @property
    def differences(self) -> int:
        return sum(len(c.differences) for c in self.checks)

    def totals(self) -> dict[str, Any]:
        """The small summary: run, status, counts per check and kind (the operator's XCom)."""
        return {
            "run_id": self.run_id,
            "status": self.status,
            "differences": self.differences,
            "checks": {
                c.name: {
                    "status": c.status,
                    "differences": len(c.differences),
                    "drift": len(c.drift_differences),
                    "max_differences": c.max_differences,
                    "by_kind": c.by_kind(),
                    "totals": {t.key: _sides(t) for t in c.totals},
                }
                | ({"skipped": c.skipped} if c.skipped else {})
                for c in self.checks
            },
        }

    def found(self) -> list[dict[str, Any]]:
        """Every difference with the records behind it, JSON-ready (the history kept in staging)."""
        return [{"check": c.name, **asdict(d)} for c in self.checks for d in c.differences]


def _sides(total: Total) -> dict[str, int | str]:
    sides = {"crm": total.crm, "staging": total.staging, "onec": total.onec}
    return {k: v for k, v in sides.items() if v is not None}


def _date(value: Any, name: str) -> date | None:
    if value is None or (isinstance(value, str) and value.strip() in ("", "None")):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"{name} must be a date (YYYY-MM-DD) or empty, got {value!r}") from None
