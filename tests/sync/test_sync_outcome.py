"""Settling an intent whose link would break the 1:1 cross-reference holds that pair, not the whole load."""

from __future__ import annotations

from crm1c.domain.counterparty import Counterparty
from crm1c.sync.counterparties.records import KEY as ENTITY
from crm1c.sync.counterparties.spec import COUNTERPARTIES
from crm1c.sync.engine.records import intent_payload
from crm1c.sync.engine.settle import settle_all
from crm1c.sync.spec import Outcome
from tests.sync.harness import make_env, staging_for

A = "11111111-1111-1111-1111-111111111111"
B = "22222222-2222-2222-2222-222222222222"


def test_a_link_conflict_is_held_in_quarantine_and_the_load_goes_on(tmp_path):
    staging = staging_for(f"sqlite:///{tmp_path}/staging.sqlite3")
    env = make_env(staging, None, None)
    staging.link(ENTITY, "1", A)
    cp = Counterparty(kind="legal", name="ООО Тест", inn="7707083893", kpp="770701001", crm_id="1")
    payload = intent_payload({"name": cp.name}, cp, "1", None)
    clash = staging.open_intent(ENTITY, "onec", "create", "crm", "1", payload, match_key="inn:7707083893")
    fine = staging.open_intent(
        ENTITY,
        "onec",
        "create",
        "crm",
        "2",
        intent_payload({"name": "X"}, cp.model_copy(update={"crm_id": "2"}), "2", None),
        match_key="inn:x",
    )

    settle_all(
        COUNTERPARTIES, env, [(clash, Outcome(target_id=B)), (fine, Outcome(target_id=B.replace("2", "3")))]
    )

    assert staging.get_intent(clash.id).state == "failed"
    assert staging.xref_by_onec(ENTITY, B) is None
    held = staging.open_quarantine(ENTITY)
    assert [(q.system, q.external_id, q.field) for q in held] == [("crm", "1", "*")]
    assert "already linked" in held[0].reason_en and "уже связана" in held[0].reason_ru
    assert staging.get_intent(fine.id).state == "done"
    assert staging.xref_by_crm(ENTITY, "2").onec_id == B.replace("2", "3")
