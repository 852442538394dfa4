"""The counterparty mapping loads as validated data; each mistake names the file, key path and problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from crm1c import datafile
from crm1c.mapping.loader import (
    DEFAULT_COUNTERPARTY_MAPPING,
    MappingError,
    load_counterparty_mapping,
    parse_counterparty_mapping,
)
from crm1c.mapping.schema import CounterpartyMapping

SOURCE = "include/mappings/counterparties.yaml"


def problems_of(data: dict[str, Any]) -> list[str]:
    with pytest.raises(MappingError) as caught:
        parse_counterparty_mapping(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), SOURCE)
    assert all(line.startswith(f"{SOURCE}: ") for line in str(caught.value).splitlines())
    return caught.value.problems


# ---------------------------------------------------------------- the shipped file


def test_shipped_mapping_loads(mapping: CounterpartyMapping) -> None:
    assert mapping.fields["name"].onec == "Description"
    assert mapping.fields["name"].max_length == 100
    assert mapping.fields["full_name"].max_length == 550
    assert mapping.fields["inn"].max_length == 12
    assert mapping.fields["kpp"].max_length == 9
    assert mapping.links.onec.attribute == "ДополнительнаяИнформация"
    assert mapping.links.onec.prefix == "crm1c:company:"


def test_legal_forms_cover_every_combination(mapping: CounterpartyMapping) -> None:
    forms = mapping.legal_forms
    assert forms.kind_for_crm(1, "CUSTOMER", "legal") == "legal"
    assert forms.kind_for_crm(1, "BRANCH", "legal") == "branch"
    assert forms.kind_for_crm(2, None, "legal") == "ip"
    assert forms.kind_for_crm(3, "CUSTOMER", "legal") == "person"
    assert forms.kind_for_crm(None, None, "legal") == "legal"
    assert forms.kind_for_crm(None, "BRANCH", "legal") == "branch"
    assert forms.kind_for_crm(7, None, "legal") is None

    def onec(kind: str, ip: bool, branch: bool) -> str | None:
        flags = {"ЮридическоеФизическоеЛицо": kind, "ИндивидуальныйПредприниматель": ip}
        return forms.kind_for_onec({**flags, "ОбособленноеПодразделение": branch})

    assert onec("ЮридическоеЛицо", False, False) == "legal"
    assert onec("ЮридическоеЛицо", False, True) == "branch"
    assert onec("ФизическоеЛицо", True, False) == "ip"
    assert onec("ФизическоеЛицо", False, False) == "person"
    assert onec("ФизическоеЛицо", True, True) is None


def test_default_ownership(mapping: CounterpartyMapping) -> None:
    own = mapping.merge_ownership()
    assert {f: own.owners[f] for f in ("name", "comment")} == {"name": "crm", "comment": "crm"}
    assert {own.owners[f] for f in ("inn", "kpp", "full_name", "okpo", "kind")} == {"onec"}
    assert own.homes["phone"] == own.homes["email"] == "crm"
    assert "phone" not in own.owners


def test_required_fields_per_kind(mapping: CounterpartyMapping) -> None:
    assert mapping.fields["kpp"].required == {"legal", "branch"}
    assert mapping.fields["inn"].required == {"legal", "ip", "person", "branch"}


def test_load_is_relative_to_the_project() -> None:
    assert load_counterparty_mapping(DEFAULT_COUNTERPARTY_MAPPING) == load_counterparty_mapping()


# ---------------------------------------------------------------- file-level errors


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match=r"nope\.yaml: cannot read the file"):
        load_counterparty_mapping(tmp_path / "nope.yaml")


def test_invalid_yaml_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("version: 1\nfields:\n  name: [unclosed\n", encoding="utf-8")
    with pytest.raises(MappingError, match=rf"{path}: not valid YAML: line \d+, column \d+"):
        load_counterparty_mapping(path)


def test_duplicate_key_is_an_error_not_a_silent_overwrite() -> None:
    text = DEFAULT_COUNTERPARTY_MAPPING.read_text(encoding="utf-8") + "\nownership:\n  name: onec\n"
    with pytest.raises(
        MappingError, match=rf"{SOURCE}: not valid YAML: line \d+: key 'ownership' given twice"
    ):
        parse_counterparty_mapping(text, SOURCE)


def test_top_level_must_be_a_mapping() -> None:
    with pytest.raises(MappingError, match="top level"):
        parse_counterparty_mapping("- a\n- b\n", SOURCE)


def test_the_brief_example_message() -> None:
    text = DEFAULT_COUNTERPARTY_MAPPING.read_text(encoding="utf-8").replace("onec: ИНН\n", "onec: ИНH\n")
    with pytest.raises(MappingError) as caught:
        parse_counterparty_mapping(text, SOURCE)
    assert str(caught.value).startswith(f"{SOURCE}: fields.inn.onec: unknown 1C attribute 'ИНH'")


def test_files_in_the_project_are_named_relative_to_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mapping_data: dict[str, Any]
) -> None:
    monkeypatch.setattr(datafile, "PROJECT_ROOT", tmp_path)
    path = tmp_path / "include" / "mappings" / "counterparties.yaml"
    path.parent.mkdir(parents=True)
    mapping_data["fields"]["inn"]["onec"] = "ИНH"
    path.write_text(yaml.safe_dump(mapping_data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(MappingError, match=rf"^{SOURCE}: fields.inn.onec: unknown 1C attribute 'ИНH'"):
        load_counterparty_mapping(path)


def test_error_from_a_file_names_that_file(tmp_path: Path, mapping_data: dict[str, Any]) -> None:
    mapping_data["version"] = 2
    path = tmp_path / "custom.yaml"
    path.write_text(yaml.safe_dump(mapping_data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(MappingError, match=rf"^{path}: version: "):
        load_counterparty_mapping(path)


# ---------------------------------------------------------------- shape errors (pydantic)


def test_unknown_key(mapping_data: dict[str, Any]) -> None:
    mapping_data["fields"]["inn"]["maxlength"] = 12
    assert problems_of(mapping_data) == ["fields.inn.maxlength: unknown key (not part of the file's format)"]


def test_unknown_field_name(mapping_data: dict[str, Any]) -> None:
    mapping_data["fields"]["nmae"] = mapping_data["fields"].pop("name")
    [problem, *_] = problems_of(mapping_data)
    assert problem.startswith("fields: key 'nmae': Input should be 'name'")


def test_missing_key(mapping_data: dict[str, Any]) -> None:
    del mapping_data["legal_forms"]["branch"]
    assert problems_of(mapping_data) == ["legal_forms.branch: required key is missing"]


def test_missing_1c_legal_form_attribute(mapping_data: dict[str, Any]) -> None:
    del mapping_data["legal_forms"]["ip"]["onec"]["ИндивидуальныйПредприниматель"]
    assert problems_of(mapping_data) == [
        "legal_forms.ip.onec.ИндивидуальныйПредприниматель: required key is missing"
    ]


def test_bad_enum_value(mapping_data: dict[str, Any]) -> None:
    mapping_data["legal_forms"]["legal"]["onec"]["ЮридическоеФизическоеЛицо"] = "ЮрЛицо"
    [problem] = problems_of(mapping_data)
    assert problem.startswith("legal_forms.legal.onec.ЮридическоеФизическоеЛицо: Input should be")


def test_bad_owner(mapping_data: dict[str, Any]) -> None:
    mapping_data["ownership"]["inn"] = "1c"
    assert problems_of(mapping_data) == ["ownership.inn: Input should be 'crm' or 'onec'"]


def test_bad_kind_in_required(mapping_data: dict[str, Any]) -> None:
    mapping_data["fields"]["kpp"]["required"] = ["legal", "filial"]
    [problem] = problems_of(mapping_data)
    assert problem.startswith("fields.kpp.required.1: Input should be 'legal'")


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("TITLE", "'TITLE' must look like company.<FIELD> or requisite.<FIELD>"),
        ("company.TITEL", "unknown or read-only Bitrix24 company field 'TITEL'"),
        ("company.DATE_CREATE", "unknown or read-only Bitrix24 company field 'DATE_CREATE'"),
        ("requisite.PRESET_ID", "'requisite.PRESET_ID' is set by crm1c from legal_forms, not by a field map"),
        ("company.ORIGIN_ID", "'company.ORIGIN_ID' is set by crm1c from links.crm, not by a field map"),
    ],
)
def test_bad_crm_path(mapping_data: dict[str, Any], path: str, message: str) -> None:
    mapping_data["fields"]["comment"]["crm"] = path
    assert problems_of(mapping_data) == [f"fields.comment.crm: {message}"]


def test_bad_crm_path_in_a_list(mapping_data: dict[str, Any]) -> None:
    mapping_data["fields"]["name"]["crm"] = ["company.TITLE", "requisite.RQ_COMPANY_NAM"]
    assert problems_of(mapping_data) == [
        "fields.name.crm.1: unknown or read-only Bitrix24 requisite field 'RQ_COMPANY_NAM'"
    ]


def test_custom_crm_fields_are_allowed(mapping_data: dict[str, Any]) -> None:
    mapping_data["fields"]["okpo"]["crm"] = "company.UF_CRM_OKPO"
    parse_counterparty_mapping(yaml.safe_dump(mapping_data, allow_unicode=True, sort_keys=False), SOURCE)


# ---------------------------------------------------------------- cross-checks


@pytest.mark.parametrize(
    ("attribute", "message"),
    [
        ("ИНH", "unknown 1C attribute 'ИНH'"),
        ("ОбособленноеПодразделение", "'ОбособленноеПодразделение' is set by crm1c from legal_forms"),
        ("ДополнительнаяИнформация", "'ДополнительнаяИнформация' holds the CRM id (links.onec.attribute)"),
        ("ДатаРегистрации", "1C attribute 'ДатаРегистрации' is not text"),
    ],
)
def test_bad_1c_attribute(mapping_data: dict[str, Any], attribute: str, message: str) -> None:
    mapping_data["fields"]["okpo"]["onec"] = attribute
    [problem] = problems_of(mapping_data)
    assert problem.startswith(f"fields.okpo.onec: {message}")


def test_extra_attributes_declare_newer_1c_fields(mapping_data: dict[str, Any]) -> None:
    mapping_data["fields"]["email"]["onec"] = "ЭлектроннаяПочта"
    assert problems_of(mapping_data)[0].startswith(
        "fields.email.onec: unknown 1C attribute 'ЭлектроннаяПочта'"
    )
    mapping_data["onec"]["extra_attributes"] = {"ЭлектроннаяПочта": 100}
    mapping_data["fields"]["email"]["max_length"] = 100
    mapping_data["ownership"]["email"] = "crm"
    loaded = parse_counterparty_mapping(
        yaml.safe_dump(mapping_data, allow_unicode=True, sort_keys=False), SOURCE
    )
    assert loaded.merge_ownership().owners["email"] == "crm"


def test_max_length_must_fit_the_1c_attribute(mapping_data: dict[str, Any]) -> None:
    mapping_data["fields"]["name"]["max_length"] = 150
    del mapping_data["fields"]["full_name"]["max_length"]
    assert problems_of(mapping_data) == [
        "fields.name.max_length: must be at most 100, the length of 1C attribute Description",
        "fields.full_name.max_length: must be at most 550, the length of 1C attribute НаименованиеПолное",
    ]


def test_one_1c_attribute_for_two_fields(mapping_data: dict[str, Any]) -> None:
    mapping_data["fields"]["comment"]["onec"] = "КПП"
    mapping_data["fields"]["comment"]["max_length"] = 9
    assert "fields.comment.onec: 1C attribute 'КПП' is also mapped by fields.kpp" in problems_of(mapping_data)


def test_one_crm_field_for_two_fields(mapping_data: dict[str, Any]) -> None:
    mapping_data["fields"]["comment"]["crm"] = "requisite.RQ_INN"
    assert problems_of(mapping_data) == [
        "fields.comment.crm: 'requisite.RQ_INN' is already mapped by fields.inn"
    ]


def test_field_mapped_nowhere(mapping_data: dict[str, Any]) -> None:
    mapping_data["fields"]["phone"] = {}
    assert "fields.phone: mapped to neither system (give crm and/or onec)" in problems_of(mapping_data)


def test_identity_fields_must_be_two_way(mapping_data: dict[str, Any]) -> None:
    del mapping_data["fields"]["kpp"]
    del mapping_data["ownership"]["kpp"]
    assert problems_of(mapping_data) == [
        "fields.kpp: must be mapped in both systems (crm and onec): matching depends on it"
    ]


def test_two_way_field_needs_an_owner(mapping_data: dict[str, Any]) -> None:
    del mapping_data["ownership"]["okpo"]
    assert problems_of(mapping_data) == [
        "ownership: 'okpo' is held by both systems and needs an owner (crm or onec)"
    ]


def test_one_way_field_owned_by_the_other_side(mapping_data: dict[str, Any]) -> None:
    mapping_data["ownership"]["phone"] = "onec"
    assert problems_of(mapping_data) == [
        "ownership.phone: only crm holds this field, so its owner must be crm"
    ]


def test_owner_of_an_unmapped_field(mapping_data: dict[str, Any]) -> None:
    del mapping_data["fields"]["okpo"]
    assert problems_of(mapping_data) == ["ownership.okpo: the field is not mapped (see fields)"]


def test_indistinguishable_legal_forms(mapping_data: dict[str, Any]) -> None:
    del mapping_data["legal_forms"]["branch"]["crm"]["COMPANY_TYPE"]
    mapping_data["legal_forms"]["person"]["onec"]["ИндивидуальныйПредприниматель"] = True
    assert problems_of(mapping_data) == [
        "legal_forms.person.onec: same 1C attributes as legal_forms.ip: "
        "the two kinds could not be told apart",
        "legal_forms.branch.crm: PRESET_ID and COMPANY_TYPE as in legal_forms.legal: "
        "the two kinds could not be told apart",
    ]


@pytest.mark.parametrize(
    ("section", "key", "message"),
    [
        (
            "company",
            "TITEL",
            "defaults.crm.company.TITEL: unknown or read-only Bitrix24 company field 'TITEL'",
        ),
        ("company", "TITLE", "defaults.crm.company.TITLE: already set by fields.name"),
        (
            "requisite",
            "PRESET_ID",
            "defaults.crm.requisite.PRESET_ID: unknown or read-only Bitrix24 requisite",
        ),
    ],
)
def test_bad_crm_default(mapping_data: dict[str, Any], section: str, key: str, message: str) -> None:
    mapping_data["defaults"]["crm"][section][key] = "x"
    [problem] = problems_of(mapping_data)
    assert problem.startswith(message)


def test_branch_type_needs_a_default_type(mapping_data: dict[str, Any]) -> None:
    del mapping_data["defaults"]["crm"]["company"]["COMPANY_TYPE"]
    [problem] = problems_of(mapping_data)
    assert problem.startswith("defaults.crm.company.COMPANY_TYPE: required because legal_forms.branch sets")


def test_bad_1c_default(mapping_data: dict[str, Any]) -> None:
    mapping_data["defaults"]["onec"] = {
        "DeletionMark": True,
        "ИНН": "1",
        "Parent_Key": "00000000-0000-0000-0000-0000",
    }
    assert problems_of(mapping_data) == [
        "defaults.onec.DeletionMark: unknown 1C attribute 'DeletionMark', or one crm1c sets itself",
        "defaults.onec.ИНН: already set by fields.inn",
    ]


def test_bad_link_settings(mapping_data: dict[str, Any]) -> None:
    mapping_data["links"]["onec"] = {"attribute": "КПП", "prefix": "crm1c company "}
    found = problems_of(mapping_data)
    assert found[0].startswith("links.onec.prefix: String should match pattern")
    mapping_data["links"]["onec"]["prefix"] = "crm1c:company:"
    assert problems_of(mapping_data) == [
        "fields.kpp.onec: 'КПП' holds the CRM id (links.onec.attribute) and cannot carry a field too",
        "links.onec.attribute: 'КПП' holds 9 characters, too few for the CRM id",
    ]


def test_all_problems_are_reported_at_once(mapping_data: dict[str, Any]) -> None:
    mapping_data["fields"]["inn"]["onec"] = "ИНH"
    mapping_data["ownership"]["phone"] = "onec"
    assert len(problems_of(mapping_data)) == 2
