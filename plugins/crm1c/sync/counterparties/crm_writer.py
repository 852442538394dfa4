"""Counterparties into Bitrix24: a company and its requisite per record, in the engine's batch requests.

A new company and its requisite go in one batch (the requisite refers to the company by
``$result[…]``). Creates tried before by an interrupted attempt are first looked up by ``ORIGIN_ID`` (the
1C Ref_Key we stamp on every company we create) and adopted if found: never a second company. A 1C
deletion mark is not propagated as a CRM deletion (irreversible there); it is recorded instead.
"""

from __future__ import annotations

from typing import Any

from crm1c.clients.phpquery import BatchRef
from crm1c.domain.counterparty import Counterparty
from crm1c.domain.counterparty_codec import to_bitrix
from crm1c.staging import WriteIntent
from crm1c.sync.counterparties.records import COMPANY_TYPE_ID, KEY, crm_seen
from crm1c.sync.engine.load_crm import failed
from crm1c.sync.runtime import SyncEnv
from crm1c.sync.spec import Current, Outcome

LOOKUPS_PER_BATCH = 16  # three lookup commands per interrupted create: 48 per batch request

Found = tuple[dict, dict | None]  # what an interrupted create left: the company and its requisite


class CrmCompanyWriter:
    """:class:`~crm1c.sync.spec.CrmWriter` of counterparties: ``crm.company`` + ``crm.requisite``."""

    shared_size = 0  # its intents share no command

    def size(self, env: SyncEnv, intent: WriteIntent, current: Current) -> int:
        return 2 if intent.op == "create" else len(self.commands(env, intent, 0, None, current))

    def lookup(self, env: SyncEnv, intents: list[WriteIntent]) -> tuple[dict[int, Any], dict[int, Outcome]]:
        return _lookup(env, intents)

    def commands(
        self, env: SyncEnv, intent: WriteIntent, n: int, found: Found | None, current: Current
    ) -> dict[str, Any]:
        return _commands(env, intent, n, found, current)

    def shared(self, env: SyncEnv, batch: dict[str, Any]) -> dict[str, Any]:
        return {}

    def outcome(
        self,
        env: SyncEnv,
        intent: WriteIntent,
        n: int,
        commands: dict[str, Any],
        result: Any,
        found: Found | None,
        current: Current,
    ) -> Outcome:
        return _outcome(env, intent, n, commands, result, found, current)


def _lookup(env: SyncEnv, intents: list[WriteIntent]) -> tuple[dict[int, Any], dict[int, Outcome]]:
    """Companies an interrupted attempt may already have created: ``intent id → (company, requisite)``;
    and the intents settled without a write: those whose counterparty was typed into the CRM meanwhile (a
    requisite with the same ИНН and КПП on a company that is not ours) are planned again, as a pair,
    instead of created twice; those whose lookup failed wait (without its answer a second company could
    be created)."""
    found: dict[int, Any] = {}
    settled: dict[int, Outcome] = {}
    for start in range(0, len(intents), LOOKUPS_PER_BATCH):
        group = intents[start : start + LOOKUPS_PER_BATCH]
        result = env.crm.batch(_lookup_commands(env, group), write=False)
        for n, intent in enumerate(group):
            if error := result.errors.get(f"c{n}") or result.errors.get(f"k{n}"):
                settled[intent.id] = failed(error)
                continue
            companies = result.results.get(f"c{n}") or []
            if companies:
                requisites = result.results.get(f"r{n}") or []
                found[intent.id] = (companies[0], requisites[0] if requisites else None)
                continue
            kpp = _merged(intent).kpp or ""
            if any((r.get("RQ_KPP") or "") == kpp for r in result.results.get(f"k{n}") or []):
                settled[intent.id] = Outcome(replan=True)
    return found, settled


def _lookup_commands(env: SyncEnv, intents: list[WriteIntent]) -> dict[str, Any]:
    """Per intent: our company by ORIGIN_ID (``c``), its requisite (``r``), requisites with its ИНН (``k``)"""
    commands: dict[str, Any] = {}
    for n, intent in enumerate(intents):
        flt = {"ORIGINATOR_ID": env.mapping.links.crm.originator_id, "ORIGIN_ID": intent.payload["onec_id"]}
        commands[f"c{n}"] = ("crm.company.list", {"filter": flt, "order": {"ID": "ASC"}, "start": -1})
        commands[f"r{n}"] = (
            "crm.requisite.list",
            {
                "filter": {"ENTITY_TYPE_ID": COMPANY_TYPE_ID, "ENTITY_ID": BatchRef(f"c{n}", 0, "ID")},
                "order": {"ID": "ASC"},
                "start": -1,
            },
        )
        if inn := _merged(intent).inn:
            commands[f"k{n}"] = (
                "crm.requisite.list",
                {
                    "filter": {"ENTITY_TYPE_ID": COMPANY_TYPE_ID, "RQ_INN": inn},
                    "select": ["ID", "ENTITY_ID", "RQ_KPP"],
                    "start": -1,
                },
            )
    return commands


def _commands(
    env: SyncEnv, intent: WriteIntent, n: int, found: tuple[dict, dict | None] | None, current: Current
) -> dict:
    merged = _merged(intent)
    if intent.op == "mark_deleted":
        return {}
    if intent.op == "create":
        company, requisite = to_bitrix(merged, env.mapping)
        if found is not None:  # adopted: add the requisite only if the first attempt did not get to it
            if found[1] is not None:
                return {}
            return {f"r{n}": ("crm.requisite.add", {"fields": {**requisite, "ENTITY_ID": found[0]["ID"]}})}
        return {
            f"c{n}": ("crm.company.add", {"fields": company, "params": {"REGISTER_SONET_EVENT": "N"}}),
            f"r{n}": ("crm.requisite.add", {"fields": {**requisite, "ENTITY_ID": BatchRef(f"c{n}")}}),
        }
    seen = current.get(intent.target_id or "")
    raw = seen.raw if seen is not None else {"company": None, "requisite": None}
    company, requisite = to_bitrix(
        merged,
        env.mapping,
        only=intent.payload["fields"],
        current_company=raw["company"],
        current_requisite=raw["requisite"],
    )
    commands: dict[str, Any] = {}
    if company:
        commands[f"c{n}"] = ("crm.company.update", {"id": intent.target_id, "fields": company})
    if requisite and raw["requisite"]:
        commands[f"r{n}"] = ("crm.requisite.update", {"id": raw["requisite"]["ID"], "fields": requisite})
    elif requisite:
        commands[f"r{n}"] = ("crm.requisite.add", {"fields": {**requisite, "ENTITY_ID": intent.target_id}})
    return commands


def _outcome(
    env: SyncEnv,
    intent: WriteIntent,
    n: int,
    commands: dict,
    result: Any,
    found: tuple[dict, dict | None] | None,
    current: Current,
) -> Outcome:
    merged = _merged(intent)
    errors = {k: result.errors[k] for k in commands if result is not None and k in result.errors}
    if f"c{n}" in errors:
        return failed(errors[f"c{n}"])
    if intent.op == "mark_deleted":
        return Outcome(target_id=intent.target_id)  # recorded in the audit log, not deleted in the CRM
    if intent.op == "create" and found is None:
        company_id = str(result.results[f"c{n}"])
    else:
        company_id = str(found[0]["ID"]) if found is not None else str(intent.target_id)
    company, requisite = to_bitrix(merged, env.mapping)
    seen = current.get(company_id) if found is None else env.staging.get_seen("crm", KEY, company_id)
    old_company = (seen.raw["company"] if seen else None) or (found[0] if found else {})
    old_requisite = (seen.raw["requisite"] if seen else None) or (found[1] if found else None) or {}
    company_row = {**old_company, **company, "ID": company_id}
    requisite_row = None if f"r{n}" in errors else {**old_requisite, **requisite}
    if requisite_row is not None and commands.get(f"r{n}", ("",))[0] == "crm.requisite.add":
        # keep the new requisite's ID: a later update of ИНН, КПП or a name is addressed by it (the next
        # extract finds the same content and does not replace this row)
        requisite_row |= {"ID": str(result.results[f"r{n}"]), "ENTITY_ID": company_id}
    if f"r{n}" in errors:  # the company exists; the requisite follows on the next run
        env.count("crm_requisite_errors")
    seen = crm_seen(company_row, requisite_row, env.mapping, dirty=f"r{n}" in errors)
    return Outcome(target_id=company_id, seen=seen, adopted=found is not None)


def _merged(intent: WriteIntent) -> Counterparty:
    p = intent.payload
    return Counterparty(**p["merged"]).model_copy(
        update={"crm_id": p.get("crm_id"), "onec_ref": p.get("onec_id")}
    )
