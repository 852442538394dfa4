"""Currencies as data (``include/mappings/currencies.yaml``) and the exchange rate of a date (domain.md §6).

Bitrix24 uses letter codes (``RUB``); 1C's ``Catalog_Валюты.Code`` is the numeric ISO code as a 3-character
string (``"643"``). The rate for a document is the last one on or before its date, ``Курс / Кратность`` as
1C's ``ПолучитьКурсВалюты`` gives it; a missing rate holds the document with a reason, never 1.0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, model_validator

from crm1c import datafile
from crm1c.domain.issues import Issue, IssueError
from crm1c.domain.money import reference
from crm1c.domain.money.numbers import exact
from crm1c.domain.money.reference import Strict, ru_date

DEFAULT_CURRENCIES_FILE = datafile.MAPPINGS_DIR / "currencies.yaml"
LetterCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


class Currency(Strict):
    code: str = Field(pattern=r"^[0-9]{3}$")  # Catalog_Валюты.Code
    name: str = Field(min_length=1, max_length=10)  # Description («руб.»)
    full_name: str = Field(min_length=1)


class CurrencyTable(Strict):
    """The validated ``currencies.yaml``: Bitrix24 letter code → 1C currency."""

    version: Literal[1]
    base: LetterCode = "RUB"  # the accounting currency (rate 1, no rate lookup)
    currencies: dict[LetterCode, Currency] = Field(min_length=1)

    @model_validator(mode="after")
    def _codes_unique(self) -> CurrencyTable:
        seen: dict[str, str] = {}
        for letters, currency in self.currencies.items():
            if currency.code in seen:
                raise ValueError(
                    f"currencies.{letters}.code: {currency.code} is already {seen[currency.code]}"
                )
            seen[currency.code] = letters
        if self.base not in self.currencies:
            raise ValueError(f"base: {self.base} is not one of the currencies")
        return self

    @property
    def base_code(self) -> str:
        """The 1C code of the accounting currency (``"643"``)."""
        return self.currencies[self.base].code

    def onec_code(self, letters: str) -> str:
        """``RUB`` → ``"643"``; an unknown code raises ``IssueError``."""
        if letters not in self.currencies:
            raise _error(
                "currency_unknown",
                f"Валюта {letters} не задана в currencies.yaml",
                f"Currency {letters} is not in currencies.yaml",
            )
        return self.currencies[letters].code

    def crm_code(self, onec_code: str) -> str:
        """``"643"`` → ``RUB``; an unknown code raises ``IssueError``."""
        for letters, currency in self.currencies.items():
            if currency.code == onec_code:
                return letters
        raise _error(
            "currency_unknown",
            f"Валюта с кодом {onec_code} не задана в currencies.yaml",
            f"Currency with code {onec_code} is not in currencies.yaml",
        )


@dataclass(frozen=True, slots=True)
class ExchangeRate:
    """A row of ``InformationRegister_КурсыВалют``: ``multiplicity`` units cost ``rate`` rubles."""

    period: date  # Период
    rate: Decimal  # Курс
    multiplicity: int = 1  # Кратность

    @classmethod
    def from_odata(cls, row: Mapping[str, Any]) -> ExchangeRate:
        """From an ``InformationRegister_КурсыВалют`` row (``Period``, ``Курс``, ``Кратность``)."""
        return cls(
            datetime.fromisoformat(str(row["Period"])).date(),
            exact(row["Курс"]),
            int(exact(row.get("Кратность") or 1)),
        )

    def to_base(self, amount: Decimal) -> Decimal:
        """``amount`` in the base currency (unrounded): amount × Курс / Кратность."""
        return amount * self.rate / self.multiplicity


def rate_on(rates: Iterable[ExchangeRate], on: date, currency: str = "") -> ExchangeRate:
    """The last rate on or before ``on``; none (or a non-positive one) raises ``IssueError``."""
    past = [r for r in rates if r.period <= on]
    named = f" {currency}" if currency else ""
    if not past:
        raise _error(
            "currency_rate_missing",
            f"Нет курса валюты{named} на {ru_date(on)} или раньше",
            f"No{named} exchange rate on or before {on}",
        )
    last = max(past, key=lambda r: r.period)
    if last.rate <= 0 or last.multiplicity <= 0:
        raise _error(
            "currency_rate_invalid",
            f"Курс валюты{named} на {ru_date(last.period)}: {last.rate} за {last.multiplicity}",
            f"The{named} exchange rate of {last.period} is {last.rate} per {last.multiplicity}",
        )
    return last


def load_currency_table(path: str | Path = DEFAULT_CURRENCIES_FILE) -> CurrencyTable:
    """Read and validate ``currencies.yaml`` (call it at task start, not at DAG parse time)."""
    return reference.load(path, CurrencyTable)


def _error(code: str, ru: str, en: str) -> IssueError:
    return IssueError(Issue("currency", code, ru, en))
