"""A validation finding a manager can act on, in Russian and English."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem with one field of one record.

    ``code`` is stable (for filters and tests); the reasons name the value, e.g.
    ``"ИНН 7707083894: контрольная сумма не сходится"``.
    """

    field: str
    code: str
    reason_ru: str
    reason_en: str


def preview(value: str, limit: int = 40) -> str:
    """``value`` cut to ``limit`` characters for a message (the data itself is never cut)."""
    return value if len(value) <= limit else value[: limit - 1] + "…"
