"""The contour's seed profiles: valid requisites, consistent money, the demo's cases, scale speed."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal
from itertools import cycle

import pytest

from contour import dataset, profiles
from contour.dataset import Dataset, DealRow

# ------------------------------------------------------------------ an independent reading of domain.md §2


def inn_ok(inn: str | None) -> bool:
    if inn is None or not re.fullmatch(r"\d{10}|\d{12}", inn) or not inn.strip("0"):
        return False
    d = [int(c) for c in inn]

    def control(weights: list[int]) -> int:
        return sum(w * x for w, x in zip(weights, d, strict=False)) % 11 % 10

    if len(d) == 10:
        return control([2, 4, 10, 3, 5, 9, 4, 6, 8]) == d[9]
    first, second = control([7, 2, 4, 10, 3, 5, 9, 4, 6, 8]), control([3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8])
    return first == d[10] and second == d[11]


def kpp_ok(kpp: str | None) -> bool:
    return kpp is not None and re.fullmatch(r"\d{4}[0-9A-Z]{2}\d{3}", kpp) is not None


def requisites_ok(company: dataset.Company) -> bool:
    if company.kind in ("legal", "branch"):
        return len(company.inn) == 10 and inn_ok(company.inn) and kpp_ok(company.kpp)
    return len(company.inn) == 12 and inn_ok(company.inn) and company.kpp is None


def account_ok(bik: str, account: str) -> bool:
    digits = bik[-3:] + account
    return len(account) == 20 and sum(int(c) * w for c, w in zip(digits, cycle([7, 1, 3]))) % 10 == 0


def vat_on(amount: Decimal, rate: Decimal, included: bool) -> Decimal:
    value = amount * rate / (100 + rate) if included else amount * rate / 100
    return value.quantize(Decimal("0.01"), ROUND_HALF_UP)


BAD_REQUISITES = {"bad-inn", "no-kpp", "progress-bad-inn"}


@pytest.fixture(scope="module")
def demo() -> Dataset:
    return profiles.demo()


# ------------------------------------------------------------------ helpers


def test_checksum_helpers_agree_with_known_values() -> None:
    assert profiles.inn10("770708389") == "7707083893"
    assert profiles.inn12("5001007322") == "500100732259"
    assert inn_ok("7707083893") and inn_ok("500100732259")
    assert not inn_ok("7707083894") and not profiles.is_valid_inn("7707083894")
    assert not profiles.is_valid_inn("0000000000") and not inn_ok("0000000000")
    assert not profiles.is_valid_inn("77070838ab") and not profiles.is_valid_inn(None)
    for stem in ("123456789", "500100732", "000000001", "999999999"):
        assert inn_ok(profiles.inn10(stem))
    for stem in ("1234567890", "7725308814", "0000000001"):
        assert inn_ok(profiles.inn12(stem))
    assert profiles.is_valid_kpp("7705AB001") and not profiles.is_valid_kpp("770501001\n")
    assert not profiles.is_valid_kpp("77050100") and not profiles.is_valid_kpp(None)
    with pytest.raises(ValueError):
        profiles.inn10("12345")


def test_document_total_rounds_per_row() -> None:
    on_top = DealRow("p", Decimal("33.27"), Decimal("1"), Decimal("20"), False)
    assert profiles.row_amounts(on_top) == (Decimal("33.27"), Decimal("6.65"), Decimal("39.92"))
    included = DealRow("p", Decimal("10.005"), Decimal("3"), Decimal("22"), True)  # 30.015 → 30.02
    assert profiles.row_amounts(included) == (Decimal("30.02"), Decimal("5.41"), Decimal("30.02"))
    untaxed = DealRow("p", Decimal("45000.00"), Decimal("1"), None, True)
    assert profiles.row_amounts(untaxed) == (Decimal("45000.00"), Decimal("0"), Decimal("45000.00"))
    totals = profiles.document_total([on_top, included, untaxed])
    assert totals == (Decimal("45063.29"), Decimal("12.06"), Decimal("45069.94"))
    assert profiles.document_total([]) == (0, 0, 0)


def test_vat_rate_is_effective_dated() -> None:
    assert profiles.vat_rate("Общая", dt.date(2025, 12, 31)) == 20
    assert profiles.vat_rate("Общая", dt.date(2026, 1, 1)) == 22
    assert profiles.vat_rate("Пониженная", dt.date(2026, 6, 1)) == 10
    assert profiles.vat_rate("Нулевая", dt.date(2026, 6, 1)) == 0
    assert profiles.vat_rate("БезНДС", dt.date(2026, 6, 1)) is None


def test_organisation_requisites() -> None:
    org = profiles.organisation()
    assert org.name.startswith("ООО ") and len(org.inn) == 10 and inn_ok(org.inn) and kpp_ok(org.kpp)
    assert len(org.ogrn) == 13 and int(org.ogrn[:12]) % 11 % 10 == int(org.ogrn[12])
    assert re.fullmatch(r"\d{9}", org.bank_bik) and account_ok(org.bank_bik, org.bank_account)
    assert org.bank_account.startswith("40702810")
    assert len(org.prefix) == 2


# ------------------------------------------------------------------ empty


def test_empty_profile() -> None:
    data = profiles.empty()
    assert data.profile == "empty" and data.prohibition_date is None
    assert not (data.companies or data.products or data.deals or data.documents or data.payments)
    dates = {(r.date.year, r.date.month) for r in data.rates}
    assert {(2025, 12)} | {(2026, m) for m in range(1, 12)} <= dates
    assert {r.currency for r in data.rates} == {"USD", "EUR"}
    assert all(Decimal(50) < r.rate < Decimal(120) and r.multiplier == 1 for r in data.rates)


# ------------------------------------------------------------------ demo: counterparties


def test_demo_requisites_valid_except_the_deliberately_bad(demo: Dataset) -> None:
    invalid = {c.key for c in demo.companies if not requisites_ok(c)}
    assert invalid == BAD_REQUISITES
    assert all(profiles.is_valid_inn(c.inn) == inn_ok(c.inn) for c in demo.companies)


def test_demo_okpo(demo: Dataset) -> None:
    def okpo_ok(code: str) -> bool:
        digits = [int(c) for c in code]
        for first in (1, 3):
            rest = sum((first + i) * x for i, x in enumerate(digits[:-1])) % 11
            if rest < 10:
                return rest == digits[-1]
        return digits[-1] == 0

    codes = [c.okpo for c in demo.companies if c.okpo]
    assert len(codes) >= 10 and all(len(code) == 8 and okpo_ok(code) for code in codes)
    assert okpo_ok("00032537") and not okpo_ok("00032538")


def test_demo_keys_unique(demo: Dataset) -> None:
    for items in (demo.companies, demo.products, demo.deals, demo.documents, demo.payments):
        keys = [item.key for item in items]
        assert len(keys) == len(set(keys))
    assert len({(d.kind, d.date.year, d.number) for d in demo.documents}) == len(demo.documents)
    assert len({(p.date.year, p.number) for p in demo.payments}) == len(demo.payments)
    valid = [c for c in demo.companies if c.key not in BAD_REQUISITES]
    assert len({(c.inn, c.kpp) for c in valid}) == len(valid)


def test_demo_counterparty_mix(demo: Dataset) -> None:
    companies = demo.companies
    assert 22 <= len(companies) <= 35
    where = Counter((c.in_crm, c.in_onec) for c in companies)
    assert where[True, True] > len(companies) / 2 and where[True, False] >= 3 and where[False, True] >= 3
    assert not where[False, False]
    kinds = Counter(c.kind for c in companies)
    assert kinds["legal"] >= 10 and kinds["ip"] >= 3 and kinds["person"] >= 1 and kinds["branch"] >= 2
    assert sum(1 for c in companies if c.crm_name and c.crm_name != c.name and c.in_crm and c.in_onec) >= 3
    assert {c.name.split()[0] for c in companies if c.kind == "legal"} >= {"ООО", "АО", "ПАО"}


def test_demo_branches(demo: Dataset) -> None:
    by_key = {c.key: c for c in demo.companies}
    branches = [c for c in demo.companies if c.kind == "branch"]
    assert {(b.in_crm, b.in_onec) for b in branches} >= {(True, True), (False, True), (True, False)}
    for branch in branches:
        head = by_key[branch.head_key]
        assert head.kind == "legal" and head.inn == branch.inn and head.kpp != branch.kpp
        assert branch.kpp[4:6] == "43"
    assert all(c.head_key is None for c in demo.companies if c.kind != "branch")


def test_demo_bad_records(demo: Dataset) -> None:
    by_key = {c.key: c for c in demo.companies}
    bad = {c.key for c in demo.companies if (c.note or "").startswith("bad:")}
    assert bad == {"bad-inn", "no-kpp", "injection", "emoji", "long-name", "progress-bad-inn"}
    assert all(by_key[k].in_crm and not by_key[k].in_onec for k in bad - {"progress-bad-inn"})
    assert not by_key["progress-bad-inn"].in_crm and by_key["progress-bad-inn"].in_onec
    assert by_key["bad-inn"].inn == "7707083894"
    assert by_key["no-kpp"].kind == "legal" and by_key["no-kpp"].kpp is None
    assert by_key["injection"].name == "ООО \"Кавычки\" ' or 1 eq 1 or '"
    assert any(ord(ch) > 0xFFFF for ch in by_key["emoji"].name)
    assert len(by_key["long-name"].name) == 600


# ------------------------------------------------------------------ demo: products and deals


def test_demo_products(demo: Dataset) -> None:
    products = demo.products
    assert 10 <= len(products) <= 20
    assert {"796", "166", "006", "112", "356", "642"} <= {p.okei for p in products}
    kinds = Counter(p.vat_kind for p in products)
    assert kinds["Общая"] > len(products) / 2 and kinds["Пониженная"] >= 1 and kinds["БезНДС"] >= 1
    assert any(p.is_service for p in products) and any(not p.is_service for p in products)
    assert all(p.price.as_tuple().exponent == -2 and p.price > 0 for p in products)
    assert len({p.article for p in products}) == len(products)


def test_demo_deals_cover_every_stage_and_reference_crm_records(demo: Dataset) -> None:
    companies = {c.key: c for c in demo.companies}
    products = {p.key: p for p in demo.products}
    assert {d.stage_id for d in demo.deals} == set(profiles.STAGES)
    assert 18 <= len(demo.deals) <= 30
    for deal in demo.deals:
        assert companies[deal.company_key].in_crm and deal.rows
        assert all(products[r.product_key].in_crm for r in deal.rows)
        assert len({r.tax_included for r in deal.rows}) == 1
    assert {d.begindate.year for d in demo.deals} == {2025, 2026}
    assert [d.currency for d in demo.deals].count("USD") == 1


def test_demo_row_vat_and_discounts(demo: Dataset) -> None:
    products = {p.key: p for p in demo.products}
    rows = [(deal, row) for deal in demo.deals for row in deal.rows]
    assert {row.tax_included for _, row in rows} == {True, False}
    assert any(row.tax_rate == 10 for _, row in rows) and any(row.tax_rate is None for _, row in rows)
    for deal, row in rows:
        assert row.tax_rate == profiles.vat_rate(products[row.product_key].vat_kind, deal.begindate)
        base = row.price + row.discount_sum
        cent = Decimal("0.01")
        if row.discount_type_id == 2 and row.discount_rate:
            assert row.discount_sum == (base * row.discount_rate / 100).quantize(cent, ROUND_HALF_UP)
        if row.discount_type_id == 1:
            assert row.discount_rate == (row.discount_sum / base * 100).quantize(cent, ROUND_HALF_UP)
    assert any(r.discount_type_id == 2 and r.discount_sum for _, r in rows)
    assert any(r.discount_type_id == 1 and r.discount_sum for _, r in rows)


def test_demo_vat_rounding_case(demo: Dataset) -> None:
    deal = next(d for d in demo.deals if [r.price for r in d.rows] == [Decimal("33.27")] * 3)
    assert deal.begindate.year == 2025 and all(r.tax_rate == 20 and r.tax_included for r in deal.rows)
    totals = profiles.document_total(deal.rows)
    assert totals.vat == Decimal("16.65")
    assert vat_on(totals.total, Decimal(20), True) == Decimal("16.64")
    assert sum(vat_on(r.price * r.quantity, r.tax_rate, True) for r in deal.rows) == totals.vat


# ------------------------------------------------------------------ demo: 1C documents and payments


def test_demo_documents(demo: Dataset) -> None:
    companies = {c.key: c for c in demo.companies}
    deals = {d.key: d for d in demo.deals}
    for doc in demo.documents:
        assert companies[doc.company_key].in_onec and requisites_ok(companies[doc.company_key])
        assert re.fullmatch(r"ВП00-\d{6}", doc.number)
        if doc.deal_key:
            deal = deals[doc.deal_key]
            assert deal.stage_id in ("PREPAYMENT_INVOICE", "EXECUTING", "FINAL_INVOICE", "WON")
            assert doc.company_key == deal.company_key and doc.rows == deal.rows
            assert doc.currency == deal.currency and doc.date >= deal.begindate
    docs_of = defaultdict(set)
    for doc in demo.documents:
        docs_of[doc.deal_key].add(doc.kind)
    won = [d.key for d in demo.deals if d.stage_id == "WON"]
    assert sum(1 for k in won if docs_of[k] == {"invoice", "sale"}) >= 3
    assert any(docs_of[k] == {"invoice"} for k in won)  # a WON deal whose sale 1C does not have yet
    assert any(docs_of[d.key] for d in demo.deals if d.stage_id == "FINAL_INVOICE")
    assert {True, False} == {doc.posted for doc in demo.documents}
    assert any(doc.deal_key is None for doc in demo.documents)
    assert any(doc.currency == "USD" for doc in demo.documents)


def test_demo_closed_period(demo: Dataset) -> None:
    closed = demo.prohibition_date
    assert closed == dt.date(2026, 3, 31)
    old = [doc for doc in demo.documents if doc.date <= closed]
    assert {doc.date.year for doc in old} == {2025, 2026}
    assert any(doc.date.year == 2026 and doc.date.month <= 3 for doc in old)
    assert any(doc.kind == "sale" and doc.posted for doc in old)
    assert len(old) < len(demo.documents)


def test_demo_payments_are_consistent(demo: Dataset) -> None:
    docs = {doc.key: doc for doc in demo.documents}
    allocated: dict[str, Decimal] = defaultdict(Decimal)
    for pay in demo.payments:
        assert pay.allocations and pay.amount > 0 and pay.amount.as_tuple().exponent == -2
        assert sum(a.amount for a in pay.allocations) <= pay.amount
        for alloc in pay.allocations:
            doc = docs[alloc.document_key]
            assert doc.company_key == pay.company_key and doc.date <= pay.date and doc.currency == "RUB"
            allocated[alloc.document_key] += alloc.amount
        assert re.fullmatch(r"ВП00-\d{6}", pay.number) and pay.purpose
    for key, amount in allocated.items():
        assert amount <= profiles.document_total(docs[key].rows).total


def test_demo_payment_cases(demo: Dataset) -> None:
    docs = {doc.key: doc for doc in demo.documents}
    by_note = defaultdict(list)
    for pay in demo.payments:
        by_note[pay.note].append(pay)
    assert set(by_note) == {"full", "partial", "advance", "overpayment", "two invoices"}

    def total(key: str) -> Decimal:
        return profiles.document_total(docs[key].rows).total

    full = next(p for p in by_note["full"] if p.key == "pay-full")
    assert [(a.document_key, a.amount) for a in full.allocations] == [("inv-14", total("inv-14"))]
    assert full.amount == total("inv-14")
    (partial,) = by_note["partial"]
    assert partial.amount == partial.allocations[0].amount < total(partial.allocations[0].document_key)
    (advance,) = by_note["advance"]
    invoice = docs[advance.allocations[0].document_key]
    assert all(docs[a.document_key].kind == "invoice" for a in advance.allocations)
    assert not any(
        d.kind == "sale" and d.deal_key == invoice.deal_key and d.date <= advance.date for d in demo.documents
    )
    (over,) = by_note["overpayment"]
    assert over.amount > sum(a.amount for a in over.allocations)
    (two,) = by_note["two invoices"]
    assert len(two.allocations) == 2 and {docs[a.document_key].kind for a in two.allocations} == {"invoice"}
    assert two.amount == sum(total(a.document_key) for a in two.allocations)
    assert any(p.date <= demo.prohibition_date for p in demo.payments)


def test_demo_rates_cover_the_usd_deal(demo: Dataset) -> None:
    usd_docs = [doc for doc in demo.documents if doc.currency == "USD"]
    deal = next(d for d in demo.deals if d.currency == "USD")
    for on in [deal.begindate] + [doc.date for doc in usd_docs]:
        for currency in ("USD", "EUR"):
            assert any(
                r.currency == currency and on - dt.timedelta(days=3) <= r.date <= on for r in demo.rates
            )
    assert len({(r.currency, r.date) for r in demo.rates}) == len(demo.rates)


# ------------------------------------------------------------------ scale


def check_scale(data: Dataset, n: int) -> None:
    assert (len(data.companies), len(data.products), len(data.deals)) == (n, n, n)
    companies = {c.key: c for c in data.companies}
    products = {p.key: p for p in data.products}
    assert len(companies) == n and len(products) == n and len({d.key for d in data.deals}) == n
    assert all(requisites_ok(c) for c in data.companies)
    assert len({(c.inn, c.kpp) for c in data.companies}) == n
    kinds = Counter(c.kind for c in data.companies)
    assert kinds["legal"] == pytest.approx(0.7 * n, rel=0.05)
    assert kinds["ip"] == pytest.approx(0.2 * n, rel=0.05)
    assert kinds["branch"] == pytest.approx(0.1 * n, rel=0.1)
    where = Counter((c.in_crm, c.in_onec) for c in data.companies)
    assert where[True, True] == pytest.approx(0.6 * n, rel=0.05)
    assert where[True, False] == pytest.approx(0.2 * n, rel=0.1)
    assert where[False, True] == pytest.approx(0.2 * n, rel=0.1)
    for c in data.companies:
        if c.kind == "branch":
            head = companies[c.head_key]
            assert head.kind == "legal" and head.inn == c.inn and head.kpp != c.kpp
    assert {d.stage_id for d in data.deals} == set(profiles.STAGES)
    for deal in data.deals:
        assert 1 <= len(deal.rows) <= 3 and companies[deal.company_key].in_crm
        for row in deal.rows:
            product = products[row.product_key]
            assert product.in_crm and row.tax_rate == profiles.vat_rate(product.vat_kind, deal.begindate)
    docs = {d.key: d for d in data.documents}
    assert len(docs) == len(data.documents)
    for doc in data.documents:
        assert companies[doc.company_key].in_onec
    for pay in data.payments:
        assert sum(a.amount for a in pay.allocations) <= pay.amount
        assert all(docs[a.document_key].company_key == pay.company_key for a in pay.allocations)


def test_scale_small_is_valid() -> None:
    data = profiles.scale(2000)
    check_scale(data, 2000)
    assert data.documents and data.payments and data.prohibition_date is None
    assert profiles.scale(0).companies == []


def test_scale_100k_builds_quickly() -> None:
    started = time.perf_counter()
    data = profiles.scale(100_000)
    elapsed = time.perf_counter() - started
    print(f"scale(100000): {elapsed:.2f} s, {len(data.documents)} documents, {len(data.payments)} payments")
    assert (len(data.companies), len(data.products), len(data.deals)) == (100_000, 100_000, 100_000)


# ------------------------------------------------------------------ determinism and the build() entry point


def test_profiles_are_deterministic() -> None:
    assert profiles.empty() == profiles.empty()
    assert profiles.demo() == profiles.demo()
    assert profiles.scale(3000) == profiles.scale(3000)


@pytest.mark.parametrize("name", ["empty", "demo", "scale"])
def test_build_dispatches_to_the_profiles(name: str) -> None:
    data = dataset.build(name, size=50)
    assert data.profile == name and data.organisation == profiles.organisation()
    if name == "scale":
        assert len(data.companies) == 50
