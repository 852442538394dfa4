"""Payments in Bitrix24: the four deal user fields (made at the start of a run when missing) and the deals'
current values of them.

``crm.deal.update`` silently ignores a user field the portal does not define (protocols C.9a), so the CRM
reader first checks that every field exists (``crm.deal.userfield.list``, one batch request) and creates the
missing ones (``crm.deal.userfield.add``: document and pay_status strings, paid_sum a double, paid_date a
date). A field created now holds nothing yet: every deal is planned again, so its value is written.

Then only the deals that matter are read: the ids the 1C side knows (its records in staging, including the
ones whose documents are gone, whose fields are to be cleared), 50 ids per ``crm.deal.list`` and 50 listings
per batch request — ⌈N / 2 500⌉ requests for N deals, every run (a CRM edit of a field must be seen to be
overwritten; ``DATE_MODIFY`` filtering would not save a request, the ids are the filter). A deal that is not
returned is gone from the CRM (tombstoned; nothing is written for it). The smart invoices 1C knows are read
the same way (``crm.item.list``, :mod:`crm1c.sync.payments.crm_invoices`).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from crm1c.clients.bitrix24_batch import BatchResult
from crm1c.domain.deal_payment import SMART_INVOICE, DealPayment
from crm1c.domain.money.numbers import exact, kopecks
from crm1c.staging import SeenInput
from crm1c.sync.payments.crm_invoices import read_invoices
from crm1c.sync.payments.records import KEY, crm_record_seen, deal_of
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


def field_names(env: SyncEnv) -> dict[str, str]:
    """Canonical field → deal user field name, from the mapping."""
    names: dict[str, str] = env.mapping.fields.by_value()
    return names


def deal_select(env: SyncEnv) -> list[str]:
    """What a deal is read with: :data:`DEAL_SELECT` and the fields, by name (``UF_*`` is not a default)."""
    return [*DEAL_SELECT, *field_names(env).values()]


def ensure_fields(env: SyncEnv) -> list[str]:
    """Create the user fields the portal lacks; returns the names created (two requests at most)."""
    names = field_names(env)
    listing = {
        f"l{n}": ("crm.deal.userfield.list", {"filter": {"FIELD_NAME": name}})
        for n, name in enumerate(names.values())
    }

    def parse(result: BatchResult) -> dict[str, dict]:
        found: dict[str, dict] = {}
        for key in listing:
            if key in result.errors:
                raise result.errors[key]
            for row in result.results.get(key) or []:
                found[str(row.get("FIELD_NAME"))] = row
        return found

    existing = env.crm.batch_read(listing, parse)
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
        return []
    if env.dry_run:  # a dry run writes nothing: it says what it would create
        log.warning("dry run: would create the deal user fields %s", ", ".join(sorted(missing.values())))
        env.count("crm_fields_missing", len(missing))
        return []
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
    return created


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
    """The fields' values of every deal the 1C side knows, and the stage of every smart invoice it knows
    (``mode`` changes nothing: always all of them)."""
    ensure_fields(env)
    names = field_names(env)
    progress = Progress("extract_crm")
    known = [deal_of(i) for i, _v, _deleted in env.staging.seen_versions("onec", KEY)]
    deals = [k for k in known if not k.startswith(SMART_INVOICE)]
    invoices = [k for k in known if k.startswith(SMART_INVOICE)]
    per_request, select = IDS_PER_LIST * LISTS_PER_BATCH, deal_select(env)
    for start in range(0, len(deals), per_request):
        part = deals[start : start + per_request]
        rows = _deal_rows(env, part, select)
        found = {str(row["ID"]) for row in rows}
        _store(env, [crm_seen(row, names) for row in rows], [d for d in part if d not in found], progress)
    for start in range(0, len(invoices), per_request):
        _store(env, *read_invoices(env, invoices[start : start + per_request]), progress)
    progress.finish()


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
