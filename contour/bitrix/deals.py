"""Deals and their product rows: stage semantics, ``crm.deal.productrows.get|set`` and the amount recompute.

Row arithmetic follows the project's domain notes: ``PRICE`` is the final unit price after discount, including
tax when ``TAX_INCLUDED=Y``; with ``IS_MANUAL_OPPORTUNITY=N`` the deal's ``OPPORTUNITY``/``TAX_VALUE`` are the
sums of the rows, rounded per row half-up to kopecks.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from decimal import Decimal
from functools import lru_cache
from typing import Any

from contour.bitrix import catalog_data, classic, errors, storage
from contour.bitrix import values as v
from contour.bitrix.api import Call, Reply, method

DEALS = storage.TABLES["deal"]
ROWS = storage.TABLES["productrow"]
OWNER_DEAL = "D"
_FAILED = {"LOSE", "APOLOGY"}


def stage_semantic(conn: sqlite3.Connection, category_id: int, stage_id: str) -> str:
    """``P`` in progress, ``S`` success, ``F`` failure, from the stage dictionary (fallback: stock codes)."""
    entity = "DEAL_STAGE" if not category_id else f"DEAL_STAGE_{category_id}"
    row = conn.execute(
        "SELECT json_extract(data, '$.SEMANTICS') FROM status WHERE entity_id = ? AND status_id = ?",
        (entity, stage_id),
    ).fetchone()
    if row and row[0]:
        return str(row[0])
    code = stage_id.split(":")[-1]
    return "S" if code == "WON" else "F" if code in _FAILED else "P"


@lru_cache(maxsize=65536)
def amounts(
    price: Decimal, qty: Decimal, rate: Decimal, included: bool, absolute: bool, pct: Decimal, dsum: Decimal
) -> tuple[Decimal, ...]:
    """``(PRICE_EXCLUSIVE, PRICE_NETTO, PRICE_BRUTTO, DISCOUNT_SUM, total, tax)`` of one row. The discount is
    in the basis of ``PRICE`` (gross when tax is included): the price before it is ``PRICE + DISCOUNT_SUM``
    (absolute) or ``PRICE / (1 - rate%)``."""
    factor = 1 + rate / 100
    before = price + dsum if absolute or pct >= 100 else price / (1 - pct / 100)
    base = v.round2(price * qty)
    if included:
        tax = v.round2(base * rate / (100 + rate))
        total = base
    else:
        tax = v.round2(base * rate / 100)
        total = base + tax
    return (
        v.round2(price / factor if included else price),
        v.round2(before / factor if included else before),
        v.round2(before if included else before * factor),
        v.round2(before - price),
        total,
        tax,
    )


def row_amounts(row: dict[str, Any]) -> tuple[Decimal, ...]:
    """:func:`amounts` of a stored row."""
    return amounts(
        Decimal(str(row.get("PRICE") or 0)),
        Decimal(str(row["QUANTITY"] if row.get("QUANTITY") is not None else 1)),
        Decimal(str(row.get("TAX_RATE") or 0)),
        row.get("TAX_INCLUDED") == "Y",
        row.get("DISCOUNT_TYPE_ID") == 1,
        Decimal(str(row.get("DISCOUNT_RATE") or 0)),
        Decimal(str(row.get("DISCOUNT_SUM") or 0)),
    )


def owner_rows(conn: sqlite3.Connection, owner_type: str, owner_id: int) -> list[dict[str, Any]]:
    return storage.select(
        conn,
        ROWS,
        "owner_type = ? AND owner_id = ?",
        (owner_type, owner_id),
        "json_extract(data, '$.SORT'), id",
    )


def totals(rows: list[dict[str, Any]]) -> tuple[float, float]:
    """``(OPPORTUNITY, TAX_VALUE)``: sums of the rows' totals and taxes."""
    sums = [row_amounts(r) for r in rows]
    return float(sum((a[4] for a in sums), Decimal(0))), float(sum((a[5] for a in sums), Decimal(0)))


def _deal_before_save(
    call: Call, conn: sqlite3.Connection, record: dict[str, Any], old: dict[str, Any] | None
) -> None:
    category = record.get("CATEGORY_ID") or 0
    record["CATEGORY_ID"] = category
    prefix = f"C{category}:" if category else ""
    stage = record.get("STAGE_ID") or f"{prefix}NEW"
    if prefix and not stage.startswith(prefix):
        stage = prefix + stage.split(":")[-1]
    record["STAGE_ID"] = stage
    semantic = stage_semantic(conn, category, stage)
    record["STAGE_SEMANTIC_ID"] = semantic
    record["CLOSED"] = "Y" if semantic in ("S", "F") else "N"
    record["IS_NEW"] = "Y" if stage.split(":")[-1] == "NEW" else "N"
    if old is None or old.get("STAGE_ID") != stage:
        record["MOVED_TIME"] = record["DATE_MODIFY"]
        record["MOVED_BY_ID"] = call.user_id
    if old is None:
        today = dt.datetime.fromtimestamp(record["DATE_CREATE"] / v.US, v.PORTAL_TZ).date()
        record["BEGINDATE"] = record.get("BEGINDATE") or today.isoformat()
        record["CLOSEDATE"] = record.get("CLOSEDATE") or (today + dt.timedelta(days=7)).isoformat()
    elif record.get("IS_MANUAL_OPPORTUNITY") != "Y":
        rows = owner_rows(conn, OWNER_DEAL, record["ID"])
        if rows:
            record["OPPORTUNITY"], record["TAX_VALUE"] = totals(rows)


def _drop_rows(conn: sqlite3.Connection, deal_id: int) -> None:
    conn.execute("DELETE FROM productrow WHERE owner_type = ? AND owner_id = ?", (OWNER_DEAL, deal_id))


DEAL = classic.EntitySpec(
    "crm.deal",
    DEALS,
    events={"add": "ONCRMDEALADD", "update": "ONCRMDEALUPDATE", "delete": "ONCRMDEALDELETE"},
    defaults={
        "TYPE_ID": "SALE",
        "CATEGORY_ID": 0,
        "CURRENCY_ID": "RUB",
        "OPPORTUNITY": 0.0,
        "TAX_VALUE": 0.0,
        "IS_MANUAL_OPPORTUNITY": "N",
        "OPENED": "Y",
        "IS_RECURRING": "N",
        "IS_RETURN_CUSTOMER": "N",
        "IS_REPEATED_APPROACH": "N",
    },
    before_save=_deal_before_save,
    after_delete=_drop_rows,
    title_template="Сделка #{id}",
)
classic.register(DEAL)


def make_row(
    raw: dict[str, Any], owner_type: str, owner_id: int, product: dict[str, Any] | None
) -> dict[str, Any]:
    """A stored product row from client input (defaults from the catalog product of ``PRODUCT_ID``)."""
    raw = {str(k).upper(): x for k, x in raw.items()}
    dtype = v.to_int(raw.get("DISCOUNT_TYPE_ID")) or 2
    if "DISCOUNT_TYPE_ID" in raw and dtype == 1 and raw.get("DISCOUNT_SUM") in (None, ""):
        raise errors.ApiError(
            400,
            "ERROR_CORE",
            "Discount Sum (DISCOUNT_SUM) is required if Monetary Discount Type "
            "(DISCOUNT_TYPE_ID) is defined.<br>",
        )
    measure = catalog_data.measure_by_id(product.get("MEASURE")) if product else None
    code = v.to_int(raw.get("MEASURE_CODE")) or (int(measure[1]) if measure else 0)
    by_code = catalog_data.measure_by_code(code)
    name = raw.get("PRODUCT_NAME") or (product or {}).get("NAME") or ""
    row: dict[str, Any] = {
        "OWNER_ID": owner_id,
        "OWNER_TYPE": owner_type,
        "PRODUCT_ID": v.to_int(raw.get("PRODUCT_ID")) or 0,
        "PRODUCT_NAME": str(name),
        "ORIGINAL_PRODUCT_NAME": (product or {}).get("NAME") or str(name),
        "PRODUCT_DESCRIPTION": raw.get("PRODUCT_DESCRIPTION"),
        "PRICE": v.to_float(raw.get("PRICE")) or 0.0,
        "QUANTITY": v.to_float(raw.get("QUANTITY")) if raw.get("QUANTITY") not in (None, "") else 1.0,
        "DISCOUNT_TYPE_ID": dtype,
        "DISCOUNT_RATE": v.to_float(raw.get("DISCOUNT_RATE")) or 0.0,
        "DISCOUNT_SUM": v.to_float(raw.get("DISCOUNT_SUM")) or 0.0,
        "TAX_RATE": v.to_float(raw.get("TAX_RATE")),
        "TAX_INCLUDED": v.yn(raw.get("TAX_INCLUDED", "N")),
        "CUSTOMIZED": "Y",
        "MEASURE_CODE": code,
        "MEASURE_NAME": raw.get("MEASURE_NAME") or (by_code[3] if by_code else ""),
        "SORT": v.to_int(raw.get("SORT")) or 0,
        "XML_ID": raw.get("XML_ID"),
        "TYPE": (product or {}).get("TYPE") or 1,
        "STORE_ID": v.to_int(raw.get("STORE_ID")) or 0,
    }
    derived = row_amounts(row)
    for i, key in enumerate(("PRICE_EXCLUSIVE", "PRICE_NETTO", "PRICE_BRUTTO", "DISCOUNT_SUM")):
        row[key] = float(derived[i])
    if dtype == 1:
        row["DISCOUNT_SUM"] = v.to_float(raw.get("DISCOUNT_SUM")) or 0.0
        before = row["PRICE"] + row["DISCOUNT_SUM"]
        given = v.to_float(raw.get("DISCOUNT_RATE"))
        row["DISCOUNT_RATE"] = (
            given if given is not None else round(row["DISCOUNT_SUM"] / before * 100, 2) if before else 0.0
        )
    return row


def row_out(row: dict[str, Any]) -> dict[str, Any]:
    """A product row as ``crm.deal.productrows.get`` prints it (ids as strings, numbers typed)."""
    keys = ("PRICE", "PRICE_EXCLUSIVE", "PRICE_NETTO", "PRICE_BRUTTO")
    out = {
        "ID": str(row.get("ID")),
        "OWNER_ID": str(row.get("OWNER_ID")),
        "OWNER_TYPE": row.get("OWNER_TYPE"),
        "PRODUCT_ID": row.get("PRODUCT_ID"),
        "PRODUCT_NAME": row.get("PRODUCT_NAME"),
        "ORIGINAL_PRODUCT_NAME": row.get("ORIGINAL_PRODUCT_NAME"),
        "PRODUCT_DESCRIPTION": row.get("PRODUCT_DESCRIPTION"),
    }
    out.update({k: v.num(row.get(k)) for k in keys})
    out["PRICE_ACCOUNT"] = v.money_str(row.get("PRICE"))
    out.update(
        {
            "QUANTITY": v.num(row.get("QUANTITY")),
            "DISCOUNT_TYPE_ID": row.get("DISCOUNT_TYPE_ID"),
            "DISCOUNT_RATE": v.num(row.get("DISCOUNT_RATE")),
            "DISCOUNT_SUM": v.num(row.get("DISCOUNT_SUM")),
            "TAX_RATE": v.num(row.get("TAX_RATE")),
            "TAX_INCLUDED": row.get("TAX_INCLUDED"),
            "CUSTOMIZED": row.get("CUSTOMIZED"),
            "MEASURE_CODE": row.get("MEASURE_CODE"),
            "MEASURE_NAME": row.get("MEASURE_NAME"),
            "SORT": row.get("SORT"),
            "XML_ID": row.get("XML_ID"),
            "TYPE": row.get("TYPE"),
            "STORE_ID": row.get("STORE_ID"),
            "RESERVE_ID": None,
            "DATE_RESERVE_END": None,
            "RESERVE_QUANTITY": None,
        }
    )
    return out


def _rows_param(call: Call) -> list[dict[str, Any]]:
    rows = call.param("rows") or []
    rows = list(rows.values()) if isinstance(rows, dict) else rows
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise errors.business("Parameter 'rows' must be array.")
    return rows


@method("crm.deal.productrows.get")
def productrows_get(call: Call) -> Reply:
    deal_id = v.to_int(call.param("id"))
    if not deal_id or deal_id <= 0:
        raise errors.business("The parameter id is invalid or not defined.")
    with call.app.store.read() as conn:
        if storage.get(conn, DEALS, deal_id) is None:
            raise errors.not_found()
        return Reply([row_out(r) for r in owner_rows(conn, OWNER_DEAL, deal_id)])


def replace_rows(
    conn: sqlite3.Connection, owner_type: str, owner_id: int, raw_rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Replace all rows of an owner (rows passed with a known ``ID`` keep it); returns the stored rows."""
    old_ids = {r["ID"] for r in owner_rows(conn, owner_type, owner_id)}
    new_rows = []
    for raw in raw_rows:
        upper = {str(k).upper(): x for k, x in raw.items()}
        product = storage.get(conn, storage.TABLES["product"], v.to_int(upper.get("PRODUCT_ID")) or 0)
        new_rows.append((v.to_int(upper.get("ID")), make_row(upper, owner_type, owner_id, product)))
    conn.execute("DELETE FROM productrow WHERE owner_type = ? AND owner_id = ?", (owner_type, owner_id))
    for keep_id, row in new_rows:
        row["ID"] = storage.insert(conn, ROWS, row, keep_id if keep_id in old_ids else None)
    return [row for _, row in new_rows]


def touch_deal(
    call: Call, conn: sqlite3.Connection, deal: dict[str, Any], rows: list[dict[str, Any]]
) -> None:
    """After a row change: the automatic amount is recomputed and the deal counts as modified."""
    if deal.get("IS_MANUAL_OPPORTUNITY") != "Y":
        deal["OPPORTUNITY"], deal["TAX_VALUE"] = totals(rows)
    deal["DATE_MODIFY"] = call.app.store.stamp()
    deal["MODIFY_BY_ID"] = call.user_id
    storage.update(conn, DEALS, deal["ID"], deal)


@method("crm.deal.productrows.set")
def productrows_set(call: Call) -> Reply:
    deal_id = v.to_int(call.param("id"))
    if not deal_id or deal_id <= 0:
        raise errors.business("The parameter id is invalid or not defined.")
    raw_rows = _rows_param(call)
    with call.app.store.write() as conn:
        deal = storage.get(conn, DEALS, deal_id)
        if deal is None:
            raise errors.not_found()
        touch_deal(call, conn, deal, replace_rows(conn, OWNER_DEAL, deal_id, raw_rows))
    call.emit("ONCRMDEALUPDATE", {"ID": deal_id})
    return Reply(True)
