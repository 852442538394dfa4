"""``include/mappings/nomenclature.yaml``, validated: which 1C price type reaches which CRM price type."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from crm1c import datafile

DEFAULT_NOMENCLATURE_MAPPING = datafile.MAPPINGS_DIR / "nomenclature.yaml"


class NomenclatureMappingError(datafile.DataFileError):
    """A nomenclature mapping that cannot be used; ``problems`` lists ``"<key path>: <what>"`` lines."""


class NomenclatureMapping(BaseModel):
    """``price_type``: the 1C price type by its Description; ``crm_price_type``: ``"base"`` or an id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    price_type: str = Field(min_length=1)
    crm_price_type: Literal["base"] | int = "base"


def load_nomenclature_mapping(path: str | Path = DEFAULT_NOMENCLATURE_MAPPING) -> NomenclatureMapping:
    """Read and validate the nomenclature mapping (at task start, not at DAG parse time)."""
    return datafile.load(path, NomenclatureMapping, NomenclatureMappingError)
