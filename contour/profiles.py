"""The seed profiles of the contour: ``empty()``, ``demo()`` and ``scale(n)``.

Everything here is deterministic: no clock, no unseeded randomness, the same dataset on every call.

Conventions shared with the seeders:

* ``Product.price`` is the list price **including VAT** (1C price type «Основная цена продажи»,
  цена включает НДС). A deal row with ``tax_included=False`` starts from the net price ``price·100/(100+r)``.
* ``DealRow.price`` is Bitrix ``PRICE``: the final unit price after discount, incl. VAT when ``tax_included``.
  ``discount_sum`` is per unit (as Bitrix ``DISCOUNT_SUM``): the price before the discount is
  ``price + discount_sum``.
* The rows of one deal share ``tax_included`` (1C keeps ``СуммаВключаетНДС`` on the document, not on the row).
* A company ``note`` starting with ``"bad:"`` marks a deliberately invalid record the integration must stop.
* Row arithmetic (domain.md §3) is :func:`row_amounts` / :func:`document_total`; seeders reuse it
  for ``СуммаНДС``.
"""

from __future__ import annotations

import datetime as dt
import gc
import re
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal
from operator import mul
from typing import Any, NamedTuple

from contour.dataset import (
    Allocation,
    Company,
    CurrencyRate,
    Dataset,
    Deal,
    DealRow,
    DocumentKind,
    Organisation,
    Payment,
    Product,
    SalesDocument,
    VatKind,
)

__all__ = [
    "INJECTION_NAME",
    "PROHIBITION_DATE",
    "STAGES",
    "VAT_2026",
    "RowAmounts",
    "Totals",
    "bank_account",
    "demo",
    "document_total",
    "empty",
    "inn10",
    "inn12",
    "is_valid_inn",
    "is_valid_kpp",
    "ogrn",
    "okpo",
    "organisation",
    "row_amounts",
    "scale",
    "vat_rate",
]

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)
STAGES = ("NEW", "PREPARATION", "PREPAYMENT_INVOICE", "EXECUTING", "FINAL_INVOICE", "WON", "LOSE", "APOLOGY")
VAT_2026 = dt.date(2026, 1, 1)  # 425-ФЗ: the general rate is 22% from this date, 20% before
VAT_RATE_NOW = Decimal(22)
PROHIBITION_DATE = dt.date(2026, 3, 31)  # demo: Q1 2026 and everything before it is closed

# ------------------------------------------------------------------------------------------------ requisites

_INN10_W = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_W1 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_W2 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_KPP_RE = re.compile(r"\d{4}[0-9A-Z]{2}\d{3}")


def _check(digits: str, weights: tuple[int, ...]) -> str:
    return str(sum(map(mul, map(int, digits), weights)) % 11 % 10)


def inn10(stem: str) -> str:
    """A valid legal-entity ИНН from its first 9 digits (domain.md §2)."""
    if len(stem) != 9 or not stem.isdigit():
        raise ValueError(f"ИНН stem must be 9 digits, got {stem!r}")
    return stem + _check(stem, _INN10_W)


def inn12(stem: str) -> str:
    """A valid ИНН of a person / ИП from its first 10 digits."""
    if len(stem) != 10 or not stem.isdigit():
        raise ValueError(f"ИНН stem must be 10 digits, got {stem!r}")
    eleven = stem + _check(stem, _INN12_W1)
    return eleven + _check(eleven, _INN12_W2)


def is_valid_inn(inn: str | None) -> bool:
    """True for a 10- or 12-digit ИНН with correct check digits (all zeros rejected)."""
    if not inn or not inn.isascii() or not inn.isdigit() or set(inn) == {"0"}:
        return False
    if len(inn) == 10:
        return inn10(inn[:9]) == inn
    return len(inn) == 12 and inn12(inn[:10]) == inn


def is_valid_kpp(kpp: str | None) -> bool:
    """True for a КПП of 9 characters: 4 digits (tax office), 2 digits or capitals (reason), 3 digits."""
    if not kpp:
        return False
    return _KPP_RE.fullmatch(kpp) is not None


def ogrn(stem: str) -> str:
    """A valid ОГРН (13 digits) from its first 12: check digit = stem mod 11 mod 10."""
    if len(stem) != 12 or not stem.isdigit():
        raise ValueError(f"ОГРН stem must be 12 digits, got {stem!r}")
    return stem + str(int(stem) % 11 % 10)


def okpo(stem: str) -> str:
    """A valid 8-digit ОКПО of a legal entity from its first 7 digits."""
    for start in (1, 3):
        rest = sum(int(d) * (start + i) for i, d in enumerate(stem)) % 11
        if rest < 10:
            return stem + str(rest)
    return stem + "0"


def bank_account(bik: str, template: str) -> str:
    """A 20-digit settlement account whose control key (9th digit) matches the bank's БИК (weights 7,1,3)."""
    if len(template) != 20 or not template.isdigit():
        raise ValueError("account template must be 20 digits")
    base = template[:8] + "0" + template[9:]
    weights = (7, 1, 3) * 8
    total = sum(int(d) * w for d, w in zip(bik[-3:] + base, weights[:23], strict=True))
    key = (10 - total % 10) * 7 % 10  # the key digit has weight 3, and 3·7 ≡ 1 (mod 10)
    return base[:8] + str(key) + base[9:]


# ----------------------------------------------------------------------------------------------------- money


class RowAmounts(NamedTuple):
    amount: Decimal  # Сумма = price × quantity, rounded to kopecks
    vat: Decimal  # СуммаНДС of the row
    total: Decimal  # the row's contribution to СуммаДокумента


class Totals(NamedTuple):
    amount: Decimal  # Σ Сумма
    vat: Decimal  # Σ СуммаНДС (rounded per row)
    total: Decimal  # СуммаДокумента


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def row_amounts(row: DealRow) -> RowAmounts:
    """A row per domain.md §3: VAT = amount·r/(100+r) if included, else amount·r/100 on top; per row."""
    amount = _money(row.price * row.quantity)
    if not row.tax_rate:
        return RowAmounts(amount, Decimal("0.00"), amount)
    if row.tax_included:
        vat = _money(amount * row.tax_rate / (HUNDRED + row.tax_rate))
        return RowAmounts(amount, vat, amount)
    vat = _money(amount * row.tax_rate / HUNDRED)
    return RowAmounts(amount, vat, amount + vat)


def document_total(rows: tuple[DealRow, ...] | list[DealRow]) -> Totals:
    """Σ of :func:`row_amounts` over the rows: what 1C shows as the document's amount, VAT and total."""
    amount = vat = total = Decimal("0.00")
    for row in rows:
        r = row_amounts(row)
        amount += r.amount
        vat += r.vat
        total += r.total
    return Totals(amount, vat, total)


def vat_rate(vat_kind: str, on: dt.date) -> Decimal | None:
    """The percent of a 1C ``ВидСтавкиНДС`` on a date (Общая: 20% before 2026, then 22%)."""
    if vat_kind == "Общая":
        return Decimal(22) if on >= VAT_2026 else Decimal(20)
    return {"Пониженная": Decimal(10), "Нулевая": Decimal(0)}.get(vat_kind)


# ---------------------------------------------------------------------------------------------- shared parts

_BIK = "044525225"


def organisation() -> Organisation:
    """Our own company, the same in every profile."""
    return Organisation(
        name='ООО "Вектор Плюс"',
        full_name='Общество с ограниченной ответственностью "Вектор Плюс"',
        inn=inn10("770512486"),
        kpp="770501001",
        ogrn=ogrn("115774612345"),
        bank_account=bank_account(_BIK, "40702810038000123456"),
        bank_bik=_BIK,
        prefix="ВП",
    )


_RATE_BASE = {"USD": Decimal("78.9300"), "EUR": Decimal("91.7400")}
_MONTHLY_RATE_DATES = (dt.date(2025, 12, 1), *(dt.date(2026, m, 1) for m in range(1, 12)))


def _rate(currency: str, on: dt.date) -> CurrencyRate:
    """A believable, deterministic ЦБ rate: the base plus a slow drift and a small day-to-day wobble."""
    day = (on - dt.date(2025, 12, 1)).days
    drift = Decimal(day * 53 % 4000 - 1500).scaleb(-3) + Decimal(day % 7 * 1317 % 997).scaleb(-4)
    return CurrencyRate(currency, on, (_RATE_BASE[currency] + drift).quantize(Decimal("0.0001")))


def _monthly_rates() -> list[CurrencyRate]:
    return [_rate(cur, day) for day in _MONTHLY_RATE_DATES for cur in ("USD", "EUR")]


def empty() -> Dataset:
    """A fresh accounting base: our organisation and currency rates only, nothing closed."""
    return Dataset(
        profile="empty", organisation=organisation(), prohibition_date=None, rates=_monthly_rates()
    )


# --------------------------------------------------------------------------------------------- demo: parties

_FORMS = {
    "ООО": "Общество с ограниченной ответственностью",
    "АО": "Акционерное общество",
    "ПАО": "Публичное акционерное общество",
}
_STANDARD_KPP = "standard"  # sentinel: derive the КПП from the ИНН's tax office


def _legal(
    key: str, form: str, title: str, inn: str, kpp: str | None = _STANDARD_KPP, **extra: Any
) -> Company:
    kpp = inn[:4] + "01001" if kpp == _STANDARD_KPP else kpp
    return Company(
        key=key,
        name=f'{form} "{title}"',
        full_name=f'{_FORMS[form]} "{title}"',
        kind="legal",
        inn=inn,
        kpp=kpp,
        in_crm=bool(extra.pop("in_crm", True)),
        in_onec=bool(extra.pop("in_onec", True)),
        okpo=okpo(inn[1:8]),
        **extra,
    )


def _ip(key: str, fio: str, inn: str, **extra: Any) -> Company:
    return Company(
        key=key,
        name=f"ИП {fio}",
        full_name=f"Индивидуальный предприниматель {fio}",
        kind="ip",
        inn=inn,
        kpp=None,
        in_crm=bool(extra.pop("in_crm", True)),
        in_onec=bool(extra.pop("in_onec", True)),
        **extra,
    )


def _branch(key: str, head: Company, city: str, kpp: str, **extra: Any) -> Company:
    """An обособленное подразделение: the head's ИНН and its own КПП (reason code 43)."""
    return Company(
        key=key,
        name=f"{head.name} ({city} филиал)",
        full_name=f"{head.full_name}, {city} филиал",
        kind="branch",
        inn=head.inn,
        kpp=kpp,
        head_key=head.key,
        in_crm=bool(extra.pop("in_crm", True)),
        in_onec=bool(extra.pop("in_onec", True)),
        **extra,
    )


INJECTION_NAME = "ООО \"Кавычки\" ' or 1 eq 1 or '"


def _long_name(length: int = 600) -> str:
    """A name a manager pasted together with the address and requisites: exactly ``length`` characters."""
    text = (
        'ООО "Межрегиональное научно-производственное объединение по проектированию, строительству, '
        "монтажу, наладке и сервисному обслуживанию инженерных систем, слаботочных сетей, систем связи, "
        "видеонаблюдения и контроля доступа для предприятий топливно-энергетического комплекса, "
        "жилищно-коммунального хозяйства, транспорта и логистики Северо-Западного, Центрального и "
        'Уральского федеральных округов" (юридический адрес: 119021, г. Москва, ул. Льва Толстого, '
        "д. 16, стр. 3, этаж 4, помещение I, комната 12; почтовый адрес: 119021, г. Москва, а/я 145; "
        "генеральный директор Александров Константин Вениаминович, действующий на основании Устава; "
        "контактный телефон +7 (495) 000-00-00, доб. 1234; электронная почта для документов: "
        "buhgalteriya@example.ru)"
    )
    cut = text[:length]
    if len(text) > length and text[length].isalnum():
        cut = cut.rsplit(" ", 1)[0]
    cut = cut.rstrip(",;: ")
    return cut + "." * (length - len(cut))


def _demo_companies() -> list[Company]:
    romashka = _legal(
        "romashka",
        "ООО",
        "Ромашка",
        inn10("772814563"),
        crm_name="Ромашка",
        phone="+7 (495) 214-37-80",
        email="zakupki@romashka-opt.ru",
        note="CRM spells the name short",
    )
    stroy = _legal(
        "stroymontazh",
        "ООО",
        "СтройМонтаж",
        inn10("771042317"),
        phone="+7 (495) 380-12-45",
        email="snab@stroymontazh.ru",
    )
    uzmk = _legal(
        "uzmk",
        "АО",
        "Уральский завод металлоконструкций",
        inn10("667103582"),
        phone="+7 (343) 251-60-00",
        email="office@uzmk-ural.ru",
    )
    medtech = _legal("medtekhnika", "АО", "Медтехника", inn10("526009133"), phone="+7 (831) 412-05-05")
    return [
        romashka,
        stroy,
        uzmk,
        medtech,
        _legal(
            "sevenergo",
            "ПАО",
            "Северная энергетическая компания",
            inn10("352507814"),
            crm_name="Северэнерго",
            email="tender@sevenergo.ru",
            note="CRM uses the brand name",
        ),
        _legal(
            "technosfera",
            "ООО",
            "Техносфера",
            inn10("783805926"),
            crm_name="ООО «Техносфера»",
            phone="+7 (812) 633-40-21",
            note="CRM uses «guillemets», 1C uses straight quotes",
        ),
        _legal("alfa-logistic", "ООО", "Альфа-Логистик", inn10("503211470"), phone="+7 (498) 602-11-90"),
        _legal(
            "green-garden",
            "ООО",
            "Зелёный сад",
            inn10("231204785"),
            crm_name='ООО "Зеленый сад"',
            email="info@zelsad.ru",
            note="ё in 1C, е in the CRM",
        ),
        _legal("karapuz", "ООО", "Карапуз", inn10("165512094"), email="opt@karapuz-kzn.ru"),
        _legal(
            "infosoft",
            "ООО",
            "ИнфоСофт",
            inn10("540601287"),
            email="billing@infosoft.ru",
            comment="Расчёты в долларах США по курсу ЦБ на дату счёта",
        ),
        _legal("sever-snab", "ООО", "СеверСнаб", inn10("290112874"), phone="+7 (8182) 65-40-12"),
        _legal("hlebny-dom", "ООО", "Пекарня «Хлебный дом»", inn10("631504459"), email="buh@hlebdom63.ru"),
        _branch(
            "stroymontazh-spb",
            stroy,
            "Санкт-Петербургский",
            "784143001",
            phone="+7 (812) 335-77-10",
            note="branch: same ИНН as stroymontazh, own КПП",
        ),
        _branch(
            "uzmk-chel",
            uzmk,
            "Челябинский",
            "745143001",
            in_crm=False,
            note="branch known only to 1C: must not merge with its head by ИНН",
        ),
        _branch(
            "medtekhnika-msk",
            medtech,
            "Московский",
            "772643001",
            in_onec=False,
            note="branch known only to the CRM",
        ),
        _ip("ip-ivanov", "Иванов Сергей Петрович", inn12("5029184730"), phone="+7 (916) 555-12-34"),
        _ip(
            "ip-smirnova",
            "Смирнова Ольга Викторовна",
            inn12("7810457291"),
            crm_name="ИП Смирнова О.В.",
            note="CRM abbreviates the name",
        ),
        Company(
            key="kuznetsov",
            name="Кузнецов Андрей Николаевич",
            full_name="Кузнецов Андрей Николаевич",
            kind="person",
            inn=inn12("7725308814"),
            kpp=None,
            in_crm=True,
            in_onec=True,
            phone="+7 (903) 120-45-67",
            note="private person (ФизическоеЛицо)",
        ),
        # only in the CRM: the sync must create them in 1C
        _legal("new-horizons", "ООО", "Новые горизонты", inn10("771522803"), in_onec=False),
        _legal("transcargo", "АО", "ТрансКарго", inn10("390604418"), in_onec=False),
        _ip("ip-petrov", "Петров Алексей Игоревич", inn12("6672039518"), in_onec=False),
        # only in 1C: the sync must bring them to the CRM without duplicates
        _legal("ladoga-trade", "ООО", "Ладога-Трейд", inn10("470301256"), in_crm=False),
        _legal(
            "balans",
            "ООО",
            'Бухгалтерский центр "Баланс"',
            inn10("773003615"),
            in_crm=False,
            note="nested quotes in the name",
        ),
        _ip("ip-sokolova", "Соколова Мария Андреевна", inn12("2310775043"), in_crm=False),
        _legal(
            "progress-bad-inn",
            "ООО",
            "Прогресс",
            "7447023915",
            in_crm=False,
            note="bad: ИНН 7447023915 контрольная сумма не сходится (entered by hand in 1C)",
        ),
        # deliberately bad records in the CRM: each must be stopped (quarantine) on the way to 1C
        _legal(
            "bad-inn",
            "ООО",
            "Меридиан",
            "7707083894",
            in_onec=False,
            note="bad: ИНН 7707083894 контрольная сумма не сходится",
        ),
        _legal(
            "no-kpp",
            "ООО",
            "Гермес",
            inn10("780207731"),
            kpp=None,
            in_onec=False,
            note="bad: юридическое лицо без КПП",
        ),
        Company(
            key="injection",
            name=INJECTION_NAME,
            full_name=INJECTION_NAME,
            kind="legal",
            inn=inn10("771301902"),
            kpp="771301001",
            in_crm=True,
            in_onec=False,
            note="bad: quotes and an OData $filter injection in the name",
        ),
        _legal(
            "emoji",
            "ООО",
            "Цветочная лавка 🌸",
            inn10("616402577"),
            in_onec=False,
            note="bad: emoji (outside the BMP) in the name",
        ),
        Company(
            key="long-name",
            name=_long_name(),
            full_name=_long_name(),
            kind="legal",
            inn=inn10("550403318"),
            kpp="550401001",
            in_crm=True,
            in_onec=False,
            note="bad: 600-character name (1C Description is 100, НаименованиеПолное 550)",
        ),
    ]


# ----------------------------------------------------------------------------------------------- demo: goods


def _demo_products() -> list[Product]:
    def p(
        key: str,
        name: str,
        article: str,
        okei: str,
        price: str,
        vat_kind: VatKind = "Общая",
        service: bool = False,
        in_crm: bool = True,
    ) -> Product:
        return Product(key, name, article, okei, service, vat_kind, Decimal(price), in_crm)

    return [
        p("p-laptop", 'Ноутбук ВП-Про 15,6"', "VP-NB156", "796", "89990.00"),
        p("p-monitor", 'Монитор 27" IPS', "VP-MON27", "796", "24590.50"),
        p("p-cable", "Кабель UTP cat.6, 4 пары", "VP-UTP6", "006", "38.40"),
        p("p-paper", "Бумага офисная А4, 500 л.", "VP-PAP-A4", "796", "412.75"),
        p("p-notepad", "Блокнот А5, 48 л.", "VP-BLK-A5", "796", "33.27"),
        p("p-sugar", "Сахар-песок", "VP-SUG", "166", "84.50", "Пониженная"),
        p("p-kids", "Конструктор детский «Юный инженер»", "VP-KID-01", "796", "2349.00", "Пониженная"),
        p("p-antiseptic", "Антисептик для рук, канистра", "VP-ANT-5", "112", "356.20"),
        p("p-lamp", "Светильник светодиодный 36 Вт", "VP-LED36", "796", "1875.33"),
        p("p-setup", "Настройка сервера", "VP-SRV-SET", "356", "3500.00", service=True),
        p(
            "p-support",
            "Техническое обслуживание, абонемент на месяц",
            "VP-SUP-M",
            "642",
            "15000.00",
            service=True,
        ),
        p(
            "p-license",
            "Лицензия «Вектор.Учёт» (реестр российского ПО)",
            "VP-LIC-UCH",
            "642",
            "45000.00",
            "БезНДС",
            service=True,
        ),
        p("p-delivery", "Доставка по Москве", "VP-DLV", "642", "1200.00", service=True),
        p("p-mounting", "Монтаж кабельной трассы", "VP-MNT-CBL", "006", "145.00", service=True),
        p("p-toner", "Картридж лазерный, чёрный", "VP-CRT-01", "796", "5480.00", in_crm=False),
    ]


def _row(
    product: Product,
    qty: str | int,
    on: dt.date,
    *,
    included: bool = True,
    pct: str | None = None,
    off: str | None = None,
    price: str | None = None,
) -> DealRow:
    """A deal row: the VAT rate by the product's kind on ``on``; a percent (``pct``) or absolute (``off``)
    discount per unit; ``price`` overrides the list price (which includes VAT: netted when on top)."""
    rate = vat_rate(product.vat_kind, on)
    base = Decimal(price) if price is not None else product.price
    if price is None and not included and rate:
        base = _money(base * HUNDRED / (HUNDRED + rate))
    quantity = Decimal(qty)
    if pct is not None:
        discount = _money(base * Decimal(pct) / HUNDRED)
        return DealRow(product.key, base - discount, quantity, rate, included, 2, Decimal(pct), discount)
    if off is not None:
        discount = Decimal(off)
        percent = _money(discount / base * HUNDRED)
        return DealRow(product.key, base - discount, quantity, rate, included, 1, percent, discount)
    return DealRow(product.key, base, quantity, rate, included)


def _demo_deals(products: dict[str, Product]) -> list[Deal]:
    def deal(
        key: str,
        title: str,
        company: str,
        stage: str,
        on: dt.date,
        rows: list[tuple],
        *,
        included: bool = True,
        currency: str = "RUB",
    ) -> Deal:
        built = tuple(
            _row(products[spec[0]], spec[1], on, included=included, **(spec[2] if len(spec) > 2 else {}))
            for spec in rows
        )
        return Deal(key, title, company, stage, currency, on, built)

    d = dt.date
    return [
        deal("deal-01", "Ноутбуки для бухгалтерии", "romashka", "NEW", d(2026, 11, 20), [("p-laptop", 2)]),
        deal(
            "deal-02",
            "Настройка сервера 1С",
            "new-horizons",
            "NEW",
            d(2026, 11, 24),
            [("p-setup", 8)],
            included=False,
        ),
        deal(
            "deal-03",
            "Бумага и антисептик",
            "emoji",
            "NEW",
            d(2026, 11, 25),
            [("p-paper", 10), ("p-antiseptic", 5)],
        ),
        deal(
            "deal-04",
            "Мониторы для отдела продаж",
            "technosfera",
            "PREPARATION",
            d(2026, 11, 10),
            [("p-monitor", 5, {"pct": "5"})],
        ),
        deal(
            "deal-05",
            "Сахар и доставка",
            "green-garden",
            "PREPARATION",
            d(2026, 10, 28),
            [("p-sugar", "37.5"), ("p-delivery", 1)],
        ),
        deal(
            "deal-06",
            "Абонентское обслуживание, IV квартал",
            "alfa-logistic",
            "PREPAYMENT_INVOICE",
            d(2026, 10, 5),
            [("p-support", 3)],
        ),
        deal(
            "deal-07",
            "Конструкторы для детского центра",
            "karapuz",
            "PREPAYMENT_INVOICE",
            d(2026, 11, 2),
            [("p-kids", 20, {"off": "150.00"})],
        ),
        deal(
            "deal-08", "Бумага офисная", "injection", "PREPAYMENT_INVOICE", d(2026, 11, 12), [("p-paper", 10)]
        ),
        deal(
            "deal-09",
            "Слаботочные сети, объект на Профсоюзной",
            "stroymontazh",
            "EXECUTING",
            d(2026, 9, 14),
            [("p-cable", 305, {"pct": "3"}), ("p-mounting", 120), ("p-lamp", 24)],
            included=False,
        ),
        deal(
            "deal-10",
            "Рабочее место бухгалтера",
            "ip-ivanov",
            "EXECUTING",
            d(2026, 10, 20),
            [("p-laptop", 1), ("p-license", 1)],
        ),
        deal(
            "deal-11",
            "Антисептик и освещение",
            "medtekhnika",
            "FINAL_INVOICE",
            d(2026, 10, 12),
            [("p-antiseptic", 40), ("p-lamp", 25)],
        ),
        deal(
            "deal-12",
            "Внедрение «Вектор.Учёт» (USD)",
            "infosoft",
            "FINAL_INVOICE",
            d(2026, 10, 14),
            [("p-setup", 40, {"price": "45.00"}), ("p-license", 2, {"price": "520.00"})],
            included=False,
            currency="USD",
        ),
        deal("deal-13", "Бумага офисная", "bad-inn", "FINAL_INVOICE", d(2026, 11, 16), [("p-paper", 20)]),
        deal("deal-14", "Освещение цеха № 3", "uzmk", "WON", d(2026, 8, 3), [("p-lamp", 120, {"pct": "10"})]),
        deal(
            "deal-15",
            "Техника для нового офиса",
            "sevenergo",
            "WON",
            d(2026, 7, 7),
            [("p-monitor", 10), ("p-laptop", 4), ("p-setup", 16)],
            included=False,
        ),
        deal(
            "deal-16",
            "Кабель для объекта на Обводном",
            "stroymontazh-spb",
            "WON",
            d(2026, 9, 1),
            [("p-cable", 500)],
            included=False,
        ),
        deal(
            "deal-17",
            "Монтаж трассы на Обводном",
            "stroymontazh-spb",
            "WON",
            d(2026, 9, 3),
            [("p-mounting", 200)],
            included=False,
        ),
        # VAT rounding (domain.md §3), 20% as the deal is of 2025, VAT included in the price:
        # each row 33.27·20/120 = 5.545 → 5.55, Σ per row = 16.65,
        # while VAT on the total is 99.81·20/120 = 16.635 → 16.64.
        # (At 22% there is no difference: 33.27·22/122 = 5.9995 → 6.00, ×3 = 18.00 = 99.81·22/122 → 18.00.
        # With VAT on top neither: 33.27·20% = 6.654 → 6.65, ×3 = 19.95 vs 99.81·20% = 19.962 → 19.96.)
        deal(
            "deal-18",
            "Блокноты для конференции",
            "romashka",
            "WON",
            d(2025, 11, 18),
            [("p-notepad", 1), ("p-notepad", 1), ("p-notepad", 1)],
        ),
        deal(
            "deal-19",
            "Настройка и обслуживание, февраль",
            "ip-smirnova",
            "WON",
            d(2026, 2, 10),
            [("p-setup", 6), ("p-support", 1)],
        ),
        deal("deal-20", "Ноутбуки для склада", "transcargo", "LOSE", d(2026, 3, 2), [("p-laptop", 10)]),
        deal("deal-21", "Конструктор в подарок", "kuznetsov", "LOSE", d(2025, 12, 5), [("p-kids", 2)]),
        deal(
            "deal-22", "Абонемент на обслуживание", "ip-petrov", "APOLOGY", d(2026, 6, 15), [("p-support", 1)]
        ),
    ]


# --------------------------------------------------------------------------------------------- demo: 1C docs


def _numbered(specs: list[tuple[str, str, dt.date]]) -> dict[str, str]:
    """1C-style numbers ``ВП00-000317`` for (key, kind, date) triples: they grow with the day of the year
    (as if the other documents of the year were there too) and restart every year, per kind."""
    numbers: dict[str, str] = {}
    counters: dict[tuple[str, int], int] = {}
    for key, kind, on in sorted(specs, key=lambda s: (s[2], s[0])):
        index = counters.get((kind, on.year), 0)
        counters[(kind, on.year)] = index + 1
        numbers[key] = f"ВП00-{on.timetuple().tm_yday + index:06d}"
    return numbers


def _demo_documents(deals: dict[str, Deal], products: dict[str, Product]) -> list[SalesDocument]:
    d = dt.date
    # (key, kind, date, deal key or company key, posted)
    specs: list[tuple[str, DocumentKind, dt.date, str, bool]] = [
        ("inv-06", "invoice", d(2026, 10, 6), "deal-06", True),
        ("inv-07", "invoice", d(2026, 11, 3), "deal-07", False),
        ("inv-09", "invoice", d(2026, 9, 15), "deal-09", True),
        ("inv-11", "invoice", d(2026, 10, 26), "deal-11", True),
        ("inv-12", "invoice", d(2026, 10, 16), "deal-12", True),
        ("inv-14", "invoice", d(2026, 8, 4), "deal-14", True),
        ("sale-14", "sale", d(2026, 8, 12), "deal-14", True),
        ("inv-15", "invoice", d(2026, 7, 8), "deal-15", True),
        ("sale-15", "sale", d(2026, 7, 21), "deal-15", True),
        ("inv-16", "invoice", d(2026, 9, 2), "deal-16", True),
        ("sale-16", "sale", d(2026, 9, 10), "deal-16", False),
        ("inv-17", "invoice", d(2026, 9, 4), "deal-17", True),  # WON, but the sale is not in 1C yet
        # closed period (on or before PROHIBITION_DATE)
        ("inv-18", "invoice", d(2025, 11, 18), "deal-18", True),
        ("sale-18", "sale", d(2025, 11, 20), "deal-18", True),
        ("inv-19", "invoice", d(2026, 2, 10), "deal-19", True),
        ("sale-19", "sale", d(2026, 2, 16), "deal-19", True),
        # an accountant's own sale to a 1C-only counterparty, no deal
        ("sale-ladoga", "sale", d(2026, 10, 2), "ladoga-trade", True),
    ]
    numbers = _numbered([(key, kind, on) for key, kind, on, _, _ in specs])
    ladoga_day = d(2026, 10, 2)
    ladoga_rows = (
        _row(products["p-paper"], 100, ladoga_day),
        _row(products["p-antiseptic"], 10, ladoga_day),
        _row(products["p-toner"], 4, ladoga_day),
    )
    documents = []
    for key, kind, on, ref, posted in specs:
        deal = deals.get(ref)
        documents.append(
            SalesDocument(
                key=key,
                kind=kind,
                number=numbers[key],
                date=on,
                company_key=deal.company_key if deal else ref,
                rows=deal.rows if deal else ladoga_rows,
                posted=posted,
                deal_key=deal.key if deal else None,
                currency=deal.currency if deal else "RUB",
            )
        )
    return documents


def _rub(value: Decimal) -> str:
    return f"{value:.2f}".replace(".", "-")


def _purpose(prefix: str, docs: list[SalesDocument], amount: Decimal, vat: Decimal) -> str:
    refs = ", ".join(f"№ {doc.number} от {doc.date:%d.%m.%Y}" for doc in docs)
    word = "счету" if len(docs) == 1 else "счетам"
    return f"{prefix} по {word} {refs}. Сумма {_rub(amount)}, в т.ч. НДС {_rub(vat)}"


def _demo_payments(docs: dict[str, SalesDocument]) -> list[Payment]:
    d = dt.date
    totals = {key: document_total(doc.rows) for key, doc in docs.items()}

    def pay(
        key: str,
        on: dt.date,
        amount: Decimal,
        allocations: dict[str, Decimal],
        note: str,
        prefix: str = "Оплата",
        purpose_docs: tuple[str, ...] = (),
    ) -> tuple[str, dt.date, Payment]:
        first = docs[next(iter(allocations))]
        shown = [docs[k] for k in purpose_docs or allocations]
        vat = sum((_money(totals[k].vat * v / totals[k].total) for k, v in allocations.items()), ZERO)
        rest = amount - sum(allocations.values(), ZERO)  # an overpayment: the payer's VAT covers it too
        vat += _money(rest * VAT_RATE_NOW / (HUNDRED + VAT_RATE_NOW))
        payment = Payment(
            key=key,
            number="",
            date=on,
            company_key=first.company_key,
            amount=amount,
            allocations=tuple(Allocation(k, v) for k, v in allocations.items()),
            purpose=_purpose(prefix, shown, amount, vat),
            note=note,
        )
        return key, on, payment

    t = {key: total.total for key, total in totals.items()}
    half = _money(t["inv-09"] / 2)
    raw = [
        pay("pay-full", d(2026, 8, 20), t["inv-14"], {"inv-14": t["inv-14"]}, "full"),
        pay("pay-partial", d(2026, 9, 18), half, {"inv-09": half}, "partial"),
        pay("pay-advance", d(2026, 10, 9), t["inv-06"], {"inv-06": t["inv-06"]}, "advance", "Предоплата"),
        pay(
            "pay-overpayment",
            d(2026, 7, 28),
            t["sale-15"] + Decimal("10000.00"),
            {"sale-15": t["sale-15"]},
            "overpayment",
            purpose_docs=("inv-15",),
        ),
        pay(
            "pay-two-invoices",
            d(2026, 9, 11),
            t["inv-16"] + t["inv-17"],
            {"inv-16": t["inv-16"], "inv-17": t["inv-17"]},
            "two invoices",
        ),
        # closed period
        pay("pay-2025", d(2025, 11, 25), t["inv-18"], {"inv-18": t["inv-18"]}, "full"),
        pay("pay-2026-q1", d(2026, 2, 20), t["inv-19"], {"inv-19": t["inv-19"]}, "full"),
    ]
    numbers = _numbered([(key, "payment", on) for key, on, _ in raw])
    return [replace(payment, number=numbers[key]) for key, _, payment in raw]


def _demo_rates() -> list[CurrencyRate]:
    """The monthly rates and every working day around the USD deal (deal-12 of 14.10.2026, invoice 16.10)."""
    days = [dt.date(2026, 10, 12) + dt.timedelta(days=i) for i in range(9)]
    extra = [_rate(cur, day) for day in days if day.weekday() < 5 for cur in ("USD", "EUR")]
    return sorted(_monthly_rates() + extra, key=lambda r: (r.date, r.currency))


def demo() -> Dataset:
    """A small Russian company («Вектор Плюс») with every case the integration must handle."""
    companies = _demo_companies()
    products = _demo_products()
    by_product = {p.key: p for p in products}
    deals = _demo_deals(by_product)
    documents = _demo_documents({deal.key: deal for deal in deals}, by_product)
    payments = _demo_payments({doc.key: doc for doc in documents})
    return Dataset(
        profile="demo",
        organisation=organisation(),
        prohibition_date=PROHIBITION_DATE,
        companies=companies,
        products=products,
        deals=deals,
        documents=documents,
        payments=payments,
        rates=_demo_rates(),
    )


# ----------------------------------------------------------------------------------------------------- scale

_REGIONS = ("77", "78", "50", "66", "54", "16", "23", "52", "61", "74")
_BRANCH_OFFICES = (
    ("7801", "Санкт-Петербург"),
    ("7841", "Санкт-Петербург"),
    ("5406", "Новосибирск"),
    ("6671", "Екатеринбург"),
    ("1655", "Казань"),
    ("2310", "Краснодар"),
    ("5260", "Нижний Новгород"),
    ("6164", "Ростов-на-Дону"),
    ("7451", "Челябинск"),
    ("5029", "Мытищи"),
)
_ROOTS = (
    "Альфа",
    "Вектор",
    "Гранит",
    "Дельта",
    "Енисей",
    "Заря",
    "Исток",
    "Кедр",
    "Ладога",
    "Меридиан",
    "Нева",
    "Орион",
    "Полюс",
    "Рубин",
    "Сигма",
    "Титан",
    "Урал",
    "Фортуна",
    "Циркон",
    "Эталон",
)
_TRADES = ("Строй", "Торг", "Снаб", "Пром", "Тех", "Логистик", "Инвест", "Сервис", "Трейд", "Энерго", "Агро")
_SURNAMES = (
    "Иванов",
    "Петров",
    "Сидоров",
    "Кузнецов",
    "Смирнов",
    "Попов",
    "Васильев",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Фёдоров",
    "Морозов",
    "Волков",
    "Алексеев",
    "Лебедев",
)
_FIRST_NAMES = ("Алексей", "Андрей", "Дмитрий", "Сергей", "Михаил", "Николай", "Игорь", "Олег", "Павел")
_PATRONYMICS = ("Александрович", "Викторович", "Иванович", "Петрович", "Сергеевич", "Юрьевич", "Олегович")
_GOODS = (  # name, ОКЕИ, service
    ("Кабель ВВГнг 3х2,5", "006", False),
    ("Труба ПНД 32 мм", "006", False),
    ("Цемент М500", "166", False),
    ("Краска фасадная", "112", False),
    ("Перчатки рабочие", "796", False),
    ("Саморез 4,2х75", "796", False),
    ("Монтажные работы", "356", True),
    ("Пусконаладка", "642", True),
    ("Крупа гречневая", "166", False),
    ("Масло моторное", "112", False),
    ("Консультация инженера", "356", True),
    ("Доставка груза", "642", True),
)
_KIND_RATES = {  # (ВидСтавкиНДС, shipment in 2026 or later) → rate
    (kind, year2026): vat_rate(kind, VAT_2026 if year2026 else dt.date(2025, 12, 31))
    for kind in ("Общая", "Пониженная", "БезНДС")
    for year2026 in (False, True)
}


def _scale_companies(n: int) -> list[Company]:
    companies: list[Company] = []
    append = companies.append
    for i in range(n):
        place = (i * 7 + i // 10) % 10  # 0–5 both systems, 6–7 CRM only, 8–9 1C only
        in_crm, in_onec = place < 8, place < 6 or place > 7
        kind_slot = i % 10
        key = f"s-c{i:06d}"
        if kind_slot < 7:
            form = "АО" if i % 11 == 3 else "ПАО" if i % 97 == 5 else "ООО"
            title = f"{_ROOTS[i % 20]}{_TRADES[i // 20 % 11].lower()}-{i}"
            inn = inn10(_REGIONS[i % 10] + f"{(i * 7 + 1_204_551) % 10_000_000:07d}")
            append(
                Company(
                    key,
                    f'{form} "{title}"',
                    f'{_FORMS[form]} "{title}"',
                    "legal",
                    inn,
                    inn[:4] + "01001",
                    in_crm,
                    in_onec,
                    crm_name=title if in_crm and in_onec and i % 13 == 0 else None,
                )
            )
        elif kind_slot < 9:
            fio = f"{_SURNAMES[i % 15]} {_FIRST_NAMES[i // 15 % 9]} {_PATRONYMICS[i // 135 % 7]}"
            inn = inn12(_REGIONS[i // 10 % 10] + f"{(i * 3 + 10_482_207) % 100_000_000:08d}")
            append(
                Company(
                    key,
                    f"ИП {fio}",
                    f"Индивидуальный предприниматель {fio}",
                    "ip",
                    inn,
                    None,
                    in_crm,
                    in_onec,
                )
            )
        else:  # a branch of the legal entity nine positions earlier (kind slot 0)
            head = companies[i - 9]
            office, city = _BRANCH_OFFICES[i // 10 % 10]
            append(
                Company(
                    key,
                    f"{head.name} (филиал, {city})",
                    f"{head.full_name}, филиал в г. {city}",
                    "branch",
                    head.inn,
                    f"{office}43001",
                    in_crm,
                    in_onec,
                    head_key=head.key,
                )
            )
    return companies


def _scale_products(n: int) -> list[Product]:
    products: list[Product] = []
    for i in range(n):
        name, okei, service = _GOODS[i % 12]
        vat_kind: VatKind = (
            "Пониженная" if name == "Крупа гречневая" else "БезНДС" if i % 50 == 13 else "Общая"
        )
        cents = 5_000 + i * 7919 % 2_000_000
        products.append(
            Product(
                f"s-p{i:06d}",
                f"{name}, арт. S-{i:06d}",
                f"S-{i:06d}",
                okei,
                service,
                vat_kind,
                Decimal(cents).scaleb(-2),
                i % 20 != 19,
            )
        )
    return products


def _scale_rows(i: int, on: dt.date, products: list[Product], pool: list[int]) -> tuple[DealRow, ...]:
    year2026 = on >= VAT_2026
    included = i % 4 != 0
    rows = []
    for k in range(1 + i % 3):
        product = products[pool[(i * 13 + k * 7919) % len(pool)]]
        rate = _KIND_RATES[product.vat_kind, year2026]
        price = product.price if included or not rate else _money(product.price * HUNDRED / (HUNDRED + rate))
        quantity = _QUANTITIES[(i + k) % 5]
        if k == 0 and i % 6 == 5:
            discount = _money(price * _FIVE / HUNDRED)
            rows.append(DealRow(product.key, price - discount, quantity, rate, included, 2, _FIVE, discount))
        else:
            rows.append(DealRow(product.key, price, quantity, rate, included))
    return tuple(rows)


_QUANTITIES = tuple(Decimal(q) for q in range(1, 6))
_FIVE = Decimal(5)
_SCALE_START = dt.date(2025, 1, 1)


def _scale_deals(n: int, companies: list[Company], products: list[Product]) -> list[Deal]:
    crm_companies = [c.key for c in companies if c.in_crm]
    crm_products = [i for i, p in enumerate(products) if p.in_crm]
    if not crm_companies or not crm_products:
        return []
    deals: list[Deal] = []
    for i in range(n):
        on = _SCALE_START + dt.timedelta(days=i * 7 % 680)  # 2025-01-01 … 2026-11-11
        rows = _scale_rows(i, on, products, crm_products)
        deals.append(
            Deal(
                f"s-d{i:06d}",
                f"Сделка № {i + 1}",
                crm_companies[i * 37 % len(crm_companies)],
                STAGES[i % 8],
                "RUB",
                on,
                rows,
            )
        )
    return deals


def _scale_documents(
    deals: list[Deal], companies: list[Company]
) -> tuple[list[SalesDocument], list[Payment]]:
    """An invoice per FINAL_INVOICE / WON deal of a company in 1C, a sale per WON, a payment for a third."""
    in_onec = {c.key for c in companies if c.in_onec}
    documents: list[SalesDocument] = []
    payments: list[Payment] = []
    day = dt.timedelta(days=1)
    for i, deal in enumerate(deals):
        if deal.stage_id not in ("FINAL_INVOICE", "WON") or deal.company_key not in in_onec:
            continue
        invoice = SalesDocument(
            f"s-inv{i:06d}",
            "invoice",
            f"ВП00-{len(documents) + 1:06d}",
            deal.begindate + day,
            deal.company_key,
            deal.rows,
            True,
            deal.key,
        )
        documents.append(invoice)
        if deal.stage_id != "WON":
            continue
        documents.append(
            SalesDocument(
                f"s-sale{i:06d}",
                "sale",
                f"ВП00-{len(documents) + 1:06d}",
                deal.begindate + 7 * day,
                deal.company_key,
                deal.rows,
                i % 2 == 0,
                deal.key,
            )
        )
        if i % 3 == 0:
            total = document_total(deal.rows).total
            payments.append(
                Payment(
                    f"s-pay{i:06d}",
                    f"ВП00-{len(payments) + 1:06d}",
                    deal.begindate + 10 * day,
                    deal.company_key,
                    total,
                    (Allocation(invoice.key, total),),
                    f"Оплата по счету № {invoice.number}",
                    note="full",
                )
            )
    return documents, payments


def scale(n: int) -> Dataset:
    """``n`` counterparties (70% legal, 20% ИП, 10% branches), ``n`` products and ``n`` deals of 1–3 rows,
    spread 60% in both systems / 20% CRM only / 20% 1C only, plus the invoices, sales and payments of the
    closing deals. Purely arithmetic: the same data on every call, 100 000 of each in a few seconds.
    Nothing is closed (``prohibition_date`` is None) and everything is in roubles."""
    collecting = gc.isenabled()
    gc.disable()  # a million young objects and no cycles: the collector would only rescan them
    try:
        companies = _scale_companies(n)
        products = _scale_products(n)
        deals = _scale_deals(n, companies, products)
        documents, payments = _scale_documents(deals, companies)
    finally:
        if collecting:
            gc.enable()
    return Dataset(
        profile="scale",
        organisation=organisation(),
        prohibition_date=None,
        companies=companies,
        products=products,
        deals=deals,
        documents=documents,
        payments=payments,
        rates=_monthly_rates(),
    )
