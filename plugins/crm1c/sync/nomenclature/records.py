"""Nomenclature staging records: names, and the canonical :class:`~crm1c.domain.product.Product` of a row."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crm1c.domain.product import Product, content_hash, identity_key
from crm1c.staging import SeenInput
from crm1c.sync.engine.records import seen_input

KEY = "nomenclature"
ONEC_SET = "Catalog_Номенклатура"


def product_seen(row: dict, version: Any, build: Callable[[], Product], *, dirty: bool = True) -> SeenInput:
    """The staging row of a 1C item or CRM product (``build`` reads it; an :class:`IssueError` holds it)."""
    external_id = str(row.get("Ref_Key") or row.get("id"))
    return seen_input(
        external_id, row, version, build, content_hash=content_hash, identity_key=identity_key, dirty=dirty
    )
