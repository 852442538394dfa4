"""``include/mappings/invoices.yaml``, validated: which deal stage makes which 1C document."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from crm1c import datafile

DEFAULT_INVOICE_MAPPING = datafile.MAPPINGS_DIR / "invoices.yaml"
DocumentKind = Literal["invoice", "sale"]


class InvoiceMappingError(datafile.DataFileError):
    """An invoice mapping that cannot be used; ``problems`` lists ``"<key path>: <what>"`` lines."""


class DealStages(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    categories: dict[int, dict[str, tuple[DocumentKind, ...]]] = Field(min_length=1)


class InvoiceMapping(BaseModel):
    """``deals.categories``: funnel → stage → the documents a deal there has; ``smart_invoices``: each smart
    invoice not at a failed stage has a 1C payment invoice; ``contracts``: ИНН → the buyer contract (by name)
    documents of that counterparty use (others: their buyer contract, created as ``contract_name``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    deals: DealStages
    smart_invoices: bool = True
    contract_name: str = Field(default="Основной договор", min_length=1)
    contracts: dict[str, str] = {}
    organization: str | None = None

    def documents_for(self, category: object, stage: str) -> tuple[DocumentKind, ...]:
        """The documents a deal of funnel ``category`` (as Bitrix24 gives it: ``"0"``, 0 or empty) has at
        ``stage`` (none: not yet, not mapped, or not a funnel number)."""
        try:
            funnel = int(str(category or 0))
        except ValueError:
            return ()
        return self.deals.categories.get(funnel, {}).get(stage, ())


def load_invoice_mapping(path: str | Path = DEFAULT_INVOICE_MAPPING) -> InvoiceMapping:
    """Read and validate the invoice mapping (at task start, not at DAG parse time)."""
    return datafile.load(path, InvoiceMapping, InvoiceMappingError)
