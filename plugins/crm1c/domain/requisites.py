"""ИНН and КПП checks (domain.md §2). They report; they never repair a value."""

from __future__ import annotations

import re

from crm1c.domain.issues import Issue, preview

_DIGITS = re.compile(r"[0-9]+")
_KPP = re.compile(r"[0-9]{4}[0-9A-Z]{2}[0-9]{3}")
_CYRILLIC = re.compile(r"[А-Яа-яЁё]")
_W10 = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_W11 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_W12 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


def _check_digit(digits: str, weights: tuple[int, ...]) -> int:
    return sum(w * int(d) for w, d in zip(weights, digits, strict=False)) % 11 % 10


def inn_checksum_ok(inn: str) -> bool:
    """Control digits of a 10- or 12-digit ИНН (ASCII digits only; anything else is False)."""
    if not _DIGITS.fullmatch(inn):
        return False
    if len(inn) == 10:
        return _check_digit(inn, _W10) == int(inn[9])
    if len(inn) == 12:
        return _check_digit(inn, _W11) == int(inn[10]) and _check_digit(inn, _W12) == int(inn[11])
    return False


def validate_inn(inn: str, field: str = "inn") -> list[Issue]:
    """Problems with an ИНН of either length; an empty list when it is valid."""
    v = preview(inn)
    if not _DIGITS.fullmatch(inn):
        return [Issue(field, "inn_not_digits", f"ИНН {v}: допустимы только цифры", f"INN {v}: digits only")]
    if len(inn) not in (10, 12):
        return [
            Issue(
                field,
                "inn_length",
                f"ИНН {v}: нужно 10 цифр (организация) или 12 цифр (ИП, физическое лицо), здесь {len(inn)}",
                f"INN {v}: needs 10 digits (organisation) or 12 (sole proprietor, person), got {len(inn)}",
            )
        ]
    if set(inn) == {"0"}:
        return [Issue(field, "inn_zeros", f"ИНН {v}: из одних нулей, такого ИНН нет", f"INN {v}: all zeros")]
    if not inn_checksum_ok(inn):
        return [
            Issue(
                field,
                "inn_checksum",
                f"ИНН {v}: контрольная сумма не сходится",
                f"INN {v}: checksum does not match",
            )
        ]
    return []


def validate_kpp(kpp: str, field: str = "kpp") -> list[Issue]:
    """Problems with a КПП (``NNNNPPXXX``: 4 digits, 2 digits or capital Latin letters, 3 digits)."""
    v = preview(kpp)
    if not _KPP.fullmatch(kpp):
        hint_ru = ", буквы только латинские" if _CYRILLIC.search(kpp) else ""
        hint_en = ", Latin letters only" if hint_ru else ""
        return [
            Issue(
                field,
                "kpp_format",
                f"КПП {v}: нужно 9 знаков — 4 цифры, 2 цифры или заглавные буквы A–Z, 3 цифры{hint_ru}",
                f"KPP {v}: needs 9 characters — 4 digits, 2 digits or capitals A–Z, 3 digits{hint_en}",
            )
        ]
    if set(kpp) == {"0"}:
        return [Issue(field, "kpp_zeros", f"КПП {v}: из одних нулей, такого КПП нет", f"KPP {v}: all zeros")]
    return []
