"""xref: 1:1 links with merge bases."""

from __future__ import annotations

import pytest

from crm1c.staging import NotFoundError, XrefConflictError


def test_link_get_and_idempotency(staging):
    link = staging.link("counterparty", "42", "guid-a", base={"name": "A"}, crm_hash="h1", onec_hash="h1")
    assert staging.xref_by_crm("counterparty", "42") == link
    assert staging.xref_by_onec("counterparty", "guid-a") == link
    assert staging.xref_by_crm("invoice", "42") is None

    assert staging.link("counterparty", "42", "guid-a") == link  # no-op
    relinked = staging.link("counterparty", "42", "guid-a", base={"name": "B"}, crm_hash="h2")
    assert relinked.id == link.id
    assert (relinked.base, relinked.crm_hash, relinked.onec_hash) == ({"name": "B"}, "h2", "h1")


@pytest.mark.parametrize(("crm_id", "onec_id"), [("42", "guid-b"), ("43", "guid-a")])
def test_link_refuses_to_break_one_to_one(staging, crm_id, onec_id):
    staging.link("counterparty", "42", "guid-a")
    with pytest.raises(XrefConflictError, match="already linked"):
        staging.link("counterparty", crm_id, onec_id)
    assert staging.xref_by_crm("counterparty", "43") is None
    assert staging.xref_by_onec("counterparty", "guid-b") is None


def test_same_ids_in_another_entity_are_independent(staging):
    staging.link("counterparty", "42", "guid-a")
    assert staging.link("item", "42", "guid-b").onec_id == "guid-b"


def test_update_base(staging):
    staging.link("counterparty", "42", "guid-a", base={"v": 1})
    updated = staging.update_base("counterparty", "42", "guid-a", base={"v": 2}, crm_hash="c", onec_hash="o")
    assert (updated.base, updated.crm_hash, updated.onec_hash) == ({"v": 2}, "c", "o")
    assert updated.updated_at >= updated.created_at
    with pytest.raises(NotFoundError):
        staging.update_base("counterparty", "42", "guid-x", base={}, crm_hash=None, onec_hash=None)
