"""Payments in Bitrix24: the four deal user fields (made at the start of a run when missing) and the deals'
current values of them.

``crm.deal.update`` silently ignores a user field the portal does not define (protocols C.9a), so the CRM
reader first checks that every field exists (``crm.deal.userfield.list``, one batch request) and creates the
missing ones (``crm.deal.userfield.add``: document and pay_status strings, paid_sum a double, paid_date a
date). A field created now holds nothing yet: every deal is planned again, so its value is written.

Then only the deals that matter are read: the ones the 1C side knows (its records in staging, including the
ones whose documents are gone, whose fields are to be cleared), and of them only the ones whose staged CRM
side may be out of date (the merge compares it with the 1C side; a deal not read keeps its staged values).

* **Incremental run.** (a) ``crm.deal.list`` with ``>=DATE_MODIFY`` = the cursor minus the overlap (50
  listings per batch request), keeping the deals the 1C side knows (one staging lookup per request's rows).
  A CRM edit of a payment field moves ``DATE_MODIFY``, so it is read and overwritten; a deal not listed has
  not changed since it was read. (b) By ids (50 per ``crm.deal.list``, 50 of those per batch request), unless
  (a) read them: the deals whose 1C record this run changed (the 1C reader runs first; they are dirty in
  staging; a deal 1C has just got to know has no CRM side staged yet) and the held ones (read again so they
  go once fixed). A run where nothing changed: the field check, one listing request of deals and one of
  smart invoices, however many deals there are.
* **Full run** (``mode == "full"``), **the first run** (no cursor) and **the run that created a field**
  (every deal is planned again): every deal the 1C side knows, by ids: ⌈N / 2 500⌉ requests for N deals.

A deal asked for by id and not returned is gone from the CRM (tombstoned; nothing is written for it). One
missing from a ``DATE_MODIFY`` listing is only unchanged: a deal deleted in the CRM is tombstoned by the next
full run, or by the next run in which its 1C record changes. The smart invoices 1C knows are read the same
way (``crm.item.list`` by ids or by ``updatedTime``, :mod:`crm1c.sync.payments.crm_invoices`).

The cursor is when the portal started the field check, the run's first request (its ``time.date_start``;
without the server's time, the newest ``DATE_MODIFY`` or ``updatedTime`` read): the run reads everything
after it, and any later edit, by a person or by this run's own writes (the writer stores the deal it reads
back), carries a later ``DATE_MODIFY``. Publish promotes it: a run that dies before (after its writes, say)
leaves the previous cursor, so the next run lists from there and reads what the deals hold.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from crm1c.clients.bitrix24_batch import BatchResult
from crm1c.domain.deal_payment import SMART_INVOICE, DealPayment
from crm1c.domain.money.numbers import exact, kopecks
from crm1c.staging import SeenInput
from crm1c.sync.engine import cursors
from crm1c.sync.engine.cursors import later
from crm1c.sync.payments.crm_invoices import changed_items, items_seen, key_of, read_invoices
from crm1c.sync.payments.records import KEY, crm_record_seen, deal_of, onec_id
from crm1c.sync.runtime import Progress, SyncEnv, log

#: The user field type of each value (``crm.deal.userfield.add`` ``USER_TYPE_ID``).
TYPES = {"document": "string", "pay_status": "string", "paid_sum": "double", "paid_date": "date"}
LABELS = {
    "document": "Документ 1С",
    "pay_status": "Статус оплаты (1С)",
    "paid_sum": "Оплачено (1С)",
    "paid_date": "Дата оплаты (1С)",
}
IDS_PER_LIST = 50  # one page of crm.deal.list
#: Besides the fields: what a pilot selects deals by (:class:`crm1c.sync.invoices.pilot.DocumentPilot`).
DEAL_SELECT = ["ID", "DATE_MODIFY", "CATEGORY_ID", "ASSIGNED_BY_ID", "COMPANY_ID"]
LISTS_PER_BATCH = 50
PER_REQUEST = IDS_PER_LIST * LISTS_PER_BATCH  # deals read by ids in one batch request


def field_names(env: SyncEnv) -> dict[str, str]:
    """Canonical field → deal user field name, from the mapping."""
    names: dict[str, str] = env.mapping.fields.by_value()
    return names


def deal_select(env: SyncEnv) -> list[str]:
    """What a deal is read with: :data:`DEAL_SELECT` and the fields, by name (``UF_*`` is not a default)."""
    return [*DEAL_SELECT, *field_names(env).values()]


class Fields(NamedTuple):
    """What :func:`ensure_fields` did: the names it created, and when the portal started the check (its
    ``time.date_start``; None without the server's time)."""

    created: list[str]
    started: str | None


def ensure_fields(env: SyncEnv) -> Fields:
    """Create the user fields the portal lacks (two requests at most)."""
    names = field_names(env)
    listing = {
        f"l{n}": ("crm.deal.userfield.list", {"filter": {"FIELD_NAME": name}})
        for n, name in enumerate(names.values())
    }

    def parse(result: BatchResult) -> tuple[dict[str, dict], str | None]:
        found: dict[str, dict] = {}
        for key in listing:
            if key in result.errors:
                raise result.errors[key]
            for row in result.results.get(key) or []:
                found[str(row.get("FIELD_NAME"))] = row
        return found, result.date_start

    existing, started = env.crm.batch_read(listing, parse)
    for value, name in names.items():
        if name in existing and existing[name].get("USER_TYPE_ID") != TYPES[value]:
            log.warning(
                "deal user field %s is of type %s, not %s: values are read back as they are",
                name,
                existing[name].get("USER_TYPE_ID"),
                TYPES[value],
            )
    missing = {value: name for value, name in names.items() if name not in existing}
    if not missing:
        return Fields([], started)
    if env.dry_run:  # a dry run writes nothing: it says what it would create
        log.warning("dry run: would create the deal user fields %s", ", ".join(sorted(missing.values())))
        env.count("crm_fields_missing", len(missing))
        return Fields([], started)
    # a field made now is empty on every deal: every deal is planned again so its value is written, and the
    # deals held because a value did not stick are released (held again if it still fails; the engine
    # releases a hold only when the record is planned from its own side). Done first: when the answer to
    # the creation is lost, the retry finds the fields there and nothing missing, the deals are dirty anyway
    known = [i for i, _v, _deleted in env.staging.seen_versions("onec", KEY)]
    with env.staging.batch() as staging:
        staging.set_dirty("onec", KEY, known, True)
        for held in staging.open_quarantine(KEY):
            if held.system == "onec":
                staging.resolve_quarantine(KEY, "onec", held.external_id)
    commands = {
        f"a{n}": ("crm.deal.userfield.add", {"fields": _definition(value, name)})
        for n, (value, name) in enumerate(missing.items())
    }
    result = env.crm.batch(commands, write=True)
    for key in commands:
        if key in result.errors:
            raise result.errors[key]
    created = sorted(missing.values())
    log.warning("created the deal user fields %s", ", ".join(created))
    env.count("crm_fields_created", len(created))
    return Fields(created, started)


def _definition(value: str, name: str) -> dict[str, Any]:
    label = LABELS[value]
    return {
        "FIELD_NAME": name,
        "USER_TYPE_ID": TYPES[value],
        "XML_ID": name,
        "MULTIPLE": "N",
        "MANDATORY": "N",
        "EDIT_IN_LIST": "N",
        "EDIT_FORM_LABEL": label,
        "LIST_COLUMN_LABEL": label,
        "LIST_FILTER_LABEL": label,
    }


def read_deals(env: SyncEnv, mode: str) -> None:
    """The CRM side of the deals (and smart invoices) the 1C side knows whose staged values may be out of
    date: all of them on a full run, the first one and the one that created a field; else the changed ones
    and the ones 1C changed or held (the module's docstring)."""
    fields = ensure_fields(env)
    since = None if fields.created else cursors.since(env, KEY, mode)
    reader = _Reader(env)
    if since is None:
        reader.by_ids([deal_of(i) for i, _v, _deleted in env.staging.seen_versions("onec", KEY)])
    else:
        reader.changed(since)
        reader.again()
    if (cursor := fields.started or reader.mark) is not None:
        cursors.stage(env, KEY, cursor)
    reader.progress.finish()


class _Reader:
    """Reads deals and smart invoices into staging; ``mark``: the newest ``DATE_MODIFY``/``updatedTime`` read,
    ``listed``: the keys listed this run (not read again by ids)."""

    def __init__(self, env: SyncEnv) -> None:
        self.env, self.names, self.select = env, field_names(env), deal_select(env)
        self.progress = Progress("extract_crm")
        self.mark: str | None = None
        self.listed: set[str] = set()

    def changed(self, since: str) -> None:
        """(a) The deals and smart invoices changed at or after ``since`` that the 1C side knows."""
        env, calls, flt = self.env, LISTS_PER_BATCH, {">=DATE_MODIFY": since}
        deals = env.crm.iter_list_batched(
            "crm.deal.list", filter=flt, select=self.select, calls_per_batch=calls
        )
        for page in deals:
            rows = self._known(page, "DATE_MODIFY", lambda row: onec_id(str(row["ID"])))
            self.listed.update(str(row["ID"]) for row in rows)
            _store(env, [crm_seen(row, self.names) for row in rows], [], self.progress)
        for page in changed_items(env, since, calls):
            items = self._known(page, "updatedTime", key_of)
            self.listed.update(key_of(item) for item in items)
            _store(env, items_seen(env, items), [], self.progress)

    def _known(self, page: list[dict], modified: str, key: Callable[[dict], str]) -> list[dict]:
        """The rows of a listing's page whose 1C-side record is in staging (``key``: a row's external id)."""
        for row in page:
            self.mark = later(self.mark, row.get(modified) or None)
        known = self.env.staging.versions_of("onec", KEY, [key(row) for row in page])
        return [row for row in page if key(row) in known]

    def again(self) -> None:
        """(b) By ids: the held deals and the ones whose 1C record is dirty (changed in this run), unless
        listed; read a full request at a time as the dirty records are paged through."""
        staging = self.env.staging
        held = {deal_of(q.external_id) for q in staging.open_quarantine(KEY)}
        wanted, after = sorted(held - self.listed), None
        while page := staging.dirty_records("onec", KEY, limit=PER_REQUEST, after=after):
            after = page[-1].external_id
            keys = (deal_of(r.external_id) for r in page)
            wanted += [k for k in keys if k not in held and k not in self.listed]
            wanted = self.by_ids(wanted, whole=True)
        self.by_ids(wanted)

    def by_ids(self, keys: list[str], *, whole: bool = False) -> list[str]:
        """Read deals and smart invoices (``invoice:<ID>``) by ids, :data:`PER_REQUEST` a request; what is
        not returned is tombstoned. ``whole``: leave a last part shorter than a request unread, returned."""
        env, left = self.env, []
        deals = [k for k in keys if not k.startswith(SMART_INVOICE)]
        invoices = [k for k in keys if k.startswith(SMART_INVOICE)]
        for group in (deals, invoices):
            for start in range(0, len(group), PER_REQUEST):
                part = group[start : start + PER_REQUEST]
                if whole and len(part) < PER_REQUEST:
                    left += part
                elif group is invoices:
                    seen, missing = read_invoices(env, part)
                    for record in seen:
                        self.mark = later(self.mark, record.version or None)
                    _store(env, seen, missing, self.progress)
                else:
                    rows = _deal_rows(env, part, self.select)
                    for row in rows:
                        self.mark = later(self.mark, row.get("DATE_MODIFY") or None)
                    found = {str(row["ID"]) for row in rows}
                    missing = [d for d in part if d not in found]
                    _store(env, [crm_seen(row, self.names) for row in rows], missing, self.progress)
        return left


def _deal_rows(env: SyncEnv, ids: list[str], select: list[str]) -> list[dict]:
    """The deals ``ids`` (up to 2 500): one batch request of ``crm.deal.list`` by 50 IDs each."""
    groups = [ids[k : k + IDS_PER_LIST] for k in range(0, len(ids), IDS_PER_LIST)]
    commands = {
        f"d{n}": ("crm.deal.list", {"filter": {"@ID": group}, "select": select, "start": -1})
        for n, group in enumerate(groups)
    }

    def parse(result: BatchResult) -> list[dict]:
        rows: list[dict] = []
        for key in commands:
            if key in result.errors:
                raise result.errors[key]
            rows += result.results.get(key) or []
        return rows

    return env.crm.batch_read(commands, parse)


def _store(env: SyncEnv, records: list[SeenInput], missing: list[str], progress: Progress) -> None:
    """Store what was read; what was asked for and not found is gone from the CRM (tombstoned)."""
    result = env.staging.upsert_seen("crm", KEY, records)
    gone = env.staging.mark_deleted("crm", KEY, missing)
    env.count("crm_read", len(records))
    env.count("crm_changed", len(result.to_sync))
    env.count("crm_deleted", len(gone))
    progress.advance(len(records))


def values(row: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """The canonical values a deal row holds (a field the row lacks reads as None)."""
    raw = {value: row.get(name) for value, name in names.items()}
    return {
        "document": _text(raw["document"]),
        "pay_status": _text(raw["pay_status"]),
        "paid_sum": _number(raw["paid_sum"]),
        "paid_date": _date(raw["paid_date"]),
    }


def crm_seen(row: dict[str, Any], names: dict[str, str], *, dirty: bool = True) -> SeenInput:
    deal_id = str(row["ID"])
    record = DealPayment(deal_id=deal_id, crm_id=deal_id, **values(row, names))
    return crm_record_seen(deal_id, row, row.get("DATE_MODIFY"), record, dirty=dirty)


def wire(value: str, data: Any) -> Any:
    """A canonical value as ``crm.deal.update`` takes it (None clears the field)."""
    if data is None:
        return ""
    if isinstance(data, date):
        return data.isoformat()
    if isinstance(data, Decimal):
        return str(data)
    return data


def stuck(value: str, row: dict[str, Any], names: dict[str, str], expected: Any) -> bool:
    """Whether the deal read back holds ``expected`` in the field of ``value`` (a field the portal does not
    define is missing from the row: a value never sticks there; an emptied field may be left out of the row
    too, so a clear is kept when the row has nothing in it)."""
    wanted = None if expected is None or expected == "" else expected
    if names[value] not in row:
        return wanted is None
    return values(row, names)[value] == wanted


def _text(data: Any) -> str | None:
    text = "" if data is None or isinstance(data, list | dict) else str(data)
    return text or None


def _number(data: Any) -> Decimal | None:
    if data is None or data == "" or isinstance(data, list | dict):
        return None
    try:
        return kopecks(exact(data))
    except ValueError:
        return None


def _date(data: Any) -> date | None:
    text = "" if data is None else str(data).strip()
    try:
        return date.fromisoformat(text[:10]) if len(text) >= 10 else None
    except ValueError:
        return None
