"""Writes nomenclature into the Bitrix24 catalog: products (``catalog.product.*``), services
(``catalog.product.service.*``) and their price of the configured type (``catalog.price.*``).

A create and its price go in the same batch request (the price refers to the new product's id). The CRM
product keeps the 1C ``Ref_Key`` in ``xmlId``: after an interrupted create the product is looked up by it
(adopted), and a product typed meanwhile with the same code makes the item planned again (it then links
to it). A unit or VAT rate the CRM catalog lacks holds the item with a reason.
"""

from __future__ import annotations

from typing import Any

from crm1c.domain.issues import Issue, IssueError
from crm1c.domain.money import currency as currencies
from crm1c.domain.product import Product
from crm1c.staging import WriteIntent
from crm1c.sync.engine.load_crm import failed
from crm1c.sync.nomenclature.crm_catalog import SERVICE_TYPE, CrmCatalog, crm_catalog
from crm1c.sync.nomenclature.crm_reader import SELECT, crm_seen
from crm1c.sync.runtime import SyncEnv
from crm1c.sync.spec import Current, Outcome

LOOKUPS_PER_BATCH = 25  # two listings per interrupted create
PRICE_FIELDS = ("price", "currency")


class CrmProductWriter:
    """The :class:`~crm1c.sync.spec.CrmWriter` of nomenclature."""

    shared_size = 0  # its intents share no command

    def size(self, env: SyncEnv, intent: WriteIntent, current: Current) -> int:
        return 2

    def lookup(self, env: SyncEnv, intents: list[WriteIntent]) -> tuple[dict[int, Any], dict[int, Outcome]]:
        """Per interrupted create: ours by ``xmlId`` (adopted), else a product with its code (replan)."""
        catalog = crm_catalog(env)
        found: dict[int, Any] = {}
        settled: dict[int, Outcome] = {}
        for start in range(0, len(intents), LOOKUPS_PER_BATCH):
            group = intents[start : start + LOOKUPS_PER_BATCH]
            commands = {}
            for n, intent in enumerate(group):
                item = _merged(intent)
                for key, flt in (("o", {"xmlId": item.onec_ref}), ("k", {"code": item.sku})):
                    params = {"filter": {"iblockId": catalog.iblock_id, **flt}, "select": SELECT}
                    method = "catalog.product.service.list" if item.service else "catalog.product.list"
                    commands[f"{key}{n}"] = (method, params)
            result = env.crm.batch(commands, write=False)
            for n, intent in enumerate(group):
                if error := result.errors.get(f"o{n}") or result.errors.get(f"k{n}"):
                    settled[intent.id] = failed(error)
                elif ours := _products(result.results.get(f"o{n}")):
                    found[intent.id] = ours[0]
                elif _products(result.results.get(f"k{n}")):
                    settled[intent.id] = Outcome(replan=True)
        return found, settled

    def commands(self, env: SyncEnv, intent: WriteIntent, n: int, found: Any, current: Current) -> dict:
        """The product command (add or update) and, when the price changes, its price command."""
        catalog = crm_catalog(env)
        item, fields = _merged(intent), set(intent.payload["fields"])
        if intent.op == "create" and found is not None:
            return {}
        product = _product_fields(catalog, item, fields)
        service = item.service
        commands: dict[str, Any] = {}
        if intent.op == "create":
            method = "catalog.product.service.add" if service else "catalog.product.add"
            commands[f"p{n}"] = (method, {"fields": {"iblockId": catalog.iblock_id, **product}})
            product_id: Any = f"$result[p{n}][{'service' if service else 'element'}][id]"
        else:
            product_id = intent.target_id
            if product:
                method = "catalog.product.service.update" if service else "catalog.product.update"
                commands[f"p{n}"] = (method, {"id": product_id, "fields": product})
        if fields & set(PRICE_FIELDS) and item.price is not None:
            seen = current.get(intent.target_id or "")
            price_row = (seen.raw.get("@price") if seen else None) if intent.op != "create" else None
            currency = item.currency or env.once("currency_table", currencies.load_currency_table).base
            values = {"price": str(item.price), "currency": currency}
            if price_row:
                commands[f"c{n}"] = ("catalog.price.update", {"id": price_row["id"], "fields": values})
            else:
                price = {"productId": product_id, "catalogGroupId": catalog.price_type_id, **values}
                commands[f"c{n}"] = ("catalog.price.add", {"fields": price})
        return commands

    def shared(self, env: SyncEnv, batch: dict[str, Any]) -> dict[str, Any]:
        return {}

    def outcome(
        self,
        env: SyncEnv,
        intent: WriteIntent,
        n: int,
        commands: dict,
        result: Any,
        found: Any,
        current: Current,
    ) -> Outcome:
        catalog = crm_catalog(env)
        if intent.op == "create" and found is not None:
            return Outcome(target_id=str(found["id"]), seen=crm_seen(found, None, catalog), adopted=True)
        if f"p{n}" in commands and f"p{n}" in result.errors:
            return failed(result.errors[f"p{n}"])
        if intent.op == "create":
            answer = result.results[f"p{n}"]
            row = answer.get("service") or answer.get("element") or {}
        else:
            seen = current.get(intent.target_id or "")
            row = {k: v for k, v in (seen.raw if seen else {}).items() if k != "@price"}
            row.update(commands.get(f"p{n}", ("", {"fields": {}}))[1]["fields"])
            row["id"] = intent.target_id
        price_failed = f"c{n}" in commands and f"c{n}" in result.errors
        price = (
            None
            if price_failed
            else _price_row(commands.get(f"c{n}"), result.results.get(f"c{n}"), current, intent)
        )
        # a price the CRM refused leaves the record dirty: the next plan queues the price again
        return Outcome(target_id=str(row["id"]), seen=crm_seen(row, price, catalog, dirty=price_failed))


def _products(answer: Any) -> list[dict]:
    """The rows of a product or service listing (``result.products`` / ``result.services``)."""
    if not isinstance(answer, dict):
        return []
    return list(answer.get("products") or answer.get("services") or [])


def _price_row(command: Any, answer: Any, current: Current, intent: WriteIntent) -> dict | None:
    if command is None:
        seen = current.get(intent.target_id or "")
        return seen.raw.get("@price") if seen else None
    if isinstance(answer, dict) and isinstance(answer.get("price"), dict):
        return answer["price"]
    return None


def _merged(intent: WriteIntent) -> Product:
    p = intent.payload
    return Product(**p["merged"]).model_copy(update={"crm_id": p.get("crm_id"), "onec_ref": p.get("onec_id")})


def _product_fields(catalog: CrmCatalog, item: Product, fields: set[str]) -> dict[str, Any]:
    """The product's catalog fields among ``fields``; a unit or rate the catalog lacks raises IssueError."""
    out: dict[str, Any] = {}
    simple = {"name": item.name, "code": item.sku, "xmlId": item.onec_ref}
    for name, key in (("name", "name"), ("sku", "code"), ("onec_ref", "xmlId")):
        if name in fields:
            out[key] = simple[key]
    if "active" in fields:
        out["active"] = "Y" if item.active else "N"
    if "price_includes_vat" in fields:
        out["vatIncluded"] = "Y" if item.price_includes_vat else "N"
    if "service" in fields:
        out["type"] = SERVICE_TYPE if item.service else 1
    for name, key, value in (
        ("unit", "measure", catalog.unit_id(item.unit)),
        ("vat", "vatId", catalog.vat_id(item.vat)),
    ):
        if name not in fields:
            continue
        if isinstance(value, Issue):
            raise IssueError(value)
        out[key] = value
    return out
