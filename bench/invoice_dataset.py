"""The contour data set of the invoices and payments bench, seeded through the emulators' own seeders (as
``python -m contour seed --profile scale`` does), without touching contour/:

    CONTOUR_STATE_DIR=… python -m bench.invoice_dataset --size N [--rows 3] [--stage WON] [--paid-every 3]

* N deals, each with ``--rows`` product rows, all at ``--stage`` (WON: a payment invoice and a sale each);
  their stage history is the seeder's (created at NEW, moved to the stage);
* N ÷ 10 companies and N ÷ 10 products (at least 50), the scale profile's, all in both systems (the
  counterparty and nomenclature syncs link them);
* a posted customer receipt in 1C for the deals but every ``--paid-every``-th, of the deal's total, with no
  breakdown: ``sync_payments`` spreads it over the counterparty's invoices (the ones ``sync_invoices``
  makes), oldest first.

Deals are dated in 2026 and their rows carry the 2026 VAT rates, so no deal is held for its rate.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from contour import profiles
from contour.dataset import Dataset, Deal, DealRow, Payment, Product

START = dt.date(2026, 1, 12)
QUANTITIES = tuple(Decimal(q) for q in (1, 2, 3, 5, 10))


def build(n: int, rows: int = 3, stage: str = "WON", paid_every: int = 3) -> Dataset:
    """The data set of size ``n`` (see the module docstring)."""
    base = profiles.scale(max(50, n // 10))
    companies = [replace(c, in_crm=True, in_onec=True) for c in base.companies]
    products = [replace(p, in_crm=True) for p in base.products]
    deals = [_deal(i, rows, stage, companies[i * 37 % len(companies)].key, products) for i in range(n)]
    today = dt.date.today()
    payments = [
        Payment(
            f"b-pay{i:06d}",
            f"БП00-{i + 1:06d}",
            today,
            deal.company_key,
            profiles.document_total(deal.rows).total,
            (),
            f"Оплата по сделке {deal.title}",
            note="no breakdown",
        )
        for i, deal in enumerate(deals)
        if paid_every and i % paid_every
    ]
    return replace(
        base,
        profile="bench-invoices",
        companies=companies,
        products=products,
        deals=deals,
        documents=[],
        payments=payments,
    )


def _deal(i: int, rows: int, stage: str, company: str, products: list[Product]) -> Deal:
    on = START + dt.timedelta(days=i * 7 % 300)
    included = i % 4 != 0
    out = []
    for k in range(rows):
        product = products[(i * 13 + k * 7919) % len(products)]
        rate = profiles.vat_rate(product.vat_kind, on)
        price = product.price if included or not rate else _net(product.price, rate)
        out.append(DealRow(product.key, price, QUANTITIES[(i + k) % 5], rate, included))
    return Deal(f"b-d{i:06d}", f"Сделка № {i + 1}", company, stage, "RUB", on, tuple(out))


def _net(price: Decimal, rate: Decimal) -> Decimal:
    return (price * 100 / (100 + rate)).quantize(Decimal("0.01"))


def main(argv: list[str] | None = None) -> int:
    from contour.bitrix import seed as bitrix_seed
    from contour.onec import seed as onec_seed
    from contour.settings import ContourSettings

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--rows", type=int, default=3)
    parser.add_argument("--stage", default="WON")
    parser.add_argument("--paid-every", type=int, default=3, help="every k-th deal has no receipt (0: none)")
    args = parser.parse_args(argv)
    state = Path(ContourSettings.from_env().state_dir)
    state.mkdir(parents=True, exist_ok=True)
    data = build(args.size, args.rows, args.stage, args.paid_every)
    onec_seed.seed(state, data)
    bitrix_seed.seed(state, data)
    print(
        f"seeded {len(data.deals)} deals × {args.rows} rows at {args.stage}, "
        f"{len(data.companies)} companies, {len(data.products)} products, "
        f"{len(data.payments)} receipts into {state}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
