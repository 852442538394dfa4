"""Value conversions: the portal clock and time zone, lenient input coercion, Bitrix output formats."""

from __future__ import annotations

import datetime as dt
import re
import time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

PORTAL_TZ = dt.timezone(dt.timedelta(hours=3))  # a Moscow portal; Bitrix prints datetimes with this offset
US = 1_000_000

_RU_DATE = re.compile(r"^(\d{2})\.(\d{2})\.(\d{4})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$")


def now_us() -> int:
    return time.time_ns() // 1000


def iso(us: int | None) -> str | None:
    """Microseconds since the epoch as Bitrix prints them: whole seconds with the portal offset."""
    if us is None:
        return None
    return dt.datetime.fromtimestamp(us // US, PORTAL_TZ).isoformat()


def iso_date(day: str | None) -> str | None:
    """A stored ``YYYY-MM-DD`` date as Bitrix prints date fields (midnight, portal offset)."""
    return None if not day else f"{day}T00:00:00+03:00"


def parse_datetime(value: Any) -> int | None:
    """ISO (with or without offset), ``YYYY-MM-DD``, ``DD.MM.YYYY[ HH:MM[:SS]]`` or unix seconds -> µs."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value * US)
    text = str(value).strip()
    match = _RU_DATE.match(text)
    if match:
        d, m, y, hh, mm, ss = match.groups()
        moment = dt.datetime(int(y), int(m), int(d), int(hh or 0), int(mm or 0), int(ss or 0))
    else:
        try:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=PORTAL_TZ)
    return int(moment.timestamp()) * US + moment.microsecond


def parse_date(value: Any) -> str | None:
    us = parse_datetime(value)
    if us is None:
        return None
    return dt.datetime.fromtimestamp(us / US, PORTAL_TZ).date().isoformat()


def to_int(value: Any) -> int | None:
    if value is None or value == "" or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return int(value)
    try:
        return int(Decimal(str(value).strip()))
    except (InvalidOperation, ValueError):
        return None


def to_float(value: Any) -> float | None:
    if value is None or value == "" or isinstance(value, dict | list | bool):
        return None
    try:
        return float(str(value).strip().replace(",", "."))
    except ValueError:
        return None


def yn(value: Any) -> str:
    if isinstance(value, str):
        return "Y" if value.strip().upper() in ("Y", "1", "TRUE", "YES") else "N"
    return "Y" if value else "N"


def num(value: float | int | None) -> float | int | None:
    """A number as PHP's json_encode prints it: integral floats without a fraction."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value


def float_str(value: float | None) -> str | None:
    """A double in a classic answer (``"0"``, ``"1.5"``)."""
    if value is None:
        return None
    shown = num(value)
    return str(shown) if isinstance(shown, int) else repr(shown)


def money_str(value: float | None) -> str | None:
    """A money column in a classic answer (``"1000000.00"``)."""
    return None if value is None else f"{Decimal(str(value)).quantize(Decimal('0.01'), ROUND_HALF_UP)}"


def round2(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), ROUND_HALF_UP)
