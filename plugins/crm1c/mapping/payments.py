"""``include/mappings/payments.yaml``, validated: the names of the four deal user fields payments fill."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from crm1c import datafile

DEFAULT_PAYMENTS_MAPPING = datafile.MAPPINGS_DIR / "payments.yaml"
#: A deal user field name as Bitrix24 accepts it (protocols C.9a): the prefix, A–Z 0–9 _, ≤ 50 characters.
UF_NAME = r"^UF_CRM_[A-Z0-9_]+$"


class PaymentsMappingError(datafile.DataFileError):
    """A payments mapping that cannot be used; ``problems`` lists ``"<key path>: <what>"`` lines."""


class PaymentFields(BaseModel):
    """The deal user field of each synced value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    document: str = Field(default="UF_CRM_1C_DOCUMENT", pattern=UF_NAME, max_length=50)
    pay_status: str = Field(default="UF_CRM_1C_PAY_STATUS", pattern=UF_NAME, max_length=50)
    paid_sum: str = Field(default="UF_CRM_1C_PAID_SUM", pattern=UF_NAME, max_length=50)
    paid_date: str = Field(default="UF_CRM_1C_PAID_DATE", pattern=UF_NAME, max_length=50)

    @model_validator(mode="after")
    def _distinct(self) -> PaymentFields:
        names = [self.document, self.pay_status, self.paid_sum, self.paid_date]
        if len(set(names)) != len(names):
            raise ValueError("two values share one user field")
        return self

    def by_value(self) -> dict[str, str]:
        """Canonical field → user field name."""
        return {
            "document": self.document,
            "pay_status": self.pay_status,
            "paid_sum": self.paid_sum,
            "paid_date": self.paid_date,
        }


class PaymentsMapping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    fields: PaymentFields = Field(default_factory=PaymentFields)


def load_payments_mapping(path: str | Path = DEFAULT_PAYMENTS_MAPPING) -> PaymentsMapping:
    """Read and validate the payments mapping (at task start, not at DAG parse time)."""
    return datafile.load(path, PaymentsMapping, PaymentsMappingError)


def parse_payments_mapping(text: str, source: str = "<text>") -> PaymentsMapping:
    return datafile.parse(text, PaymentsMapping, source, PaymentsMappingError)
