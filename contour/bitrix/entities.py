"""Companies, requisites (with presets) and CRM products: classic CRUD described as data."""

from __future__ import annotations

import sqlite3
from typing import Any

from contour.bitrix import classic, errors, storage
from contour.bitrix.api import Call, Reply, method
from contour.bitrix.catalog_data import CATALOG_IBLOCK_ID, DEFAULT_MEASURE_ID

COMPANY_TYPE_ID = 4  # CRM entity type ids: 3 contact, 4 company


def _company_flags(
    call: Call, conn: sqlite3.Connection, record: dict[str, Any], old: dict[str, Any] | None
) -> None:
    record["HAS_PHONE"] = "Y" if record.get("PHONE") else "N"
    record["HAS_EMAIL"] = "Y" if record.get("EMAIL") else "N"
    record["HAS_IMOL"] = (
        "Y" if any(m.get("VALUE_TYPE") == "OPENLINE" for m in record.get("IM") or []) else "N"
    )


def _drop_requisite_parts(conn: sqlite3.Connection, requisite_id: int) -> None:
    """A requisite's bank details and addresses go with it."""
    conn.execute("DELETE FROM bankdetail WHERE entity_id = ?", (requisite_id,))
    conn.execute("DELETE FROM address WHERE entity_type_id = 8 AND entity_id = ?", (requisite_id,))


def _drop_requisites(conn: sqlite3.Connection, company_id: int) -> None:
    owned = (COMPANY_TYPE_ID, company_id)
    for (requisite_id,) in conn.execute(
        "SELECT id FROM requisite WHERE entity_type_id = ? AND entity_id = ?", owned
    ).fetchall():
        _drop_requisite_parts(conn, requisite_id)
    conn.execute("DELETE FROM requisite WHERE entity_type_id = ? AND entity_id = ?", owned)


def _check_requisite(call: Call, conn: sqlite3.Connection, record: dict[str, Any]) -> None:
    if record.get("ENTITY_TYPE_ID") not in (3, COMPANY_TYPE_ID):
        raise errors.business("Invalid value of ENTITY_TYPE_ID.")
    if (
        record["ENTITY_TYPE_ID"] == COMPANY_TYPE_ID
        and storage.get(conn, storage.TABLES["company"], record["ENTITY_ID"]) is None
    ):
        raise errors.business(f"The company with ID '{record['ENTITY_ID']}' is not found.")
    if storage.get(conn, storage.TABLES["preset"], record.get("PRESET_ID") or 0) is None:
        raise errors.business(f"The preset with ID '{record.get('PRESET_ID')}' is not found.")


COMPANY = classic.EntitySpec(
    "crm.company",
    storage.TABLES["company"],
    update_not_found="Company is not found",
    events={"add": "ONCRMCOMPANYADD", "update": "ONCRMCOMPANYUPDATE", "delete": "ONCRMCOMPANYDELETE"},
    defaults={
        "COMPANY_TYPE": "CUSTOMER",
        "OPENED": "Y",
        "IS_MY_COMPANY": "N",
        "CURRENCY_ID": "RUB",
        "HAS_PHONE": "N",
        "HAS_EMAIL": "N",
        "HAS_IMOL": "N",
    },
    before_save=_company_flags,
    after_delete=_drop_requisites,
)

REQUISITE = classic.EntitySpec(
    "crm.requisite",
    storage.TABLES["requisite"],
    update_not_found="Not found",
    events={"add": "ONCRMREQUISITEADD", "update": "ONCRMREQUISITEUPDATE", "delete": "ONCRMREQUISITEDELETE"},
    defaults={"ACTIVE": "Y", "ADDRESS_ONLY": "N", "SORT": 500},
    check=_check_requisite,
    after_delete=_drop_requisite_parts,
    user_keys=("CREATED_BY_ID", "MODIFY_BY_ID"),
)

PRODUCT = classic.EntitySpec(
    "crm.product",
    storage.TABLES["product"],
    defaults={
        "CATALOG_ID": CATALOG_IBLOCK_ID,
        "ACTIVE": "Y",
        "CURRENCY_ID": "RUB",
        "VAT_INCLUDED": "Y",
        "SORT": 500,
        "DESCRIPTION_TYPE": "text",
        "TYPE": 1,
        "MEASURE": DEFAULT_MEASURE_ID,
    },
    stamp_keys=("DATE_CREATE", "TIMESTAMP_X"),
    user_keys=("CREATED_BY", "MODIFIED_BY"),
    modify_user_key="MODIFIED_BY",
)

classic.register(COMPANY)
classic.register(REQUISITE)
classic.register(PRODUCT)


@method("crm.requisite.preset.list")
def preset_list(call: Call) -> Reply:
    chosen, ufs = classic.query.classic_select(storage.TABLES["preset"].schema, call.param("select"))
    page = classic.list_records(call, storage.TABLES["preset"])
    return Reply([classic.render_selected(chosen, ufs, r) for r in page.records], page.total, page.next)
