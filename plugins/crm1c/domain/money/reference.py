"""Shared pieces of the money reference files (``include/mappings/{vat,currencies,units}.yaml``)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict

from crm1c import datafile

Table = TypeVar("Table", bound=BaseModel)


class ReferenceDataError(datafile.DataFileError):
    """A reference file that cannot be used; the message has one ``<file>: <key>: <problem>`` line each."""


class Strict(BaseModel):
    """Unknown keys are errors; loaded data is read-only."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def ru_date(day: date) -> str:
    """``15.06.2025``: dates in Russian reasons."""
    return day.strftime("%d.%m.%Y")


def load(path: str | Path, model: type[Table]) -> Table:
    """Read and validate a reference file (call it at task start, not at DAG parse time)."""
    return datafile.load(path, model, ReferenceDataError)


def parse(text: str, model: type[Table], source: str = "<text>") -> Table:
    """Validate reference YAML given as text; ``source`` names it in error messages."""
    return datafile.parse(text, model, source, ReferenceDataError)
