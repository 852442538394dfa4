"""Exact numbers from the wire and 1C's rounding: ``Decimal`` only, never ``float`` arithmetic."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

KOPECK = Decimal("0.01")
ZERO = Decimal("0.00")


def exact(value: object) -> Decimal:
    """A number as Bitrix24 or 1C sends it (``int``, ``str``, ``Decimal`` or a JSON ``float``) as a Decimal.

    A float becomes the decimal it was written as (``0.1`` → ``Decimal("0.1")``, via its shortest repr).
    Raises ``ValueError`` for anything else (``None``, ``bool``, ``"abc"``, NaN, infinity).
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(f"not a number: {value!r}")
    text = repr(value) if isinstance(value, float) else value.strip() if isinstance(value, str) else value
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"not a number: {value!r}")
    return number


def kopecks(value: Decimal) -> Decimal:
    """``value`` rounded half up to 0.01, as 1C rounds a row's amount (fields are Number(15,2))."""
    return value.quantize(KOPECK, rounding=ROUND_HALF_UP)


def plain(value: Decimal) -> str:
    """``value`` as people read it: ``1.500`` → ``1.5``, ``100.00`` → ``100``, never ``1E+2``."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
