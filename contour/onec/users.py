"""Infobase users of the emulator and their rights (roles as data, stored in the ``users`` table).

``read``/``write`` list entity sets (``*`` = every published set); tabular-row sets follow their owner.
``rls`` maps a set to an OData condition naming the rows the user may see (record-level security):
without ``allowedOnly=true`` a query that would touch other rows fails with code 20, with it they are skipped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from contour.onec.schema import SETS, ZERO_GUID

INTEGRATION = "Интеграция"
OBSERVER = "Наблюдатель"
ACCOUNTANT = "Бухгалтер"

_WRITABLE = [name for name, es in SETS.items() if es.kind in ("Catalog", "Document") and es.writable]

DEFAULT_USERS: list[dict[str, Any]] = [
    {
        "name": INTEGRATION,
        "password": "contour",
        "rights": {"read": ["*"], "write": [*_WRITABLE, "AccountingRegister_Хозрасчетный"], "rls": {}},
    },
    {
        "name": ACCOUNTANT,
        "password": "accountant",
        "rights": {"read": ["*"], "write": [*_WRITABLE, "AccountingRegister_Хозрасчетный"], "rls": {}},
    },
    {
        "name": OBSERVER,
        "password": "observer",
        "rights": {
            "read": [
                "Catalog_Контрагенты",
                "Catalog_Номенклатура",
                "Catalog_Валюты",
                "Catalog_КлассификаторЕдиницИзмерения",
            ],
            "write": [],
            "rls": {"Catalog_Контрагенты": "ЮридическоеФизическоеЛицо eq 'ЮридическоеЛицо'"},
        },
    },
]


@dataclass
class User:
    name: str
    ref: str = ZERO_GUID  # its Catalog_Пользователи Ref_Key (addressee of per-user prohibition dates)
    read: list[str] = field(default_factory=list)
    write: list[str] = field(default_factory=list)
    rls: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_row(cls, name: str, rights_json: str, ref: str = ZERO_GUID) -> User:
        rights = json.loads(rights_json)
        return cls(name, ref, rights.get("read", []), rights.get("write", []), rights.get("rls", {}))

    @staticmethod
    def _owner(set_name: str) -> str:
        es = SETS.get(set_name)
        if es is not None and es.parent:
            return es.parent
        if set_name.startswith("AccountingRegister_Хозрасчетный"):
            return "AccountingRegister_Хозрасчетный"
        return set_name

    def can_read(self, set_name: str) -> bool:
        owner = self._owner(set_name)
        return "*" in self.read or owner in self.read or set_name in self.read

    def can_write(self, set_name: str) -> bool:
        return "*" in self.write or set_name in self.write
