"""The Bitrix24 trade catalog as nomenclature sees it (protocols C.8, C.9a): the product catalog's id, the
price type prices go to, units (a product's ``measure`` is a unit id, the ОКЕИ code is the unit's ``code``)
and VAT rates (a product's ``vatId``). Read once per step, in one batch request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm1c.clients.bitrix24_batch import BatchResult
from crm1c.clients.bitrix24_errors import SYSTEM
from crm1c.clients.errors import ExternalSystemError
from crm1c.domain.issues import Issue
from crm1c.domain.product import vat_text
from crm1c.sync.runtime import SyncEnv

SERVICE_TYPE = 7  # catalog product type of a service (1: product)


@dataclass(frozen=True)
class CrmCatalog:
    iblock_id: int
    price_type_id: int
    unit_ids: dict[str, int]  # ОКЕИ code (3 characters) → unit id
    unit_codes: dict[int, str]  # unit id → ОКЕИ code
    vat_ids: dict[str, int]  # "22" | "10" | "0" | "none" → VAT id
    vat_rates: dict[int, str]  # VAT id → "22" | …

    def unit_id(self, code: str | None) -> int | Issue | None:
        if code is None:
            return None
        found = self.unit_ids.get(code.zfill(3))
        if found is None:
            return Issue(
                "unit",
                "unknown_unit",
                f"В каталоге CRM нет единицы измерения с кодом ОКЕИ {code} (catalog.measure): добавьте её",
                f"The CRM catalog has no unit with ОКЕИ code {code} (catalog.measure): add it",
            )
        return found

    def vat_id(self, rate: str | None) -> int | Issue | None:
        if rate is None:
            return None
        found = self.vat_ids.get(rate)
        if found is None:
            shown = "без НДС" if rate == "none" else f"{rate}%"
            return Issue(
                "vat",
                "unknown_vat",
                f"В каталоге CRM нет ставки НДС {shown} (catalog.vat): добавьте её",
                f"The CRM catalog has no VAT rate {shown} (catalog.vat): add it",
            )
        return found


def crm_catalog(env: SyncEnv) -> CrmCatalog:
    """The catalog's dictionaries, read once per step."""
    return env.once("crm_catalog", lambda: _read(env))


def _read(env: SyncEnv) -> CrmCatalog:
    commands: dict[str, tuple[str, dict[str, Any]]] = {
        "c": ("catalog.catalog.list", {}),
        "t": ("catalog.priceType.list", {}),
        "m": ("catalog.measure.list", {}),
        "v": ("catalog.vat.list", {}),
    }
    return env.crm.batch_read(commands, lambda result: _parse(result, env.mapping.crm_price_type))


def _rows(result: BatchResult, key: str, items: str) -> list[dict[str, Any]]:
    if key in result.errors:
        raise result.errors[key]
    data = result.results.get(key)
    rows = data.get(items) if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise ExternalSystemError(f"catalog answer without {items!r}", system=SYSTEM)
    return rows


def _parse(result: BatchResult, price_type: str | int) -> CrmCatalog:
    catalogs = [c for c in _rows(result, "c", "catalogs") if not c.get("productIblockId")]
    if not catalogs:
        raise ExternalSystemError("the CRM has no product catalog (catalog.catalog.list)", system=SYSTEM)
    types = _rows(result, "t", "priceTypes")
    chosen = [
        t for t in types if (t.get("base") == "Y" if price_type == "base" else t.get("id") == price_type)
    ]
    if not chosen:
        raise ExternalSystemError(
            f"the CRM has no price type {price_type!r} (nomenclature.yaml)", system=SYSTEM
        )
    units = _rows(result, "m", "measures")
    vats = _rows(result, "v", "vats")
    vat_rates = {int(v["id"]): vat_text(v.get("rate")) for v in vats if v.get("active", "Y") == "Y"}
    return CrmCatalog(
        iblock_id=int(catalogs[0]["iblockId"]),
        price_type_id=int(chosen[0]["id"]),
        unit_ids={str(u["code"]).zfill(3): int(u["id"]) for u in units},
        unit_codes={int(u["id"]): str(u["code"]).zfill(3) for u in units},
        vat_ids={rate: vat_id for vat_id, rate in sorted(vat_rates.items(), reverse=True)},
        vat_rates=vat_rates,
    )
