"""What the money checks compare, read once per run from both systems and staging (reads only).

* CRM: every deal (stage, company, currency, ``OPPORTUNITY``, the payment user fields of
  ``include/mappings/payments.yaml``) and every smart invoice (``crm.item`` 31: stage, company, currency,
  ``opportunity``), as :class:`Source` s: what 1C documents each should have now (``include/mappings/
  invoices.yaml``: a deal's stage; a smart invoice not at a failure stage has an invoice).
* 1C: every payment invoice and sale (:class:`Doc`; a crm1c one names its source by its ``Комментарий``
  tag), the customer receipts (as ``sync_payments`` reads them), the 62.01 and 62.02 balances by
  counterparty (``AccountingRegister_Хозрасчетный/Balance``, one request), the currencies' codes.
* Staging: the counterparty links (CRM company → 1C counterparty), the CRM side of each document as the
  sync last computed it (its total and date: the "agreed" value) and the records held in quarantine.

:func:`money_sides` reads once per run (kept in :attr:`ReconcileEnv.cache`); the checks share it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from crm1c.domain.money.numbers import ZERO, exact, kopecks
from crm1c.domain.sales_document import SMART_PREFIX, crm_id_from_comment
from crm1c.reconcile.env import ReconcileEnv

INVOICES = "Document_СчетНаОплатуПокупателю"
SALES = "Document_РеализацияТоваровУслуг"
RECEIPTS = "Document_ПоступлениеНаРасчетныйСчет"
REGISTER = "AccountingRegister_Хозрасчетный"
CURRENCIES = "Catalog_Валюты"
COUNTERPARTIES = "Catalog_Контрагенты"
KIND_OF_SET = {INVOICES: "invoice", SALES: "sale"}
SET_OF_KIND = {k: s for s, k in KIND_OF_SET.items()}
RECEIVABLE, ADVANCES = "62.01", "62.02"
RUB = "RUB"
RUB_CODE = "643"
SMART_INVOICE = 31
_HEAD = ["Ref_Key", "DeletionMark", "Number", "Date", "Posted", "СуммаДокумента", "Комментарий"]
DOC_SELECT = [*_HEAD, "Контрагент_Key", "ДоговорКонтрагента_Key", "ВалютаДокумента_Key"]
RECEIPT_SELECT = [*_HEAD, "ВидОперации", "Контрагент", "Контрагент_Type", "РасшифровкаПлатежа"]
DEAL_SELECT = [
    "ID",
    "TITLE",
    "CATEGORY_ID",
    "STAGE_ID",
    "STAGE_SEMANTIC_ID",
    "COMPANY_ID",
    "CURRENCY_ID",
    "OPPORTUNITY",
    "IS_MANUAL_OPPORTUNITY",
    "MOVED_TIME",
]
SMART_SELECT = [
    "id",
    "title",
    "categoryId",
    "stageId",
    "companyId",
    "currencyId",
    "opportunity",
    "isManualOpportunity",
    "begindate",
    "parentId2",
]
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Source:
    """A CRM deal or smart invoice. ``key``: ``42`` or ``SI7`` (a document's record id is ``<key>:<kind>``);
    ``kinds``: the documents it should have in 1C now (none: failed, or at a stage without documents);
    ``amount``: ``OPPORTUNITY`` now (``manual``: typed in, not the rows' sum); ``paid``: the deal's
    ``UF_CRM_1C_PAID_SUM`` (None: empty; a smart invoice has none)."""

    key: str
    crm_id: str
    smart: bool
    title: str | None
    company: str | None
    currency: str | None
    amount: Decimal
    kinds: tuple[str, ...]
    failed: bool = False
    manual: bool = False
    moved: date | None = None
    paid: Decimal | None = None
    pay_status: str | None = None
    paid_date: date | None = None
    #: a smart invoice's deal (``parentId2``)
    deal: str | None = None


@dataclass(frozen=True)
class Doc:
    """A 1C payment invoice or sale; ``source`` is the :attr:`Source.key` its crm1c tag names (None: made
    by hand); ``currency`` the ``Catalog_Валюты`` code; ``row`` the OData row (for ``deal_payments``)."""

    ref: str
    kind: str
    number: str
    on: date
    posted: bool
    deleted: bool
    counterparty: str
    amount: Decimal
    currency: str | None
    source: str | None
    row: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def entity_set(self) -> str:
        return SET_OF_KIND[self.kind]

    @property
    def live(self) -> bool:
        return not self.deleted

    @property
    def rubles(self) -> bool:
        return self.currency in (None, RUB_CODE)


@dataclass
class MoneySides:
    """Both systems' money records and staging's view of them (see the module docstring)."""

    sources: dict[str, Source]
    docs: list[Doc]
    receipts: list[Mapping[str, Any]]
    #: 1C counterparty → (62.01 balance, 62.02 balance), both Dr − Cr (an advance is negative on 62.02).
    balances: dict[str, tuple[Decimal, Decimal]]
    #: CRM company id → 1C counterparty Ref_Key (staging's links)
    parties: dict[str, str]
    #: 1C counterparty Ref_Key → its name (every counterparty with a document, a receipt or a link)
    party_names: dict[str, str] = field(default_factory=dict)
    #: record ids (``42:invoice``) held in quarantine
    held: set[str] = field(default_factory=set)
    #: record id → (total, date) of the CRM side as the sync last computed it
    agreed: dict[str, tuple[Decimal | None, date | None]] = field(default_factory=dict)
    #: record id → the CRM amount the sync last read (Σ round(PRICE × QUANTITY) of the rows it read)
    seen: dict[str, Decimal] = field(default_factory=dict)
    _by_source: dict[str, list[Doc]] | None = field(default=None, init=False, repr=False)
    _billed: set[str | None] | None = field(default=None, init=False, repr=False)

    def amount(self, source: Source, kind: str) -> tuple[Decimal, bool]:
        """What the CRM asks 1C's document of ``kind`` to hold, and whether the CRM changed it after the
        sync last read it. The sync's own total (1C's row arithmetic over the CRM's rows) is the amount
        while the CRM's ``OPPORTUNITY`` is still what those rows give; once the CRM's amount moved on (an
        edit not synced yet) it is ``OPPORTUNITY``; with neither known, ``OPPORTUNITY``."""
        record = f"{source.key}:{kind}"
        total = self.agreed.get(record, (None, None))[0]
        seen = self.seen.get(record)
        if seen is not None and not source.manual and seen != source.amount:
            return source.amount, True
        return (total if total is not None else source.amount), False

    def crm_doc(self, source: Source, kind: str) -> Doc | None:
        """The live 1C document of ``kind`` the source's tag names (the newest if there are several)."""
        found = [d for d in self.tagged(source) if d.kind == kind and d.live]
        return max(found, key=lambda d: (d.on, d.ref), default=None)

    def tagged(self, source: Source) -> list[Doc]:
        """Every 1C document (deletion-marked too) whose tag names ``source`` (an index built once)."""
        if self._by_source is None:
            self._by_source = {}
            for doc in self.docs:
                if doc.source is not None:
                    self._by_source.setdefault(doc.source, []).append(doc)
        return self._by_source.get(source.key, [])

    def expects(self, source: Source, kind: str) -> bool:
        """Whether the source should have its own 1C document of ``kind`` now: its stage asks for it, and
        for a deal's invoice, unless smart invoices bill the deal (``parentId2``) and it never had an
        invoice of its own (the sync makes one invoice per bill, never the deal's as well)."""
        if kind not in source.kinds:
            return False
        if source.smart or kind != "invoice":
            return True
        if self._billed is None:
            self._billed = {s.deal for s in self.sources.values() if s.smart and s.deal and not s.failed}
        own = self.crm_doc(source, kind) is not None or f"{source.key}:{kind}" in self.agreed
        return own or source.key not in self._billed

    def date_of(self, source: Source, kind: str) -> date | None:
        """When the source's document of ``kind`` is dated: 1C's document, else what the sync computed,
        else when the deal moved to its stage (a smart invoice: its begin date)."""
        doc = self.crm_doc(source, kind)
        if doc is not None:
            return doc.on
        agreed = self.agreed.get(f"{source.key}:{kind}")
        return (agreed[1] if agreed else None) or source.moved

    def party_of(self, source: Source) -> str | None:
        return self.parties.get(source.company or "")


def money_sides(env: ReconcileEnv) -> MoneySides:
    """Read once per run; every money check shares the result."""
    if "money" not in env.cache:
        env.cache["money"] = read_money(env)
    sides: MoneySides = env.cache["money"]
    return sides


def read_money(env: ReconcileEnv) -> MoneySides:
    from crm1c.clients.odata_filter import F
    from crm1c.sync.entities import entity  # the registry of synced entities (no engine import)

    invoice_mapping = entity("invoices").load_mapping()
    fields = entity("payments").load_mapping().fields.by_value()
    sources = {s.key: s for s in _deals(env.crm, invoice_mapping, fields)}
    if invoice_mapping.smart_invoices:
        sources |= {s.key: s for s in _smart_invoices(env.crm)}
    codes = {str(r["Ref_Key"]): str(r.get("Code") or "").strip() for r in _all(env.onec, CURRENCIES)}
    docs = [
        doc_of(entity_set, row, codes)
        for entity_set in (INVOICES, SALES)
        for page in env.onec.list(entity_set, select=DOC_SELECT)
        for row in page
    ]
    only = F("ВидОперации") == "ОплатаПокупателя"
    receipts = [r for page in env.onec.list(RECEIPTS, select=RECEIPT_SELECT, filter=only) for r in page]
    balances = balances_of(
        {
            code: env.onec.balance(REGISTER, condition=F("Account/Code") == code)
            for code in (RECEIVABLE, ADVANCES)
        }
    )
    companies = sorted({s.company for s in sources.values() if s.company})
    links = env.staging.xrefs_of("counterparty", "crm", companies)
    parties = {cid: str(x.onec_id).lower() for cid, x in links.items()}
    held = {q.external_id for q in env.staging.open_quarantine("invoice") if q.system == "crm"}
    records = env.staging.seen_records("crm", "invoice")
    agreed = {r.external_id: _agreed(r.normalised) for r in records}
    seen = {r.external_id: amount for r in records if (amount := rows_amount(r.raw)) is not None}
    sides = MoneySides(sources, docs, receipts, balances, parties, {}, held, agreed, seen)
    sides.party_names = _names(env.onec, sides)
    return sides


# ------------------------------------------------------------------------------------ decoding rows


def deal_source(row: Mapping[str, Any], mapping: Any, fields: Mapping[str, str]) -> Source:
    """A ``crm.deal.list`` row; ``mapping`` is the invoice mapping, ``fields`` the payment user fields."""
    failed = row.get("STAGE_SEMANTIC_ID") == "F"
    kinds = (
        () if failed else mapping.documents_for(row.get("CATEGORY_ID"), str(row.get("STAGE_ID")))
    )
    return Source(
        key=str(row["ID"]),
        crm_id=str(row["ID"]),
        smart=False,
        title=_text(row.get("TITLE")),
        company=_id(row.get("COMPANY_ID")),
        currency=_text(row.get("CURRENCY_ID")),
        amount=_money(row.get("OPPORTUNITY")) or ZERO,
        kinds=tuple(kinds),
        failed=failed,
        manual=row.get("IS_MANUAL_OPPORTUNITY") == "Y",
        moved=_day(row.get("MOVED_TIME")),
        paid=_money(row.get(fields.get("paid_sum", ""))),
        pay_status=_text(row.get(fields.get("pay_status", ""))),
        paid_date=_day(row.get(fields.get("paid_date", ""))),
    )


def smart_source(item: Mapping[str, Any], failure_stages: set[str]) -> Source:
    failed = str(item.get("stageId")) in failure_stages
    return Source(
        key=f"{SMART_PREFIX}{item['id']}",
        crm_id=str(item["id"]),
        smart=True,
        title=_text(item.get("title")),
        company=_id(item.get("companyId")),
        currency=_text(item.get("currencyId")),
        amount=_money(item.get("opportunity")) or ZERO,
        kinds=() if failed else ("invoice",),
        failed=failed,
        manual=item.get("isManualOpportunity") == "Y",
        moved=_day(item.get("begindate")),
        deal=_id(item.get("parentId2")),
    )


def doc_of(entity_set: str, row: Mapping[str, Any], currency_codes: Mapping[str, str]) -> Doc:
    kind = KIND_OF_SET[entity_set]
    record = crm_id_from_comment(row.get("Комментарий"), kind)
    return Doc(
        ref=str(row["Ref_Key"]).lower(),
        kind=kind,
        number=str(row.get("Number") or "").strip(),
        on=datetime.fromisoformat(str(row["Date"])).date(),
        posted=bool(row.get("Posted")),
        deleted=bool(row.get("DeletionMark")),
        counterparty=str(row.get("Контрагент_Key") or "").lower(),
        amount=kopecks(exact(row.get("СуммаДокумента") or 0)),
        currency=currency_codes.get(str(row.get("ВалютаДокумента_Key"))),
        source=record.rsplit(":", 1)[0] if record else None,
        row={**row, "@set": entity_set},
    )


def balances_of(rows: Mapping[str, list[dict]]) -> dict[str, tuple[Decimal, Decimal]]:
    """Balance rows by account code (62.01, 62.02) → counterparty (``ExtDimension1``) → (62.01, 62.02),
    each Dr − Cr (``СуммаBalance``) summed over the counterparty's contracts."""
    out: dict[str, list[Decimal]] = {}
    for code, found in rows.items():
        for row in found:
            party = str(row.get("ExtDimension1") or "").lower()
            if party:
                amounts = out.setdefault(party, [ZERO, ZERO])
                amounts[0 if code == RECEIVABLE else 1] += exact(row.get("СуммаBalance") or 0)
    return {party: (kopecks(a), kopecks(b)) for party, (a, b) in out.items()}


def rows_amount(raw: Any) -> Decimal | None:
    """The CRM amount of the product rows a sync read (``raw["@rows"]``): Σ round(``PRICE`` × ``QUANTITY``),
    ``PRICE`` being the unit price with discount and tax (protocols C.9a); None without rows."""
    rows = raw.get("@rows") if isinstance(raw, Mapping) else None
    if not rows:
        return None
    try:
        return sum(
            (
                (exact(r.get("PRICE") or 0) * exact(r.get("QUANTITY") or 0)).quantize(CENT, ROUND_HALF_UP)
                for r in rows
            ),
            ZERO,
        )
    except (ValueError, AttributeError):
        return None


# ------------------------------------------------------------------------------------ reading


def _deals(crm: Any, mapping: Any, fields: Mapping[str, str]) -> list[Source]:
    select = [*DEAL_SELECT, fields["paid_sum"], fields["pay_status"], fields["paid_date"]]
    return [
        deal_source(row, mapping, fields)
        for page in crm.iter_list_batched("crm.deal.list", select=select)
        for row in page
    ]


def _smart_invoices(crm: Any) -> list[Source]:
    params = {"entityTypeId": SMART_INVOICE}
    items = [
        item
        for page in crm.iter_list_batched(
            "crm.item.list", select=SMART_SELECT, order_field="id", items_key="items", params=params
        )
        for item in page
    ]
    failed: dict[int, set[str]] = {}
    for category in {int(i.get("categoryId") or 0) for i in items}:
        flt = {"ENTITY_ID": f"SMART_INVOICE_STAGE_{category}"}
        statuses = crm.call("crm.status.list", {"filter": flt})["result"]
        failed[category] = {str(s["STATUS_ID"]) for s in statuses if s.get("SEMANTICS") == "F"}
    return [smart_source(i, failed[int(i.get("categoryId") or 0)]) for i in items]


def _names(onec: Any, sides: MoneySides) -> dict[str, str]:
    wanted = {d.counterparty for d in sides.docs} | set(sides.parties.values()) | set(sides.balances)
    rows = _all(onec, COUNTERPARTIES, ["Ref_Key", "Description"])
    return {
        ref: str(r.get("Description") or "") for r in rows if (ref := str(r["Ref_Key"]).lower()) in wanted
    }


def _all(onec: Any, entity_set: str, select: list[str] | None = None) -> list[dict]:
    return [row for page in onec.list(entity_set, select=select or ["Ref_Key", "Code"]) for row in page]


def _agreed(normalised: Any) -> tuple[Decimal | None, date | None]:
    if not isinstance(normalised, Mapping):
        return None, None
    total = normalised.get("total")
    on = normalised.get("on")
    return (
        None if total in (None, "") else kopecks(exact(total)),
        date.fromisoformat(str(on)[:10]) if on else None,
    )


def _money(value: Any) -> Decimal | None:
    if value in (None, "") or isinstance(value, list | dict):
        return None
    try:
        return kopecks(exact(value))
    except ValueError:
        return None


def _day(value: Any) -> date | None:
    text = str(value or "").strip()
    try:
        return date.fromisoformat(text[:10]) if len(text) >= 10 else None
    except ValueError:
        return None


def _id(value: Any) -> str | None:
    text = str(value or "").strip()
    return None if text in ("", "0") else text


def _text(value: Any) -> str | None:
    text = "" if value is None or isinstance(value, list | dict) else str(value).strip()
    return text or None
