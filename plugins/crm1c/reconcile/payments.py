"""The payment check, per deal: ``UF_CRM_1C_PAID_SUM`` in the CRM ↔ what 1C's receipts give it now.

1C's side is recomputed exactly as ``sync_payments`` computes it (:func:`crm1c.domain.deal_payment.
deal_payments`, which allocates the posted customer receipts with :func:`~crm1c.domain.money.payments.
allocate`) from what 1C holds at this moment; a receipt deletion-marked or unposted in 1C no longer counts,
so the deal shows as ``paid_differs`` until the next ``sync_payments`` writes the new sum. A deal whose
documents are all gone from 1C should hold no sum. An empty CRM field reads as 0.00. A deal is looked at
when its invoice (else its sale) is dated in the period, or its last payment (by either side) is. Smart
invoices keep no paid sum in the CRM (only their stage): they are counted, not compared. Tolerance:
``money.payments`` per deal.
"""

from __future__ import annotations

from crm1c.domain.deal_payment import Documents, deal_payments
from crm1c.domain.money.numbers import ZERO
from crm1c.reconcile.config import MoneyTolerances
from crm1c.reconcile.model import CheckResult, Difference, Period, Total
from crm1c.reconcile.money_check import MoneyCheck
from crm1c.reconcile.money_refs import UNKNOWN, MoneyRefs, rub
from crm1c.reconcile.money_sources import MoneySides

NAME = "payments"
TITLE = ("Оплаты сделок", "payments")
KIND_TITLES = {"paid_differs": ("Оплачено по сделке различается", "paid on a deal differs")}
FIELD = "Оплачено / paid"


def compare_payments(sides: MoneySides, period: Period, tol: MoneyTolerances, refs: MoneyRefs) -> CheckResult:
    docs = Documents(
        receipts=list(sides.receipts),
        invoices=[d.row for d in sides.docs if d.kind == "invoice" and d.source],
        sales=[d.row for d in sides.docs if d.kind == "sale" and d.source],
    )
    onec, notes = deal_payments(docs)
    named = {d.source for d in sides.docs if d.source}
    found: list[Difference] = []
    looked = smart = 0
    crm_total = onec_total = ZERO
    for source in sorted(sides.sources.values(), key=lambda s: (len(s.crm_id), s.crm_id)):
        if source.key not in named:
            continue
        if source.smart:
            smart += 1
            continue
        record = onec.get(source.key)
        paid = record.paid_sum if record is not None and record.paid_sum is not None else ZERO
        when = [
            sides.date_of(source, "invoice") or sides.date_of(source, "sale"),
            record.paid_date if record is not None else None,
            source.paid_date,
        ]
        if not any(period.holds(day) for day in when):
            continue
        looked += 1
        mine = source.paid if source.paid is not None else ZERO
        crm_total += mine
        onec_total += paid
        if abs(mine - paid) > tol.payments:
            status = record.pay_status if record is not None else "—"
            note = f"статус / status: CRM {source.pay_status or '—'}, 1С {status}; Δ {rub(mine - paid)}"
            if record is None:
                note += "; в 1С нет документов сделки / no documents of the deal left in 1C"
            found.append(
                Difference(
                    "paid_differs",
                    refs.source(source),
                    None,
                    field=FIELD,
                    crm_value=rub(source.paid),
                    onec_value=rub(paid),
                    agreed=UNKNOWN,
                    note=note,
                )
            )
    not_counted = sum(1 for n in notes if n.code in ("receipt_deleted", "receipt_unposted"))
    return CheckResult(
        name=NAME,
        title=TITLE,
        totals=[
            Total("deals", "Сделок сравнено / deals compared", crm=looked),
            Total("paid_rub", "Оплачено / paid", crm=rub(crm_total), onec=rub(onec_total)),
            Total(
                "receipts", "Поступлений (оплата покупателя) / customer receipts", onec=len(sides.receipts)
            ),
            Total(
                "not_counted",
                "Не учтено: помечено на удаление или не проведено / deleted or unposted",
                onec=not_counted,
            ),
            Total("smart", "Смарт-счета (в CRM нет суммы оплаты) / smart invoices, not compared", crm=smart),
        ],
        differences=found,
        drift_kinds=frozenset(KIND_TITLES) - tol.report_only,
        max_differences=0,
        kind_titles=KIND_TITLES,
        headline=f"{looked} deals, paid CRM {rub(crm_total)}, 1C {rub(onec_total)}",
    )


#: The check :data:`crm1c.reconcile.run.CHECKS` runs.
PAYMENT_CHECK = MoneyCheck(NAME, TITLE, compare_payments, needs=(("invoices", "onec"), ("payments", "crm")))
