"""Nomenclature: a 1C good or service as the CRM catalog shows it. 1C is the master of every field.

The canonical record holds what both sides can say about an item: its name, the catalog code the two sides
match on (``sku``: the 1C article, else the 1C code; the CRM product's ``code``), goods or service, the ОКЕИ
unit, the VAT rate in force on the run date, the price of the configured price type with its currency and
whether it includes VAT, and whether the item is active (a 1C deletion mark deactivates the CRM product).

The merge never writes 1C. A CRM edit of any of these fields is reported as a conflict and the 1C value is
written back over it. A product deleted in the CRM while 1C keeps the item is reported, not recreated.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import BaseModel, field_validator

from crm1c import hashing
from crm1c.domain.issues import Issue
from crm1c.domain.one_way import Conflict, OneWayMerge, follow

#: The fields both systems hold and 1C owns (what makes two records equal).
SYNCED = ("name", "sku", "service", "unit", "vat", "price", "currency", "price_includes_vat", "active")
#: The CRM catalog limits a product name to this many characters.
NAME_MAX = 255
KOPECK = Decimal("0.01")


class Product(BaseModel):
    """One nomenclature item. ``vat`` is the rate in percent as text (``"22"``, ``"10"``, ``"0"``) or
    ``"none"`` (без НДС); ``price`` is None when the item has no price of the configured type."""

    name: str | None = None
    sku: str | None = None
    service: bool = False
    unit: str | None = None
    vat: str | None = None
    price: Decimal | None = None
    currency: str | None = None
    price_includes_vat: bool = True
    active: bool = True
    deleted: bool = False
    crm_id: str | None = None
    onec_ref: str | None = None

    @field_validator("price")
    @classmethod
    def _to_kopecks(cls, value: Decimal | None) -> Decimal | None:
        return None if value is None else Decimal(value).quantize(KOPECK, rounding=ROUND_HALF_UP)


def vat_text(percent: Any) -> str:
    """A VAT rate as the record holds it: the percent without trailing zeros (``"22"``, ``"0"``), or
    ``"none"`` without VAT (None or empty)."""
    if percent is None or percent == "":
        return "none"
    rate = Decimal(str(percent))
    return str(int(rate)) if rate == rate.to_integral_value() else str(rate.normalize())


def identity_key(item: Product) -> str | None:
    """The catalog code both sides match on after the stored link."""
    return item.sku


def content_hash(item: Product) -> str:
    return hashing.content_hash({f: getattr(item, f) for f in SYNCED})


def validate(item: Product, _mapping: Any) -> list[Issue]:
    """What stops an item from reaching the CRM catalog, with a reason a person can act on."""
    issues = []
    if not (item.name or "").strip():
        issues.append(Issue("name", "required", "Не заполнено наименование", "The name is empty"))
    elif len(item.name or "") > NAME_MAX:
        issues.append(
            Issue(
                "name",
                "too_long",
                f"Наименование длиннее {NAME_MAX} символов ({len(item.name or '')})",
                f"The name is longer than {NAME_MAX} characters ({len(item.name or '')})",
            )
        )
    if not item.sku:
        issues.append(Issue("sku", "required", "Нет ни артикула, ни кода", "Neither article nor code"))
    return issues


def tombstone(item: Product) -> Product:
    return item.model_copy(update={"deleted": True})


#: The merge's result (kept under its old name).
ProductMerge = OneWayMerge


def merge(base: Product | None, crm: Product | None, onec: Product | None, _rules: Any) -> ProductMerge:
    """1C → CRM only: the CRM follows 1C; CRM-side edits become conflicts (``_rules`` unused)."""
    if onec is None:  # a CRM-only product: 1C is the master and never receives it
        return ProductMerge(crm or Product())
    if crm is None:  # new in 1C: create it in the CRM unless it is already gone or marked
        if onec.deleted or not onec.active:
            return ProductMerge(onec)
        fields = {f: getattr(onec, f) for f in SYNCED} | {"onec_ref": onec.onec_ref}
        return ProductMerge(onec, to_crm=fields)
    merged = onec.model_copy(update={"crm_id": crm.crm_id, "deleted": False})
    if onec.deleted:  # removed from 1C: the CRM product is deactivated, never deleted
        gone = merged.model_copy(update={"active": False})
        return ProductMerge(gone, to_crm={"active": False} if crm.active and not crm.deleted else {})
    if crm.deleted:
        return ProductMerge(merged, conflicts=[Conflict("deleted", False, True, False)])
    to_crm, conflicts = follow(base, crm, {f: getattr(onec, f) for f in SYNCED})
    if crm.onec_ref != onec.onec_ref:
        to_crm["onec_ref"] = onec.onec_ref
    return ProductMerge(merged, to_crm=to_crm, conflicts=conflicts)
