"""Documents into 1C: ``Document_СчетНаОплатуПокупателю`` and ``Document_РеализацияТоваровУслуг``, one per
request in the engine's pool, always unposted (posting belongs to the postings entity).

A create fills what the deal does not say: the organisation, the buyer contract (the counterparty's
«СПокупателем» contract, created as «Основной договор» when there is none), the currency reference and its
rate for the document date (a missing rate holds the document: never 1.0), and the sale's link to the
deal's invoice. The ``Комментарий`` tag (``crm1c:deal:<ID>``) lets a retry find a document an interrupted
attempt created. A cancellation is a deletion mark, never a physical delete, written with the word
``crm1c:cancelled`` in ``Комментарий``; a reopened deal's write takes both off only when the document, read
afresh (its ``Комментарий`` is rewritten), carries that word and is unposted: otherwise the deal is held for
the accountant, the document untouched (:mod:`crm1c.domain.sales_document`).
"""

from __future__ import annotations

import threading
from datetime import date, datetime, time
from typing import Any

from crm1c.clients.errors import ExternalSystemError
from crm1c.clients.odata_filter import F, guid
from crm1c.domain.issues import DependencyPending, Issue, IssueError
from crm1c.domain.money import currency as currencies
from crm1c.domain.money.documents import ITEM_TYPE
from crm1c.domain.money.numbers import exact
from crm1c.domain.sales_document import (
    CANCELLED_TAG,
    SalesDocument,
    cancelled_by_crm1c,
    record_id,
    source_label,
    tag_of,
    with_cancelled_tag,
)
from crm1c.staging import SeenInput, WriteIntent
from crm1c.sync.engine.onec_scan import SET
from crm1c.sync.invoices.records import EMPTY_REF, KEY, NUMBERS, SET_OF_KIND, onec_seen
from crm1c.sync.runtime import SyncEnv, log

CONTRACTS = "Catalog_ДоговорыКонтрагентов"
ORGANIZATIONS = "Catalog_Организации"
CURRENCIES = "Catalog_Валюты"
RATES = "InformationRegister_КурсыВалют"
HEADER = {"on": "Date", "counterparty": "Контрагент_Key", "includes_vat": "СуммаВключаетНДС"}
HEADER |= {"operation": "ВидОперации", "total": "СуммаДокумента"}
DOCUMENT_TITLES = {"invoice": "Счет на оплату покупателю", "sale": "Реализация товаров и услуг"}
_MARKED = ("Ref_Key", "DataVersion", "DeletionMark", "Posted", "Number", "Date", "Комментарий")


def currency_refs(env: SyncEnv) -> dict[str, str]:
    """``Catalog_Валюты`` Ref_Key → Code, read once per step."""
    rows = env.once("onec_currencies", lambda: env.onec.list_all(CURRENCIES, ["Ref_Key", "Code"]))
    return {str(r["Ref_Key"]): str(r["Code"]).strip() for r in rows}


def odata_rows(kind: str, table: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Comparable rows back into what 1C's OData takes (numbers as Decimal, empty references left out)."""
    out = []
    for row in rows:
        sent = {k: exact(v) if k in NUMBERS else v for k, v in row.items() if v != EMPTY_REF}
        if kind == "invoice" and "Номенклатура" in sent:
            sent["Номенклатура_Type"] = ITEM_TYPE
        out.append(sent)
    return out


class OneCDocumentWriter:
    """The :class:`~crm1c.sync.spec.OneCWriter` of sales documents."""

    def __init__(self) -> None:
        self._contract_locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def entity_set(self, merged: SalesDocument | None) -> str:
        return SET_OF_KIND[(merged.kind if merged is not None else None) or "invoice"]

    def prepare(self, env: SyncEnv, intents: list[WriteIntent]) -> set[int]:
        """For a chunk's new documents, at once: the buyer contracts of counterparties not met yet in this
        step (one 1C request per 25) and the state of the sales' invoices (three staging queries). Returns
        the new sales whose invoice is being written in this step (they wait)."""
        new = [(i.id, d) for i in intents if i.op == "create" and (d := _document(i)) is not None]
        created = [d for _id, d in new]
        met = {str(d.counterparty) for d in created if d.counterparty}
        owners = sorted(o for o in met if f"buyer_contracts:{o}" not in env.memo)
        try:
            for start in range(0, len(owners), 25):
                for owner, contracts in _read_buyer_contracts(env, owners[start : start + 25]).items():
                    env.memo[f"buyer_contracts:{owner}"] = contracts
        except ExternalSystemError as exc:  # then each document reads its contracts itself (and waits alone)
            log.warning("buyer contracts of the chunk not read at once: %s", exc)
        sales = [str(d.crm_id) for d in created if d.kind == "sale" and d.crm_id]
        states = env.memo.setdefault("sales_invoices", {})
        states.update(_invoices_of(env, sales))
        return {n for n, d in new if d.kind == "sale" and states.get(str(d.crm_id)) == _WAIT}

    def body(
        self, env: SyncEnv, intent: WriteIntent, doc: SalesDocument, current: dict | None
    ) -> dict[str, Any]:
        fields = set(intent.payload["fields"]) if current is not None else set(HEADER) | {"goods", "services"}
        body: dict[str, Any] = {}
        if current is not None and "deleted" in fields:  # a cancellation's mark, or a reopened deal's restore
            body = self._mark(env, intent, doc)
            if fields == {"deleted"}:
                return body
        for name, prop in HEADER.items():
            if name in fields:
                value = getattr(doc, name)
                body[prop] = datetime.combine(value, time()).isoformat() if isinstance(value, date) else value
        if "total" in body:
            body["СуммаДокумента"] = doc.total
        if "goods" in fields or "services" in fields:
            body["Товары"] = odata_rows(doc.kind or "", "Товары", doc.goods)
            if doc.kind == "sale":
                body["Услуги"] = odata_rows("sale", "Услуги", doc.services)
        if current is None or fields & {"currency", "on"}:
            body |= self._currency(env, doc)
        if current is None:
            body |= self._new_document(env, doc)
        return body

    def _mark(self, env: SyncEnv, intent: WriteIntent, doc: SalesDocument) -> dict[str, Any]:
        """``DeletionMark`` as the merge wants it, with crm1c's word in ``Комментарий``: set with a
        cancellation's mark, taken off with a restore, which only crm1c's own mark of an unposted document
        gets. The document is read afresh (staging keeps its ``Комментарий`` as of its last synced change)."""
        now = env.onec.get(self.entity_set(doc), str(intent.target_id), select=list(_MARKED))
        if not doc.deleted:
            _check_restore(doc, now)
        comment = with_cancelled_tag(now.get("Комментарий"), doc.deleted)
        return {"DeletionMark": doc.deleted, "Комментарий": comment}

    def _new_document(self, env: SyncEnv, doc: SalesDocument) -> dict[str, Any]:
        organization = _organization(env)
        head = {"Организация_Key": organization, "Комментарий": tag_of(doc.crm_id or "")}
        head["ДоговорКонтрагента_Key"] = self._contract(env, str(doc.counterparty), organization)
        if doc.kind == "sale" and (invoice := _invoice_of(env, str(doc.crm_id))) is not None:
            head["СчетНаОплатуПокупателю_Key"] = invoice
        return head

    def _currency(self, env: SyncEnv, doc: SalesDocument) -> dict[str, Any]:
        by_code = {code: ref for ref, code in currency_refs(env).items()}
        code = str(doc.currency)
        if code not in by_code:
            raise IssueError(
                Issue(
                    "currency",
                    "currency_not_in_onec",
                    f"В 1С нет валюты с кодом {code} (Catalog_Валюты)",
                    f"1C has no currency with code {code} (Catalog_Валюты)",
                )
            )
        table = env.once("currency_table", currencies.load_currency_table)  # read once per step
        if code == table.base_code or doc.on is None:
            return {
                "ВалютаДокумента_Key": by_code[code],
                "КурсВзаиморасчетов": 1,
                "КратностьВзаиморасчетов": 1,
            }
        rows = env.onec.slice_last(RATES, doc.on, F("Валюта_Key") == guid(by_code[code]))
        letters = table.crm_code(code)
        rate = currencies.rate_on([currencies.ExchangeRate.from_odata(r) for r in rows], doc.on, letters)
        return {
            "ВалютаДокумента_Key": by_code[code],
            "КурсВзаиморасчетов": rate.rate,
            "КратностьВзаиморасчетов": rate.multiplicity,
        }

    def _contract(self, env: SyncEnv, counterparty: str, organization: str) -> str:
        """The contract the mapping names for this counterparty (by ИНН), else its buyer contract, created
        (once, even from parallel writers) when it has none."""
        with self._guard:
            lock = self._contract_locks.setdefault(counterparty, threading.Lock())
        with lock:
            known = env.memo.get(f"contract:{counterparty}")
            if known is not None:
                return str(known)
            named = env.mapping.contracts.get(_inn(env, counterparty) or "")
            ref = self._find_or_create_contract(env, counterparty, organization, named)
            env.memo[f"contract:{counterparty}"] = ref
            return ref

    @staticmethod
    def _find_or_create_contract(
        env: SyncEnv, counterparty: str, organization: str, named: str | None
    ) -> str:
        """The buyer contract (the named one, else the first), created when there is none."""
        found = [ref for ref, name in _buyer_contracts(env, counterparty) if not named or name == named]
        if found:
            return found[0]
        if named:
            raise IssueError(
                Issue(
                    "contract",
                    "contract_missing",
                    f"У контрагента нет договора с покупателем «{named}» (invoices.yaml: contracts)",
                    f"The counterparty has no buyer contract '{named}' (invoices.yaml: contracts)",
                )
            )
        body = {
            "Description": env.mapping.contract_name,
            "Owner_Key": counterparty,
            "ВидДоговора": "СПокупателем",
            "Организация_Key": organization,
        }
        return str(env.onec.create(CONTRACTS, body)["Ref_Key"])

    def find(self, env: SyncEnv, doc: SalesDocument) -> tuple[dict | None, list[dict]]:
        """The live document an interrupted create made: the one of this kind carrying the record's tag."""
        tag = tag_of(doc.crm_id or "")
        rows = env.onec.list_all(self.entity_set(doc), filter=F("Комментарий").contains(tag))
        ours = [
            r for r in rows if tag in str(r.get("Комментарий") or "").split() and not r.get("DeletionMark")
        ]
        return (ours[0] if ours else None), []

    def seen(self, env: SyncEnv, row: dict[str, Any]) -> SeenInput:
        """The written document as staging keeps it (its set from the answer's ``odata.metadata``)."""
        metadata = str(row.get("odata.metadata") or "")
        entity_set = next((s for s in SET_OF_KIND.values() if f"#{s}/" in metadata), None)
        entity_set = entity_set or SET_OF_KIND["sale" if "Услуги" in row else "invoice"]
        return onec_seen(currency_refs(env), row | {SET: entity_set}, dirty=False)


def _check_restore(doc: SalesDocument, current: dict) -> None:
    """Raise IssueError (the deal waits for the accountant) unless the deletion mark of the reopened deal's
    document is crm1c's own (``crm1c:cancelled`` in ``Комментарий``) and the document is unposted."""
    if cancelled_by_crm1c(current.get("Комментарий")) and not current.get("Posted"):
        return
    deal_ru, deal_en = source_label(doc.crm_id or "")
    title = DOCUMENT_TITLES.get(doc.kind or "invoice", "")
    day = ".".join(reversed(str(current.get("Date") or "")[:10].split("-"))) or "—"
    number = current.get("Number") or "—"
    shown, shown_en = f"«{title} {number} от {day}»", f"'{title} {number}' of {day}"
    if current.get("Posted"):
        raise IssueError(
            Issue(
                "deleted",
                "reopened_document_posted",
                f"{deal_ru} снова в работе, а документ {shown} в 1С проведён и помечен на удаление: "
                "crm1c его не перезаписывает, решите в 1С",
                f"{deal_en} is open again, but its document {shown_en} is posted and marked for deletion "
                "in 1C: crm1c does not overwrite it, decide in 1C",
            )
        )
    raise IssueError(
        Issue(
            "deleted",
            "reopened_document_marked_in_onec",
            f"{deal_ru} снова в работе, а документ {shown} помечен на удаление в 1С не crm1c при отмене "
            f"сделки (в «Комментарии» нет {CANCELLED_TAG}): crm1c не снимает чужую пометку и не создаёт "
            "второй документ. Если документ нужен, снимите пометку в 1С — crm1c обновит его по сделке",
            f"{deal_en} is open again, but its document {shown_en} was not marked for deletion by crm1c on "
            f"the deal's cancellation (its Комментарий has no {CANCELLED_TAG}): crm1c neither takes that "
            "mark off nor makes a second document. If the document is needed, take the mark off in 1C: "
            "crm1c updates it from the deal",
        )
    )


def _inn(env: SyncEnv, counterparty: str) -> str | None:
    """The ИНН of a counterparty as staging last saw it in 1C."""
    seen = env.staging.get_seen("onec", "counterparty", counterparty)
    return (seen.normalised or {}).get("inn") if seen is not None else None


def _document(intent: WriteIntent) -> SalesDocument | None:
    """The intent's document; None when it does not read (its own write then holds it, the chunk goes on)."""
    try:
        return SalesDocument(**intent.payload["merged"])
    except (ValueError, TypeError, KeyError):
        return None


def _buyer_contracts(env: SyncEnv, counterparty: str) -> list[tuple[str, str]]:
    """(Ref_Key, Description) of the counterparty's live buyer contracts (as its chunk read them)."""
    known = env.memo.get(f"buyer_contracts:{counterparty}")
    return known if known is not None else _read_buyer_contracts(env, [counterparty])[counterparty]


def _read_buyer_contracts(env: SyncEnv, owners: list[str]) -> dict[str, list[tuple[str, str]]]:
    """The live buyer contracts of several counterparties, in one request."""
    flt = F("Owner_Key").in_([guid(o) for o in owners]) & (F("ВидДоговора") == "СПокупателем")
    found: dict[str, list[tuple[str, str]]] = {o: [] for o in owners}
    for r in env.onec.list_all(CONTRACTS, ["Ref_Key", "Owner_Key", "Description", "DeletionMark"], flt):
        if not r["DeletionMark"] and str(r["Owner_Key"]) in found:
            found[str(r["Owner_Key"])].append((str(r["Ref_Key"]), str(r["Description"])))
    return found


_WAIT = "wait"  # the sale's invoice is being written in this step


def _invoices_of(env: SyncEnv, sale_ids: list[str]) -> dict[str, str | None]:
    """Sale record id → its deal's 1C invoice, None (go without the link: the invoice is not a record, or
    it is held) or :data:`_WAIT`; three staging queries for them all."""
    invoices = {s: record_id(s.rsplit(":", 1)[0], "invoice") for s in sale_ids}
    if not invoices:
        return {}
    ids = list(invoices.values())
    links = env.staging.xrefs_of(KEY, "crm", ids)
    known = env.staging.versions_of("crm", KEY, ids)
    held = set(env.staging.quarantined_ids(KEY, "crm", ids))
    return {
        sale: links[i].onec_id if i in links else None if i not in known or i in held else _WAIT
        for sale, i in invoices.items()
    }


def _invoice_of(env: SyncEnv, sale_id: str) -> str | None:
    """The 1C invoice of a sale's deal (as its chunk found it); a sale whose invoice is being written in
    the same step waits for it, one whose invoice is held goes without the link."""
    known = env.memo.get("sales_invoices", {})
    state = known[sale_id] if sale_id in known else _invoices_of(env, [sale_id])[sale_id]
    if state != _WAIT:
        return state
    invoice_id = record_id(sale_id.rsplit(":", 1)[0], "invoice")
    raise DependencyPending(
        Issue(
            "invoice",
            "invoice_pending",
            f"Реализация ждёт счёт сделки ({invoice_id})",
            f"The sale waits for its deal's invoice ({invoice_id})",
        )
    )


def _organization(env: SyncEnv) -> str:
    """The organisation documents are made for: by the mapping's name, else the infobase's only one."""

    def read() -> str:
        name = env.mapping.organization
        flt = F("Description") == name if name else None
        rows = [
            r
            for r in env.onec.list_all(ORGANIZATIONS, ["Ref_Key", "DeletionMark"], flt)
            if not r["DeletionMark"]
        ]
        if len(rows) != 1:
            what = f"«{name}»" if name else "(invoices.yaml: organization)"
            raise IssueError(
                Issue(
                    "organization",
                    "organization_unknown",
                    f"Не найдена одна организация {what}: найдено {len(rows)}",
                    f"Not exactly one organisation {what}: found {len(rows)}",
                )
            )
        return str(rows[0]["Ref_Key"])

    return str(env.once("onec_organization", read))
