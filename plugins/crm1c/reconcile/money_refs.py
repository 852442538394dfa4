"""How the money checks name records: deals, smart invoices, 1C documents and counterparties, with links
into both systems, and amounts as text."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from crm1c.reconcile.links import SystemLinks
from crm1c.reconcile.model import RecordRef
from crm1c.reconcile.money_sources import COUNTERPARTIES, Doc, MoneySides, Source

LABELS = {"invoice": "Счет", "sale": "Реализация"}
EMPTY = "пусто / empty"
ABSENT = "нет / absent"
#: the "agreed" cell of a sum staging keeps no value of
UNKNOWN = "—"


def rub(amount: Decimal | None) -> str:
    """``1234.50``; None is empty."""
    return EMPTY if amount is None else f"{amount:.2f}"


def doc_label(doc: Doc) -> str:
    """«Счет 0000-000123 от 02.12.2026» (as ``sync_payments`` names documents in the deal)."""
    return f"{LABELS[doc.kind]} {doc.number} от {doc.on:%d.%m.%Y}"


def listed(names: Iterable[str], limit: int = 5) -> str:
    items = sorted(set(names))
    more = f", … (+{len(items) - limit})" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


class MoneyRefs:
    """Turns sources, documents and counterparties into :class:`RecordRef` s with their links."""

    def __init__(self, links: SystemLinks, sides: MoneySides) -> None:
        self.links, self.sides = links, sides

    def source(self, source: Source) -> RecordRef:
        if source.smart:
            links, what = self.links.crm_smart_invoice(source.crm_id), "счёт CRM / smart invoice"
        else:
            links, what = self.links.crm_deal(source.crm_id), "сделка / deal"
        return RecordRef("crm", source.crm_id, source.title, links=links, what=what)

    def doc(self, doc: Doc) -> RecordRef:
        party = self.sides.party_names.get(doc.counterparty)
        name = doc_label(doc) + (f" — {party}" if party else "")
        return RecordRef("onec", doc.ref, name, links=self.links.onec_object(doc.entity_set, doc.ref))

    def company(self, company_id: str | None, party: str) -> RecordRef | None:
        """The CRM company linked with the 1C counterparty ``party`` (named as 1C names it)."""
        if not company_id:
            return None
        name = self.sides.party_names.get(party)
        return RecordRef("crm", company_id, name, links=self.links.crm_company(company_id))

    def party(self, party: str) -> RecordRef:
        name = self.sides.party_names.get(party)
        return RecordRef("onec", party, name, links=self.links.onec_object(COUNTERPARTIES, party))
