"""What ``story`` accepts as a query."""

from __future__ import annotations

import pytest

from crm1c.audit.query import Query, QueryError, parse_query

REF = "8d20176c-624d-1ac0-a044-a96f0f496098"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("123", Query("crm", "123")),
        ("crm:123", Query("crm", "123")),
        (" CRM:7707083893 ", Query("crm", "7707083893")),  # a prefix makes a 10-digit id a CRM id
        (REF, Query("onec", REF)),
        (REF.upper(), Query("onec", REF)),
        (f"onec:{REF}", Query("onec", REF)),
        ("7707083893", Query("inn", "7707083893")),
        ("500100732310", Query("inn", "500100732310")),
        ("inn:7707083893", Query("inn", "7707083893")),
    ],
)
def test_queries_read(text: str, expected: Query) -> None:
    assert parse_query(text) == expected


@pytest.mark.parametrize("text", ["", "0", "crm:abc", "inn:123", f"crm:{REF}", "onec:42", "ООО Ромашка"])
def test_what_names_no_record_is_refused(text: str) -> None:
    with pytest.raises(QueryError, match="expected a CRM id"):
        parse_query(text)
