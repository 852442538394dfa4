"""PHP-bracket encoder of Bitrix24 batch commands: examples and a property-based round trip."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm1c.clients.phpquery import BatchRef, command, encode, scalar
from tests.clients.fakes import php_decode


def test_filter_operator_keys_are_encoded_inside_literal_brackets():
    assert encode({"filter": {">ID": 5}}) == "filter[%3EID]=5"
    assert php_decode(encode({"filter": {">=DATE_MODIFY": "2026-01-01T00:00:00+03:00"}})) == {
        "filter": {">=DATE_MODIFY": "2026-01-01T00:00:00+03:00"}
    }


def test_lists_get_explicit_indices_and_nested_dicts_survive():
    params = {
        "select": ["ID", "TITLE"],
        "order": {"ID": "ASC"},
        "fields": {"PHONE": [{"VALUE": "+7 900", "VALUE_TYPE": "WORK"}]},
    }
    query = encode(params)
    assert "select[0]=ID&select[1]=TITLE" in query
    assert php_decode(query) == params


@pytest.mark.parametrize(
    "value",
    [
        'ООО "Ромашка"',
        "O'Brien & Sons = 100%",
        "a+b c",
        "emoji 🚀👩‍💻",
        "' or 1 eq 1 or '",
        "x&filter[ID]=1",
        "%20",
    ],
)
def test_hostile_values_round_trip(value):
    query = encode({"fields": {"TITLE": value}})
    assert "&filter" not in query and query.count("=") == 1
    assert php_decode(query) == {"fields": {"TITLE": value}}


def test_scalars_follow_php():
    assert [scalar(v) for v in (True, False, None, 7, Decimal("1.50"), 0.25)] == [
        "1",
        "0",
        "",
        "7",
        "1.50",
        "0.25",
    ]
    with pytest.raises(TypeError):
        scalar(b"bytes")


def test_empty_containers_are_refused_because_php_would_drop_them():
    with pytest.raises(ValueError, match="empty"):
        encode({"filter": {"@ID": []}})
    with pytest.raises(ValueError, match="empty"):
        encode({"filter": {}})


def test_batch_reference_is_written_verbatim():
    ref = BatchRef("p0", "items", 49, "id")
    assert str(ref) == "$result[p0][items][49][id]"
    assert encode({"filter": {">id": ref}}) == "filter[%3Eid]=$result[p0][items][49][id]"
    with pytest.raises(ValueError):
        BatchRef("p0]&x", 1)


def test_command_string():
    assert command("crm.company.get", {"id": 5}) == "crm.company.get?id=5"
    assert command("crm.company.fields") == "crm.company.fields"
    with pytest.raises(ValueError):
        command("crm.company.get?x=1")


# -- property: any nested structure of text round-trips through PHP's parse_str semantics ---------
keys = st.text(min_size=1, max_size=8).filter(lambda k: "[" not in k and "]" not in k)
scalars = st.one_of(st.text(max_size=20), st.integers(), st.booleans())
trees = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=4), st.dictionaries(keys, inner, min_size=1, max_size=4)
    ),
    max_leaves=12,
)


def _as_php(node: Any) -> Any:
    """What PHP sees: lists become index-keyed maps, scalars become strings."""
    if isinstance(node, dict):
        return {str(k): _as_php(v) for k, v in node.items()}
    if isinstance(node, list):
        return {str(i): _as_php(v) for i, v in enumerate(node)}
    return scalar(node)


@given(st.dictionaries(keys, trees, min_size=1, max_size=4))
def test_round_trip_property(params):
    assert php_decode(encode(params), lists=False) == _as_php(params)
