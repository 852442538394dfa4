"""Deterministic seed data for the contour, shared by the 1C and Bitrix24 seeders.

The types below are the contract between ``build()`` and the two seeders; the profiles fill them.
All money is Decimal; dates are ``datetime.date``; keys are stable strings used to derive ids.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

Kind = Literal["legal", "ip", "person", "branch"]
VatKind = Literal["Общая", "Пониженная", "Нулевая", "БезНДС"]
DocumentKind = Literal["invoice", "sale"]


@dataclass(frozen=True)
class Organisation:
    """Our own company in 1C (Catalog_Организации) and its bank account (Catalog_БанковскиеСчета)."""

    name: str
    full_name: str
    inn: str
    kpp: str
    ogrn: str
    bank_account: str
    bank_bik: str
    prefix: str = "00"


@dataclass(frozen=True)
class Company:
    """A counterparty. ``in_crm``/``in_onec`` say where it exists; ``crm_name`` differs from ``name`` when
    the CRM spells it differently. Bad records (invalid checksum, legal entity without КПП, ...) are
    deliberate."""

    key: str
    name: str
    full_name: str
    kind: Kind
    inn: str
    kpp: str | None
    in_crm: bool
    in_onec: bool
    crm_name: str | None = None
    head_key: str | None = None  # for branches: key of the head company
    okpo: str | None = None
    phone: str | None = None
    email: str | None = None
    comment: str | None = None
    note: str | None = None  # why this record is in the demo (e.g. "bad checksum")


@dataclass(frozen=True)
class Product:
    """Goods or a service, kept in 1C (Catalog_Номенклатура), mirrored in the CRM catalog when ``in_crm``."""

    key: str
    name: str
    article: str
    okei: str  # ОКЕИ unit code: 796 шт, 166 кг, 356 ч, ...
    is_service: bool
    vat_kind: VatKind
    price: Decimal
    in_crm: bool = True


@dataclass(frozen=True)
class DealRow:
    product_key: str
    price: Decimal  # Bitrix PRICE: final unit price after discount, incl. tax when tax_included
    quantity: Decimal
    tax_rate: Decimal | None  # percent, e.g. Decimal("22"); None = no VAT
    tax_included: bool
    discount_type_id: int = 2  # 1 absolute, 2 percent
    discount_rate: Decimal = Decimal("0")
    discount_sum: Decimal = Decimal("0")


@dataclass(frozen=True)
class Deal:
    key: str
    title: str
    company_key: str
    stage_id: str  # NEW, PREPARATION, PREPAYMENT_INVOICE, EXECUTING, FINAL_INVOICE, WON, LOSE, APOLOGY
    currency: str  # letter code: RUB, USD
    begindate: dt.date
    rows: tuple[DealRow, ...]
    category_id: int = 0


@dataclass(frozen=True)
class SalesDocument:
    """A document already in 1C: an invoice (СчетНаОплатуПокупателю) or a sale (РеализацияТоваровУслуг)."""

    key: str
    kind: DocumentKind
    number: str
    date: dt.date
    company_key: str
    rows: tuple[DealRow, ...]
    posted: bool = True
    deal_key: str | None = None
    currency: str = "RUB"


@dataclass(frozen=True)
class Allocation:
    document_key: str  # a SalesDocument key (invoice or sale) this part of the payment settles
    amount: Decimal


@dataclass(frozen=True)
class Payment:
    """A bank receipt in 1C (ПоступлениеНаРасчетныйСчет, ОплатаПокупателя)."""

    key: str
    number: str
    date: dt.date
    company_key: str
    amount: Decimal
    allocations: tuple[Allocation, ...]  # Σ may be < amount (overpayment/advance remainder)
    purpose: str = ""
    posted: bool = True
    note: str | None = None  # full, partial, advance, overpayment, two invoices


@dataclass(frozen=True)
class CurrencyRate:
    currency: str  # ISO letter code
    date: dt.date
    rate: Decimal
    multiplier: int = 1


@dataclass
class Dataset:
    profile: str
    organisation: Organisation
    prohibition_date: dt.date | None
    companies: list[Company] = field(default_factory=list)
    products: list[Product] = field(default_factory=list)
    deals: list[Deal] = field(default_factory=list)
    documents: list[SalesDocument] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    rates: list[CurrencyRate] = field(default_factory=list)


def build(profile: str, size: int = 1000) -> Dataset:
    """The dataset of a seed profile: ``empty``, ``demo`` or ``scale`` (``size`` records per entity)."""
    from contour import profiles

    builders: dict[str, Callable[..., Dataset]] = {"empty": profiles.empty, "demo": profiles.demo}
    builders["scale"] = profiles.scale
    if profile not in builders:
        raise ValueError(f"unknown profile {profile!r}; choose one of {sorted(builders)}")
    return builders[profile](size) if profile == "scale" else builders[profile]()
