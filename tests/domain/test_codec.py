"""Counterparty ⇄ Bitrix24 and ⇄ 1C: field maps, wire quirks, round trips (canonical → system → canonical)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given

from crm1c.domain.counterparty import Counterparty, validate
from crm1c.domain.counterparty_codec import (
    CodecError,
    bitrix_select,
    from_bitrix,
    from_onec,
    onec_select,
    to_bitrix,
    to_onec,
)
from crm1c.mapping.schema import CounterpartyMapping
from tests.domain.strategies import THOROUGH, counterparties, held_by

ZERO = "00000000-0000-0000-0000-000000000000"
REF = "1fa1a135-d89b-11e6-8343-40167e2531c3"
HEAD_REF = "2fa1a135-d89b-11e6-8343-40167e2531c3"


def company(**fields: Any) -> dict[str, Any]:
    """A ``crm.company.get`` result: every scalar a string, flags Y/N, empties null."""
    base = {"ID": "2919", "TITLE": "ООО Ромашка", "COMPANY_TYPE": "CUSTOMER", "OPENED": "Y", "COMMENTS": None}
    base |= {
        "ORIGINATOR_ID": None,
        "ORIGIN_ID": None,
        "DATE_MODIFY": "2024-08-01T16:08:08+03:00",
        "UF_CRM_1": "x",
    }
    return base | fields


def requisite(**fields: Any) -> dict[str, Any]:
    base = {"ID": "77", "ENTITY_TYPE_ID": "4", "ENTITY_ID": "2919", "PRESET_ID": "1", "NAME": "Реквизиты"}
    base |= {
        "RQ_COMPANY_NAME": "ООО Ромашка",
        "RQ_COMPANY_FULL_NAME": "Общество «Ромашка»",
        "RQ_INN": "7707083893",
    }
    return base | {"RQ_KPP": "770701001", "RQ_OKPO": "", "RQ_OGRN": "1027700132195"} | fields


def onec_row(**fields: Any) -> dict[str, Any]:
    """A ``Catalog_Контрагенты`` JSON row: empty refs are zero GUIDs, enums by value name."""
    base = {"Ref_Key": REF, "DataVersion": "AAAAAAAETag=", "DeletionMark": False, "Code": "000000021"}
    base |= {"Description": "ООО Ромашка", "НаименованиеПолное": "Общество «Ромашка»", "IsFolder": False}
    base |= {"ЮридическоеФизическоеЛицо": "ЮридическоеЛицо", "ИндивидуальныйПредприниматель": False}
    base |= {"ОбособленноеПодразделение": False, "ГоловнойКонтрагент_Key": REF, "ИНН": "7707083893"}
    base |= {"КПП": "770701001", "КодПоОКПО": "", "Комментарий": "", "ДополнительнаяИнформация": ""}
    base |= {"Parent_Key": ZERO, "Город@navigationLinkUrl": "Catalog_Контрагенты(guid'…')/Город"}
    return base | fields


# ---------------------------------------------------------------- Bitrix24 → canonical


def test_from_bitrix_legal(mapping: CounterpartyMapping) -> None:
    phones = [
        {"ID": "5", "VALUE_TYPE": "WORK", "VALUE": " "},
        {"ID": "6", "VALUE_TYPE": "WORK", "VALUE": "+7 495 1"},
    ]
    cp = from_bitrix(company(PHONE=phones, COMMENTS="Звонить\r\nутром"), requisite(), mapping)
    assert cp == Counterparty(
        kind="legal",
        name="ООО Ромашка",
        full_name="Общество «Ромашка»",
        inn="7707083893",
        kpp="770701001",
        phone="+7 495 1",
        comment="Звонить\nутром",
        crm_id="2919",
    )
    assert validate(cp, mapping) == []


@pytest.mark.parametrize(
    ("preset", "company_type", "kind"),
    [
        ("1", "CUSTOMER", "legal"),
        ("2", "CUSTOMER", "ip"),
        ("3", "PARTNER", "person"),
        ("1", "BRANCH", "branch"),
    ],
)
def test_from_bitrix_kind(preset: str, company_type: str, kind: str, mapping: CounterpartyMapping) -> None:
    cp = from_bitrix(company(COMPANY_TYPE=company_type), requisite(PRESET_ID=preset), mapping)
    assert cp.kind == kind


def test_from_bitrix_ip_reads_the_person_name(mapping: CounterpartyMapping) -> None:
    req = requisite(PRESET_ID="2", RQ_NAME="Петров Пётр Петрович", RQ_INN="500100732259", RQ_KPP=None)
    cp = from_bitrix(company(TITLE="ИП Петров"), req, mapping)
    assert (cp.kind, cp.name, cp.full_name, cp.kpp) == ("ip", "ИП Петров", "Петров Пётр Петрович", None)


def test_from_bitrix_branch_takes_the_head_inn_from_its_own(mapping: CounterpartyMapping) -> None:
    cp = from_bitrix(company(COMPANY_TYPE="BRANCH"), requisite(RQ_KPP="770702001"), mapping)
    assert (cp.kind, cp.head_inn, cp.head_ref) == ("branch", "7707083893", None)
    assert validate(cp, mapping) == []


def test_from_bitrix_without_requisite(mapping: CounterpartyMapping) -> None:
    cp = from_bitrix(company(), None, mapping)
    assert (cp.kind, cp.inn) == ("legal", None)
    assert [i.code for i in validate(cp, mapping)] == ["kpp_required", "required"]


def test_from_bitrix_unknown_preset_is_a_codec_error(mapping: CounterpartyMapping) -> None:
    with pytest.raises(CodecError) as caught:
        from_bitrix(company(), requisite(PRESET_ID="9"), mapping)
    assert caught.value.issue.code == "unknown_legal_form"
    assert "2919" in caught.value.issue.reason_ru and "PRESET_ID=9" in caught.value.issue.reason_ru


def test_from_bitrix_unreadable_preset_is_a_codec_error(mapping: CounterpartyMapping) -> None:
    with pytest.raises(CodecError, match="PRESET_ID=None"):
        from_bitrix(company(), requisite(PRESET_ID="Организация"), mapping)


def test_from_bitrix_accepts_typed_ids(mapping: CounterpartyMapping) -> None:
    cp = from_bitrix(company(ID=2919), requisite(PRESET_ID=1, RQ_INN=7707083893), mapping)
    assert (cp.crm_id, cp.inn) == ("2919", "7707083893")


def test_from_bitrix_reads_the_1c_key_only_when_we_wrote_it(mapping: CounterpartyMapping) -> None:
    ours = company(ORIGINATOR_ID="crm1c-1c", ORIGIN_ID=REF.upper())
    assert from_bitrix(ours, requisite(), mapping).onec_ref == REF
    theirs = company(ORIGINATOR_ID="other-app", ORIGIN_ID="abc")
    assert from_bitrix(theirs, requisite(), mapping).onec_ref is None


def test_from_bitrix_bad_id_names_the_record(mapping: CounterpartyMapping) -> None:
    with pytest.raises(CodecError) as caught:
        from_bitrix(company(ID="x1"), requisite(), mapping)
    assert caught.value.issue.field == "crm_id" and "x1" in caught.value.issue.reason_ru


# ---------------------------------------------------------------- canonical → Bitrix24


def test_to_bitrix_create_adds_defaults_and_the_link(mapping: CounterpartyMapping) -> None:
    cp = Counterparty(kind="branch", name="Филиал", inn="7707083893", kpp="770702001", onec_ref=REF)
    comp, req = to_bitrix(cp, mapping)
    assert comp["COMPANY_TYPE"] == "BRANCH" and comp["OPENED"] == "Y"
    assert (comp["ORIGINATOR_ID"], comp["ORIGIN_ID"]) == ("crm1c-1c", REF)
    assert comp["TITLE"] == req["RQ_COMPANY_NAME"] == "Филиал"
    assert (req["PRESET_ID"], req["ENTITY_TYPE_ID"], req["NAME"], req["RQ_KPP"]) == (
        "1",
        "4",
        "Реквизиты",
        "770702001",
    )
    assert "PHONE" not in comp


def test_to_bitrix_update_sends_only_what_changed(mapping: CounterpartyMapping) -> None:
    cp = Counterparty(kind="legal", name="Новое имя", inn="7707083893", kpp="770701001")
    comp, req = to_bitrix(
        cp, mapping, only=["name"], current_company=company(), current_requisite=requisite()
    )
    assert comp == {"TITLE": "Новое имя"}
    assert req == {"RQ_COMPANY_NAME": "Новое имя"}


def test_to_bitrix_new_kind_rewrites_the_requisite(mapping: CounterpartyMapping) -> None:
    cp = Counterparty(kind="ip", name="ИП Петров", full_name="Петров Пётр", inn="500100732259")
    comp, req = to_bitrix(
        cp, mapping, only=["kind"], current_company=company(), current_requisite=requisite()
    )
    assert (req["PRESET_ID"], req["RQ_NAME"], req["RQ_KPP"], comp["TITLE"]) == (
        "2",
        "Петров Пётр",
        "",
        "ИП Петров",
    )


@pytest.mark.parametrize(("was", "now"), [("BRANCH", "CUSTOMER"), ("PARTNER", None), ("CUSTOMER", None)])
def test_to_bitrix_leaving_the_branch_type(was: str, now: str | None, mapping: CounterpartyMapping) -> None:
    cp = Counterparty(kind="legal", name="Ромашка", inn="7707083893", kpp="770701001")
    current = company(COMPANY_TYPE=was)
    comp, _ = to_bitrix(cp, mapping, only=["kind"], current_company=current, current_requisite=requisite())
    assert comp.get("COMPANY_TYPE") == now
    assert from_bitrix({**current, **comp}, requisite(), mapping).kind == "legal"


def test_to_bitrix_empty_value_clears_the_field(mapping: CounterpartyMapping) -> None:
    cp = Counterparty(kind="legal", name="А")
    _, req = to_bitrix(cp, mapping, only=["okpo"], current_company=company(), current_requisite=requisite())
    assert req == {"RQ_OKPO": ""}


@pytest.mark.parametrize(
    ("phone", "current", "expected"),
    [
        ("+7 1", None, [{"VALUE": "+7 1", "VALUE_TYPE": "WORK"}]),
        (None, None, None),
        (
            "+7 2",
            [{"ID": "5", "VALUE": "+7 1", "VALUE_TYPE": "MOBILE"}],
            [{"ID": "5", "VALUE": "+7 2", "VALUE_TYPE": "MOBILE"}],
        ),
        ("+7 1", [{"ID": "5", "VALUE": "+7 1", "VALUE_TYPE": "WORK"}], None),
        (None, [{"ID": "5", "VALUE": "+7 1", "VALUE_TYPE": "WORK"}], [{"ID": "5", "VALUE": ""}]),
    ],
    ids=["add", "nothing", "replace-first-by-id", "unchanged", "delete-by-id"],
)
def test_to_bitrix_multifield_updates_by_id(
    phone: str | None,
    current: list[dict[str, str]] | None,
    expected: list[dict[str, str]] | None,
    mapping: CounterpartyMapping,
) -> None:
    cp = Counterparty(kind="legal", name="А", phone=phone)
    comp, _ = to_bitrix(cp, mapping, only=["phone"], current_company=company(PHONE=current))
    assert comp.get("PHONE") == expected


# ---------------------------------------------------------------- 1C → canonical


def test_from_onec_legal(mapping: CounterpartyMapping) -> None:
    row = onec_row(ДополнительнаяИнформация="Звонить бухгалтеру\ncrm1c:company:2919", Комментарий=" важный ")
    cp = from_onec(row, mapping)
    assert cp == Counterparty(
        kind="legal",
        name="ООО Ромашка",
        full_name="Общество «Ромашка»",
        inn="7707083893",
        kpp="770701001",
        comment="важный",
        crm_id="2919",
        onec_ref=REF,
    )


@pytest.mark.parametrize(
    ("legal", "ip", "branch", "kind"),
    [
        ("ЮридическоеЛицо", False, False, "legal"),
        ("ФизическоеЛицо", True, False, "ip"),
        ("ФизическоеЛицо", False, False, "person"),
        ("ЮридическоеЛицо", False, True, "branch"),
    ],
)
def test_from_onec_kind(legal: str, ip: bool, branch: bool, kind: str, mapping: CounterpartyMapping) -> None:
    row = onec_row(
        ЮридическоеФизическоеЛицо=legal, ИндивидуальныйПредприниматель=ip, ОбособленноеПодразделение=branch
    )
    assert from_onec(row, mapping).kind == kind


def test_from_onec_branch_with_head_lookup(mapping: CounterpartyMapping) -> None:
    head = Counterparty(kind="legal", inn="7707083893", kpp="770701001")
    row = onec_row(ОбособленноеПодразделение=True, ГоловнойКонтрагент_Key=HEAD_REF.upper(), КПП="770702001")
    cp = from_onec(row, mapping, head_lookup={HEAD_REF: head}.get)
    assert (cp.head_ref, cp.head_inn, cp.head_kpp) == (HEAD_REF, "7707083893", "770701001")
    assert validate(cp, mapping) == []


def test_from_onec_branch_without_head(mapping: CounterpartyMapping) -> None:
    cp = from_onec(
        onec_row(ОбособленноеПодразделение=True, ГоловнойКонтрагент_Key=ZERO, КПП="770702001"), mapping
    )
    assert cp.head_ref is None
    assert [i.code for i in validate(cp, mapping)] == ["head_required"]


def test_from_onec_head_reference_of_a_head_entity_is_ignored(mapping: CounterpartyMapping) -> None:
    assert from_onec(onec_row(ГоловнойКонтрагент_Key=REF), mapping).head_ref is None


def test_from_onec_deletion_mark_is_a_tombstone(mapping: CounterpartyMapping) -> None:
    assert from_onec(onec_row(DeletionMark=True), mapping).deleted


def test_from_onec_folder_is_rejected(mapping: CounterpartyMapping) -> None:
    with pytest.raises(CodecError, match="folder"):
        from_onec(onec_row(IsFolder=True), mapping)


def test_from_onec_unknown_legal_form(mapping: CounterpartyMapping) -> None:
    row = onec_row(ЮридическоеФизическоеЛицо="ФизическоеЛицо", ОбособленноеПодразделение=True)
    with pytest.raises(CodecError) as caught:
        from_onec(row, mapping)
    assert caught.value.issue.code == "unknown_legal_form" and REF in caught.value.issue.reason_ru


@pytest.mark.parametrize(
    ("text", "crm_id"),
    [
        ("", None),
        ("crm1c:company:12", "12"),
        ("заметка\ncrm1c:company:12\nещё", "12"),
        ("xcrm1c:company:12", None),
        ("crm1c:company:12 и снова crm1c:company:12", "12"),
    ],
)
def test_from_onec_crm_id_tag(text: str, crm_id: str | None, mapping: CounterpartyMapping) -> None:
    assert from_onec(onec_row(ДополнительнаяИнформация=text), mapping).crm_id == crm_id


def test_from_onec_two_crm_ids_is_a_codec_error(mapping: CounterpartyMapping) -> None:
    with pytest.raises(CodecError) as caught:
        from_onec(onec_row(ДополнительнаяИнформация="crm1c:company:12\ncrm1c:company:123"), mapping)
    assert caught.value.issue.code == "crm_id_ambiguous" and "12, 123" in caught.value.issue.reason_ru


# ---------------------------------------------------------------- canonical → 1C


def test_to_onec_create(mapping: CounterpartyMapping) -> None:
    cp = Counterparty(kind="ip", name="ИП Петров", inn="500100732259", crm_id="5", phone="+7")
    assert to_onec(cp, mapping) == {
        "ЮридическоеФизическоеЛицо": "ФизическоеЛицо",
        "ИндивидуальныйПредприниматель": True,
        "ОбособленноеПодразделение": False,
        "Description": "ИП Петров",
        "НаименованиеПолное": "",
        "ИНН": "500100732259",
        "КПП": "",
        "КодПоОКПО": "",
        "Комментарий": "",
        "DeletionMark": False,
        "ДополнительнаяИнформация": "crm1c:company:5",
    }


def test_to_onec_branch_needs_its_head(mapping: CounterpartyMapping) -> None:
    cp = Counterparty(kind="branch", name="Филиал", inn="7707083893", kpp="770702001", head_inn="7707083893")
    with pytest.raises(CodecError) as caught:
        to_onec(cp, mapping)
    assert caught.value.issue.code == "head_required" and "7707083893" in caught.value.issue.reason_ru
    assert to_onec(cp, mapping, HEAD_REF)["ГоловнойКонтрагент_Key"] == HEAD_REF


def test_to_onec_deletion_is_a_mark(mapping: CounterpartyMapping) -> None:
    cp = Counterparty(kind="legal", name="А", deleted=True)
    assert to_onec(cp, mapping, only=["deleted"], current=onec_row()) == {"DeletionMark": True}


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        ("", "crm1c:company:7"),
        ("Звонить после 15:00", "Звонить после 15:00\ncrm1c:company:7"),
        ("до\ncrm1c:company:3\nпосле", "до\nпосле\ncrm1c:company:7"),
        ("см. crm1c:company:3 выше", "см.  выше\ncrm1c:company:7"),
        ("crm1c:company:7\nзаметка", "crm1c:company:7\nзаметка"),
    ],
)
def test_to_onec_keeps_the_accountants_text(
    current: str, expected: str, mapping: CounterpartyMapping
) -> None:
    cp = Counterparty(kind="legal", crm_id="7")
    row = to_onec(cp, mapping, only=["crm_id"], current=onec_row(ДополнительнаяИнформация=current))
    assert row == {"ДополнительнаяИнформация": expected}
    assert from_onec(onec_row(ДополнительнаяИнформация=expected), mapping).crm_id == "7"


def test_select_lists_cover_what_the_readers_read(mapping: CounterpartyMapping) -> None:
    comp, req = bitrix_select(mapping)
    assert {"ID", "TITLE", "PHONE", "EMAIL", "COMMENTS", "COMPANY_TYPE", "ORIGIN_ID"} <= set(comp)
    assert {"PRESET_ID", "RQ_INN", "RQ_KPP", "RQ_NAME", "RQ_COMPANY_FULL_NAME"} <= set(req)
    assert {"Ref_Key", "DeletionMark", "ИНН", "ГоловнойКонтрагент_Key", "ДополнительнаяИнформация"} <= set(
        onec_select(mapping)
    )


# ---------------------------------------------------------------- round trips


@THOROUGH
@given(counterparties())
def test_bitrix_round_trip(mapping: CounterpartyMapping, cp: Counterparty) -> None:
    expected = held_by(cp, "crm", mapping)
    comp, req = to_bitrix(expected, mapping)
    assert from_bitrix({**comp, "ID": expected.crm_id}, req, mapping) == expected


@THOROUGH
@given(counterparties())
def test_onec_round_trip(mapping: CounterpartyMapping, cp: Counterparty) -> None:
    expected = held_by(cp, "onec", mapping)
    if expected.kind == "branch" and expected.head_ref is None:
        expected = expected.model_copy(update={"head_ref": REF, "head_inn": None, "head_kpp": None})
    head = Counterparty(kind="legal", inn=expected.head_inn, kpp=expected.head_kpp)
    row = to_onec(expected, mapping)
    got = from_onec({**row, "Ref_Key": expected.onec_ref}, mapping, head_lookup={expected.head_ref: head}.get)
    assert got == expected


@THOROUGH
@given(counterparties(), counterparties())
def test_partial_updates_round_trip(
    mapping: CounterpartyMapping, old: Counterparty, new: Counterparty
) -> None:
    """Writing only the changed fields over the current 1C row gives the new record."""
    old = held_by(old.model_copy(update={"kind": new.kind, "head_ref": REF}), "onec", mapping)
    new = held_by(
        new.model_copy(update={"head_ref": REF, "head_inn": None, "head_kpp": None}), "onec", mapping
    )
    old = old.model_copy(update={"head_inn": None, "head_kpp": None})
    new = new.model_copy(update={"crm_id": new.crm_id or old.crm_id})  # a link is replaced, never removed
    current = {**to_onec(old, mapping), "Ref_Key": new.onec_ref}
    changed = [f for f in Counterparty.model_fields if getattr(old, f) != getattr(new, f)]
    patch = to_onec(new, mapping, only=changed, current=current)
    assert from_onec({**current, **patch}, mapping, head_lookup=lambda _: None) == new


@THOROUGH
@given(counterparties())
def test_codecs_never_crash_and_validate_flags_long_names(
    mapping: CounterpartyMapping, cp: Counterparty
) -> None:
    cp = held_by(cp, "crm", mapping)
    back = from_bitrix({**to_bitrix(cp, mapping)[0], "ID": "1"}, to_bitrix(cp, mapping)[1], mapping)
    too_long = back.name is not None and len(back.name.encode("utf-16-le")) // 2 > 100
    assert too_long == any(i.field == "name" and i.code == "too_long" for i in validate(back, mapping))
