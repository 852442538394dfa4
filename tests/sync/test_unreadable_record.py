"""One unreadable record never stops a read: it is kept with its error, to wait in quarantine."""

from __future__ import annotations

from datetime import datetime

from crm1c.mapping.invoices import load_invoice_mapping
from crm1c.staging import SeenRecord
from crm1c.sync.engine.records import codec_issue, seen_input


def _seen(build):  # type: ignore[no-untyped-def]
    return seen_input("42:invoice", {"ID": "42"}, "v1", build, content_hash=str, identity_key=lambda _r: None)


def test_an_unforeseen_error_while_reading_a_record_is_kept_as_its_issue():
    row = _seen(lambda: datetime.fromisoformat("2026-13-45"))  # a malformed date from the source

    assert row.normalised is not None and row.content_hash is None
    now = datetime.now()
    record = SeenRecord(
        "crm", "invoice", row.external_id, "v1", None, "", row.raw, row.normalised, False, now, now
    )
    issue = codec_issue(record)
    assert issue is not None and issue.code == "unreadable" and "ValueError" in issue.reason_en


def test_a_funnel_that_is_not_a_number_maps_to_no_documents():
    mapping = load_invoice_mapping()
    assert mapping.documents_for("0", "WON") == ("invoice", "sale") == mapping.documents_for(None, "WON")
    assert mapping.documents_for("C7", "WON") == ()
