"""Sales documents in staging: names, the document rows in one comparable form, and the 1C side's records.

Rows are kept as 1C stores them, with numbers as plain decimal text (``"1.5"``, never ``1.50`` or a float)
and empty references as the zero GUID, so a document crm1c wrote and the same document read back from 1C
are equal, and an accountant's change to a row is seen as one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from crm1c import hashing
from crm1c.domain.money.numbers import exact, kopecks, plain
from crm1c.domain.sales_document import (
    SMART_PREFIX,
    SalesDocument,
    content_hash,
    crm_id_from_comment,
    identity_key,
)
from crm1c.staging import SeenInput
from crm1c.sync.engine import cursors
from crm1c.sync.engine.onec_scan import SET
from crm1c.sync.engine.records import seen_input
from crm1c.sync.runtime import SyncEnv

KEY = "invoice"
INVOICES = "Document_СчетНаОплатуПокупателю"
SALES = "Document_РеализацияТоваровУслуг"
SET_OF_KIND = {"invoice": INVOICES, "sale": SALES}
KIND_OF_SET = {s: k for k, s in SET_OF_KIND.items()}
EMPTY_REF = "00000000-0000-0000-0000-000000000000"
NUMBERS = ("Количество", "Цена", "Сумма", "СуммаНДС", "ПроцентСкидки", "СуммаСкидки", "Коэффициент")
_PRICES = ("Количество", "Цена", "Сумма", "СтавкаНДС", "СуммаНДС")
#: The row fields crm1c writes, per document kind and table (the rest of a row is 1C's own).
ROW_FIELDS: dict[tuple[str, str], tuple[str, ...]] = {
    ("invoice", "Товары"): ("LineNumber", "Номенклатура", *_PRICES, "ПроцентСкидки", "СуммаСкидки"),
    ("sale", "Товары"): ("LineNumber", "Номенклатура_Key", "ЕдиницаИзмерения_Key", "Коэффициент", *_PRICES),
    ("sale", "Услуги"): ("LineNumber", "Номенклатура_Key", "Содержание", *_PRICES),
}


def canonical_rows(kind: str, table: str, rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The comparable form of a table's rows (ordered by ``LineNumber``)."""
    fields = ROW_FIELDS.get((kind, table), ())
    out = [{f: _value(f, row.get(f)) for f in fields} for row in rows]
    return sorted(out, key=lambda r: r["LineNumber"])


def _value(name: str, value: Any) -> Any:
    if name == "LineNumber":
        return int(value)
    if name in NUMBERS:
        return plain(exact(0 if value in (None, "") else value))
    if name.endswith("_Key") or name == "Номенклатура":
        return str(value) if value not in (None, "") else EMPTY_REF
    return "" if value is None else str(value)


def onec_seen(currencies: Mapping[str, str], row: dict, *, dirty: bool = True) -> SeenInput:
    """The staging record of a 1C document; ``currencies`` maps ``Catalog_Валюты`` refs to their codes."""
    return seen_input(
        str(row["Ref_Key"]),
        row,
        row.get("DataVersion"),
        partial(_document, currencies, row),
        content_hash=_onec_hash,
        identity_key=identity_key,
        dirty=dirty,
    )


def _onec_hash(doc: SalesDocument) -> str:
    """A 1C document changes also when it is posted, numbered or marked for deletion (not synced, but the
    merge needs them: an unchanged hash keeps the staged row as it was)."""
    return hashing.content_hash([content_hash(doc), doc.posted, doc.number, doc.deleted])


def _document(currencies: Mapping[str, str], row: dict) -> SalesDocument:
    kind = KIND_OF_SET[row[SET]]
    total = row.get("СуммаДокумента")
    return SalesDocument.model_validate(
        {
            "kind": kind,
            "on": str(row.get("Date") or "")[:10] or None,
            "counterparty": row.get("Контрагент_Key") or None,
            "currency": currencies.get(str(row.get("ВалютаДокумента_Key"))),
            "includes_vat": bool(row.get("СуммаВключаетНДС")),
            "operation": row.get("ВидОперации") or None,
            "goods": canonical_rows(kind, "Товары", row.get("Товары") or []),
            "services": canonical_rows(kind, "Услуги", row.get("Услуги") or []) if kind == "sale" else [],
            "total": None if total is None else kopecks(exact(total)),
            "number": row.get("Number") or None,
            "posted": bool(row.get("Posted")),
            "deleted": bool(row.get("DeletionMark")),
            "crm_id": crm_id_from_comment(row.get("Комментарий"), kind),
            "onec_ref": str(row["Ref_Key"]),
        }
    )


def crm_seen(record_id: str, raw: dict, build: Any, *, dirty: bool = True) -> SeenInput:
    """The staging record of a deal's document as the CRM defines it (``build`` may raise IssueError)."""
    return seen_input(
        record_id,
        raw,
        raw.get("DATE_MODIFY"),
        build,
        content_hash=content_hash,
        identity_key=identity_key,
        dirty=dirty,
    )


def held_sources(env: SyncEnv, *, smart: bool) -> set[str]:
    """The deal (or smart invoice) IDs with a document record in quarantine."""
    ids = {q.external_id.rsplit(":", 1)[0] for q in env.staging.open_quarantine(KEY) if q.system == "crm"}
    return {i.removeprefix(SMART_PREFIX) for i in ids if i.startswith(SMART_PREFIX) == smart}


class Unchanged:
    """Which listed deals (or smart invoices) an incremental read leaves as they are staged, unread: the
    rule is in :mod:`crm1c.sync.invoices.crm_reader`. ``previous``: when the portal started the previous run's
    listing (its cursor ``listed``; ``smart_invoice_listed`` for smart invoices), compared to the whole
    second; ``held``: the sources in quarantine."""

    def __init__(self, previous: str | None, held: set[str]) -> None:
        start = _moment(previous)  # None: leave nothing (a full run, the first one, no server time)
        self.before = start.replace(microsecond=0) if start else None
        self.held = held

    @classmethod
    def of_run(cls, env: SyncEnv, mode: str, held: set[str], cursor: str) -> Unchanged:
        """The rule of this run: the listing start the previous run left in ``cursor`` (none: a full run)."""
        return cls(None if mode == "full" else cursors.current(env, KEY, cursor), held)

    @staticmethod
    def stage(env: SyncEnv, cursor: str, date_start: str | None) -> None:
        """Stage when the portal started this run's listing, for the next run's rule (promoted by publish);
        without a server time ``''``: the next run leaves nothing unread."""
        cursors.stage(env, KEY, date_start or "", cursor)

    def __call__(self, source_id: str, modified: Any, versions: Sequence[str | None]) -> bool:
        """True when every record the source makes (``versions``: their staged versions, None for one not
        staged) is staged at ``modified`` and ``modified`` is strictly before the previous listing's start."""
        if self.before is None or source_id in self.held or not versions:
            return False
        moment = _moment(modified)
        try:
            earlier = moment is not None and moment < self.before
        except TypeError:  # one with an offset, one without: not comparable, read it
            return False
        return earlier and all(v == modified for v in versions)


def _moment(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
