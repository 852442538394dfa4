"""What crm1c never writes, whatever a mapping or a bug asks: the accounting base's protected dictionaries
and registers, and the portal's reference lists. The clients refuse such a write before any request.

1C: the chart of accounts and other charts, every register 1C fills by posting (postings are made by
posting documents, never written directly), the units classifier, currencies and their rates, VAT rates,
the organisation itself, and the change-prohibition dates. Bitrix24: currencies, VAT rates, units, stage
and funnel dictionaries, users and departments.
"""

from __future__ import annotations

ONEC_PROTECTED_PREFIXES = (
    "ChartOfAccounts_",
    "ChartOfCharacteristicTypes_",
    "ChartOfCalculationTypes_",
    "AccountingRegister_",
    "AccumulationRegister_",
    "CalculationRegister_",
)
ONEC_PROTECTED_SETS = frozenset(
    {
        "Catalog_КлассификаторЕдиницИзмерения",
        "Catalog_Валюты",
        "Catalog_СтавкиНДС",
        "Catalog_Организации",
        "InformationRegister_КурсыВалют",
        "InformationRegister_ДатыЗапретаИзменения",
    }
)
BITRIX_PROTECTED_PREFIXES = (
    "crm.currency.",
    "crm.vat.",
    "catalog.measure.",
    "catalog.vat.",
    "crm.status.",
    "crm.category.",
    "user.",
    "department.",
)


class ProtectedWriteError(ValueError):
    """A write to a protected dictionary or register was asked for; nothing was sent."""


def check_onec_write(entity_set: str) -> None:
    """Refuse a write to a protected 1C set (the object's own set: ``Catalog_X``, not its path)."""
    base = entity_set.split("(", 1)[0].split("/", 1)[0]
    if base in ONEC_PROTECTED_SETS or base.startswith(ONEC_PROTECTED_PREFIXES):
        raise ProtectedWriteError(f"crm1c never writes {base}: it is protected accounting data")


def check_bitrix_write(method: str) -> None:
    """Refuse a call that would change a portal reference list (reads of those lists are fine)."""
    if method.lower().startswith(BITRIX_PROTECTED_PREFIXES):
        raise ProtectedWriteError(f"crm1c never calls {method}: it changes a protected reference list")
