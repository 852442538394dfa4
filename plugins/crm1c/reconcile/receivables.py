"""The receivables check, per counterparty as it is now: 1C's settlement balance ↔ what the CRM says is
unpaid.

1C: the 62.01 balance (``AccountingRegister_Хозрасчетный/Balance``, ``Condition`` on ``Account/Code`` and the
counterparty subconto ``ExtDimension1``) plus the 62.02 one (an advance is a credit balance there). Why both:
1C offsets a counterparty's advances against its shipments by itself (``Автоматически``, domain.md §4–§5) and
a payment pays the counterparty's oldest debt whichever invoice it names, so 62.01 alone moves between deals
and advances; their sum, the net debt, does not. The CRM: Σ amount of its deals shipped in 1C (a live, posted
crm1c sale) − Σ ``UF_CRM_1C_PAID_SUM`` of all its deals, i.e. Σ (amount − paid) over shipped deals less what
was paid ahead on the others. ``receivables_differ``: the two differ by more than ``money.receivables``; the
note gives 62.01, 62.02 and the deals behind the CRM figure. Compared: the counterparties crm1c links, or
whose crm1c documents 1C has, with documents only in rubles (62.01 holds rubles; a currency deal's
counterparty is counted, not compared), and without a deal held in quarantine (unless
``money.include_quarantined``: a held deal has no document in 1C to agree with). Limitation: a smart invoice
keeps no paid sum in the CRM, so a payment that 1C allocates to one shows here as a difference.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from crm1c.domain.money.numbers import ZERO
from crm1c.reconcile.config import MoneyTolerances
from crm1c.reconcile.model import CheckResult, Difference, Period, Total
from crm1c.reconcile.money_check import MoneyCheck
from crm1c.reconcile.money_refs import UNKNOWN, MoneyRefs, listed, rub
from crm1c.reconcile.money_sources import RUB, MoneySides, Source

NAME = "receivables"
TITLE = ("Дебиторская задолженность", "receivables")
KIND_TITLES = {
    "receivables_differ": ("Задолженность контрагента различается", "a counterparty's receivables differ")
}
FIELD = "62.01 + 62.02 / net debt"


@dataclass
class Debt:
    shipped: Decimal = ZERO
    paid: Decimal = ZERO
    deals: list[str] = field(default_factory=list)
    foreign: bool = False
    held: bool = False

    @property
    def crm(self) -> Decimal:
        return self.shipped - self.paid


def compare_receivables(
    sides: MoneySides, _period: Period, tol: MoneyTolerances, refs: MoneyRefs
) -> CheckResult:
    """As it is now: the period does not apply (a balance is cumulative)."""
    # every linked counterparty is compared, with or without deals
    debts: dict[str, Debt] = defaultdict(Debt, {party: Debt() for party in sides.parties.values()})
    for doc in sides.docs:
        if doc.source and doc.live:
            debts[doc.counterparty].foreign |= not doc.rubles
    for source in sides.sources.values():
        owner = _party(sides, source)
        if owner is None or source.smart:
            continue
        debt = debts[owner]
        debt.foreign |= source.currency not in (None, RUB)
        sale = sides.crm_doc(source, "sale")
        if f"{source.key}:sale" in sides.held or f"{source.key}:invoice" in sides.held:
            debt.held |= not tol.include_quarantined
        if sale is not None and sale.posted:
            debt.shipped += sides.amount(source, "sale")[0]
            debt.deals.append(source.crm_id)
        if source.paid:
            debt.paid += source.paid
            debt.deals.append(source.crm_id)
    found: list[Difference] = []
    companies = {party: company for company, party in sides.parties.items()}
    compared = foreign = held = 0
    crm_total = onec_total = ZERO
    for party, debt in sorted(debts.items(), key=lambda p: sides.party_names.get(p[0], p[0])):
        if debt.foreign or debt.held:
            foreign += debt.foreign
            held += debt.held and not debt.foreign
            continue
        compared += 1
        receivable, advances = sides.balances.get(party, (ZERO, ZERO))
        onec = receivable + advances
        crm_total += debt.crm
        onec_total += onec
        if abs(debt.crm - onec) > tol.receivables:
            note = (
                f"62.01 {rub(receivable)}, 62.02 {rub(advances)}; "
                f"CRM: отгружено / shipped {rub(debt.shipped)} − оплачено / paid {rub(debt.paid)} "
                f"(сделки / deals {listed(debt.deals) or '—'})"
            )
            found.append(
                Difference(
                    "receivables_differ",
                    refs.company(companies.get(party), party),
                    refs.party(party),
                    field=FIELD,
                    crm_value=rub(debt.crm),
                    onec_value=rub(onec),
                    agreed=UNKNOWN,
                    note=note,
                )
            )
    outside = len(set(sides.balances) - set(debts))
    return CheckResult(
        name=NAME,
        title=TITLE,
        totals=[
            Total("counterparties", "Контрагентов сравнено / counterparties compared", staging=compared),
            Total(
                "net_rub",
                "Задолженность (− аванс), руб. / net debt, RUB",
                crm=rub(crm_total),
                onec=rub(onec_total),
            ),
            Total(
                "other_currency",
                "С документами в валюте (не сравнивались) / with currency documents",
                staging=foreign,
            ),
            Total(
                "quarantined", "Со сделкой на карантине (не сравнивались) / with a held deal", staging=held
            ),
            Total(
                "outside", "Сальдо 62.01/62.02 контрагентов вне crm1c / balances outside crm1c", onec=outside
            ),
        ],
        differences=found,
        drift_kinds=frozenset(KIND_TITLES) - tol.report_only,
        max_differences=0,
        kind_titles=KIND_TITLES,
        headline=f"{compared} counterparties, CRM {rub(crm_total)}, 1C {rub(onec_total)} RUB",
    )


def _party(sides: MoneySides, source: Source) -> str | None:
    """The 1C counterparty of a deal: its crm1c documents', else its company's link."""
    docs = sides.tagged(source)
    return docs[0].counterparty if docs else sides.party_of(source)


#: The check :data:`crm1c.reconcile.run.CHECKS` runs.
RECEIVABLES_CHECK = MoneyCheck(
    NAME, TITLE, compare_receivables, needs=(("invoices", "onec"), ("payments", "crm"))
)
