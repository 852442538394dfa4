"""Tolerances of the reconciliation: ``include/mappings/reconciliation.yaml``, validated.

A problem raises :class:`ReconciliationConfigError` naming the file and the key, e.g.
``include/mappings/reconciliation.yaml: counterparties.drift_kinds.0: Input should be 'missing_in_onec', …``.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

PROJECT_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_FILE = PROJECT_ROOT / "include" / "mappings" / "reconciliation.yaml"

CounterpartyKind = Literal[
    "missing_in_onec", "missing_in_crm", "deleted_in_onec", "requisite_differs", "unmatched_twin"
]
COUNTERPARTY_KINDS: tuple[CounterpartyKind, ...] = get_args(CounterpartyKind)
MoneyKind = Literal[
    "missing_in_onec", "amount_differs", "not_expected_in_onec", "hand_made_in_onec",
    "revenue_differs", "sale_unposted", "paid_differs", "receivables_differ",
]  # fmt: skip
MONEY_KINDS: tuple[MoneyKind, ...] = get_args(MoneyKind)
#: Canonical counterparty fields both systems hold (phone and e-mail live only in the CRM).
ComparedField = Literal["kind", "name", "full_name", "inn", "kpp", "okpo", "comment"]
Rubles = Annotated[Decimal, Field(ge=0, decimal_places=2)]


class ReconciliationConfigError(ValueError):
    """A reconciliation file that cannot be used; one ``<file>: <key>: <problem>`` line per problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CounterpartyTolerances(_Strict):
    """What the counterparty check compares and which of its differences are drift."""

    compare: tuple[ComparedField, ...] = ("inn", "kpp", "name", "full_name")
    drift_kinds: frozenset[CounterpartyKind] = frozenset(COUNTERPARTY_KINDS)
    max_differences: int = Field(default=0, ge=0)
    include_quarantined: bool = False


class ReportSettings(_Strict):
    max_rows_per_kind: int = Field(default=200, ge=1)
    slack_top: int = Field(default=3, ge=0)


class MoneyTolerances(_Strict):
    """The money checks (:mod:`crm1c.reconcile.money`): amounts in rubles to the kopeck (0.00: exact).

    ``revenue`` per counterparty, ``invoice_sum`` per invoice, ``payments`` per deal, ``receivables`` per
    counterparty: a difference larger than that is one. ``invoice_count``: how many invoice differences
    (missing in 1C, not expected there, amount) are tolerated before the invoice check is drift.
    ``report_only``: kinds listed in the report but never drift (by default a document made by hand in 1C
    and a sale 1C has not posted yet). ``include_quarantined``: compare records held in quarantine too.
    """

    revenue: Rubles = Decimal("0.00")
    invoice_count: int = Field(default=0, ge=0)
    invoice_sum: Rubles = Decimal("0.00")
    payments: Rubles = Decimal("0.00")
    receivables: Rubles = Decimal("0.00")
    report_only: frozenset[MoneyKind] = frozenset({"hand_made_in_onec", "sale_unposted"})
    include_quarantined: bool = False


class ReconciliationConfig(_Strict):
    version: Literal[1] = 1
    counterparties: CounterpartyTolerances = CounterpartyTolerances()
    report: ReportSettings = ReportSettings()
    money: MoneyTolerances = MoneyTolerances()


def load_reconciliation_config(path: str | Path = DEFAULT_FILE) -> ReconciliationConfig:
    """Read and validate the reconciliation file (at task start)."""
    path = Path(path)
    source = _display(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReconciliationConfigError(f"{source}: cannot read the file: {exc}") from exc
    return parse_reconciliation_config(text, source)


def parse_reconciliation_config(text: str, source: str = "<text>") -> ReconciliationConfig:
    """Validate reconciliation YAML given as text; ``source`` names it in error messages."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ReconciliationConfigError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ReconciliationConfigError(f"{source}: the top level must be a mapping (counterparties:, …)")
    try:
        return ReconciliationConfig.model_validate(data)
    except ValidationError as exc:
        lines = [f"{source}: {_key(e['loc'])}: {_problem(e['type'], e['msg'])}" for e in exc.errors()]
        raise ReconciliationConfigError("\n".join(lines)) from exc


def _key(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def _problem(kind: str, message: str) -> str:
    return {"extra_forbidden": "unknown key", "missing": "required key is missing"}.get(kind, message)


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)
