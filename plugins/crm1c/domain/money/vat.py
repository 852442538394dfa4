"""VAT rates as data (``include/mappings/vat.yaml``, domain.md §3): the 1C enum ``СтавкиНДС``, item VAT
kinds resolved by date, and the Bitrix24 ``taxRate`` ⇄ 1C rate for a document date.

A rate that cannot be chosen raises :class:`~crm1c.domain.issues.IssueError` with a reason a manager can act
on (``"Ставка НДС 22% не действует на 15.06.2025 (НДС22 — с 01.01.2026)"``), never a guess.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from crm1c import datafile
from crm1c.domain.issues import Issue, IssueError
from crm1c.domain.money import reference
from crm1c.domain.money.numbers import ZERO, exact, plain
from crm1c.domain.money.reference import Strict, ru_date

DEFAULT_VAT_FILE = datafile.MAPPINGS_DIR / "vat.yaml"


class VatRate(Strict):
    """One value of the 1C enum ``СтавкиНДС``."""

    percent: Decimal | None = Field(ge=0, lt=100)  # None: БезНДС
    calculated: bool = False  # the ``_1xx`` forms (advances, tax agents)
    valid_from: date | None = Field(default=None, alias="from")
    valid_until: date | None = Field(default=None, alias="until")

    def in_force(self, on: date) -> bool:
        """Whether a new document dated ``on`` may carry this rate."""
        return (self.valid_from is None or self.valid_from <= on) and (
            self.valid_until is None or on <= self.valid_until
        )

    def period_text(self) -> tuple[str, str]:
        """When the rate is in force, in Russian and English."""
        start, end = self.valid_from, self.valid_until
        ru = (f"с {ru_date(start)} " if start else "") + (f"по {ru_date(end)}" if end else "")
        en = (f"from {start} " if start else "") + (f"until {end}" if end else "")
        return ru.strip() or "всегда", en.strip() or "always"


class KindPeriod(Strict):
    """An item VAT kind's 1C rate from ``valid_from`` until the next period."""

    valid_from: date = Field(alias="from")
    rate: str


@dataclass(frozen=True, slots=True)
class KindChange:
    """A row of the item's ``ИсторияВидаСтавкиНДС``: from ``period`` on, the item has ``kind``."""

    period: date
    kind: str

    @classmethod
    def from_odata(cls, row: dict[str, Any]) -> KindChange:
        """From an OData row (``{"Период": "2026-01-01T00:00:00", "ВидСтавкиНДС": "Общая"}``)."""
        return cls(datetime.fromisoformat(str(row["Период"])).date(), str(row["ВидСтавкиНДС"]))


class VatTable(Strict):
    """The validated ``vat.yaml``."""

    version: Literal[1]
    rates: dict[str, VatRate] = Field(min_length=1)
    kinds: dict[str, list[KindPeriod]] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> VatTable:
        problems = [*self._kind_problems(), *self._overlaps()]
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def _kind_problems(self) -> Iterable[str]:
        for kind, periods in self.kinds.items():
            if not periods:
                yield f"kinds.{kind}: needs at least one period"
            for i, period in enumerate(periods):
                if period.rate not in self.rates:
                    yield f"kinds.{kind}.{i}.rate: unknown rate '{period.rate}' (not under rates)"
                if i and period.valid_from <= periods[i - 1].valid_from:
                    yield f"kinds.{kind}.{i}.from: dates must increase ({period.valid_from})"

    def _overlaps(self) -> Iterable[str]:
        chosen = [(n, r) for n, r in self.rates.items() if not r.calculated]
        for i, (name, rate) in enumerate(chosen):
            for other_name, other in chosen[i + 1 :]:
                if rate.percent == other.percent and _periods_meet(rate, other):
                    yield f"rates.{other_name}: in force together with {name} at the same percent"

    def percent(self, rate: str) -> Decimal:
        """The arithmetic percent of a 1C rate (``НДС22_122`` → 22, ``БезНДС`` → 0)."""
        return self._rate(rate).percent or ZERO

    def crm_tax_rate(self, rate: str) -> Decimal | None:
        """Bitrix24 ``taxRate`` for a 1C rate: the percent, ``None`` for ``БезНДС``."""
        return self._rate(rate).percent

    def rate_for_crm(self, tax_rate: object, on: date) -> str:
        """The 1C rate for a Bitrix24 ``taxRate`` (number, numeric string or ``None``) on ``on``."""
        percent = None if tax_rate is None or tax_rate == "" else _percent(tax_rate)
        same = [(n, r) for n, r in self.rates.items() if not r.calculated and r.percent == percent]
        for name, rate in same:
            if rate.in_force(on):
                return name
        shown = "без НДС" if percent is None else f"{plain(percent)}%"
        shown_en = "no VAT" if percent is None else f"{plain(percent)}%"
        if not same:
            raise _error(
                "vat_rate_unknown",
                f"Ставки НДС {shown} нет в справочнике ставок 1С (vat.yaml)",
                f"VAT rate {shown_en} is not a 1C rate (vat.yaml)",
            )
        ru = "; ".join(f"{n} — {r.period_text()[0]}" for n, r in same)
        en = "; ".join(f"{n}: {r.period_text()[1]}" for n, r in same)
        raise _error(
            "vat_rate_not_in_force",
            f"Ставка НДС {shown} не действует на {ru_date(on)} ({ru})",
            f"VAT rate {shown_en} is not in force on {on} ({en})",
        )

    def rate_for_kind(self, kind: str, on: date) -> str:
        """The 1C rate of an item VAT kind (``Общая``, ``Пониженная``…) on ``on``."""
        periods = self.kinds.get(kind)
        if periods is None:
            raise _error(
                "vat_kind_unknown",
                f"Вид ставки НДС «{kind}» не задан в vat.yaml (kinds)",
                f"VAT kind '{kind}' is not configured in vat.yaml (kinds)",
            )
        in_force = [p for p in periods if p.valid_from <= on]
        if not in_force:
            raise _error(
                "vat_kind_not_in_force",
                f"Вид ставки НДС «{kind}» задан только с {ru_date(periods[0].valid_from)}, "
                f"документ от {ru_date(on)}",
                f"VAT kind '{kind}' starts on {periods[0].valid_from}, the document is of {on}",
            )
        return in_force[-1].rate

    def rate_for_item(self, kind: str, history: Iterable[KindChange], on: date) -> str:
        """The 1C rate of an item on ``on``: its kind from ``ИсторияВидаСтавкиНДС`` (the last change on or
        before ``on``), else its ``ВидСтавкиНДС``, turned into a rate for that date."""
        return self.rate_for_kind(kind_on(kind, history, on), on)

    def period_of(self, on: date) -> date:
        """The start of the VAT regime in force on ``on`` (the latest date in the file on or before it): when
        it changes, item rates may have changed (e.g. ``Общая`` on 2026-01-01)."""
        starts = [p.valid_from for periods in self.kinds.values() for p in periods]
        starts += [d for r in self.rates.values() for d in (r.valid_from, _day_after(r.valid_until)) if d]
        return max((d for d in starts if d <= on), default=date.min)

    def _rate(self, rate: str) -> VatRate:
        try:
            return self.rates[rate]
        except KeyError:
            raise _error(
                "vat_rate_unknown",
                f"Ставки НДС «{rate}» нет в vat.yaml",
                f"VAT rate '{rate}' is not in vat.yaml",
            ) from None


def kind_on(kind: str, history: Iterable[KindChange], on: date) -> str:
    """The item's VAT kind in force on ``on``: the last history change on or before it, else ``kind``."""
    past = [change for change in history if change.period <= on]
    chosen = max(past, key=lambda change: change.period).kind if past else kind
    if not chosen:
        raise _error(
            "vat_kind_missing",
            f"У номенклатуры не задан вид ставки НДС на {ru_date(on)}",
            f"The item has no VAT kind on {on}",
        )
    return chosen


def load_vat_table(path: str | Path = DEFAULT_VAT_FILE) -> VatTable:
    """Read and validate ``vat.yaml`` (call it at task start, not at DAG parse time)."""
    return reference.load(path, VatTable)


def _day_after(day: date | None) -> date | None:
    return day + timedelta(days=1) if day else None


def _periods_meet(a: VatRate, b: VatRate) -> bool:
    start = max(a.valid_from or date.min, b.valid_from or date.min)
    end = min(a.valid_until or date.max, b.valid_until or date.max)
    return start <= end


def _percent(value: object) -> Decimal:
    try:
        return exact(value)
    except ValueError:
        raise _error(
            "vat_rate_not_number", f"Ставка НДС {value!r} — не число", f"VAT rate {value!r} is not a number"
        ) from None


def _error(code: str, ru: str, en: str) -> IssueError:
    return IssueError(Issue("vat_rate", code, ru, en))
