"""Three-way merge: one-sided changes and deletions flow; two-sided changes go to the owner, reported."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm1c.domain.counterparty import SYNCED_FIELDS, Counterparty, tombstone
from crm1c.domain.merge import FieldConflict, Ownership, merge
from crm1c.mapping.schema import CounterpartyMapping
from tests.domain.strategies import THOROUGH

REF = "1fa1a135-d89b-11e6-8343-40167e2531c3"
HEAD = "2fa1a135-d89b-11e6-8343-40167e2531c3"
BASE = Counterparty(
    kind="legal", name="Ромашка", inn="7707083893", kpp="770701001", phone="+7 1", crm_id="5", onec_ref=REF
)
CRM = BASE.model_copy(update={"onec_ref": REF})
ONEC = BASE.model_copy(update={"phone": None})  # 1C does not hold phones


@pytest.fixture(scope="module")
def own(mapping: CounterpartyMapping) -> Ownership:
    return mapping.merge_ownership()


def edit(cp: Counterparty, **changes: Any) -> Counterparty:
    return cp.model_copy(update=changes)


# ---------------------------------------------------------------- the table


@pytest.mark.parametrize(
    ("crm", "onec", "to_crm", "to_onec", "conflicts"),
    [
        pytest.param(CRM, ONEC, {}, {}, [], id="nothing-changed"),
        pytest.param(edit(CRM, name="Ромашка+"), ONEC, {}, {"name": "Ромашка+"}, [], id="crm-only-name"),
        pytest.param(CRM, edit(ONEC, inn="7736207543"), {"inn": "7736207543"}, {}, [], id="1c-only-inn"),
        pytest.param(
            CRM, edit(ONEC, name="Ромашка 1С"), {"name": "Ромашка 1С"}, {}, [], id="1c-only-crm-owned"
        ),
        pytest.param(edit(CRM, okpo="12345678"), ONEC, {}, {"okpo": "12345678"}, [], id="crm-only-1c-owned"),
        pytest.param(
            edit(CRM, name="А"),
            edit(ONEC, name="Б"),
            {},
            {"name": "А"},
            [FieldConflict("name", "Ромашка", "А", "Б", "crm")],
            id="both-name-crm-wins",
        ),
        pytest.param(
            edit(CRM, kpp="770702001"),
            edit(ONEC, kpp="770703001"),
            {"kpp": "770703001"},
            {},
            [FieldConflict("kpp", "770701001", "770702001", "770703001", "onec")],
            id="both-kpp-1c-wins",
        ),
        pytest.param(edit(CRM, name="А"), edit(ONEC, name="А"), {}, {}, [], id="both-same-value"),
        pytest.param(
            edit(CRM, name="А"),
            edit(ONEC, comment="бух."),
            {"comment": "бух."},
            {"name": "А"},
            [],
            id="different-fields-both-flow",
        ),
        pytest.param(
            CRM, edit(ONEC, kind="ip", kpp=None), {"kind": "ip", "kpp": None}, {}, [], id="1c-changed-kind"
        ),
        pytest.param(edit(CRM, phone="+7 2"), ONEC, {}, {}, [], id="crm-only-field-stays-in-crm"),
        pytest.param(tombstone(CRM), ONEC, {}, {"deleted": True}, [], id="crm-deleted"),
        pytest.param(None, ONEC, {}, {"deleted": True}, [], id="crm-gone"),
        pytest.param(CRM, edit(ONEC, deleted=True), {"deleted": True}, {}, [], id="1c-deletion-mark"),
        pytest.param(
            tombstone(CRM),
            edit(ONEC, inn="7736207543"),
            {},
            {"deleted": True},
            [FieldConflict("deleted", False, True, False, "crm")],
            id="crm-deleted-while-1c-edited",
        ),
        pytest.param(tombstone(CRM), edit(ONEC, deleted=True), {}, {}, [], id="both-deleted"),
        pytest.param(CRM, edit(ONEC, crm_id=None), {}, {"crm_id": "5"}, [], id="1c-lost-its-tag"),
        pytest.param(
            CRM,
            edit(ONEC, crm_id="6"),
            {},
            {"crm_id": "5"},
            [FieldConflict("crm_id", "5", "5", "6", "crm")],
            id="1c-tagged-with-another-company",
        ),
        pytest.param(edit(CRM, onec_ref=None), ONEC, {"onec_ref": REF}, {}, [], id="crm-lost-the-1c-key"),
    ],
)
def test_merge_table(
    own: Ownership,
    crm: Counterparty | None,
    onec: Counterparty | None,
    to_crm: dict[str, Any],
    to_onec: dict[str, Any],
    conflicts: list[FieldConflict],
) -> None:
    result = merge(BASE, crm, onec, own)
    assert (result.to_crm, result.to_onec, result.conflicts) == (to_crm, to_onec, conflicts)


def test_merged_takes_one_way_fields_from_their_system(own: Ownership) -> None:
    onec = edit(
        ONEC, kind="branch", kpp="770702001", head_ref=HEAD, head_inn="7707083893", head_kpp="770701001"
    )
    crm = edit(CRM, kind="branch", kpp="770702001", phone="+7 9", head_inn="7707083893")
    merged = merge(BASE, crm, onec, own).merged
    assert (merged.phone, merged.head_ref, merged.head_kpp, merged.crm_id, merged.onec_ref) == (
        "+7 9",
        HEAD,
        "770701001",
        "5",
        REF,
    )


def test_conflict_winner_value_is_in_merged(own: Ownership) -> None:
    result = merge(BASE, edit(CRM, name="А", inn="7736207543"), edit(ONEC, name="Б", inn="7710140679"), own)
    assert (result.merged.name, result.merged.inn) == ("А", "7710140679")
    assert result.to_crm == {"inn": "7710140679"} and result.to_onec == {"name": "А"}
    assert [c.field for c in result.conflicts] == ["name", "inn"]


# ---------------------------------------------------------------- no base: new records and first matches


def test_new_in_crm_creates_in_1c(own: Ownership) -> None:
    crm = edit(CRM, onec_ref=None)
    result = merge(None, crm, None, own)
    assert result.to_crm == {} and result.conflicts == [] and result.merged == crm
    assert result.to_onec == {
        "kind": "legal",
        "name": "Ромашка",
        "inn": "7707083893",
        "kpp": "770701001",
        "deleted": False,
        "crm_id": "5",
    }


def test_new_in_1c_creates_in_crm(own: Ownership) -> None:
    onec = edit(ONEC, crm_id=None, okpo="12345678")
    result = merge(None, None, onec, own)
    assert result.to_onec == {}
    assert result.to_crm["okpo"] == "12345678" and result.to_crm["onec_ref"] == REF


def test_a_new_tombstone_creates_nothing(own: Ownership) -> None:
    result = merge(None, tombstone(CRM), None, own)
    assert (result.to_crm, result.to_onec) == ({}, {})


def test_first_match_fills_gaps_and_reports_differences(own: Ownership) -> None:
    crm = edit(CRM, name="Ромашка", okpo=None, comment="из CRM")
    onec = edit(ONEC, name="ООО Ромашка", okpo="12345678", comment=None)
    result = merge(None, crm, onec, own)
    assert result.to_crm == {"okpo": "12345678"}
    assert result.to_onec == {"name": "Ромашка", "comment": "из CRM"}
    assert result.conflicts == [FieldConflict("name", None, "Ромашка", "ООО Ромашка", "crm")]


def test_first_match_with_a_marked_1c_record_unmarks_it_and_says_so(own: Ownership) -> None:
    result = merge(None, CRM, edit(ONEC, deleted=True), own)
    assert not result.merged.deleted
    assert result.to_onec["deleted"] is False
    assert result.conflicts == [FieldConflict("deleted", None, False, True, "crm")]


def test_undeleted_in_1c_recreates_in_crm(own: Ownership) -> None:
    base = tombstone(BASE)
    result = merge(base, None, edit(ONEC, deleted=False), own)
    assert not result.merged.deleted
    assert result.to_crm["deleted"] is False and result.to_crm["name"] == "Ромашка"
    assert result.to_crm["onec_ref"] == REF


def test_nothing_to_merge() -> None:
    with pytest.raises(ValueError, match="at least one side"):
        merge(BASE, None, None, Ownership(owners={}))


# ---------------------------------------------------------------- properties

VALUES = {
    "name": st.sampled_from(["А", "Б", "В", None]),
    "inn": st.sampled_from(["7707083893", "7736207543", None]),
    "kpp": st.sampled_from(["770701001", "770702001", None]),
    "comment": st.sampled_from(["x", "y", None]),
    "kind": st.sampled_from(["legal", "ip"]),
}


@st.composite
def variants(draw: st.DrawFn, base: Counterparty) -> Counterparty:
    return base.model_copy(update={name: draw(values) for name, values in VALUES.items()})


def apply(cp: Counterparty, writes: dict[str, Any]) -> Counterparty:
    return cp.model_copy(update=writes)


def changed_on_both_sides(
    base: Counterparty | None, crm: Counterparty, onec: Counterparty, field: str
) -> bool:
    """The spec of a conflict: two different values, neither of them the base (no base: neither empty)."""
    c, o = getattr(crm, field), getattr(onec, field)
    if c == o:
        return False
    if base is None:
        return c is not None and o is not None
    return getattr(base, field) not in (c, o)


@THOROUGH
@given(st.data())
def test_after_the_writes_both_sides_agree(own: Ownership, data: st.DataObject) -> None:
    base = data.draw(variants(BASE)) if data.draw(st.booleans()) else None
    crm = data.draw(variants(CRM))
    onec = data.draw(variants(ONEC))
    result = merge(base, crm, onec, own)
    two_way = [f for f in SYNCED_FIELDS if f in own.owners]
    for side in (apply(crm, result.to_crm), apply(onec, result.to_onec)):
        assert {f: getattr(side, f) for f in two_way} == {f: getattr(result.merged, f) for f in two_way}
    expected = [f for f in own.owners if changed_on_both_sides(base, crm, onec, f)]
    assert [c.field for c in result.conflicts] == expected
    for conflict in result.conflicts:
        assert getattr(result.merged, conflict.field) == getattr(conflict, conflict.winner)
    again = merge(result.merged, apply(crm, result.to_crm), apply(onec, result.to_onec), own)
    assert (again.to_crm, again.to_onec, again.conflicts) == ({}, {}, [])
