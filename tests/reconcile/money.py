"""The money chain on the demo contour, as the DAGs and the accountant make it, and money drift made behind
crm1c's back.

:func:`chain` runs counterparties (twice) → nomenclature → invoices as ``tests/sync/test_invoices.py``
prepares them, then the accountant posts every crm1c sale, customers pay (:func:`pay`: receipts naming the
invoices, as ``tests/sync/test_payments.py`` makes them) and ``sync_payments`` writes the deals' paid sums.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from crm1c.staging.schema import xref
from crm1c.sync.entities import entity
from tests.reconcile.drift import delete_in_onec
from tests.sync.harness import run_sync

INVOICES, SALES = "Document_СчетНаОплатуПокупателю", "Document_РеализацияТоваровУслуг"
RECEIPTS = "Document_ПоступлениеНаРасчетныйСчет"
DOCUMENT_STEPS = ("extract_crm", "extract_onec", "plan", "load_onec", "publish")
CATALOG_STEPS = ("extract_crm", "extract_onec", "plan", "load_crm", "publish")
PAYMENT_STEPS = ("extract_onec", "extract_crm", "plan", "load_crm", "publish")
RUN_DATE = date(2026, 12, 3)


@dataclass(frozen=True)
class Paid:
    """A receipt made by :func:`pay`: the deal whose invoice it names, and the amount."""

    deal: str
    receipt: str
    amount: Decimal
    invoice: dict


def crm1c_documents(onec: Any, entity_set: str) -> dict[str, dict]:
    """Live crm1c documents of a set by their deal id (``crm1c:deal:<ID>``)."""
    found = {}
    for page in onec.list(entity_set):
        for doc in page:
            tags = [w for w in str(doc.get("Комментарий") or "").split() if w.startswith("crm1c:deal:")]
            if tags and not doc.get("DeletionMark"):
                found[tags[0].removeprefix("crm1c:deal:")] = doc
    return found


def without_own_documents(contour: Any, onec: Any) -> int:
    """Delete the demo's own sales documents and receipts (typed in 1C before crm1c; their movements go
    with them), so that every document of the books is crm1c's; a closed period keeps its documents.
    Returns how many were deleted."""
    deleted = 0
    for entity_set in (RECEIPTS, SALES, INVOICES):
        for page in onec.list(entity_set, select=["Ref_Key", "Комментарий"]):
            for doc in page:
                if "crm1c:" not in str(doc.get("Комментарий") or ""):
                    deleted += delete_document(contour, entity_set, str(doc["Ref_Key"]))
    return deleted


def delete_document(contour: Any, entity_set: str, ref: str) -> bool:
    """A physical ``DELETE``; False when 1C refuses it (a closed period)."""
    resp = delete_in_onec(contour, ref, entity_set, check=False)
    if resp.status_code >= 400 and "ПередУдалением" in resp.text:
        return False
    resp.raise_for_status()
    return True


def sync_invoices(staging: Any, crm: Any, onec: Any) -> dict[str, Any]:
    return run_sync(staging, crm, onec, ref=entity("invoices"), steps=DOCUMENT_STEPS)


def sync_payments(staging: Any, crm: Any, onec: Any) -> dict[str, Any]:
    return run_sync(staging, crm, onec, ref=entity("payments"), steps=PAYMENT_STEPS)


def chain(staging: Any, crm: Any, onec: Any) -> list[Paid]:
    """The whole chain up to payments, every entity switched on (as the rollout DAG records it); returns
    the receipts made."""
    for name in ("counterparties", "nomenclature", "invoices", "payments"):
        staging.set_mode(name, "on", actor="test")
    run_sync(staging, crm, onec)
    run_sync(staging, crm, onec)
    run_sync(staging, crm, onec, ref=entity("nomenclature"), steps=CATALOG_STEPS, run_date=RUN_DATE)
    sync_invoices(staging, crm, onec)
    for sale in crm1c_documents(onec, SALES).values():
        onec.post_document(SALES, sale["Ref_Key"])
    paid = pay(onec, crm1c_documents(onec, INVOICES))
    sync_payments(staging, crm, onec)
    return paid


def pay(onec: Any, invoices: dict[str, dict]) -> list[Paid]:
    """Customers pay: the first ruble invoice in full, the next one half (each receipt names its invoice)."""
    made = []
    rubles = [(d, inv) for d, inv in sorted(invoices.items(), key=lambda p: int(p[0])) if _rubles(onec, inv)]
    for n, (deal, invoice) in enumerate(rubles[:2]):
        total = Decimal(str(invoice["СуммаДокумента"])).quantize(Decimal("0.01"))
        amount = total if n == 0 else (total / 2).quantize(Decimal("0.01"))
        made.append(
            Paid(deal, receipt(onec, invoice["Контрагент_Key"], amount, invoice=invoice), amount, invoice)
        )
    return made


def receipt(
    onec: Any, party: str, amount: Decimal, on: str = "2026-12-01", invoice: dict | None = None
) -> str:
    """A posted customer payment of ``party``, naming ``invoice`` (and its contract) when given."""
    line: dict[str, Any] = {"LineNumber": 1, "СуммаПлатежа": amount}
    if invoice is not None:
        line |= {
            "СчетНаОплату_Key": invoice["Ref_Key"],
            "ДоговорКонтрагента_Key": invoice.get("ДоговорКонтрагента_Key"),
        }
    body = {
        "Date": f"{on}T12:00:00",
        "ВидОперации": "ОплатаПокупателя",
        "Контрагент": party,
        "Контрагент_Type": "StandardODATA.Catalog_Контрагенты",
        "СуммаДокумента": amount,
        "РасшифровкаПлатежа": [line],
    }
    ref = str(onec.create(RECEIPTS, body)["Ref_Key"])
    onec.post_document(RECEIPTS, ref)
    return ref


def _rubles(onec: Any, invoice: dict) -> bool:
    currency = onec.get("Catalog_Валюты", invoice["ВалютаДокумента_Key"], select=["Code"])
    return str(currency["Code"]).strip() == "643"


# ------------------------------------------------------------------------------------ money drift


def mark_receipt_deleted(onec: Any, ref: str) -> None:
    """The accountant marks a receipt for deletion (1C cancels its posting)."""
    onec.mark_deleted(RECEIPTS, ref, onec.get(RECEIPTS, ref, select=["DataVersion"])["DataVersion"])


def deal_to_edit(crm: Any, invoices: dict[str, dict], paid: list[Paid]) -> tuple[str, bool]:
    """A ruble deal with its own invoice, of a counterparty no receipt of ``paid`` is from: one at an
    invoice stage if there is one (its edit moves only the invoice), else a won one (its edit moves revenue
    and receivables too); and whether it is won."""
    payers = {str(p.invoice["Контрагент_Key"]).lower() for p in paid}
    found = []
    for deal_id, invoice in sorted(invoices.items(), key=lambda p: int(p[0])):
        if str(invoice["Контрагент_Key"]).lower() in payers:
            continue
        row = crm.call("crm.deal.get", {"id": deal_id})["result"]
        if row["CURRENCY_ID"] == "RUB":
            found.append((row["STAGE_ID"] == "WON", deal_id))
    assert found, "the demo has a ruble deal with an invoice of its own"
    won, deal_id = min(found, key=lambda f: (f[0], int(f[1])))
    return deal_id, won


def add_one_to_the_first_row(crm: Any, deal_id: str) -> None:
    """The manager edits the deal: one more of its first product (its amount changes)."""
    rows = crm.call("crm.deal.productrows.get", {"id": deal_id})["result"]
    rows[0]["QUANTITY"] = float(rows[0]["QUANTITY"]) + 1
    keep = ("PRODUCT_ID", "PRICE", "QUANTITY", "DISCOUNT_TYPE_ID", "DISCOUNT_RATE", "DISCOUNT_SUM")
    keep += ("TAX_RATE", "TAX_INCLUDED", "MEASURE_CODE", "PRODUCT_NAME")
    crm.call(
        "crm.deal.productrows.set",
        {"id": deal_id, "rows": [{k: r[k] for k in keep} for r in rows]},
        write=True,
    )


def hand_made_sale(onec: Any, party: str, amount: str = "12345.00", on: str = "2026-12-02") -> dict:
    """A sale the accountant types into 1C and posts, without a crm1c tag."""
    row = {"LineNumber": 1, "Количество": 1, "Цена": Decimal(amount), "Сумма": Decimal(amount)}
    body = {
        "Date": f"{on}T10:00:00",
        "Контрагент_Key": party,
        "СуммаВключаетНДС": True,
        "ВидОперации": "Товары",
        "Товары": [row],
        "Комментарий": "отгрузка без сделки",
    }
    made = onec.create(SALES, body)
    onec.post_document(SALES, made["Ref_Key"])
    return made


def quiet_party(staging: Any, onec: Any, taken: set[str]) -> str:
    """A linked counterparty without any document in 1C (and not in ``taken``)."""
    used = {
        str(doc.get("Контрагент_Key")).lower()
        for entity_set in (INVOICES, SALES)
        for page in onec.list(entity_set, select=["Контрагент_Key"])
        for doc in page
    }
    with staging.engine.connect() as conn:
        query = sa.select(xref.c.crm_id, xref.c.onec_id).where(xref.c.entity == "counterparty")
        pairs = sorted((int(r.crm_id), str(r.onec_id).lower()) for r in conn.execute(query))
    for _crm_id, ref in pairs:
        if ref not in used | taken:
            return ref
    raise AssertionError("a linked counterparty without documents")


@dataclass(frozen=True)
class MoneyDrift:
    """What :func:`inject_money_drift` changed."""

    receipt: Paid
    edited_deal: str
    edited_won: bool
    edited_party: str
    old_total: Decimal
    new_amount: Decimal
    edited_invoice: str
    hand_made: dict
    party: str


def inject_money_drift(
    staging: Any, crm: Any, onec: Any, paid: list[Paid], taken: set[str] = frozenset()
) -> MoneyDrift:
    """A receipt deletion-marked in 1C; a posted invoice's deal edited in the CRM afterwards (not synced);
    a sale typed by hand in 1C for a counterparty crm1c links (no documents of its own)."""
    first = paid[0]
    mark_receipt_deleted(onec, first.receipt)
    invoices = crm1c_documents(onec, INVOICES)
    deal_id, won = deal_to_edit(crm, invoices, paid)
    invoice = invoices[deal_id]
    onec.post_document(INVOICES, invoice["Ref_Key"])
    add_one_to_the_first_row(crm, deal_id)
    amount = Decimal(str(crm.call("crm.deal.get", {"id": deal_id})["result"]["OPPORTUNITY"])).quantize(
        Decimal("0.01")
    )
    party = quiet_party(staging, onec, set(taken))
    sale = hand_made_sale(onec, party)
    total = Decimal(str(invoice["СуммаДокумента"])).quantize(Decimal("0.01"))
    edited_party = str(invoice["Контрагент_Key"]).lower()
    return MoneyDrift(first, deal_id, won, edited_party, total, amount, str(invoice["Ref_Key"]), sale, party)
