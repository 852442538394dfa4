"""Units of measure (ОКЕИ) as data (``include/mappings/units.yaml``, domain.md §8).

Bitrix24 ``MEASURE_CODE`` is an integer (6, 55, 796); 1C's ``Catalog_КлассификаторЕдиницИзмерения.Code``
is the same code as a 3-character string with leading zeros (``"006"``, ``"055"``, ``"796"``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from crm1c import datafile
from crm1c.domain.issues import Issue, IssueError
from crm1c.domain.money import reference
from crm1c.domain.money.reference import Strict

DEFAULT_UNITS_FILE = datafile.MAPPINGS_DIR / "units.yaml"
OkeiCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{3}$")]


class Unit(Strict):
    name: str = Field(min_length=1, max_length=25)  # Description
    full_name: str = Field(min_length=1)  # НаименованиеПолное


class UnitTable(Strict):
    """The validated ``units.yaml``: 1C code → names."""

    version: Literal[1]
    units: dict[OkeiCode, Unit] = Field(min_length=1)

    def unit(self, code: str) -> Unit:
        """The unit with this 1C code; an unknown one raises ``IssueError``."""
        try:
            return self.units[code]
        except KeyError:
            raise IssueError(
                Issue(
                    "unit",
                    "unit_unknown",
                    f"Единица измерения с кодом ОКЕИ {code} не задана в units.yaml",
                    f"Unit of measure with ОКЕИ code {code} is not in units.yaml",
                )
            ) from None


def onec_unit_code(measure_code: object) -> str:
    """The 1C code of a Bitrix24 ``MEASURE_CODE`` (``6`` or ``"6"`` → ``"006"``)."""
    text = str(measure_code).strip() if isinstance(measure_code, int | str) else ""
    if (
        isinstance(measure_code, bool)
        or not text.isascii()
        or not text.isdigit()
        or len(text.lstrip("0")) > 3
    ):
        raise IssueError(
            Issue(
                "unit",
                "unit_code_invalid",
                f"Код единицы измерения {measure_code!r} — не код ОКЕИ (1–3 цифры)",
                f"Unit code {measure_code!r} is not an ОКЕИ code (1 to 3 digits)",
            )
        )
    return f"{int(text):03d}"


def crm_measure_code(onec_code: str) -> int:
    """Bitrix24 ``MEASURE_CODE`` of a 1C unit code (``"006"`` → ``6``)."""
    return int(onec_unit_code(onec_code))


def load_unit_table(path: str | Path = DEFAULT_UNITS_FILE) -> UnitTable:
    """Read and validate ``units.yaml`` (call it at task start, not at DAG parse time)."""
    return reference.load(path, UnitTable)
