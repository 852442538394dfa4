"""Stock dictionary entries of a fresh Russian portal: stages, company types, sources, presets."""

from __future__ import annotations

from typing import Any

# status id, name, semantics (None in progress, S success, F failure), colour
DEAL_STAGES = [
    ("NEW", "Новая", None, "#39A8EF"),
    ("PREPARATION", "Подготовка документов", None, "#2FC6F6"),
    ("PREPAYMENT_INVOICE", "Счёт на предоплату", None, "#55D0E0"),
    ("EXECUTING", "В работе", None, "#47E4C2"),
    ("FINAL_INVOICE", "Финальный счёт", None, "#FFA900"),
    ("WON", "Сделка успешна", "S", "#7BD500"),
    ("LOSE", "Сделка провалена", "F", "#FF5752"),
    ("APOLOGY", "Анализ причины провала", "F", "#FF5752"),
]
INVOICE_STAGES = [
    ("N", "Новый", None, "#22B9FF"),
    ("S", "Отправлен клиенту", None, "#FFA900"),
    ("P", "Оплачен", "S", "#7BD500"),
    ("D", "Не оплачен", "F", "#FF5752"),
]
PLAIN = {
    "COMPANY_TYPE": [
        ("CUSTOMER", "Клиент"),
        ("SUPPLIER", "Поставщик"),
        ("COMPETITOR", "Конкурент"),
        ("PARTNER", "Партнер"),
        ("OTHER", "Другое"),
    ],
    "DEAL_TYPE": [
        ("SALE", "Продажа"),
        ("COMPLEX", "Комплексная продажа"),
        ("GOODS", "Продажа товара"),
        ("SERVICES", "Продажа услуги"),
        ("SERVICE", "Сервисное обслуживание"),
    ],
    "SOURCE": [
        ("CALL", "Звонок"),
        ("EMAIL", "Электронная почта"),
        ("WEB", "Веб-сайт"),
        ("ADVERTISING", "Реклама"),
        ("PARTNER", "Существующий клиент"),
        ("RECOMMENDATION", "По рекомендации"),
        ("TRADE_SHOW", "Выставка"),
        ("WEBFORM", "CRM-форма"),
        ("CALLBACK", "Обратный звонок"),
        ("OTHER", "Другое"),
    ],
    "INDUSTRY": [
        ("IT", "Информационные технологии"),
        ("TELECOM", "Телекоммуникации и связь"),
        ("MANUFACTURING", "Производство"),
        ("BANKING", "Банковские услуги"),
        ("CONSULTING", "Консалтинг"),
        ("FINANCE", "Финансы"),
        ("GOVERNMENT", "Правительство"),
        ("DELIVERY", "Доставка"),
        ("ENTERTAINMENT", "Развлечения"),
        ("NOTPROFIT", "Не для получения прибыли"),
        ("OTHER", "Другое"),
    ],
    "EMPLOYEES": [
        ("EMPLOYEES_1", "менее 50"),
        ("EMPLOYEES_2", "50-250"),
        ("EMPLOYEES_3", "250-500"),
        ("EMPLOYEES_4", "более 500"),
    ],
}
PRESETS = [
    (1, "Организация", "#CRM_REQUISITE_PRESET_DEF_RU_COMPANY#"),
    (2, "ИП", "#CRM_REQUISITE_PRESET_DEF_RU_INDIVIDUAL#"),
    (3, "Физ. лицо", "#CRM_REQUISITE_PRESET_DEF_RU_PERSON#"),
]
PRESET_BY_KIND = {"legal": 1, "branch": 1, "ip": 2, "person": 3}
_SEMANTIC_WORD = {None: "process", "S": "success", "F": "failure"}


def _stage(
    entity: str, status_id: str, name: str, sort: int, semantics: str | None, color: str, category: int | None
) -> dict[str, Any]:
    return {
        "ENTITY_ID": entity,
        "STATUS_ID": status_id,
        "NAME": name,
        "NAME_INIT": name,
        "SORT": sort,
        "SYSTEM": "Y",
        "CATEGORY_ID": category,
        "COLOR": color,
        "SEMANTICS": semantics,
        "EXTRA": {"SEMANTICS": _SEMANTIC_WORD[semantics], "COLOR": color},
    }


def statuses(deal_categories: list[int], invoice_category: int) -> list[dict[str, Any]]:
    """Every ``crm.status`` entry of the portal, in a stable order."""
    out: list[dict[str, Any]] = []
    for category in deal_categories:
        entity = "DEAL_STAGE" if category == 0 else f"DEAL_STAGE_{category}"
        prefix = "" if category == 0 else f"C{category}:"
        for i, (code, name, sem, color) in enumerate(DEAL_STAGES):
            out.append(_stage(entity, prefix + code, name, (i + 1) * 10, sem, color, category or None))
    for i, (code, name, sem, color) in enumerate(INVOICE_STAGES):
        out.append(
            _stage(
                f"SMART_INVOICE_STAGE_{invoice_category}",
                f"DT31_{invoice_category}:{code}",
                name,
                (i + 1) * 10,
                sem,
                color,
                invoice_category,
            )
        )
    for entity, entries in PLAIN.items():
        for i, (code, name) in enumerate(entries):
            out.append(
                {
                    "ENTITY_ID": entity,
                    "STATUS_ID": code,
                    "NAME": name,
                    "NAME_INIT": name,
                    "SORT": (i + 1) * 10,
                    "SYSTEM": "Y",
                    "CATEGORY_ID": None,
                    "COLOR": None,
                    "SEMANTICS": None,
                }
            )
    return out
