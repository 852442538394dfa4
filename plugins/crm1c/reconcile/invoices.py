"""The invoice check: the CRM's deals and smart invoices that should have a 1C payment invoice ↔ the
crm1c invoices in 1C (``Комментарий`` tag ``crm1c:deal:<ID>`` / ``crm1c:invoice:<ID>``), for the period.

A deal should have one when its stage asks for it (``include/mappings/invoices.yaml``) — unless smart
invoices bill it (``parentId2``) and it never had one of its own: one invoice per bill
(:meth:`MoneySides.expects`) —, a smart invoice when it is not at a failure stage; it belongs to the period
by its document's date (1C's, else what the sync computed, else when the deal moved to its stage).
Differences, per record:

* ``missing_in_onec`` — no live crm1c invoice names it;
* ``amount_differs`` — what the CRM asks the invoice to hold and its ``СуммаДокумента`` differ by more than
  ``money.invoice_sum``. The CRM's amount is the sync's own total (1C's row arithmetic over the deal's rows,
  kept in staging: ``OPPORTUNITY`` itself may differ from it by VAT and discount rounding) — unless the
  CRM's ``OPPORTUNITY`` moved on since the sync read the rows (an edit not synced yet), then that. So an
  edit after the document was posted shows both before the next sync and after it (the sync leaves a
  posted document to the accountant);
* ``not_expected_in_onec`` — a live crm1c invoice whose deal is gone from the CRM or failed;
* ``hand_made_in_onec`` — an invoice or sale without a crm1c tag, in the period, for a counterparty crm1c
  links with the CRM: made by hand in 1C. Reported, not drift by default (``money.report_only``): an
  accountant may invoice by hand; a posted hand-made sale shows in revenue and receivables as drift.

Totals: the number and sum (rubles; other currencies are counted, not summed) on each side. Records held in
quarantine are counted and left out (``money.include_quarantined``). ``money.invoice_count`` differences
are tolerated.
"""

from __future__ import annotations

from decimal import Decimal

from crm1c.domain.money.numbers import ZERO
from crm1c.reconcile.config import MoneyTolerances
from crm1c.reconcile.model import CheckResult, Difference, Period, Total
from crm1c.reconcile.money_check import MoneyCheck
from crm1c.reconcile.money_refs import ABSENT, MoneyRefs, rub
from crm1c.reconcile.money_sources import RUB, Doc, MoneySides, Source

NAME = "invoices"
TITLE = ("Счета на оплату", "invoices")
KIND_TITLES = {
    "missing_in_onec": ("Счёта нет в 1С", "invoice missing in 1C"),
    "amount_differs": ("Сумма счёта различается", "invoice amount differs"),
    "not_expected_in_onec": (
        "Счёт в 1С по отменённой или удалённой сделке",
        "invoice of a deal gone or failed",
    ),
    "hand_made_in_onec": ("Документ сделан в 1С вручную (без метки crm1c)", "document made by hand in 1C"),
}
KINDS = tuple(KIND_TITLES)
AMOUNT = "Сумма / amount"


def compare_invoices(sides: MoneySides, period: Period, tol: MoneyTolerances, refs: MoneyRefs) -> CheckResult:
    expected, held = [], 0
    for source in sorted(sides.sources.values(), key=_order):
        if sides.expects(source, "invoice") and period.holds(sides.date_of(source, "invoice")):
            if f"{source.key}:invoice" in sides.held and not tol.include_quarantined:
                held += 1
            else:
                expected.append(source)
    found: list[Difference] = []
    amounts = {source.key: sides.amount(source, "invoice") for source in expected}
    for source in expected:
        doc = sides.crm_doc(source, "invoice")
        amount, edited = amounts[source.key]
        if doc is None:
            found.append(
                Difference(
                    "missing_in_onec",
                    refs.source(source),
                    None,
                    crm_value=rub(amount),
                    onec_value=ABSENT,
                    note=_party_note(sides, source),
                )
            )
        elif abs(amount - doc.amount) > tol.invoice_sum:
            agreed = sides.agreed.get(f"{source.key}:invoice", (None, None))[0]
            notes = ["проведён / posted" if doc.posted else "не проведён / not posted"]
            if edited:
                notes.append("изменено в CRM после обмена / edited in the CRM after the last sync")
            found.append(
                Difference(
                    "amount_differs",
                    refs.source(source),
                    refs.doc(doc),
                    field=AMOUNT,
                    crm_value=rub(amount),
                    onec_value=rub(doc.amount),
                    agreed=rub(agreed),
                    note="; ".join([*notes, f"Δ {rub(amount - doc.amount)}"]),
                )
            )
    onec = [d for d in sides.docs if d.kind == "invoice" and d.live and d.source and period.holds(d.on)]
    for doc in onec:
        owner = sides.sources.get(doc.source or "")
        if owner is None or owner.failed:
            gone = "удалена в CRM / gone from the CRM" if owner is None else "провалена / failed"
            crm = refs.source(owner) if owner else None
            found.append(
                Difference(
                    "not_expected_in_onec",
                    crm,
                    refs.doc(doc),
                    crm_value=ABSENT,
                    onec_value=rub(doc.amount),
                    note=f"{doc.source}: {gone}",
                )
            )
    linked = set(sides.parties.values())
    hand_made = [
        d
        for d in sides.docs
        if d.source is None and d.live and d.counterparty in linked and period.holds(d.on)
    ]
    for doc in sorted(hand_made, key=lambda d: (d.on, d.kind, d.number)):
        state = "проведён / posted" if doc.posted else "не проведён / not posted"
        found.append(
            Difference(
                "hand_made_in_onec",
                None,
                refs.doc(doc),
                crm_value=ABSENT,
                onec_value=rub(doc.amount),
                note=f"{state}; без метки crm1c / no crm1c tag",
            )
        )
    return CheckResult(
        name=NAME,
        title=TITLE,
        totals=_totals(expected, amounts, onec, held, len(hand_made)),
        differences=found,
        drift_kinds=frozenset(KINDS) - tol.report_only,
        max_differences=tol.invoice_count,
        kind_titles=KIND_TITLES,
        headline=f"CRM {len(expected)}, 1C {len(onec)}",
    )


def _totals(
    expected: list[Source],
    amounts: dict[str, tuple[Decimal, bool]],
    onec: list[Doc],
    held: int,
    hand_made: int,
) -> list[Total]:
    return [
        Total("count", "Счетов за период / invoices in the period", crm=len(expected), onec=len(onec)),
        Total(
            "sum_rub",
            "Сумма счетов, руб. / sum, RUB",
            crm=rub(sum((amounts[s.key][0] for s in expected if s.currency in (None, RUB)), ZERO)),
            onec=rub(sum((d.amount for d in onec if d.rubles), ZERO)),
        ),
        Total(
            "other_currency",
            "В другой валюте (не в сумме) / in another currency (not summed)",
            crm=sum(s.currency not in (None, RUB) for s in expected),
            onec=sum(not d.rubles for d in onec),
        ),
        Total("quarantined", "На карантине (не сравнивались) / quarantined, left out", staging=held),
        Total("hand_made", "Сделаны в 1С вручную / made by hand in 1C", onec=hand_made),
    ]


def _party_note(sides: MoneySides, source: Source) -> str:
    party = sides.party_of(source)
    name = sides.party_names.get(party or "")
    return f"контрагент / counterparty: {name}" if name else "контрагент не связан / counterparty not linked"


def _order(source: Source) -> tuple[bool, int, str]:
    return source.smart, len(source.crm_id), source.crm_id


#: The check :data:`crm1c.reconcile.run.CHECKS` runs.
INVOICE_CHECK = MoneyCheck(NAME, TITLE, compare_invoices)
