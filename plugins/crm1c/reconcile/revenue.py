"""The revenue check, per counterparty for the period: Σ posted sales (``Реализация``) in 1C ↔ Σ WON deals in
the CRM.

The CRM side is every deal whose stage asks for a sale (``include/mappings/invoices.yaml``), with its amount
(as the invoice check takes it: :meth:`MoneySides.amount`), dated by its sale; the 1C side every posted, live
sale of the period (with or without a crm1c tag: revenue is revenue). A deal belongs to the counterparty of
its sale in 1C, else to the counterparty its company is linked with. A sale 1C has not posted yet is the
accountant's queue, not drift: it is listed as ``sale_unposted`` (report only) and its deal is left out of the
CRM side, so the rest still compares. ``revenue_differs``: the two sums differ by more than ``money.revenue``;
the note names the deals and documents behind both sums. A counterparty with a deal held in quarantine is left
out (unless ``money.include_quarantined``: the held deal has no sale in 1C to agree with). Only rubles are
summed (other currencies are counted); 1C sales to counterparties crm1c does not link are counted, not
compared.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from crm1c.domain.money.numbers import ZERO
from crm1c.reconcile.config import MoneyTolerances
from crm1c.reconcile.model import CheckResult, Difference, Period, Total
from crm1c.reconcile.money_check import MoneyCheck
from crm1c.reconcile.money_refs import UNKNOWN, MoneyRefs, doc_label, listed, rub
from crm1c.reconcile.money_sources import RUB, Doc, MoneySides

NAME = "revenue"
TITLE = ("Выручка", "revenue")
KIND_TITLES = {
    "revenue_differs": ("Выручка контрагента различается", "a counterparty's revenue differs"),
    "sale_unposted": ("Реализация по выигранной сделке не проведена", "the sale of a won deal is not posted"),
}
FIELD = "Выручка / revenue"


@dataclass
class Party:
    """One counterparty's two sums and what is behind them."""

    crm: Decimal = ZERO
    onec: Decimal = ZERO
    deals: list[str] = field(default_factory=list)
    sales: list[str] = field(default_factory=list)


def compare_revenue(sides: MoneySides, period: Period, tol: MoneyTolerances, refs: MoneyRefs) -> CheckResult:
    parties: dict[str, Party] = defaultdict(Party)
    held: set[str] = set()  # counterparties with a deal held in quarantine: left out
    found: list[Difference] = []
    counted = {"won": 0, "unposted": 0, "not_linked": 0, "currency": 0, "held": 0, "outside": 0}
    for source in sorted(sides.sources.values(), key=lambda s: (len(s.crm_id), s.crm_id)):
        if source.smart or "sale" not in source.kinds or not period.holds(sides.date_of(source, "sale")):
            continue
        if f"{source.key}:sale" in sides.held and not tol.include_quarantined:
            counted["held"] += 1
            if (party := sides.party_of(source)) is not None:
                held.add(party)
            continue
        counted["won"] += 1
        sale = sides.crm_doc(source, "sale")
        party = sale.counterparty if sale is not None else sides.party_of(source)
        if source.currency not in (None, RUB) or (sale is not None and not sale.rubles):
            counted["currency"] += 1
        elif sale is not None and not sale.posted:
            counted["unposted"] += 1
            found.append(
                Difference(
                    "sale_unposted",
                    refs.source(source),
                    refs.doc(sale),
                    field=FIELD,
                    crm_value=rub(sides.amount(source, "sale")[0]),
                    onec_value=rub(sale.amount),
                    note="ждёт проведения / awaiting posting",
                )
            )
        elif party is None:
            counted["not_linked"] += 1
        else:
            parties[party].crm += sides.amount(source, "sale")[0]
            parties[party].deals.append(source.crm_id)
    compared = (set(parties) | set(sides.parties.values())) - held
    for party in held:
        parties.pop(party, None)
    for doc in _posted_sales(sides, period):
        if doc.counterparty in held:
            continue
        if doc.counterparty not in compared:
            counted["outside"] += 1
        elif doc.rubles:
            parties[doc.counterparty].onec += doc.amount
            parties[doc.counterparty].sales.append(doc_label(doc))
    companies = {party: company for company, party in sides.parties.items()}
    for party, sums in sorted(parties.items(), key=lambda p: sides.party_names.get(p[0], p[0])):
        if abs(sums.crm - sums.onec) > tol.revenue:
            note = f"CRM: сделки / deals {listed(sums.deals) or '—'}; 1С: {listed(sums.sales) or '—'}"
            found.append(
                Difference(
                    "revenue_differs",
                    refs.company(companies.get(party), party),
                    refs.party(party),
                    field=FIELD,
                    crm_value=rub(sums.crm),
                    onec_value=rub(sums.onec),
                    agreed=UNKNOWN,
                    note=note,
                )
            )
    crm_total = sum((p.crm for p in parties.values()), ZERO)
    onec_total = sum((p.onec for p in parties.values()), ZERO)
    return CheckResult(
        name=NAME,
        title=TITLE,
        totals=_totals(counted, crm_total, onec_total, len(parties)),
        differences=found,
        drift_kinds=frozenset(KIND_TITLES) - tol.report_only,
        max_differences=0,
        kind_titles=KIND_TITLES,
        headline=f"CRM {rub(crm_total)}, 1C {rub(onec_total)} RUB",
    )


def _posted_sales(sides: MoneySides, period: Period) -> list[Doc]:
    return [d for d in sides.docs if d.kind == "sale" and d.live and d.posted and period.holds(d.on)]


def _totals(counted: dict[str, int], crm: Decimal, onec: Decimal, parties: int) -> list[Total]:
    return [
        Total("revenue_rub", "Выручка за период, руб. / revenue, RUB", crm=rub(crm), onec=rub(onec)),
        Total("won", "Выигранных сделок за период / won deals in the period", crm=counted["won"]),
        Total("counterparties", "Контрагентов сравнено / counterparties compared", staging=parties),
        Total(
            "unposted",
            "Реализация не проведена (не в сумме) / sale not posted, left out",
            onec=counted["unposted"],
        ),
        Total(
            "other_currency", "В другой валюте (не в сумме) / in another currency", crm=counted["currency"]
        ),
        Total("not_linked", "Контрагент не связан / counterparty not linked", crm=counted["not_linked"]),
        Total(
            "quarantined",
            "Сделок на карантине (контрагент не сравнивался) / held deals, their counterparty left out",
            staging=counted["held"],
        ),
        Total(
            "outside",
            "Реализации контрагентам вне crm1c / sales to counterparties outside crm1c",
            onec=counted["outside"],
        ),
    ]


#: The check :data:`crm1c.reconcile.run.CHECKS` runs.
REVENUE_CHECK = MoneyCheck(NAME, TITLE, compare_revenue)
