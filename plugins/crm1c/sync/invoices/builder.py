"""What a CRM deal or smart invoice becomes in 1C: its document, computed with 1C's row arithmetic
(:mod:`crm1c.domain.money.documents`) from its product rows, with the counterparty's and the items' 1C
references from the synced entities. What is missing raises IssueError: the record waits in quarantine."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, cast

from crm1c.domain.issues import Issue, IssueError
from crm1c.domain.money import currency as currencies
from crm1c.domain.money import units, vat
from crm1c.domain.money.documents import DocumentKind, OnecItem, deal_document
from crm1c.domain.product import Product
from crm1c.domain.sales_document import SalesDocument
from crm1c.sync.invoices.records import canonical_rows
from crm1c.sync.runtime import SyncEnv, log

COUNTERPARTY, NOMENCLATURE = "counterparty", "nomenclature"


class DocumentBuilder:
    """Builds the documents of one step; what every record needs (VAT rules, units, items) is read once."""

    def __init__(self, env: SyncEnv) -> None:
        self.env = env
        self.vat = vat.load_vat_table()
        self.currencies = currencies.load_currency_table()
        self.units: units.UnitTable = env.once("unit_table", units.load_unit_table)  # once per step
        self.items: dict[str, OnecItem | None] = {}

    def document(
        self, record: str, what: str, company: Any, currency: Any, kind: str, on: date, rows: list[dict]
    ) -> SalesDocument:
        """The ``kind`` document of record ``record`` (``what`` names its source in reasons, e.g. «Сделка 42»
        / "Deal 42"), dated ``on``, for CRM company ``company``, in CRM currency ``currency``."""
        what_ru, what_en = what.split("|")
        link = self.env.staging.xref_by_crm(COUNTERPARTY, str(company or ""))
        if link is None:
            raise IssueError(
                Issue(
                    "counterparty",
                    "counterparty_not_synced",
                    f"{what_ru}: компания {company or '—'} ещё не выгружена в 1С",
                    f"{what_en}: company {company or '—'} is not in 1C yet",
                )
            )
        partner = self.env.staging.get_seen("onec", COUNTERPARTY, link.onec_id)
        if partner is None or partner.deleted or (partner.normalised or {}).get("deleted"):
            raise IssueError(
                Issue(
                    "counterparty",
                    "counterparty_deleted",
                    f"{what_ru}: контрагент {link.onec_id} удалён или помечен на удаление в 1С",
                    f"{what_en}: counterparty {link.onec_id} is deleted or marked for deletion in 1C",
                )
            )
        code = self.currencies.onec_code(str(currency or self.currencies.base))
        source = record.rsplit(":", 1)[0]
        typed_kind = cast(DocumentKind, kind)
        conversion = deal_document(source, rows, typed_kind, on, self.item, self.vat, self.units)
        if conversion.document is None:
            first = conversion.issues[0]
            reasons_ru = "; ".join(i.reason_ru for i in conversion.issues)
            reasons_en = "; ".join(i.reason_en for i in conversion.issues)
            raise IssueError(Issue(first.field, first.code, reasons_ru, reasons_en))
        doc = conversion.document
        for note in doc.notes:
            log.info("%s, %s: %s", what_en, kind, note.reason_en)
        tables = doc.tables()
        return SalesDocument.model_validate(
            {
                "kind": kind,
                "on": on,
                "counterparty": link.onec_id,
                "currency": code,
                "includes_vat": doc.includes_vat,
                "operation": doc.operation,
                "goods": canonical_rows(kind, "Товары", tables.get("Товары", [])),
                "services": canonical_rows(kind, "Услуги", tables.get("Услуги", [])),
                "total": doc.total,
                "crm_id": record,
            }
        )

    def item(self, product_id: str) -> OnecItem | None:
        """The synced 1C item of a CRM product (None: not synced yet)."""
        if product_id not in self.items:
            self.items[product_id] = _item(self.env, product_id)
        return self.items[product_id]


def _item(env: SyncEnv, product_id: str) -> OnecItem | None:
    link = env.staging.xref_by_crm(NOMENCLATURE, product_id)
    seen = env.staging.get_seen("onec", NOMENCLATURE, link.onec_id) if link is not None else None
    if link is None or seen is None or not isinstance(seen.normalised, Mapping):
        return None
    item = Product(**{k: v for k, v in seen.normalised.items() if k in Product.model_fields})
    unit_key = seen.raw.get("ЕдиницаИзмерения_Key") if isinstance(seen.raw, Mapping) else None
    return OnecItem(link.onec_id, item.service, item.unit, unit_key)
