"""Text normalisation shared by every text field: NFC, trimmed, whitespace runs collapsed. Never truncates."""

from __future__ import annotations

import unicodedata


def normalize_line(value: str) -> str | None:
    """NFC, every whitespace run (NBSP, tabs, line breaks included) → one space, trimmed; ``""`` → None."""
    text = " ".join(unicodedata.normalize("NFC", value).split())
    return text or None


def normalize_multiline(value: str) -> str | None:
    """Like :func:`normalize_line` per line, keeping line breaks (``\\n``); blank edge lines dropped."""
    lines = [" ".join(line.split()) for line in unicodedata.normalize("NFC", value).splitlines()]
    text = "\n".join(lines).strip("\n")
    return text or None


def utf16_len(value: str) -> int:
    """Length as 1C counts it (UTF-16 code units: an emoji outside the BMP counts twice)."""
    return len(value.encode("utf-16-le")) // 2


def control_chars(value: str) -> list[str]:
    """Control characters other than ``\\n`` (PostgreSQL text cannot hold NUL; 1C forms mangle the rest)."""
    return sorted({c for c in value if c != "\n" and unicodedata.category(c) in ("Cc", "Cs")})
