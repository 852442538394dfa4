"""The parts of a requisite: bank details (``crm.requisite.bankdetail.*``) and addresses (``crm.address.*``).

A bank detail belongs to a requisite (``ENTITY_ID`` = requisite ID, ``ENTITY_TYPE_ID`` always 8) and is
classic CRUD with an ID. An address has no ID: it is the one address of its ``TYPE_ID`` (1 actual,
4 registration, 6 legal, 9 beneficiary, 11 delivery) on its owner (``ENTITY_TYPE_ID`` 8 = requisite,
``ENTITY_ID``), so ``update`` and ``delete`` name it by those three fields; ``ANCHOR_TYPE_ID``/``ANCHOR_ID``
say which company or contact the requisite belongs to. Deleting a requisite deletes its parts
(:mod:`contour.bitrix.entities`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from contour.bitrix import classic, errors, query, storage
from contour.bitrix import values as v
from contour.bitrix.api import Call, Reply, method

REQUISITE_TYPE_ID = 8  # CRM owner type of a requisite
ADDRESS_TYPES = (1, 4, 6, 9, 11)
REQUISITES = storage.TABLES["requisite"]
ADDRESSES = storage.TABLES["address"]


def _requisite(conn: sqlite3.Connection, requisite_id: Any) -> dict[str, Any] | None:
    return storage.get(conn, REQUISITES, v.to_int(requisite_id) or 0)


def _check_bank_detail(call: Call, conn: sqlite3.Connection, record: dict[str, Any]) -> None:
    if _requisite(conn, record.get("ENTITY_ID")) is None:
        raise errors.business(f"The requisite with ID '{record.get('ENTITY_ID')}' is not found.")


BANK_DETAIL = classic.EntitySpec(
    "crm.requisite.bankdetail",
    storage.TABLES["bankdetail"],
    defaults={"ENTITY_TYPE_ID": REQUISITE_TYPE_ID, "COUNTRY_ID": 1, "ACTIVE": "Y", "SORT": 500},
    check=_check_bank_detail,
    user_keys=("CREATED_BY_ID", "MODIFY_BY_ID"),
)
classic.register(BANK_DETAIL)


def _address_key(conn: sqlite3.Connection, fields: dict[str, Any]) -> tuple[int, int, dict[str, Any]]:
    """``(TYPE_ID, ENTITY_ID, requisite)`` named by an address's fields, or the portal's refusal."""
    type_id = v.to_int(fields.get("TYPE_ID"))
    if type_id not in ADDRESS_TYPES:
        raise errors.business("TYPE_ID is not defined or invalid.")
    if v.to_int(fields.get("ENTITY_TYPE_ID")) != REQUISITE_TYPE_ID:
        raise errors.business("ENTITY_TYPE_ID is not defined or invalid.")
    requisite = _requisite(conn, fields.get("ENTITY_ID"))
    if requisite is None:
        raise errors.business("ENTITY_ID is not defined or invalid.")
    return type_id, requisite["ID"], requisite


def _find_address(conn: sqlite3.Connection, type_id: int, requisite_id: int) -> dict[str, Any] | None:
    found = storage.select(
        conn,
        ADDRESSES,
        "type_id = ? AND entity_type_id = ? AND entity_id = ?",
        (type_id, REQUISITE_TYPE_ID, requisite_id),
    )
    return found[0] if found else None


@method("crm.address.add")
def address_add(call: Call) -> Reply:
    fields = classic.fields_param(call)
    with call.app.store.write() as conn:
        type_id, requisite_id, requisite = _address_key(conn, fields)
        if _find_address(conn, type_id, requisite_id) is not None:
            raise errors.business("TypeAddress exists")
        record: dict[str, Any] = {
            "ANCHOR_TYPE_ID": requisite["ENTITY_TYPE_ID"],
            "ANCHOR_ID": requisite["ENTITY_ID"],
            "LOC_ADDR_ID": 0,
        }
        classic.apply_fields(conn, ADDRESSES.schema, record, fields, creating=True)
        record["ENTITY_ID"] = requisite_id
        storage.insert(conn, ADDRESSES, record)
    return Reply(True)


def _change_address(
    call: Call, change: Callable[[sqlite3.Connection, dict[str, Any], dict[str, Any]], None]
) -> Reply:
    """Find the address the call's fields name (or refuse with "Not found"), then ``change`` it."""
    fields = classic.fields_param(call)
    with call.app.store.write() as conn:
        old = _find_address(conn, *_address_key(conn, fields)[:2])
        if old is None:
            raise errors.not_found()
        change(conn, old, fields)
    return Reply(True)


def _update(conn: sqlite3.Connection, old: dict[str, Any], fields: dict[str, Any]) -> None:
    classic.apply_fields(conn, ADDRESSES.schema, old, fields, creating=False)
    storage.update(conn, ADDRESSES, old["ROW_ID"], old)


@method("crm.address.update")
def address_update(call: Call) -> Reply:
    return _change_address(call, _update)


def _delete(conn: sqlite3.Connection, old: dict[str, Any], fields: dict[str, Any]) -> None:
    storage.delete(conn, ADDRESSES, old["ROW_ID"])


@method("crm.address.delete")
def address_delete(call: Call) -> Reply:
    return _change_address(call, _delete)


@method("crm.address.list")
def address_list(call: Call) -> Reply:
    chosen, _ = query.classic_select(ADDRESSES.schema, call.param("select"))
    page = classic.list_records(call, ADDRESSES)
    shown = [f for f in chosen if not f.hidden]
    return Reply([classic.render_selected(shown, False, r) for r in page.records], page.total, page.next)


@method("crm.address.fields")
def address_fields(call: Call) -> Reply:
    return Reply({f.name: f.describe() for f in ADDRESSES.schema.public()})
