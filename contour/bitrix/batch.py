"""``batch``: up to 50 sub-calls ``"method?php=params"`` run in order, with ``$result[key][…]`` references.

The answer keeps PHP's JSON shapes: a map with keys ``0..n-1`` prints as an array and an empty map as ``[]``.
The whole batch is one hit for the leaky bucket; each sub-call is charged to its own method's operating time.
"""

from __future__ import annotations

import random
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from contour.bitrix import errors
from contour.bitrix import values as v
from contour.bitrix.api import Reply
from contour.bitrix.errors import ApiError
from contour.bitrix.phpparams import decode_query

if TYPE_CHECKING:
    from contour.bitrix.app import BitrixApp

MAX_COMMANDS = 50
_REF = re.compile(r"\$(result_error|result_total|result_next|result_time|result)((?:\[[^\[\]]*\])+)")
_MISSING = object()


def php_map(items: dict[str, Any]) -> Any:
    """PHP's json_encode of an array: ``[]`` when empty, a list for keys ``0..n-1``, else an object."""
    if not items:
        return []
    if list(items) == [str(i) for i in range(len(items))]:
        return list(items.values())
    return items


def commands(cmd: Any) -> list[tuple[str, str]]:
    if isinstance(cmd, list):
        return [(str(i), str(c)) for i, c in enumerate(cmd)]
    if isinstance(cmd, dict):
        return [(str(k), str(c)) for k, c in cmd.items()]
    return []


def split_command(text: str) -> tuple[str, str]:
    name, _, query = text.partition("?")
    name = unquote(name).strip().lower()
    for suffix in (".json", ".xml"):
        name = name.removesuffix(suffix)
    return name, query


def _lookup(state: dict[str, dict[str, Any]], kind: str, path: list[str]) -> Any:
    node: Any = state[kind].get(path[0], _MISSING)
    for segment in path[1:]:
        if isinstance(node, list) and segment.isdigit() and int(segment) < len(node):
            node = node[int(segment)]
        elif isinstance(node, dict) and segment in node:
            node = node[segment]
        else:
            return _MISSING
    return node


def substitute(value: Any, state: dict[str, dict[str, Any]]) -> Any:
    """Replace ``$result[key][FIELD]`` references in values (a whole-value reference keeps its type)."""
    if isinstance(value, dict):
        return {k: substitute(x, state) for k, x in value.items()}
    if isinstance(value, list):
        return [substitute(x, state) for x in value]
    if not isinstance(value, str) or "$result" not in value:
        return value
    whole = _REF.fullmatch(value)
    if whole:
        found = _lookup(state, whole.group(1), re.findall(r"\[([^\[\]]*)\]", whole.group(2)))
        return value if found is _MISSING else found

    def repl(match: re.Match[str]) -> str:
        found = _lookup(state, match.group(1), re.findall(r"\[([^\[\]]*)\]", match.group(2)))
        return match.group(0) if found is _MISSING or isinstance(found, dict | list) else str(found)

    return _REF.sub(repl, value)


def run(app: BitrixApp, params: dict[str, Any], user_id: int) -> Reply:
    items = commands(next((val for key, val in params.items() if str(key).lower() == "cmd"), None))
    halt = v.yn(next((val for key, val in params.items() if str(key).lower() == "halt"), "0")) == "Y"
    if len(items) > MAX_COMMANDS:
        raise ApiError(400, "ERROR_BATCH_LENGTH_EXCEEDED", f"Max batch length exceeded ({MAX_COMMANDS})")
    parsed = [(key, *split_command(text)) for key, text in items]
    if any(name == "batch" for _, name, _ in parsed):
        raise ApiError(405, "ERROR_BATCH_METHOD_NOT_ALLOWED", "Method is not allowed for batch usage")
    state: dict[str, dict[str, Any]] = {
        "result": {},
        "result_error": {},
        "result_total": {},
        "result_next": {},
        "result_time": {},
    }
    fault_rate = float(app.knobs.get("batch_fault_rate"))
    for key, name, query in parsed:
        sub_params = substitute(decode_query(query), state)
        try:
            if fault_rate and random.random() < fault_rate:
                raise errors.internal()
            reply, timing = app.execute(name, sub_params, user_id)
        except ApiError as exc:
            state["result_error"][key] = {"error": exc.code, "error_description": exc.description}
            if halt:
                break
            continue
        state["result"][key] = reply.result
        if reply.total is not None:
            state["result_total"][key] = reply.total
        if reply.next is not None:
            state["result_next"][key] = reply.next
        state["result_time"][key] = timing
    return Reply({kind: php_map(values) for kind, values in state.items()})
