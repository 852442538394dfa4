"""PHP-style request parameters: ``filter[>ID]=5&select[]=ID&fields[PHONE][0][VALUE]=…``.

Bitrix24 is PHP, so a query string, an urlencoded form and a multipart form all decode the way
``parse_str`` does. The result uses plain Python containers: a PHP array whose keys are exactly
``0..n-1`` in order becomes a list (that is also how PHP's ``json_encode`` prints it), anything else a dict.
"""

from __future__ import annotations

import json
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl, quote


def _split_key(raw: str) -> list[str | None]:
    """``a[b][]`` -> ``['a', 'b', None]``; ``None`` stands for an append (``[]``)."""
    head, sep, rest = raw.partition("[")
    if not sep or "]" not in rest:  # PHP turns an unclosed "[" into "_"
        return [raw.replace(".", "_").replace(" ", "_").replace("[", "_", 1)]
    parts: list[str | None] = [head.replace(".", "_").replace(" ", "_")]
    rest = "[" + rest
    while rest.startswith("["):
        end = rest.find("]")
        if end < 0:
            break
        inner = rest[1:end]
        parts.append(inner if inner != "" else None)
        rest = rest[end + 1 :]
    return parts


def _next_index(node: dict[str, Any]) -> str:
    ints = [int(k) for k in node if k.lstrip("-").isdigit()]
    return str(max(ints) + 1 if ints else 0)


def decode_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Decode (name, value) pairs with bracket names into nested containers, like PHP ``parse_str``."""
    root: dict[str, Any] = {}
    for name, value in pairs:
        keys = _split_key(name)
        if not keys or keys[0] == "":
            continue
        node = root
        for i, key in enumerate(keys):
            key = _next_index(node) if key is None else key
            if i == len(keys) - 1:
                node[key] = value
            else:
                child = node.get(key)
                if not isinstance(child, dict):
                    child = {}
                    node[key] = child
                node = child
    return listify(root)


def listify(value: Any) -> Any:
    """Turn PHP arrays keyed ``0..n-1`` (in order) into lists, recursively."""
    if isinstance(value, dict):
        items = {k: listify(v) for k, v in value.items()}
        if items and list(items) == [str(i) for i in range(len(items))]:
            return list(items.values())
        return items
    if isinstance(value, list):
        return [listify(v) for v in value]
    return value


def decode_query(query: str) -> dict[str, Any]:
    return decode_pairs(parse_qsl(query, keep_blank_values=True))


def _multipart_pairs(body: bytes, content_type: str) -> list[tuple[str, Any]]:
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    pairs: list[tuple[str, Any]] = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name or not isinstance(name, str):  # the HTTP policy decodes RFC 2231 names: never a tuple
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):  # None for a nested multipart part
            payload = b""
        if part.get_filename():
            pairs.append((name, {"fileName": part.get_filename(), "size": len(payload)}))
        else:
            charset = part.get_content_charset() or "utf-8"
            pairs.append((name, payload.decode(charset, errors="replace")))
    return pairs


def decode_body(body: bytes, content_type: str) -> dict[str, Any]:
    """Parameters of a request body: JSON, urlencoded or multipart. Undecodable bodies give ``{}``."""
    if not body:
        return {}
    ctype = content_type.split(";")[0].strip().lower()
    try:
        if ctype == "multipart/form-data":
            return decode_pairs(_multipart_pairs(body, content_type))
        if ctype == "application/x-www-form-urlencoded":
            return decode_query(body.decode("utf-8", errors="replace"))
        data = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def encode(params: dict[str, Any] | list[Any], prefix: str = "") -> list[tuple[str, str]]:
    """The inverse: nested containers to bracket pairs (used for outbound event payloads)."""
    pairs: list[tuple[str, str]] = []
    items = enumerate(params) if isinstance(params, list) else params.items()
    for key, value in items:
        name = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, dict | list):
            pairs.extend(encode(value, name))
        elif value is None:
            pairs.append((name, ""))
        elif isinstance(value, bool):
            pairs.append((name, "1" if value else "0"))
        else:
            pairs.append((name, str(value)))
    return pairs


def encode_query(params: dict[str, Any]) -> str:
    """Bracket-encode params as a query string (keys keep their brackets readable)."""
    return "&".join(f"{quote(k, safe='[]')}={quote(v, safe='')}" for k, v in encode(params))
