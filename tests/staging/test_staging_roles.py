"""Roles: one CRM deal linked to several 1C documents (1:1 per role), intents per role, post/unpost."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from crm1c.staging import Completion, NotFoundError, XrefConflictError
from crm1c.staging.schema import write_intent, xref

DEAL = "deal"
ORDER = {"Сумма": "1200.00"}


def link_both(staging):
    invoice = staging.link(DEAL, "D1", "inv-1", role="invoice", base={"doc": "invoice"})
    sale = staging.link(DEAL, "D1", "sale-1", role="sale", base={"doc": "sale"})
    return invoice, sale


def open_create(staging, role: str, source_id: str = "D1", **kw):
    return staging.open_intent(
        DEAL, "onec", "create", "crm", source_id, ORDER, match_key=f"deal:{source_id}/{role}", role=role, **kw
    )


def test_a_deal_links_to_an_invoice_and_a_sale(staging):
    invoice, sale = link_both(staging)
    assert (invoice.role, sale.role) == ("invoice", "sale")
    assert staging.xrefs_by_crm(DEAL, "D1") == [invoice, sale]
    assert staging.xrefs_by_crm(DEAL, "D2") == []
    assert staging.xref_by_crm(DEAL, "D1", role="invoice") == invoice
    assert staging.xref_by_crm(DEAL, "D1", role="sale") == sale
    assert staging.xref_by_crm(DEAL, "D1") is None  # no one-to-one link
    assert staging.xref_by_onec(DEAL, "sale-1", role="sale") == sale
    assert staging.xref_by_onec(DEAL, "sale-1", role="invoice") is None
    assert staging.xrefs_of(DEAL, "crm", ["D1", "D2"], role="sale") == {"D1": sale}
    assert staging.xrefs_of(DEAL, "onec", ["inv-1", "sale-1"], role="invoice") == {"inv-1": invoice}
    assert staging.xrefs_of(DEAL, "crm", ["D1"]) == {}
    # a 1C record has one link at most: who owns it, whatever the role
    assert staging.xref_by_onec(DEAL, "sale-1", role=None) == sale
    owners = staging.xrefs_of(DEAL, "onec", ["inv-1", "sale-1", "x"], role=None)
    assert owners == {"inv-1": invoice, "sale-1": sale}
    with pytest.raises(ValueError, match="xrefs_by_crm"):
        staging.xrefs_of(DEAL, "crm", ["D1"], role=None)
    # idempotent per role, and base/hashes are updated in that role only
    again = staging.link(DEAL, "D1", "sale-1", role="sale", base={"doc": "sale", "v": 2}, onec_hash="h")
    assert (again.id, again.base, again.onec_hash) == (sale.id, {"doc": "sale", "v": 2}, "h")
    assert staging.xref_by_crm(DEAL, "D1", role="invoice") == invoice


@pytest.mark.parametrize(
    ("crm_id", "onec_id", "role"),
    [
        ("D1", "inv-2", "invoice"),  # a second invoice for the same deal: 1:1 per role
        ("D2", "inv-1", "invoice"),  # the invoice belongs to another deal
        ("D1", "inv-1", "sale"),  # a 1C document is linked in one role only
        ("D2", "inv-1", ""),
    ],
)
def test_a_second_link_of_a_role_is_refused(staging, crm_id, onec_id, role):
    invoice, sale = link_both(staging)
    with pytest.raises(XrefConflictError, match="already linked"):
        staging.link(DEAL, crm_id, onec_id, role=role)
    assert staging.xrefs_by_crm(DEAL, "D1") == [invoice, sale]
    assert staging.xrefs_by_crm(DEAL, "D2") == []
    assert staging.xref_by_onec(DEAL, "inv-2", role="invoice") is None


def test_the_database_enforces_one_link_per_role_and_one_owner_per_1c_record(staging, engine):
    invoice, _ = link_both(staging)
    row = {c.name: getattr(invoice, c.name) for c in xref.c if c.name != "id"}
    for clash in ({"onec_id": "inv-2"}, {"crm_id": "D2", "role": "sale"}):
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(sa.insert(xref).values(row | clash))
    with engine.begin() as conn:  # another role of the same deal, another 1C document: allowed
        conn.execute(sa.insert(xref).values(row | {"onec_id": "act-1", "role": "act"}))


def test_update_base_in_a_role(staging):
    link_both(staging)
    updated = staging.update_base(
        DEAL, "D1", "inv-1", role="invoice", base={"v": 2}, crm_hash="c", onec_hash="o"
    )
    assert (updated.role, updated.base, updated.crm_hash) == ("invoice", {"v": 2}, "c")
    assert staging.xref_by_crm(DEAL, "D1", role="sale").base == {"doc": "sale"}
    with pytest.raises(NotFoundError, match=r"deal \(sale\)"):
        staging.update_base(DEAL, "D1", "inv-1", role="sale", base={}, crm_hash=None, onec_hash=None)
    with pytest.raises(NotFoundError):
        staging.update_base(DEAL, "D1", "inv-1", base={}, crm_hash=None, onec_hash=None)


def test_pending_intents_of_different_roles_coexist(staging, engine):
    invoice = open_create(staging, "invoice")
    sale = open_create(staging, "sale")
    assert invoice.id != sale.id and not invoice.resumed and not sale.resumed
    assert (invoice.role, sale.role) == ("invoice", "sale")
    resumed = open_create(staging, "sale", run_id="r2")
    assert resumed.resumed and resumed.id == sale.id and resumed.attempts == 2
    assert staging.pending_intents(DEAL, "onec") == [invoice, staging.get_intent(sale.id)]
    assert staging.pending_intent(DEAL, "onec", "crm", "D1", role="invoice") == invoice
    assert staging.pending_intent(DEAL, "onec", "crm", "D1") is None
    assert staging.pending_intents_of(DEAL, "onec", "crm", ["D1", "D2"], role="sale") == {
        "D1": staging.get_intent(sale.id)
    }
    assert staging.pending_intents_of(DEAL, "onec", "crm", ["D1"]) == {}
    row = {c.name: getattr(invoice, c.name) for c in write_intent.c if c.name != "id"}
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:  # one pending intent per role
        conn.execute(sa.insert(write_intent).values(row))


def test_completing_an_intent_links_in_its_role(staging):
    invoice = open_create(staging, "invoice")
    sale = open_create(staging, "sale")
    linked = staging.complete_intent_and_link(invoice.id, "inv-1", base=ORDER, crm_hash="h", onec_hash="h")
    assert (linked.role, linked.crm_id, linked.onec_id) == ("invoice", "D1", "inv-1")
    staging.complete_intent_and_link(sale.id, "sale-1", base=ORDER, crm_hash="h", onec_hash="h")
    assert [(x.role, x.onec_id) for x in staging.xrefs_by_crm(DEAL, "D1")] == [
        ("invoice", "inv-1"),
        ("sale", "sale-1"),
    ]
    assert staging.pending_intents(DEAL, "onec") == []


def test_a_completed_document_cannot_take_a_second_slot(staging):
    staging.link(DEAL, "D1", "inv-1", role="invoice")
    intent = open_create(staging, "sale")
    with pytest.raises(XrefConflictError):  # 1C answered with the invoice's Ref_Key for the sale
        staging.complete_intent_and_link(intent.id, "inv-1", base=ORDER, crm_hash=None, onec_hash=None)
    assert staging.get_intent(intent.id).state == "pending"


def test_many_completions_relink_in_their_roles(staging):
    link_both(staging)
    staging.link("counterparty", "D1", "inv-1")  # same ids, another entity: untouched
    items = []
    for role, doc in (("invoice", "inv-1"), ("sale", "sale-1")):
        intent = staging.open_intent(DEAL, "onec", "update", "crm", "D1", ORDER, target_id=doc, role=role)
        items.append(Completion(intent.id, doc, "D1", doc, {"v": role}, "c", "o", role=role))
    staging.complete_many_and_relink(DEAL, items)
    assert [(x.role, x.base) for x in staging.xrefs_by_crm(DEAL, "D1")] == [
        ("invoice", {"v": "invoice"}),
        ("sale", {"v": "sale"}),
    ]
    assert staging.xref_by_crm("counterparty", "D1").base is None
    assert all(staging.get_intent(i.intent_id).state == "done" for i in items)


def test_post_and_unpost_intents(staging, engine):
    posted = staging.open_intent(DEAL, "onec", "post", "crm", "D1", {}, target_id="sale-1", role="sale")
    assert (posted.op, posted.state, posted.target_id) == ("post", "pending", "sale-1")
    assert staging.complete_intent(posted.id, "sale-1").state == "done"
    unposted = staging.open_intent(DEAL, "onec", "unpost", "crm", "D1", {}, target_id="sale-1", role="sale")
    assert (unposted.op, unposted.resumed) == ("unpost", False)
    with pytest.raises(ValueError, match="target_id"):
        staging.open_intent(DEAL, "onec", "post", "crm", "D2", {}, role="sale")
    with pytest.raises(ValueError, match="onec"):
        staging.open_intent(DEAL, "crm", "post", "onec", "sale-1", {}, target_id="D1")
    row = {c.name: getattr(unposted, c.name) for c in write_intent.c if c.name != "id"}
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:  # the CHECK still guards op
        conn.execute(sa.insert(write_intent).values(row | {"op": "repost", "state": "done"}))
