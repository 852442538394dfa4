"""ИНН checksum and КПП format (domain.md §2, reliability.md F11)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm1c.domain.requisites import inn_checksum_ok, validate_inn, validate_kpp
from tests.domain.strategies import QUICK

VALID_INNS = ["7707083893", "7736207543", "7710140679", "500100732259"]


@pytest.mark.parametrize("inn", VALID_INNS)
def test_known_valid_inns_pass(inn: str) -> None:
    assert inn_checksum_ok(inn)
    assert validate_inn(inn) == []


def test_checksum_message_names_the_value() -> None:
    [issue] = validate_inn("7707083894")
    assert (issue.field, issue.code) == ("inn", "inn_checksum")
    assert issue.reason_ru == "ИНН 7707083894: контрольная сумма не сходится"
    assert issue.reason_en == "INN 7707083894: checksum does not match"


@pytest.mark.parametrize("inn", VALID_INNS)
def test_altered_control_digits_fail(inn: str) -> None:
    positions = [9] if len(inn) == 10 else [10, 11]
    for pos in positions:
        for digit in "0123456789":
            if digit != inn[pos]:
                altered = inn[:pos] + digit + inn[pos + 1 :]
                assert [i.code for i in validate_inn(altered)] == ["inn_checksum"], altered


def test_swapped_digits_fail() -> None:
    assert [i.code for i in validate_inn("7707038893")] == ["inn_checksum"]
    assert [i.code for i in validate_inn("500100723259")] == ["inn_checksum"]


@pytest.mark.parametrize("inn", ["0000000000", "000000000000"])
def test_all_zeros_rejected_although_the_sum_passes(inn: str) -> None:
    assert inn_checksum_ok(inn)
    [issue] = validate_inn(inn)
    assert issue.code == "inn_zeros" and inn in issue.reason_ru


@pytest.mark.parametrize(
    ("inn", "code"),
    [
        ("77O7083893", "inn_not_digits"),  # Latin O
        ("7707О83893", "inn_not_digits"),  # Cyrillic О
        ("7707 083893", "inn_not_digits"),
        ("７７０７０８３８９３", "inn_not_digits"),  # full-width digits are not ASCII
        ("٧٧٠٧٠٨٣٨٩٣", "inn_not_digits"),  # Arabic-Indic digits
        ("-707083893", "inn_not_digits"),
        ("", "inn_not_digits"),
        ("77070838931", "inn_length"),  # 11 digits
        ("770708389", "inn_length"),
        ("5001007322591", "inn_length"),
    ],
)
def test_malformed_inns(inn: str, code: str) -> None:
    [issue] = validate_inn(inn)
    assert issue.code == code
    assert issue.field == "inn"


def test_eleven_digits_reason_is_actionable() -> None:
    [issue] = validate_inn("77070838931")
    assert "10 цифр" in issue.reason_ru and "12 цифр" in issue.reason_ru and "11" in issue.reason_ru


def test_field_name_is_passed_through() -> None:
    assert validate_inn("7707083894", field="head_inn")[0].field == "head_inn"


@QUICK
@given(st.text(max_size=20))
def test_inn_checks_never_raise(text: str) -> None:
    issues = validate_inn(text)
    assert (issues == []) == (inn_checksum_ok(text) and set(text) != {"0"})


@pytest.mark.parametrize("kpp", ["770701001", "7707AB001", "773601001", "5001Z0123", "770743001"])
def test_valid_kpps(kpp: str) -> None:
    assert validate_kpp(kpp) == []


@pytest.mark.parametrize(
    "kpp",
    [
        "77070100",
        "7707010011",
        "7707ab001",
        "770A01001",
        "7707010O1",
        "7707 1001",
        "",
        "77070100Z",
        "ABCDEFGHI",
    ],
)
def test_malformed_kpps(kpp: str) -> None:
    [issue] = validate_kpp(kpp)
    assert issue.code == "kpp_format"
    assert f"КПП {kpp}:" in issue.reason_ru


def test_kpp_with_cyrillic_letters_says_so() -> None:
    [issue] = validate_kpp("7707АБ001")  # Cyrillic А and Б look Latin
    assert "латинские" in issue.reason_ru and "Latin" in issue.reason_en


def test_all_zero_kpp_rejected() -> None:
    assert [i.code for i in validate_kpp("000000000")] == ["kpp_zeros"]


@QUICK
@given(st.text(max_size=12))
def test_kpp_check_never_raises(text: str) -> None:
    assert len(validate_kpp(text)) <= 1
