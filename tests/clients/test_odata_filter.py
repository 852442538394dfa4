"""OData $filter literals and expression builder: escaping, typing, and injection resistance."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm1c.clients.odata_filter import F, boolean, datetime, guid, literal, number, string

INJECTION = "' or 1 eq 1 or '"


def parse_string_literal(text: str) -> tuple[str, str]:
    """Read one OData string literal from the start of ``text``; return (value, rest)."""
    assert text.startswith("'")
    i, out = 1, []
    while True:
        j = text.index("'", i)
        out.append(text[i:j])
        if text[j + 1 : j + 2] == "'":
            out.append("'")
            i = j + 2
            continue
        return "".join(out), text[j + 1 :]


def test_examples():
    assert str(F("ИНН") == "7707083893") == "ИНН eq '7707083893'"
    assert str(F("Контрагент/ИНН") == "7707083893") == "Контрагент/ИНН eq '7707083893'"
    ref = uuid.uuid4()
    assert str(F("Контрагент_Key") == guid(ref)) == f"Контрагент_Key eq guid'{ref}'"
    assert (
        str(F("Date") >= datetime(dt.datetime(2026, 1, 2, 3, 4, 5, 999)))
        == "Date ge datetime'2026-01-02T03:04:05'"
    )
    assert str(F("Date") < dt.date(2026, 1, 1)) == "Date lt datetime'2026-01-01T00:00:00'"
    assert str((F("a") == 1) & ~(F("b") != None) | F("DeletionMark")) == (  # noqa: E711
        "((a eq 1) and (not (b ne null))) or (DeletionMark eq true)"
    )
    assert str(~F("DeletionMark")) == "DeletionMark eq false"
    assert str(F("Description").startswith("О'Нил")) == "startswith(Description, 'О''Нил') eq true"
    assert str(F("Description").contains("x")) == "substringof('x', Description) eq true"
    assert str(F("Code").in_(["1", "2"])) == "(Code eq '1') or (Code eq '2')"


def test_typed_literals():
    assert string("O'Brien").text == "'O''Brien'"
    assert number(Decimal("1E+3")).text == "1000"
    assert number(12.5).text == "12.5"
    assert boolean(False).text == "false"
    assert literal(None).text == "null"
    with pytest.raises(ValueError):
        guid("not-a-guid' or 1 eq 1")
    with pytest.raises(ValueError):
        datetime(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    with pytest.raises(ValueError):
        number(float("nan"))
    with pytest.raises(TypeError):
        number(True)


def test_paths_must_be_identifiers():
    for bad in ["a eq 1 or b", "x'", "", "1abc", "a//b", "a/b c"]:
        with pytest.raises(ValueError):
            F(bad)


def test_expressions_refuse_python_boolean_logic():
    with pytest.raises(TypeError):
        bool(F("a") == 1)
    with pytest.raises(TypeError):
        (F("a") == 1) & "b eq 2"  # type: ignore[operator]


def test_injection_stays_a_literal():
    rendered = str(F("Description") == INJECTION)
    field, op, rest = rendered.split(" ", 2)
    value, tail = parse_string_literal(rest)
    assert (field, op, value, tail) == ("Description", "eq", INJECTION, "")


@given(st.text())
def test_any_string_round_trips(value):
    rendered = string(value).text
    parsed, rest = parse_string_literal(rendered)
    assert parsed == value and rest == ""


@given(st.text())
def test_any_string_in_a_comparison_is_one_token(value):
    rendered = str((F("ИНН") == value) & (F("DeletionMark") == False))  # noqa: E712
    match = re.fullmatch(r"\(ИНН eq (.*)\) and \(DeletionMark eq false\)", rendered, re.S)
    assert match
    parsed, rest = parse_string_literal(match.group(1))
    assert parsed == value and rest == ""
