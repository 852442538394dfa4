"""Payments 1C → CRM deals (``sync_payments``) by the engine, against the contour (HTTPS).

The 1C documents are made here as ``sync_invoices`` will make them: invoices and sales with
``crm1c:deal:<ID>`` in ``Комментарий``, and bank receipts (customer payments) with or without a breakdown.
What 1C holds decides the four deal user fields; nothing is written to 1C; a second run writes nothing; a
crash or a lost answer never counts a payment twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from crm1c.clients.odata_filter import F
from crm1c.domain.deal_payment import DealPayment, Documents, content_hash, deal_payments, deals_named
from crm1c.staging import Staging
from crm1c.sync.entities import entity
from crm1c.sync.payments import onec_reader
from crm1c.sync.payments.records import DOC_KEY, KEY, SET, deal_seen, onec_id
from crm1c.sync.runtime import KILL_POINTS
from tests.contour_harness import RunningContour
from tests.sync.harness import Killed, clients, contour_admin, crash_at, pending_intents_total, run_sync

REF = entity("payments")
STEPS = ("extract_onec", "extract_crm", "plan", "load_crm", "publish")
FIELDS = {
    "document": "UF_CRM_1C_DOCUMENT",
    "pay_status": "UF_CRM_1C_PAY_STATUS",
    "paid_sum": "UF_CRM_1C_PAID_SUM",
    "paid_date": "UF_CRM_1C_PAID_DATE",
}
RECEIPTS = "Document_ПоступлениеНаРасчетныйСчет"
INVOICES = "Document_СчетНаОплатуПокупателю"
SALES = "Document_РеализацияТоваровУслуг"
COUNTERPARTIES = "Catalog_Контрагенты"


def sync(staging: Staging, crm: Any, onec: Any, **kw: Any) -> dict[str, Any]:
    return run_sync(staging, crm, onec, ref=REF, steps=STEPS, **kw)


@dataclass
class Books:
    """What people and ``sync_invoices`` do in both systems, as the tests need it."""

    crm: Any
    onec: Any
    inns: int = 0

    def counterparty(self, name: str = "ООО Покупатель") -> str:
        self.inns += 1
        inn = f"77{self.inns:08d}"
        row = self.onec.create(COUNTERPARTIES, {"Description": name, "ИНН": inn, "КПП": "770101001"})
        return str(row["Ref_Key"])

    def deal(self, title: str = "Сделка", amount: int = 0, currency: str = "RUB") -> str:
        fields = {"TITLE": title, "CURRENCY_ID": currency, "OPPORTUNITY": amount}
        return str(self.crm.call("crm.deal.add", {"fields": fields}, write=True)["result"])

    def document(self, entity_set: str, party: str, deal: str, amount: str, on: str, **extra: Any) -> dict:
        # one row, VAT included: 1C makes the document's total from its rows
        row = {"LineNumber": 1, "Количество": 1, "Цена": Decimal(amount), "Сумма": Decimal(amount)}
        body = {
            "Date": f"{on}T10:00:00",
            "Контрагент_Key": party,
            "СуммаВключаетНДС": True,
            "Товары": [row],
            "Комментарий": f"crm1c:deal:{deal}",
            **({"ВидОперации": "Товары"} if entity_set == SALES else {}),
            **extra,
        }
        made = self.onec.create(entity_set, body)
        assert Decimal(str(made["СуммаДокумента"])) == Decimal(amount)
        return made

    def invoice(self, party: str, deal: str, amount: str, on: str = "2026-11-02", **extra: Any) -> dict:
        return self.document(INVOICES, party, deal, amount, on, **extra)

    def sale(self, party: str, deal: str, amount: str, on: str = "2026-11-20") -> dict:
        row = self.document(SALES, party, deal, amount, on)
        self.onec.post_document(SALES, row["Ref_Key"])
        return row

    def receipt(
        self,
        party: str,
        amount: str,
        on: str = "2026-11-10",
        lines: list[tuple[str, str | None]] | None = None,
        post: bool = True,
        rows: list[dict[str, Any]] | None = None,
    ) -> str:
        """A customer payment; ``lines`` = [(amount, invoice Ref_Key or None)], or ``rows``: the breakdown's
        rows as given; none given: one row naming no invoice (1C posts a receipt only when its breakdown adds
        up to it)."""
        body: dict[str, Any] = {
            "Date": f"{on}T12:00:00",
            "ВидОперации": "ОплатаПокупателя",
            "Контрагент": party,
            "Контрагент_Type": "StandardODATA.Catalog_Контрагенты",
            "СуммаДокумента": Decimal(amount),
        }
        lines = lines or [(amount, None)]
        rows = rows or [
            {"СуммаПлатежа": Decimal(a), **({"СчетНаОплату_Key": i} if i else {})} for a, i in lines
        ]
        body["РасшифровкаПлатежа"] = [{"LineNumber": n, **row} for n, row in enumerate(rows, 1)]
        ref = str(self.onec.create(RECEIPTS, body)["Ref_Key"])
        if post:
            self.onec.post_document(RECEIPTS, ref)
        return ref


def deal_fields(crm: Any, deal: str) -> dict[str, Any]:
    """The deal's four fields as the portal prints them (None: empty or not defined)."""
    row = crm.call("crm.deal.get", {"id": deal})["result"]
    values = {k: row.get(name) for k, name in FIELDS.items()}
    paid = values["paid_sum"]
    return {
        "document": values["document"] or None,
        "pay_status": values["pay_status"] or None,
        "paid_sum": None if paid in (None, "") else Decimal(str(paid)).quantize(Decimal("0.01")),
        "paid_date": str(values["paid_date"])[:10] if values["paid_date"] else None,
    }


def onec_requests(contour: RunningContour) -> list[dict]:
    return contour_admin(contour, "onec", "requests?limit=100000")["requests"]


def onec_writes(contour: RunningContour) -> int:
    return sum(r["method"] not in ("GET", "HEAD") for r in onec_requests(contour))


def crm_writes(contour: RunningContour) -> dict[str, int]:
    """Calls of every CRM method that writes (batch sub-calls counted one by one)."""
    stats = contour_admin(contour, "bitrix", "stats")["methods"]
    return {m: n["calls"] for m, n in stats.items() if not m.endswith((".list", ".get")) and m != "batch"}


def label(kind: str, row: dict) -> str:
    on = date.fromisoformat(row["Date"][:10])
    return f"{kind} {row['Number']} от {on:%d.%m.%Y}"


def expect(status: str, paid: str, on: str | None, document: str) -> dict[str, Any]:
    return {"document": document, "pay_status": status, "paid_sum": Decimal(paid), "paid_date": on}


# ----------------------------------------------------------------------------------------------- tests


def test_full_partial_overpaid_and_unpaid_deals_and_a_second_run_writes_nothing(
    empty_contour: RunningContour, staging: Staging
):
    crm, onec = clients(empty_contour)
    books = Books(crm, onec)
    party, other = books.counterparty(), books.counterparty("ООО Другой")
    full, partial, over, unpaid = (books.deal(t) for t in ("Полная", "Частичная", "Переплата", "Без оплаты"))
    inv_full = books.invoice(party, full, "1000.00", "2026-11-01")
    inv_partial = books.invoice(party, partial, "500.00", "2026-11-02")
    inv_over = books.invoice(other, over, "300.00", "2026-11-03")
    inv_unpaid = books.invoice(other, unpaid, "100.00", "2026-11-04")
    books.receipt(party, "1000.00", "2026-11-05", [("1000.00", inv_full["Ref_Key"])])
    books.receipt(party, "200.00", "2026-11-06", [("200.00", inv_partial["Ref_Key"])])
    books.receipt(other, "350.00", "2026-11-07", [("350.00", inv_over["Ref_Key"])])
    before_1c = onec_writes(empty_contour)

    summary = sync(staging, crm, onec)

    assert summary["crm_fields_created"] == 4
    assert deal_fields(crm, full) == expect("paid", "1000.00", "2026-11-05", label("Счет", inv_full))
    assert deal_fields(crm, partial) == expect(
        "partially_paid", "200.00", "2026-11-06", label("Счет", inv_partial)
    )
    assert deal_fields(crm, over) == expect("overpaid", "350.00", "2026-11-07", label("Счет", inv_over))
    assert deal_fields(crm, unpaid) == expect("unpaid", "0.00", None, label("Счет", inv_unpaid))
    assert onec_writes(empty_contour) == before_1c, "payments never write 1C"
    assert pending_intents_total(staging) == 0
    assert not staging.open_quarantine("payment")

    writes, seen = crm_writes(empty_contour), len(onec_requests(empty_contour))
    for mode in ("incremental", "full"):
        again = sync(staging, crm, onec, mode=mode)
        assert crm_writes(empty_contour) == writes, f"a {mode} run after convergence wrote something"
        assert again["crm_update"] == 0
        if mode == "incremental":
            asked = len(onec_requests(empty_contour)) - seen
            assert asked <= 5, f"a run where nothing changed asked 1C {asked} times"
    assert deal_fields(crm, full)["pay_status"] == "paid"


def test_a_batch_request_writes_49_deals_and_reads_them_back_at_once(
    empty_contour: RunningContour, sqlite_staging: Staging
):
    crm, onec = clients(empty_contour)
    books = Books(crm, onec)
    party = books.counterparty()
    deals = [books.deal() for _ in range(100)]
    for deal in deals:
        books.invoice(party, deal, "100.00")
    stats: dict[str, dict] = {}

    def take_stats(step: str) -> None:
        stats[step] = contour_admin(empty_contour, "bitrix", "stats")

    summary = sync(sqlite_staging, crm, onec, before_step=take_stats)

    before, after = stats["load_crm"], stats["publish"]
    calls = {
        m: n["calls"] - before["methods"].get(m, {"calls": 0})["calls"] for m, n in after["methods"].items()
    }
    assert summary["crm_update"] == 100
    assert after["requests"] - before["requests"] == 3, "49 deals a batch request, not 25"
    assert {m: n for m, n in calls.items() if n} == {"crm.deal.update": 100, "crm.deal.list": 3}
    assert {deal_fields(crm, d)["pay_status"] for d in deals} == {"unpaid"}


def test_an_advance_stays_paid_when_the_sale_comes(empty_contour: RunningContour, sqlite_staging: Staging):
    crm, onec = clients(empty_contour)
    books = Books(crm, onec)
    party, deal = books.counterparty(), books.deal()
    invoice = books.invoice(party, deal, "1200.00", "2026-11-02")
    books.receipt(party, "1200.00", "2026-11-03", [("1200.00", invoice["Ref_Key"])])
    sync(sqlite_staging, crm, onec)
    assert deal_fields(crm, deal) == expect("paid", "1200.00", "2026-11-03", label("Счет", invoice))

    sale = books.sale(party, deal, "1200.00", "2026-11-20")
    sync(sqlite_staging, crm, onec)

    both = f"{label('Счет', invoice)}; {label('Реализация', sale)}"
    assert deal_fields(crm, deal) == expect("paid", "1200.00", "2026-11-03", both)


def test_a_deal_with_a_sale_only_is_paid_against_it(empty_contour: RunningContour, sqlite_staging: Staging):
    crm, onec = clients(empty_contour)
    books = Books(crm, onec)
    party, deal = books.counterparty(), books.deal()
    sale = books.sale(party, deal, "700.00", "2026-11-20")
    books.receipt(party, "300.00", "2026-11-25")

    sync(sqlite_staging, crm, onec)

    assert deal_fields(crm, deal) == expect(
        "partially_paid", "300.00", "2026-11-25", label("Реализация", sale)
    )


def test_one_payment_for_two_invoices_is_split_by_its_breakdown(
    empty_contour: RunningContour, sqlite_staging: Staging
):
    crm, onec = clients(empty_contour)
    books = Books(crm, onec)
    party, first, second = books.counterparty(), books.deal(), books.deal()
    a = books.invoice(party, first, "1000.00", "2026-11-01")
    b = books.invoice(party, second, "800.00", "2026-11-02")
    books.receipt(party, "1500.00", "2026-11-09", [("1000.00", a["Ref_Key"]), ("500.00", b["Ref_Key"])])

    sync(sqlite_staging, crm, onec)

    assert deal_fields(crm, first) == expect("paid", "1000.00", "2026-11-09", label("Счет", a))
    assert deal_fields(crm, second) == expect("partially_paid", "500.00", "2026-11-09", label("Счет", b))


def test_a_receipt_without_a_breakdown_pays_the_oldest_unpaid_invoice_first(
    empty_contour: RunningContour, sqlite_staging: Staging
):
    crm, onec = clients(empty_contour)
    books = Books(crm, onec)
    elsewhere = books.counterparty("ООО Посторонний")
    books.invoice(elsewhere, books.deal(), "50.00")  # another counterparty's deal: not recomputed later
    party, older, newer = books.counterparty(), books.deal(), books.deal()
    new = books.invoice(party, newer, "600.00", "2026-11-05")
    old = books.invoice(party, older, "400.00", "2026-11-01")
    books.receipt(party, "500.00", "2026-11-10")

    sync(sqlite_staging, crm, onec)

    assert deal_fields(crm, older) == expect("paid", "400.00", "2026-11-10", label("Счет", old))
    assert deal_fields(crm, newer) == expect("partially_paid", "100.00", "2026-11-10", label("Счет", new))

    books.receipt(party, "500.00", "2026-11-12")  # the rest arrives: only this counterparty is recomputed
    summary = sync(sqlite_staging, crm, onec)

    assert summary["crm_update"] == 1
    assert summary["onec_recomputed"] == 2, "only the deals of the receipt's counterparty are recomputed"
    assert deal_fields(crm, newer) == expect("paid", "600.00", "2026-11-12", label("Счет", new))


def test_a_usd_invoice_paid_in_rubles_is_paid_in_dollars(
    empty_contour: RunningContour, sqlite_staging: Staging
):
    """A USD deal's invoice paid from a ruble account: the breakdown as 1C fills it (``СуммаПлатежа`` in
    rubles, ``СуммаВзаиморасчетов`` in the contract's dollars at ``КурсВзаиморасчетов``) pays 100 USD, not
    9 000 (which would make it overpaid)."""
    crm, onec = clients(empty_contour)
    books = Books(crm, onec)
    [usd] = onec.list_all("Catalog_Валюты", ["Ref_Key"], F("Code") == "840")
    party, deal = books.counterparty(), books.deal("Долларовая", 100, "USD")
    rate = {"КурсВзаиморасчетов": Decimal("90.0000"), "КратностьВзаиморасчетов": 1}
    invoice = books.invoice(party, deal, "100.00", ВалютаДокумента_Key=usd["Ref_Key"], **rate)
    paid = {"СуммаПлатежа": Decimal("9000.00"), **rate, "СуммаВзаиморасчетов": Decimal("100.00")}
    books.receipt(party, "9000.00", "2026-11-10", rows=[{**paid, "СчетНаОплату_Key": invoice["Ref_Key"]}])

    sync(sqlite_staging, crm, onec)

    assert deal_fields(crm, deal) == expect("paid", "100.00", "2026-11-10", label("Счет", invoice))


def test_unposted_and_deletion_marked_receipts_do_not_count(
    empty_contour: RunningContour, sqlite_staging: Staging
):
    crm, onec = clients(empty_contour)
    books = Books(crm, onec)
    party, deal = books.counterparty(), books.deal()
    invoice = books.invoice(party, deal, "900.00")
    draft = books.receipt(party, "100.00", "2026-11-10", [("100.00", invoice["Ref_Key"])], post=False)
    marked = books.receipt(party, "200.00", "2026-11-11", [("200.00", invoice["Ref_Key"])])
    row = onec.get(RECEIPTS, marked, select=["DataVersion"])
    onec.mark_deleted(RECEIPTS, marked, row["DataVersion"])

    summary = sync(sqlite_staging, crm, onec)

    assert summary["receipts_not_counted"] == 2
    assert deal_fields(crm, deal) == expect("unpaid", "0.00", None, label("Счет", invoice))

    onec.post_document(RECEIPTS, draft)  # the accountant posts the draft: now it counts
    sync(sqlite_staging, crm, onec)
    assert deal_fields(crm, deal) == expect("partially_paid", "100.00", "2026-11-10", label("Счет", invoice))


def test_a_deletion_marked_invoice_clears_the_deal(empty_contour: RunningContour, sqlite_staging: Staging):
    crm, onec = clients(empty_contour)
    books = Books(crm, onec)
    party, deal = books.counterparty(), books.deal()
    invoice = books.invoice(party, deal, "900.00")
    books.receipt(party, "900.00", "2026-11-10", [("900.00", invoice["Ref_Key"])])
    sync(sqlite_staging, crm, onec)
    assert deal_fields(crm, deal)["pay_status"] == "paid"

    version = onec.get(INVOICES, invoice["Ref_Key"], select=["DataVersion"])["DataVersion"]
    onec.mark_deleted(INVOICES, invoice["Ref_Key"], version)
    sync(sqlite_staging, crm, onec)

    assert deal_fields(crm, deal) == dict.fromkeys(FIELDS)


def test_a_fully_paid_smart_invoice_moves_to_its_success_stage(
    empty_contour: RunningContour, sqlite_staging: Staging
):
    crm, onec = clients(empty_contour)
    books = Books(crm, onec)
    [category] = crm.call("crm.category.list", {"entityTypeId": 31})["result"]["categories"]
    flt = {"ENTITY_ID": f"SMART_INVOICE_STAGE_{category['id']}"}
    [success] = [
        s["STATUS_ID"]
        for s in crm.call("crm.status.list", {"filter": flt})["result"]
        if s["SEMANTICS"] == "S"
    ]

    def smart_invoice() -> dict:
        return crm.call("crm.item.add", {"entityTypeId": 31, "fields": {"title": "Счёт"}}, write=True)[
            "result"
        ]["item"]

    def stage(item: dict) -> str:
        return crm.call("crm.item.get", {"entityTypeId": 31, "id": item["id"]})["result"]["item"]["stageId"]

    paid, partly = smart_invoice(), smart_invoice()
    party = books.counterparty()
    for item, total, amount in ((paid, "300.00", "300.00"), (partly, "700.00", "500.00")):
        tag = f"crm1c:invoice:{item['id']}"  # as sync_invoices tags a smart invoice's 1C invoice
        made = books.invoice(party, "", total, Комментарий=tag)
        books.receipt(party, amount, "2026-11-10", [(amount, made["Ref_Key"])])

    summary = sync(sqlite_staging, crm, onec)

    assert stage(paid) == success
    assert stage(partly) == partly["stageId"] != success
    assert summary["crm_update"] == 1
    writes = crm_writes(empty_contour)
    sync(sqlite_staging, crm, onec)
    assert crm_writes(empty_contour) == writes


def test_a_pilot_writes_only_the_payments_of_its_deals(
    empty_contour: RunningContour, sqlite_staging: Staging
):
    from crm1c.rollout import pilot_predicate
    from crm1c.sync.invoices.pilot import DocumentPilot

    crm, onec = clients(empty_contour)
    books = Books(crm, onec)
    company = str(crm.call("crm.company.add", {"fields": {"TITLE": "Пилот"}}, write=True)["result"])
    inside, inside_paid = _one_paid_deal(books)
    crm.call("crm.deal.update", {"id": inside, "fields": {"COMPANY_ID": company}}, write=True)
    outside, outside_paid = _one_paid_deal(books)
    pilot = pilot_predicate(DocumentPilot(), {"companies": [company]})

    sync(sqlite_staging, crm, onec, pilot=pilot)

    assert deal_fields(crm, inside) == inside_paid
    assert deal_fields(crm, outside)["pay_status"] is None
    sync(sqlite_staging, crm, onec)  # the pilot is over: the rest goes too
    assert deal_fields(crm, outside) == outside_paid


def _one_paid_deal(books: Books) -> tuple[str, dict]:
    party, deal = books.counterparty(), books.deal()
    invoice = books.invoice(party, deal, "1000.00")
    books.receipt(party, "400.00", "2026-11-10", [("400.00", invoice["Ref_Key"])])
    books.receipt(party, "600.00", "2026-11-11", [("600.00", invoice["Ref_Key"])])
    return deal, expect("paid", "1000.00", "2026-11-11", label("Счет", invoice))


def test_a_missing_user_field_is_created_at_the_start(empty_contour: RunningContour, sqlite_staging: Staging):
    crm, onec = clients(empty_contour)
    books = Books(crm, onec)
    deal, paid = _one_paid_deal(books)
    sync(sqlite_staging, crm, onec)
    [field] = crm.call("crm.deal.userfield.list", {"filter": {"FIELD_NAME": FIELDS["paid_date"]}})["result"]
    crm.call("crm.deal.userfield.delete", {"id": field["ID"]}, write=True)

    summary = sync(sqlite_staging, crm, onec)

    assert summary["crm_fields_created"] == 1
    assert deal_fields(crm, deal) == paid


def test_a_field_the_portal_ignores_is_caught_by_the_read_back(
    empty_contour: RunningContour, sqlite_staging: Staging
):
    crm, onec = clients(empty_contour)
    books = Books(crm, onec)
    deal, paid = _one_paid_deal(books)

    def drop_the_field(step: str) -> None:  # someone deletes it between the check and the write
        if step == "load_crm":
            flt = {"FIELD_NAME": FIELDS["pay_status"]}
            [field] = crm.call("crm.deal.userfield.list", {"filter": flt})["result"]
            crm.call("crm.deal.userfield.delete", {"id": field["ID"]}, write=True)

    summary = sync(sqlite_staging, crm, onec, before_step=drop_the_field)

    assert summary["quarantined"] == 1
    [held] = sqlite_staging.open_quarantine("payment")
    assert held.external_id == f"deal:{deal}" and FIELDS["pay_status"] in held.reason_ru
    assert pending_intents_total(sqlite_staging) == 0

    summary = sync(sqlite_staging, crm, onec)  # the field is made again at the start, the deal written

    assert summary["crm_fields_created"] == 1
    assert deal_fields(crm, deal) == paid
    assert not sqlite_staging.open_quarantine("payment")


def test_a_crm_edit_of_the_status_is_overwritten_and_reported(
    empty_contour: RunningContour, sqlite_staging: Staging
):
    crm, onec = clients(empty_contour)
    books = Books(crm, onec)
    deal, paid = _one_paid_deal(books)
    sync(sqlite_staging, crm, onec)
    crm.call("crm.deal.update", {"id": deal, "fields": {FIELDS["pay_status"]: "unpaid"}}, write=True)

    summary = sync(sqlite_staging, crm, onec)

    assert summary["conflicts"] == 1
    assert deal_fields(crm, deal) == paid
    [conflict] = sqlite_staging.open_conflicts("payment")
    assert (conflict.field, conflict.crm_value, conflict.onec_value) == ("pay_status", "unpaid", "paid")


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_crash_at_any_kill_point_never_counts_a_payment_twice(
    point: str, empty_contour: RunningContour, staging: Staging
):
    crm, onec = clients(empty_contour)
    books = Books(crm, onec)
    deal, paid = _one_paid_deal(books)
    other, other_paid = _one_paid_deal(books)
    with pytest.raises(Killed):
        sync(staging, crm, onec, kill_hook=crash_at(point))
    for _run in range(2):
        sync(staging, crm, onec)

    assert deal_fields(crm, deal) == paid and deal_fields(crm, other) == other_paid
    assert pending_intents_total(staging) == 0
    assert not staging.open_quarantine("payment")
    writes = crm_writes(empty_contour)
    sync(staging, crm, onec)
    assert crm_writes(empty_contour) == writes


def test_a_lost_answer_never_counts_a_payment_twice(private_contour: RunningContour, staging: Staging):
    crm, onec = clients(private_contour)
    books = Books(crm, onec)
    deal, paid = _one_paid_deal(books)
    sync(staging, crm, onec)  # the fields exist, the deal is paid
    books.receipt(books.counterparty(), "10.00", "2026-11-12")  # unrelated: changes nothing of the deal
    party, second = books.counterparty(), books.deal()
    invoice = books.invoice(party, second, "500.00")
    books.receipt(party, "500.00", "2026-11-13", [("500.00", invoice["Ref_Key"])])

    def lose_the_write(step: str) -> None:  # the write batch is applied, its answer never arrives
        if step == "load_crm":
            private_contour.knobs("bitrix", fault_lost_answer_next=1, fault_lost_answer_on="batch")

    lost = sync(staging, crm, onec, before_step=lose_the_write)

    assert lost["crm_left_pending"] == 1 and lost["crm_update"] == 0
    assert deal_fields(crm, second)["pay_status"] == "paid", "the lost write was made"
    for _run in range(3):
        sync(staging, crm, onec)

    assert deal_fields(crm, second) == expect("paid", "500.00", "2026-11-13", label("Счет", invoice))
    assert deal_fields(crm, deal) == paid
    assert pending_intents_total(staging) == 0
    assert not staging.open_quarantine("payment")
    assert not staging.open_conflicts("payment"), "our own lost write is no CRM edit"


def test_a_dry_run_creates_no_field_and_writes_nothing(
    empty_contour: RunningContour, sqlite_staging: Staging
):
    crm, onec = clients(empty_contour)
    deal, _paid = _one_paid_deal(Books(crm, onec))
    writes = crm_writes(empty_contour)

    summary = sync(sqlite_staging, crm, onec, dry_run=True)

    assert summary["dry_run"] is True
    assert crm.call("crm.deal.userfield.list")["result"] == []
    assert deal_fields(crm, deal) == dict.fromkeys(FIELDS)
    assert crm_writes(empty_contour) == writes


# ------------------------------------------------------------------- incremental reads of the deals
# Run with no overlap, each after the clock passed the second of every write before it: what a run reads is
# then what the DATE_MODIFY (updatedTime) window and the 1C side's changes select, not the overlap.


def quiet_sync(staging: Staging, crm: Any, onec: Any, **kw: Any) -> dict[str, Any]:
    """A run without the cursor's overlap, in a later second than every write so far."""
    import time
    from datetime import timedelta

    time.sleep(1.05 - time.time() % 1)
    return sync(staging, crm, onec, overlap=timedelta(0), **kw)


def billed(books: Books, count: int) -> tuple[str, dict[str, dict]]:
    """A counterparty and ``count`` deals with an unpaid invoice of 100.00 each: deal → its invoice."""
    party, deals = books.counterparty(), [books.deal() for _ in range(count)]
    return party, {deal: books.invoice(party, deal, "100.00") for deal in deals}


class BitrixCalls:
    """What extract_crm asked Bitrix24 in the runs given ``before_step=calls.take``: HTTP requests, and calls
    per method (a batch's sub-calls each under its own)."""

    def __init__(self, contour: RunningContour) -> None:
        self.contour, self.stats, self.requests = contour, {}, 0
        self.calls: dict[str, int] = {}

    def take(self, step: str) -> None:
        if step in ("extract_crm", "plan"):
            self.stats[step] = contour_admin(self.contour, "bitrix", "stats")
        if step == "plan":
            before, after = self.stats["extract_crm"], self.stats["plan"]
            self.requests = after["requests"] - before["requests"]
            old = before["methods"]
            self.calls = {
                m: n["calls"] - old.get(m, {"calls": 0})["calls"]
                for m, n in after["methods"].items()
                if n["calls"] - old.get(m, {"calls": 0})["calls"]
            }


def test_a_no_change_run_lists_the_deals_in_one_request_however_many_there_are(
    empty_contour: RunningContour, sqlite_staging: Staging, monkeypatch: pytest.MonkeyPatch
):
    from crm1c.sync.payments import crm_deals

    monkeypatch.setattr(crm_deals, "LISTS_PER_BATCH", 1)  # 50 deals a request: 120 by ids take 3 requests
    monkeypatch.setattr(crm_deals, "PER_REQUEST", crm_deals.IDS_PER_LIST)
    crm, onec = clients(empty_contour)
    billed(Books(crm, onec), 120)
    assert quiet_sync(sqlite_staging, crm, onec)["crm_update"] == 120
    full, quiet = BitrixCalls(empty_contour), BitrixCalls(empty_contour)

    quiet_sync(sqlite_staging, crm, onec, mode="full", before_step=full.take)
    summary = quiet_sync(sqlite_staging, crm, onec, before_step=quiet.take)

    assert full.calls["crm.deal.list"] == 3 and full.requests == 1 + 3, "the field check, the deals by ids"
    assert quiet.calls == {"crm.deal.userfield.list": 4, "crm.deal.list": 1, "crm.item.list": 1}
    assert quiet.requests - 1 <= 2, "the deals: one listing request (and one for smart invoices)"
    assert summary["crm_update"] == summary["crm_read"] == summary["crm_changed"] == 0


def test_a_payment_field_edited_in_the_crm_is_read_by_the_next_incremental_run_and_overwritten(
    empty_contour: RunningContour, sqlite_staging: Staging
):
    crm, onec = clients(empty_contour)
    books = Books(crm, onec)
    deal, paid = _one_paid_deal(books)
    others = [_one_paid_deal(books) for _ in range(3)]
    quiet_sync(sqlite_staging, crm, onec)
    quiet_sync(sqlite_staging, crm, onec)  # nothing changed: the cursor passes our own writes
    crm.call("crm.deal.update", {"id": deal, "fields": {FIELDS["paid_sum"]: "1.00"}}, write=True)
    calls = BitrixCalls(empty_contour)

    summary = quiet_sync(sqlite_staging, crm, onec, before_step=calls.take)

    assert summary["crm_read"] == 1 and summary["crm_update"] == 1, "that deal alone, listed and written"
    assert calls.requests == 3, "the field check, the deals' and the smart invoices' listings: no read by id"
    assert deal_fields(crm, deal) == paid
    assert all(deal_fields(crm, d) == fields for d, fields in others)
    [conflict] = sqlite_staging.open_conflicts("payment")
    assert (conflict.field, conflict.crm_value) == ("paid_sum", "1.00")
    assert quiet_sync(sqlite_staging, crm, onec)["crm_update"] == 0


def test_a_deal_whose_1c_side_changed_is_read_by_id_and_updated(
    empty_contour: RunningContour, sqlite_staging: Staging
):
    crm, onec = clients(empty_contour)
    books = Books(crm, onec)
    party, invoices = billed(books, 5)
    deals = list(invoices)
    newcomer = books.deal()  # a deal 1C does not know yet
    quiet_sync(sqlite_staging, crm, onec)
    quiet_sync(sqlite_staging, crm, onec)  # the cursor passes every deal's DATE_MODIFY
    paid = deals[2]
    books.receipt(party, "100.00", "2026-11-10", [("100.00", invoices[paid]["Ref_Key"])])
    first = books.invoice(books.counterparty(), newcomer, "300.00")  # 1C gets to know the newcomer
    calls = BitrixCalls(empty_contour)

    summary = quiet_sync(sqlite_staging, crm, onec, before_step=calls.take)

    assert summary["crm_read"] == 2 and summary["crm_update"] == 2
    assert calls.requests == 4, "the field check, the two listings and one read of deals by ids"
    assert deal_fields(crm, paid) == expect("paid", "100.00", "2026-11-10", label("Счет", invoices[paid]))
    assert deal_fields(crm, newcomer) == expect("unpaid", "0.00", None, label("Счет", first))
    assert {deal_fields(crm, d)["pay_status"] for d in deals if d != paid} == {"unpaid"}
    assert not sqlite_staging.open_conflicts("payment")


def test_only_a_full_run_tombstones_a_deal_deleted_in_the_crm(
    empty_contour: RunningContour, sqlite_staging: Staging
):
    crm, onec = clients(empty_contour)
    books = Books(crm, onec)
    (gone, _paid), (kept, kept_paid) = _one_paid_deal(books), _one_paid_deal(books)
    sync(sqlite_staging, crm, onec)
    crm.call("crm.deal.delete", {"id": gone}, write=True)

    def tombstoned() -> set[str]:
        return {d for d in (gone, kept) if sqlite_staging.get_seen("crm", "payment", d).deleted}

    sync(sqlite_staging, crm, onec)
    assert tombstoned() == set(), "a deal missing from a DATE_MODIFY listing is only unchanged"
    assert sync(sqlite_staging, crm, onec, mode="full")["crm_update"] == 0
    assert tombstoned() == {gone}, "a full run reads every deal by id: the one not returned is gone"
    assert deal_fields(crm, kept) == kept_paid


def test_a_smart_invoice_moved_back_by_hand_is_listed_by_its_update_time_and_moved_again(
    empty_contour: RunningContour, sqlite_staging: Staging
):
    crm, onec = clients(empty_contour)
    books = Books(crm, onec)
    new = crm.call("crm.item.add", {"entityTypeId": 31, "fields": {"title": "Счёт"}}, write=True)
    item = {"entityTypeId": 31, "id": new["result"]["item"]["id"]}
    party = books.counterparty()
    made = books.invoice(party, "", "300.00", Комментарий=f"crm1c:invoice:{item['id']}")
    books.receipt(party, "300.00", "2026-11-10", [("300.00", made["Ref_Key"])])
    quiet_sync(sqlite_staging, crm, onec)
    quiet_sync(sqlite_staging, crm, onec)  # the cursor passes the invoice's updatedTime

    def stage() -> str:
        return crm.call("crm.item.get", item)["result"]["item"]["stageId"]

    success = stage()
    assert success != new["result"]["item"]["stageId"]
    crm.call("crm.item.update", {**item, "fields": {"stageId": new["result"]["item"]["stageId"]}}, write=True)
    calls = BitrixCalls(empty_contour)

    summary = quiet_sync(sqlite_staging, crm, onec, before_step=calls.take)

    assert summary["crm_read"] == 1 and summary["crm_update"] == 1
    assert calls.requests == 4, f"field check, two listings, success stage; none by id: {calls.calls}"
    assert stage() == success


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_run_killed_after_a_1c_change_converges_on_incremental_reads(
    point: str, empty_contour: RunningContour, sqlite_staging: Staging
):
    crm, onec = clients(empty_contour)
    books = Books(crm, onec)
    party, deal = books.counterparty(), books.deal()
    invoice = books.invoice(party, deal, "800.00")
    other, other_paid = _one_paid_deal(books)
    quiet_sync(sqlite_staging, crm, onec)
    books.receipt(party, "800.00", "2026-11-12", [("800.00", invoice["Ref_Key"])])

    with pytest.raises(Killed):
        quiet_sync(sqlite_staging, crm, onec, kill_hook=crash_at(point))
    for _run in range(2):
        quiet_sync(sqlite_staging, crm, onec)

    assert deal_fields(crm, deal) == expect("paid", "800.00", "2026-11-12", label("Счет", invoice))
    assert deal_fields(crm, other) == other_paid
    assert pending_intents_total(sqlite_staging) == 0
    assert not sqlite_staging.open_quarantine("payment") and not sqlite_staging.open_conflicts("payment")
    writes = crm_writes(empty_contour)
    assert quiet_sync(sqlite_staging, crm, onec)["crm_update"] == 0
    assert crm_writes(empty_contour) == writes


# --------------------------------------------------------------- the 1C side in bounded memory
# The changed documents are staged dirty page by page (phase A), then the deals of their counterparties are
# recomputed (phase B), by groups of counterparties when they are many (crm1c.sync.payments.onec_reader): a
# run killed between the phases, or between two groups, is completed by the next run; a document that moved
# recomputes both sides; a recomputation by groups gives every deal what one over all the documents gives.


UNPAID = {"pay_status": "unpaid", "paid_sum": Decimal("0.00"), "paid_date": None}


def dirty_documents(staging: Staging) -> list[str]:
    return [r.external_id for r in staging.dirty_records("onec", DOC_KEY)]


def move(onec: Any, entity_set: str, ref: str, **changes: Any) -> None:
    """An accountant edits a document in 1C (its counterparty, its comment)."""
    version = onec.get(entity_set, ref, select=["DataVersion"])["DataVersion"]
    onec.update(entity_set, ref, changes, version)


def at_once(staging: Staging) -> dict[str, str]:
    """What one recomputation over every staged document gives (the old full run): the content hash of
    each deal's record, an empty one for a deal its documents name and none counts for."""
    docs = Documents()
    lists = {RECEIPTS: docs.receipts, INVOICES: docs.invoices, SALES: docs.sales}
    rows = [r.raw for r in staging.seen_records("onec", DOC_KEY)]
    for row in rows:
        lists[row[SET]].append(row)
    records, _notes = deal_payments(docs)
    lost = {d: DealPayment(deal_id=d, crm_id=d) for d in deals_named(rows) - set(records)}
    return {onec_id(d): content_hash(r) for d, r in (records | lost).items()}


def empty(deal: str) -> dict[str, str]:
    """The record of a deal no document counts for any more."""
    return {onec_id(deal): content_hash(DealPayment(deal_id=deal))}


def stored(staging: Staging) -> dict[str, str]:
    return {r.external_id: r.content_hash for r in staging.seen_records("onec", KEY)}


@pytest.mark.parametrize(
    ("group", "nth"), [(200, 1), (1, 1), (1, 2)], ids=["at-once", "by-groups", "between-groups"]
)
def test_a_run_killed_before_it_recomputes_is_completed_by_the_next_incremental_run(
    group: int,
    nth: int,
    empty_contour: RunningContour,
    staging: Staging,
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setattr(onec_reader, "GROUP", group)
    crm, onec = clients(empty_contour)
    books = Books(crm, onec)
    first, second = books.counterparty(), books.counterparty("ООО Второй")
    part, whole = books.deal(), books.deal()
    invoice = books.invoice(first, part, "1000.00", "2026-11-01")
    other = books.invoice(second, whole, "500.00", "2026-11-02")
    sync(staging, crm, onec)
    books.receipt(first, "400.00", "2026-11-10", [("400.00", invoice["Ref_Key"])])
    books.receipt(second, "500.00", "2026-11-11")

    with pytest.raises(Killed):
        sync(staging, crm, onec, kill_hook=crash_at(onec_reader.RECOMPUTE, nth))

    assert dirty_documents(staging), "the read documents wait, dirty"
    asked = len(onec_requests(empty_contour))
    summary = sync(staging, crm, onec)

    assert len(onec_requests(empty_contour)) - asked == 3, "the scans: the documents were staged already"
    assert summary["onec_read"] == 0 and dirty_documents(staging) == []
    assert deal_fields(crm, part) == expect("partially_paid", "400.00", "2026-11-10", label("Счет", invoice))
    assert deal_fields(crm, whole) == expect("paid", "500.00", "2026-11-11", label("Счет", other))
    assert pending_intents_total(staging) == 0
    writes = crm_writes(empty_contour)
    again = sync(staging, crm, onec)
    assert crm_writes(empty_contour) == writes and again["onec_recomputed"] == 0
    assert stored(staging) == at_once(staging)


def test_a_document_moved_to_another_counterparty_or_deal_recomputes_both(
    empty_contour: RunningContour, sqlite_staging: Staging
):
    crm, onec = clients(empty_contour)
    books = Books(crm, onec)
    a, b, c = books.counterparty("ООО А"), books.counterparty("ООО Б"), books.counterparty("ООО В")
    x, y, z = books.deal(), books.deal(), books.deal()
    inv_x = books.invoice(a, x, "1000.00", "2026-11-01")
    inv_y = books.invoice(b, y, "500.00", "2026-11-02")
    inv_z = books.invoice(c, z, "800.00", "2026-11-03")
    receipt = books.receipt(a, "300.00", "2026-11-10")  # no breakdown: A's invoices, oldest first
    sync(sqlite_staging, crm, onec)
    assert deal_fields(crm, x) == expect("partially_paid", "300.00", "2026-11-10", label("Счет", inv_x))

    move(onec, RECEIPTS, receipt, Контрагент=b)
    sync(sqlite_staging, crm, onec)

    assert deal_fields(crm, x) == {"document": label("Счет", inv_x), **UNPAID}
    assert deal_fields(crm, y) == expect("partially_paid", "300.00", "2026-11-10", label("Счет", inv_y))

    move(onec, RECEIPTS, receipt, Контрагент=c)  # staged, then the run dies before it recomputes
    with pytest.raises(Killed):
        sync(sqlite_staging, crm, onec, kill_hook=crash_at(onec_reader.RECOMPUTE))
    move(onec, RECEIPTS, receipt, Контрагент=a)  # and back: B still counts it until B is recomputed
    sync(sqlite_staging, crm, onec)

    assert deal_fields(crm, x) == expect("partially_paid", "300.00", "2026-11-10", label("Счет", inv_x))
    assert deal_fields(crm, y) == {"document": label("Счет", inv_y), **UNPAID}
    assert deal_fields(crm, z) == {"document": label("Счет", inv_z), **UNPAID}

    w = books.deal()
    move(onec, INVOICES, inv_z["Ref_Key"], Комментарий=f"crm1c:deal:{w}")  # Z's invoice is W's now
    sync(sqlite_staging, crm, onec)

    assert deal_fields(crm, z) == dict.fromkeys(FIELDS), "the deal lost its last document: cleared"
    assert deal_fields(crm, w) == {"document": label("Счет", inv_z), **UNPAID}
    assert stored(sqlite_staging) == at_once(sqlite_staging) | empty(z)
    again = books.invoice(a, z, "250.00", "2026-11-04")  # Z gets an invoice of A's
    sync(sqlite_staging, crm, onec)
    move(onec, INVOICES, inv_z["Ref_Key"], Комментарий="счёт без сделки")  # W's invoice leaves the scan
    sync(sqlite_staging, crm, onec)

    assert deal_fields(crm, w) == dict.fromkeys(FIELDS)
    assert deal_fields(crm, z) == {"document": label("Счет", again), **UNPAID}, "Z: only what it had"
    assert stored(sqlite_staging) == at_once(sqlite_staging) | empty(w)
    assert dirty_documents(sqlite_staging) == []


def test_a_recomputation_by_groups_gives_every_deal_what_one_over_all_documents_gives(
    empty_contour: RunningContour, staging: Staging, monkeypatch: pytest.MonkeyPatch
):
    """One counterparty a group: the deals tied across counterparties (a payment for another's invoice, a
    deal with documents made out to two) still come out as one recomputation over everything makes them."""
    monkeypatch.setattr(onec_reader, "GROUP", 1)
    crm, onec = clients(empty_contour)
    books = Books(crm, onec)
    p1, p2, p3, p4 = (books.counterparty(f"ООО {n}") for n in "АБВГ")
    d1, d2, d3, d4, d5, d6 = (books.deal() for _ in range(6))
    i1 = books.invoice(p1, d1, "1000.00", "2026-11-01")
    i2 = books.invoice(p1, d2, "600.00", "2026-11-02")
    books.receipt(p1, "1200.00", "2026-11-10")  # d1 paid, d2 200.00
    i3 = books.invoice(p2, d3, "700.00", "2026-11-03")
    i4 = books.invoice(p3, d4, "300.00", "2026-11-04")
    books.receipt(p3, "700.00", "2026-11-11", [("700.00", i3["Ref_Key"])])  # P3 pays P2's invoice
    books.receipt(p3, "100.00", "2026-11-12")  # d4 100.00
    books.receipt(p3, "50.00", "2026-11-13", post=False)  # not counted
    i5 = books.invoice(p4, d5, "500.00", "2026-11-05")
    s5 = books.sale(p2, d5, "500.00", "2026-11-20")  # d5's sale is made out to P2
    books.receipt(p4, "500.00", "2026-11-14")

    first = sync(staging, crm, onec)  # incremental, four counterparties: by groups

    assert stored(staging) == at_once(staging)
    assert first["receipts_not_counted"] == 1 and first["onec_recomputed"] == 5
    assert deal_fields(crm, d1) == expect("paid", "1000.00", "2026-11-10", label("Счет", i1))
    assert deal_fields(crm, d2) == expect("partially_paid", "200.00", "2026-11-10", label("Счет", i2))
    assert deal_fields(crm, d3) == expect("paid", "700.00", "2026-11-11", label("Счет", i3))
    assert deal_fields(crm, d4) == expect("partially_paid", "100.00", "2026-11-12", label("Счет", i4))
    both = f"{label('Счет', i5)}; {label('Реализация', s5)}"
    assert deal_fields(crm, d5) == expect("paid", "500.00", "2026-11-14", both)

    version = onec.get(INVOICES, i2["Ref_Key"], select=["DataVersion"])["DataVersion"]
    onec.mark_deleted(INVOICES, i2["Ref_Key"], version)  # d2 loses its only document
    stale = DealPayment(deal_id=d6, document="Счет 1 от 01.11.2026", pay_status="paid", paid_sum=Decimal(9))
    staging.upsert_seen("onec", KEY, [deal_seen(stale, dirty=False)])  # a deal no document names

    full = sync(staging, crm, onec, mode="full")

    assert stored(staging) == at_once(staging) | empty(d6)
    assert full["receipts_not_counted"] == 1 and full["onec_recomputed"] == 4
    assert deal_fields(crm, d2) == dict.fromkeys(FIELDS)
    assert deal_fields(crm, d1) == expect("overpaid", "1200.00", "2026-11-10", label("Счет", i1))
    assert dirty_documents(staging) == []
    writes = crm_writes(empty_contour)
    sync(staging, crm, onec, mode="full")
    assert crm_writes(empty_contour) == writes
