"""The canonical model: normalisation, identity key, content hash and validation per legal form."""

from __future__ import annotations

import hashlib
import unicodedata
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from crm1c.domain.counterparty import Counterparty, content_hash, identity_key, tombstone, validate
from crm1c.domain.text import normalize_line, normalize_multiline, utf16_len
from crm1c.mapping.schema import CounterpartyMapping
from tests.domain.strategies import NASTY_TEXT, QUICK, counterparties

HEAD = "1fa1a135-d89b-11e6-8343-40167e2531c3"
LEGAL: dict[str, Any] = {"kind": "legal", "name": "ООО Ромашка", "inn": "7707083893", "kpp": "770701001"}
IP: dict[str, Any] = {"kind": "ip", "name": "ИП Петров", "inn": "500100732259"}


def codes(cp: Counterparty, mapping: CounterpartyMapping) -> list[tuple[str, str]]:
    return [(i.field, i.code) for i in validate(cp, mapping)]


# ---------------------------------------------------------------- normalisation


def test_text_is_nfc_trimmed_and_collapsed() -> None:
    cp = Counterparty(kind="legal", name="  ООО\u00a0\u00a0«Ёлка»\t\n 🎄 ", full_name="e\u0301clair")
    assert cp.name == "ООО «Ёлка» 🎄"
    assert cp.full_name == "\u00e9clair"


def test_blank_text_becomes_none() -> None:
    cp = Counterparty(kind="legal", name=" \u00a0\t", comment="\n \n")
    assert cp.name is None and cp.comment is None


def test_comment_keeps_line_breaks() -> None:
    cp = Counterparty(kind="legal", comment="\r\n первая   строка \r\n\r\n вторая\t\tстрока \n\n")
    assert cp.comment == "первая строка\n\nвторая строка"


def test_numbers_from_a_typed_api_become_text() -> None:
    assert Counterparty.model_validate({"kind": "legal", "inn": 7707083893, "crm_id": 1}).inn == "7707083893"


def test_quotes_and_injection_text_are_kept_verbatim() -> None:
    for text in ('ООО "Ромашка"', "O'Brien", "' or 1 eq 1 or '"):
        assert Counterparty(kind="legal", name=text).name == text


def test_long_names_are_never_cut() -> None:
    assert Counterparty(kind="legal", name="Ж" * 600).name == "Ж" * 600


@pytest.mark.parametrize(
    "bad", [{"crm_id": "0"}, {"crm_id": "12a"}, {"onec_ref": "not-a-guid"}, {"extra": 1}]
)
def test_ids_and_unknown_fields_are_strict(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Counterparty(kind="legal", **bad)


@QUICK
@given(st.one_of(st.text(), st.sampled_from(NASTY_TEXT)))
def test_normalisation_is_idempotent(text: str) -> None:
    for normalize in (normalize_line, normalize_multiline):
        once = normalize(text)
        assert once is None or normalize(once) == once
        assert once is None or unicodedata.is_normalized("NFC", once)


def test_utf16_length_counts_astral_characters_twice() -> None:
    assert utf16_len("Ё" * 100) == 100
    assert utf16_len("😀") == 2


# ---------------------------------------------------------------- identity and hash


@pytest.mark.parametrize(
    ("values", "key"),
    [
        (LEGAL, "inn:7707083893/kpp:770701001"),
        ({**LEGAL, "kind": "branch", "kpp": "770702001", "head_ref": HEAD}, "inn:7707083893/kpp:770702001"),
        (IP, "inn:500100732259"),
        ({**IP, "kind": "person"}, "inn:500100732259"),
        ({**LEGAL, "kpp": None}, None),
        ({**IP, "inn": None}, None),
    ],
)
def test_identity_key(values: dict[str, Any], key: str | None) -> None:
    assert identity_key(Counterparty(**values)) == key


def test_branch_and_head_have_different_keys() -> None:
    head = Counterparty(**LEGAL)
    branch = Counterparty(**{**LEGAL, "kind": "branch", "kpp": "770702001", "head_ref": HEAD})
    assert identity_key(head) != identity_key(branch)


def test_content_hash_covers_synced_fields_only() -> None:
    cp = Counterparty(**LEGAL)
    assert content_hash(cp) == content_hash(Counterparty(**LEGAL))
    assert content_hash(cp) == content_hash(cp.model_copy(update={"crm_id": "5", "onec_ref": HEAD}))
    assert content_hash(cp) != content_hash(cp.model_copy(update={"name": "ООО Ромашка 2"}))
    assert content_hash(cp) != content_hash(tombstone(cp))
    assert len(content_hash(cp)) == 64


def test_content_hash_is_pinned() -> None:
    """Stored hashes must survive a release: the canonical JSON encoding may not drift."""
    canonical = (
        '{"comment":null,"deleted":false,"email":null,"full_name":null,"head_inn":null,"head_kpp":null,'
        '"inn":"7707083893","kind":"legal","kpp":"770701001","name":"ООО Ромашка","okpo":null,"phone":null}'
    )
    assert content_hash(Counterparty(**LEGAL)) == hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- validation by legal form


@pytest.mark.parametrize(
    "values",
    [
        LEGAL,
        {**LEGAL, "kpp": "7707AB001"},
        IP,
        {**IP, "kind": "person"},
        {**LEGAL, "kind": "branch", "kpp": "770702001", "head_ref": HEAD},
        {**LEGAL, "kind": "branch", "kpp": "770702001", "head_inn": "7707083893", "head_kpp": "770701001"},
    ],
    ids=["legal", "legal-letters-in-kpp", "ip", "person", "branch-by-ref", "branch-by-inn"],
)
def test_valid_counterparties(values: dict[str, Any], mapping: CounterpartyMapping) -> None:
    assert validate(Counterparty(**values), mapping) == []


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({**LEGAL, "kpp": None}, [("kpp", "kpp_required")]),
        ({**LEGAL, "inn": "500100732259"}, [("inn", "inn_kind")]),
        ({**LEGAL, "inn": "7707083894"}, [("inn", "inn_checksum")]),
        ({**LEGAL, "inn": "0000000000"}, [("inn", "inn_zeros")]),
        ({**LEGAL, "kpp": "7707ab001"}, [("kpp", "kpp_format")]),
        ({**LEGAL, "inn": None}, [("inn", "required")]),
        ({**LEGAL, "name": None}, [("name", "required")]),
        ({**IP, "kpp": "770701001"}, [("kpp", "kpp_forbidden")]),
        ({**IP, "inn": "7707083893"}, [("inn", "inn_kind")]),
        ({**IP, "kind": "person", "kpp": "770701001"}, [("kpp", "kpp_forbidden")]),
        ({**IP, "kind": "person", "inn": "50010073225"}, [("inn", "inn_length")]),
        ({**LEGAL, "kind": "branch", "kpp": "770702001"}, [("head_ref", "head_required")]),
        ({**LEGAL, "kind": "branch", "kpp": None, "head_ref": HEAD}, [("kpp", "kpp_required")]),
        (
            {**LEGAL, "kind": "branch", "kpp": "770702001", "head_inn": "7736207543"},
            [("head_inn", "head_inn_mismatch")],
        ),
        ({**LEGAL, "kind": "branch", "head_ref": HEAD, "head_kpp": "770701001"}, [("kpp", "head_kpp_same")]),
    ],
)
def test_invalid_counterparties(
    values: dict[str, Any], expected: list[tuple[str, str]], mapping: CounterpartyMapping
) -> None:
    assert codes(Counterparty(**values), mapping) == expected


def test_kind_reasons_name_the_form(mapping: CounterpartyMapping) -> None:
    [issue] = validate(Counterparty(**{**IP, "kpp": "770701001"}), mapping)
    assert issue.reason_ru == "КПП 770701001: у ИП КПП не бывает"
    [issue] = validate(Counterparty(**{**LEGAL, "kpp": None}), mapping)
    assert issue.reason_ru == "Не указан КПП: у организации он обязателен"


def test_six_hundred_character_name_is_an_issue_not_a_crash(mapping: CounterpartyMapping) -> None:
    [issue] = validate(Counterparty(**{**LEGAL, "name": "Ж" * 600}), mapping)
    assert (issue.field, issue.code) == ("name", "too_long")
    assert issue.reason_ru.startswith("Наименование длиннее 100 символов (600)")
    assert issue.reason_en.startswith("Name is longer than 100 characters (600)")


@pytest.mark.parametrize(
    ("name", "too_long"),
    [("Ё" * 100, False), ("Ё" * 101, True), ("Ё" * 99 + "😀", True), ("Ё" * 98 + "😀", False)],
)
def test_length_is_counted_like_1c(name: str, too_long: bool, mapping: CounterpartyMapping) -> None:
    assert (codes(Counterparty(**{**LEGAL, "name": name}), mapping) == [("name", "too_long")]) == too_long


def test_full_name_limit_from_the_mapping(mapping: CounterpartyMapping) -> None:
    assert codes(Counterparty(**{**LEGAL, "full_name": "Ж" * 551}), mapping) == [("full_name", "too_long")]
    assert validate(Counterparty(**{**LEGAL, "full_name": "Ж" * 550}), mapping) == []


def test_control_characters_are_issues(mapping: CounterpartyMapping) -> None:
    [issue] = validate(Counterparty(**{**LEGAL, "name": "ООО\x00Ромашка"}), mapping)
    assert issue.code == "control_char" and "U+0000" in issue.reason_ru


def test_several_problems_are_all_reported(mapping: CounterpartyMapping) -> None:
    cp = Counterparty(kind="legal", name="Ж" * 101, inn="7707083894")
    assert codes(cp, mapping) == [("inn", "inn_checksum"), ("kpp", "kpp_required"), ("name", "too_long")]


def test_a_tombstone_needs_no_checks(mapping: CounterpartyMapping) -> None:
    assert validate(tombstone(Counterparty(kind="legal", inn="1")), mapping) == []


@QUICK
@given(counterparties())
def test_validate_never_raises(mapping: CounterpartyMapping, cp: Counterparty) -> None:
    for issue in validate(cp, mapping):
        assert issue.reason_ru and issue.reason_en and issue.code
