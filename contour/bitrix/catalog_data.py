"""Stock catalog dictionaries of a Russian portal: the CRM catalog iblock, units (ОКЕИ) and VAT rates."""

from __future__ import annotations

CATALOG_IBLOCK_ID = 14  # the CRM product catalog information block
OFFERS_IBLOCK_ID = 15  # its variations (trade offers) catalog
SERVICE_TYPE = 7  # catalog product type of a service (1 product, 4 offer)

# iblock id, name, product iblock (set for a variations catalog), SKU link property
CATALOGS = [
    (CATALOG_IBLOCK_ID, "Товары и услуги CRM", None, None),
    (OFFERS_IBLOCK_ID, "Товары и услуги CRM (предложения)", CATALOG_IBLOCK_ID, 97),
]

# id, name, xml id, base, sort
PRICE_TYPES = [
    (1, "BASE", "BASE", True, 100),
    (2, "Оптовая", "WHOLESALE", False, 200),
]
BASE_PRICE_TYPE = 1

# id, ОКЕИ code, title, symbol, default
MEASURES = [
    (1, "006", "Метр", "м", False),
    (2, "112", "Литр", "л", False),
    (3, "163", "Грамм", "г", False),
    (4, "166", "Килограмм", "кг", False),
    (5, "796", "Штука", "шт", True),
    (6, "356", "Час", "ч", False),
    (7, "055", "Квадратный метр", "м²", False),
    (8, "642", "Единица", "ед", False),
]
DEFAULT_MEASURE_ID = 5

# id, name, rate (None = without VAT)
VATS = [
    (1, "Без НДС", None),
    (2, "НДС 0%", 0.0),
    (3, "НДС 10%", 10.0),
    (4, "НДС 20%", 20.0),
    (5, "НДС 22%", 22.0),
]


def measure_by_id(measure_id: int | None) -> tuple[int, str, str, str, bool]:
    return next((m for m in MEASURES if m[0] == measure_id), MEASURES[DEFAULT_MEASURE_ID - 1])


def measure_by_code(code: str | int | None) -> tuple[int, str, str, str, bool] | None:
    return _BY_CODE.get(str(code or "").zfill(3))


_BY_CODE = {m[1]: m for m in MEASURES}


def vat_by_rate(rate: float | None) -> int:
    return next(vid for vid, _, r in VATS if r == rate) if rate in {r for _, _, r in VATS} else 1
