"""Deal user fields: ``crm.deal.userfield.add|update|get|list|delete``.

``FIELD_NAME`` gets the ``UF_CRM_`` prefix when it lacks it; then only ``A–Z``, ``0–9`` and ``_``, at most
50 characters with the prefix, unique. ``USER_TYPE_ID``: string, double, date, datetime, enumeration, money,
boolean. ``update`` cannot change the name, the type or ``MULTIPLE`` (silently kept). Enumeration items
(``LIST``) get IDs; on update an item with ``ID`` changes (``DEL: "Y"`` removes it), one without is added.
Deals store and print only defined user fields (:func:`contour.bitrix.classic.apply_fields`).
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from contour.bitrix import classic, errors, storage
from contour.bitrix import values as v
from contour.bitrix.api import Call

DEAL_ENTITY = "CRM_DEAL"
PREFIX = "UF_CRM_"
MAX_NAME = 50
TYPES = ("string", "double", "date", "datetime", "enumeration", "money", "boolean")
_NAME = re.compile(r"UF_CRM_[A-Z0-9_]+")
TABLE = storage.TABLES["userfield"]


def _core(text: str) -> errors.ApiError:
    return errors.ApiError(400, "ERROR_CORE", text)


def _check(call: Call, conn: sqlite3.Connection, record: dict[str, Any]) -> None:
    name = str(record.get("FIELD_NAME") or "")
    if not name.startswith(PREFIX):
        name = PREFIX + name
    if not _NAME.fullmatch(name):
        raise _core(f"Invalid field code '{name}': only A-Z, 0-9 and _ are allowed.")
    if len(name) > MAX_NAME:
        raise _core(f"The field code '{name}' is longer than {MAX_NAME} characters.")
    if record.get("USER_TYPE_ID") not in TYPES:
        raise _core(f"Unknown user field type '{record.get('USER_TYPE_ID')}'.")
    same = conn.execute(
        "SELECT id FROM userfield WHERE entity_id = ? AND field_name = ? AND id IS NOT ?",
        (record["ENTITY_ID"], name, record.get("ID")),
    ).fetchone()
    if same:
        raise _core(f"A user field named '{name}' already exists.")
    record["FIELD_NAME"] = name


def _items(conn: sqlite3.Connection, old: list[dict[str, Any]], given: Any) -> list[dict[str, Any]]:
    """Enumeration items after an add/update: known IDs change or go (``DEL=Y``), new ones get an ID."""
    result = [dict(i) for i in old]
    raw = given.values() if isinstance(given, dict) else given if isinstance(given, list) else []
    for item in raw:
        if not isinstance(item, dict):
            continue
        item = {str(k).upper(): x for k, x in item.items()}
        known = next((i for i in result if i["ID"] == str(v.to_int(item.get("ID")))), None)
        if known is not None and v.yn(item.get("DEL", "N")) == "Y":
            result.remove(known)
            continue
        target = known if known is not None else {"ID": str(storage.next_seq(conn, "userfield_enum"))}
        target.update(
            {
                "VALUE": str(item.get("VALUE", target.get("VALUE", ""))),
                "SORT": str(v.to_int(item.get("SORT", target.get("SORT"))) or 500),
                "DEF": v.yn(item.get("DEF", target.get("DEF", "N"))),
                "XML_ID": item.get("XML_ID", target.get("XML_ID")) or target["ID"],
            }
        )
        if known is None:
            result.append(target)
    return sorted(result, key=lambda i: (int(i["SORT"]), int(i["ID"])))


def _before_save(
    call: Call, conn: sqlite3.Connection, record: dict[str, Any], old: dict[str, Any] | None
) -> None:
    if record.get("USER_TYPE_ID") != "enumeration":
        record.pop("LIST", None)
        return
    previous = (old or {}).get("LIST") or []
    given = record.get("LIST")
    record["LIST"] = previous if given is previous else _items(conn, previous, given)
    record["XML_ID"] = record.get("XML_ID") or record["FIELD_NAME"]


DEAL_USER_FIELD = classic.EntitySpec(
    "crm.deal.userfield",
    TABLE,
    update_not_found="Not found",
    defaults={
        "ENTITY_ID": DEAL_ENTITY,
        "SORT": 100,
        "MULTIPLE": "N",
        "MANDATORY": "N",
        "SHOW_FILTER": "N",
        "SHOW_IN_LIST": "Y",
        "EDIT_IN_LIST": "Y",
        "IS_SEARCHABLE": "N",
        "SETTINGS": {},
    },
    check=_check,
    before_save=_before_save,
    user_keys=(),
)
classic.register(DEAL_USER_FIELD, ("add", "update", "get", "list", "delete"))
