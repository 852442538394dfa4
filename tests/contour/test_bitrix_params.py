"""The PHP-style parameter decoder (no server needed)."""

from __future__ import annotations

from contour.bitrix.phpparams import decode_body, decode_query, encode, encode_query


def test_brackets_nest_append_and_become_lists() -> None:
    query = (
        "filter[>ID]=5&filter[%25TITLE]=Ром&select[]=ID&select[]=TITLE"
        "&fields[PHONE][0][VALUE]=%2B7%20495&fields[PHONE][0][VALUE_TYPE]=WORK&order[ID]=DESC&start=50"
    )
    assert decode_query(query) == {
        "filter": {">ID": "5", "%TITLE": "Ром"},
        "select": ["ID", "TITLE"],
        "fields": {"PHONE": [{"VALUE": "+7 495", "VALUE_TYPE": "WORK"}]},
        "order": {"ID": "DESC"},
        "start": "50",
    }


def test_numeric_keys_out_of_order_stay_a_map_and_later_values_win() -> None:
    assert decode_query("a[1]=x&a[0]=y") == {"a": {"1": "x", "0": "y"}}
    assert decode_query("a[0]=x&a[1]=y") == {"a": ["x", "y"]}
    assert decode_query("a=1&a=2") == {"a": "2"}
    assert decode_query("a.b=1&c d=2") == {"a_b": "1", "c_d": "2"}  # PHP mangles dots and spaces


def test_encoded_brackets_and_unencoded_keys() -> None:
    assert (
        decode_query("filter%5B%3E%3DID%5D=7")
        == decode_query("filter[%3E%3DID]=7")
        == {"filter": {">=ID": "7"}}
    )
    assert decode_query("filter[>ID]=7&filter[!@ID][]=1") == {"filter": {">ID": "7", "!@ID": ["1"]}}
    # like PHP, an unencoded "=" inside a key ends the key: ">=" must be percent-encoded in a query string
    assert decode_query("filter[>=ID]=7") == {"filter_>": "ID]=7"}


def test_bodies_json_form_multipart() -> None:
    assert decode_body(b'{"id": 5}', "application/json") == {"id": 5}
    assert decode_body(b"id=5&fields[TITLE]=A", "application/x-www-form-urlencoded; charset=utf-8") == {
        "id": "5",
        "fields": {"TITLE": "A"},
    }
    boundary = "XyZ"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="fields[TITLE]"\r\n\r\nООО Тест\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="id"\r\n\r\n5\r\n--{boundary}--\r\n'
    ).encode()
    assert decode_body(body, f"multipart/form-data; boundary={boundary}") == {
        "fields": {"TITLE": "ООО Тест"},
        "id": "5",
    }
    assert decode_body(b"{not json", "application/json") == {}


def test_encode_round_trips() -> None:
    params = {"event": "ONCRMCOMPANYUPDATE", "data": {"FIELDS": {"ID": 7}}, "list": ["a", "b"]}
    assert encode(params) == [
        ("event", "ONCRMCOMPANYUPDATE"),
        ("data[FIELDS][ID]", "7"),
        ("list[0]", "a"),
        ("list[1]", "b"),
    ]
    assert decode_query(encode_query(params)) == {
        "event": "ONCRMCOMPANYUPDATE",
        "data": {"FIELDS": {"ID": "7"}},
        "list": ["a", "b"],
    }
