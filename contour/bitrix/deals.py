"""Deals and their product rows: stage semantics, ``crm.deal.productrows.get|set`` and the amount recompute.

Row arithmetic follows protocols.md C.9a (:func:`amounts`): ``PRICE`` is the unit price after discount and
with tax, whatever ``TAX_INCLUDED`` says; with ``IS_MANUAL_OPPORTUNITY=N`` the deal's ``OPPORTUNITY`` is
Σ round(``PRICE``×``QUANTITY``) and ``TAX_VALUE`` the tax inside it, rounded per row half-up to kopecks.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from decimal import Decimal
from functools import lru_cache
from typing import Any, NamedTuple

from contour.bitrix import catalog_data, classic, errors, stagehistory, storage
from contour.bitrix import values as v
from contour.bitrix.api import Call, Reply, method

DEALS = storage.TABLES["deal"]
ROWS = storage.TABLES["productrow"]
OWNER_DEAL = "D"
_FAILED = {"LOSE", "APOLOGY"}


def stage_semantic(conn: sqlite3.Connection, category_id: int, stage_id: str) -> str:
    """``P`` in progress, ``S`` success, ``F`` failure, from the stage dictionary (fallback: stock codes)."""
    entity = "DEAL_STAGE" if not category_id else f"DEAL_STAGE_{category_id}"
    known = stagehistory.semantic_of(conn, entity, stage_id)
    if known:
        return known
    code = stage_id.split(":")[-1]
    return "S" if code == "WON" else "F" if code in _FAILED else "P"


class RowAmounts(NamedTuple):
    """The derived prices of one row (per unit) and its contribution to the owner's amount and tax."""

    exclusive: Decimal  # PRICE_EXCLUSIVE: after discount, without tax
    netto: Decimal  # PRICE_NETTO: before discount, without tax
    brutto: Decimal  # PRICE_BRUTTO: before discount, with tax
    discount_sum: Decimal  # DISCOUNT_SUM per unit, without tax
    discount_rate: Decimal  # DISCOUNT_RATE, %
    total: Decimal  # round(PRICE × QUANTITY)
    tax: Decimal  # the tax inside ``total``


@lru_cache(maxsize=65536)
def amounts(
    price: Decimal,
    qty: Decimal,
    rate: Decimal | None,
    absolute: bool,
    pct: Decimal,
    dsum: Decimal,
) -> RowAmounts:
    """A row as Bitrix computes it (protocols.md C.9a): ``PRICE`` is the unit price after discount **with**
    tax, always (``TAX_INCLUDED`` only records how it was typed); ``EXCL = PRICE/(1+t)``; a percent discount
    is ``EXCL×r/(100−r)``, an absolute one is taken as sent (per unit, without tax); ``NETTO = EXCL + sum``;
    ``BRUTTO = NETTO×(1+t)``; every step rounded to kopecks. ``rate`` ``None`` = no tax."""
    factor = 1 + (rate or Decimal(0)) / 100
    exclusive = v.round2(price / factor)
    if absolute:
        discount = v.round2(dsum)
        before = exclusive + discount
        percent = v.round2((1 - exclusive / before) * 100) if before else Decimal(0)
    else:
        percent = v.round2(pct)
        discount = v.round2(dsum) if percent >= 100 else v.round2(exclusive * percent / (100 - percent))
    netto = v.round2(exclusive + discount)
    total = v.round2(price * qty)
    tax = v.round2(total * rate / (100 + rate)) if rate else Decimal("0.00")
    return RowAmounts(exclusive, netto, v.round2(netto * factor), discount, percent, total, tax)


def _dec(value: Any, default: str = "0") -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else Decimal(default)


def row_amounts(row: dict[str, Any]) -> RowAmounts:
    """:func:`amounts` of a stored row."""
    return amounts(
        _dec(row.get("PRICE")),
        _dec(row.get("QUANTITY"), "1"),
        None if row.get("TAX_RATE") is None else _dec(row["TAX_RATE"]),
        row.get("DISCOUNT_TYPE_ID") == 1,
        _dec(row.get("DISCOUNT_RATE")),
        _dec(row.get("DISCOUNT_SUM")),
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
    return float(sum((a.total for a in sums), Decimal(0))), float(sum((a.tax for a in sums), Decimal(0)))


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


def _deal_saved(
    call: Call, conn: sqlite3.Connection, record: dict[str, Any], old: dict[str, Any] | None
) -> None:
    stagehistory.record(
        conn,
        2,
        record["ID"],
        (record["STAGE_ID"], record["CATEGORY_ID"], record["STAGE_SEMANTIC_ID"]),
        record["DATE_MODIFY"],
        None if old is None else (old.get("STAGE_ID") or "", old.get("CATEGORY_ID") or 0),
    )


def _drop_rows(conn: sqlite3.Connection, deal_id: int) -> None:
    conn.execute("DELETE FROM productrow WHERE owner_type = ? AND owner_id = ?", (OWNER_DEAL, deal_id))
    stagehistory.forget(conn, 2, deal_id)


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
    after_save=_deal_saved,
    after_delete=_drop_rows,
    title_template="Сделка #{id}",
    uf_entity="CRM_DEAL",
)
classic.register(DEAL)


def _core_error(text: str) -> errors.ApiError:
    return errors.ApiError(400, "ERROR_CORE", text + "<br>")


def _check_discount(raw: dict[str, Any], dtype: int) -> None:
    """The module's checks: a monetary discount needs its sum, a percent one its rate (and a sum at 100%)."""
    if dtype == 1 and raw.get("DISCOUNT_SUM") in (None, ""):
        raise _core_error(
            "Discount Sum (DISCOUNT_SUM) is required if Monetary Discount Type (DISCOUNT_TYPE_ID) is defined."
        )
    if dtype != 2 or raw.get("DISCOUNT_TYPE_ID") in (None, ""):
        return
    if raw.get("DISCOUNT_RATE") in (None, ""):
        raise _core_error(
            "Discount Rate (DISCOUNT_RATE) is required if Percentage Discount Type (DISCOUNT_TYPE_ID) "
            "is defined."
        )
    if (v.to_float(raw.get("DISCOUNT_RATE")) or 0.0) >= 100 and not v.to_float(raw.get("DISCOUNT_SUM")):
        raise _core_error(
            "Discount Sum (DISCOUNT_SUM) is required if Percentage Discount Type (DISCOUNT_TYPE_ID) "
            "is defined and Discount Rate (DISCOUNT_RATE) is 100%"
        )


def make_row(
    raw: dict[str, Any], owner_type: str, owner_id: int, product: dict[str, Any] | None
) -> dict[str, Any]:
    """A stored product row from client input (name and unit from the catalog product of ``PRODUCT_ID``,
    never its price); the derived prices by :func:`amounts`."""
    raw = {str(k).upper(): x for k, x in raw.items()}
    dtype = 1 if v.to_int(raw.get("DISCOUNT_TYPE_ID")) == 1 else 2
    _check_discount(raw, dtype)
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
        "PRICE": float(v.round2(_dec(v.to_float(raw.get("PRICE"))))),
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
    derive(row)
    return row


def derive(row: dict[str, Any]) -> None:
    """Fill the read-only prices and the discount of a row from its ``PRICE``, tax and discount."""
    a = row_amounts(row)
    row.update(
        {
            "PRICE_EXCLUSIVE": float(a.exclusive),
            "PRICE_NETTO": float(a.netto),
            "PRICE_BRUTTO": float(a.brutto),
            "DISCOUNT_SUM": float(a.discount_sum),
            "DISCOUNT_RATE": float(a.discount_rate),
        }
    )


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


def catalog_product(conn: sqlite3.Connection, row: dict[str, Any]) -> dict[str, Any] | None:
    """The catalog product a row (upper-case keys) names by ``PRODUCT_ID``, if any."""
    return storage.get(conn, storage.TABLES["product"], v.to_int(row.get("PRODUCT_ID")) or 0)


def replace_rows(
    conn: sqlite3.Connection, owner_type: str, owner_id: int, raw_rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Replace all rows of an owner (rows passed with a known ``ID`` keep it); returns the stored rows."""
    old_ids = {r["ID"] for r in owner_rows(conn, owner_type, owner_id)}
    new_rows = []
    for raw in raw_rows:
        upper = {str(k).upper(): x for k, x in raw.items()}
        new_rows.append(
            (v.to_int(upper.get("ID")), make_row(upper, owner_type, owner_id, catalog_product(conn, upper)))
        )
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
