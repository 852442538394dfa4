"""A toy entity for the generic sync engine: Bitrix24 ``crm.product`` ⇄ 1C ``Catalog_Номенклатура``.

Deliberately small and independent of counterparties: it proves an entity plugs into
:mod:`crm1c.sync.engine` through an :class:`~crm1c.sync.spec.EntitySpec` alone. NAME ↔ Description is the
name, CODE ↔ Артикул the article (the identity key); the CRM keeps the 1C Ref_Key in XML_ID, 1C keeps
``toy:item:<CRM id>`` in Комментарий. 1C folders are not synced. Nothing here reads ``env.mapping``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from crm1c import hashing
from crm1c.clients.odata_filter import F
from crm1c.domain.issues import Issue
from crm1c.staging import SeenInput, WriteIntent
from crm1c.sync.engine.load_crm import failed
from crm1c.sync.engine.onec_scan import OneCScan
from crm1c.sync.engine.records import seen_input
from crm1c.sync.entities import EntityRef
from crm1c.sync.runtime import SyncEnv
from crm1c.sync.spec import Current, EntitySpec, Outcome

KEY = "toy_item"
ONEC_SET = "Catalog_Номенклатура"
TAG = "toy:item:"  # + CRM product ID, in 1C's Комментарий
SYNCED = ("name", "article", "deleted")
CRM_FIELDS = {"name": "NAME", "article": "CODE", "onec_ref": "XML_ID"}
ONEC_FIELDS = {"name": "Description", "article": "Артикул", "deleted": "DeletionMark"}
CRM_SELECT = ["ID", "NAME", "CODE", "XML_ID", "TIMESTAMP_X"]
ONEC_SELECT = ["Ref_Key", "DataVersion", "DeletionMark", "IsFolder", "Description", "Артикул", "Комментарий"]


class ToyItem(BaseModel):
    name: str | None = None
    article: str | None = None
    deleted: bool = False
    crm_id: str | None = None
    onec_ref: str | None = None


def identity_key(item: ToyItem) -> str | None:
    return item.article


def content_hash(item: ToyItem) -> str:
    return hashing.content_hash({f: getattr(item, f) for f in SYNCED})


def validate(item: ToyItem, _mapping: Any) -> list[Issue]:
    return [
        Issue(f, "required", f"Не заполнено поле {f}", f"{f} is empty")
        for f in ("name", "article")
        if not getattr(item, f)
    ]


def tombstone(item: ToyItem) -> ToyItem:
    return item.model_copy(update={"deleted": True})


@dataclass(frozen=True)
class Conflict:
    field: str
    base: Any
    crm: Any
    onec: Any


@dataclass(frozen=True)
class Merged:
    merged: ToyItem
    to_crm: dict[str, Any] = field(default_factory=dict)
    to_onec: dict[str, Any] = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)


def merge(base: ToyItem | None, crm: ToyItem | None, onec: ToyItem | None, _rules: Any) -> Merged:
    """Three-way: one side changed → the other follows; both changed → the CRM wins, a conflict."""
    if base is not None:
        crm, onec = crm or tombstone(base), onec or tombstone(base)
    if crm is None or onec is None:  # a new record: create it on the other side
        source = crm or onec
        assert source is not None
        if source.deleted:
            return Merged(source)
        link = "crm_id" if onec is None else "onec_ref"
        fields = {"name": source.name, "article": source.article, link: getattr(source, link)}
        return Merged(source, **{"to_onec" if onec is None else "to_crm": fields})
    values: dict[str, Any] = {"crm_id": crm.crm_id, "onec_ref": onec.onec_ref}
    to: dict[str, dict[str, Any]] = {"crm": {}, "onec": {}}
    conflicts = []
    for f in SYNCED:
        b, c, o = getattr(base, f, None), getattr(crm, f), getattr(onec, f)
        only_onec_changed = base is not None and c == b
        values[f] = o if only_onec_changed else c
        if c != o:
            to["crm" if only_onec_changed else "onec"][f] = values[f]
            if base is None or (c != b and o != b):
                conflicts.append(Conflict(f, b, c, o))
    merged = ToyItem(**values)
    if merged.deleted:  # only the deletion flows
        gone = {"deleted": True}
        return Merged(merged, {} if crm.deleted else gone, {} if onec.deleted else gone, conflicts)
    for slot, target in (("crm_id", "onec"), ("onec_ref", "crm")):  # each side keeps the other's id
        stored = getattr(onec if target == "onec" else crm, slot)
        if stored != values[slot]:
            to[target][slot] = values[slot]
            if stored is not None:
                conflicts.append(
                    Conflict(slot, getattr(base, slot, None), getattr(crm, slot), getattr(onec, slot))
                )
    return Merged(merged, to["crm"], to["onec"], conflicts)


def _seen(external_id: str, raw: dict, version: Any, item: ToyItem, dirty: bool) -> SeenInput:
    return seen_input(
        external_id,
        raw,
        version,
        lambda: item,
        content_hash=content_hash,
        identity_key=identity_key,
        dirty=dirty,
    )


def crm_seen(row: dict, *, dirty: bool = True) -> SeenInput:
    item = ToyItem(
        name=row.get("NAME") or None,
        article=(row.get("CODE") or "").strip() or None,
        crm_id=str(row["ID"]),
        onec_ref=row.get("XML_ID") or None,
    )
    return _seen(str(row["ID"]), row, row.get("TIMESTAMP_X"), item, dirty)


def tagged(comment: Any) -> str | None:
    return next((w.removeprefix(TAG) for w in str(comment or "").split() if w.startswith(TAG)), None)


def onec_seen(row: dict, *, dirty: bool = True) -> SeenInput:
    ref = str(row["Ref_Key"])
    if row.get("IsFolder"):  # kept as "not synced" (no canonical record), so the scan knows its version
        return SeenInput(ref, row, None, row.get("DataVersion"), dirty=False)
    item = ToyItem(
        name=row.get("Description") or None,
        article=(row.get("Артикул") or "").strip() or None,
        deleted=bool(row.get("DeletionMark")),
        crm_id=tagged(row.get("Комментарий")),
        onec_ref=ref,
    )
    return _seen(ref, row, row.get("DataVersion"), item, dirty)


def read_products(env: SyncEnv, mode: str) -> None:
    """Every product (no cursor: the toy lists them all); a full run tombstones the ones that are gone."""
    started = datetime.now(UTC)
    for page in env.crm.iter_list("crm.product.list", select=CRM_SELECT):
        result = env.staging.upsert_seen("crm", KEY, [crm_seen(row) for row in page])
        env.count("crm_read", len(page))
        env.count("crm_changed", len(result.to_sync))
    if mode == "full":
        gone = env.staging.not_seen_since("crm", KEY, started)
        env.count("crm_deleted", len(env.staging.mark_deleted("crm", KEY, gone)))


def _merged(intent: WriteIntent) -> ToyItem:
    p = intent.payload
    return ToyItem(**p["merged"]).model_copy(update={"crm_id": p.get("crm_id"), "onec_ref": p.get("onec_id")})


class OneCItemWriter:
    def entity_set(self, merged: Any) -> str:
        return ONEC_SET

    def prepare(self, env: SyncEnv, intents: list[WriteIntent]) -> set[int]:
        return set()  # each write asks for what it needs itself; nothing waits for another write

    def body(
        self, env: SyncEnv, intent: WriteIntent, merged: ToyItem, current: dict | None
    ) -> dict[str, Any]:
        fields = intent.payload["fields"] if current is not None else ("name", "article", "crm_id")
        body = {ONEC_FIELDS[f]: getattr(merged, f) for f in fields if f in ONEC_FIELDS}
        if "crm_id" in fields and merged.crm_id:
            kept = [w for w in str((current or {}).get("Комментарий") or "").split() if not w.startswith(TAG)]
            body["Комментарий"] = " ".join([*kept, f"{TAG}{merged.crm_id}"])
        return body

    def find(self, env: SyncEnv, merged: ToyItem) -> tuple[dict | None, list[dict]]:
        rows = env.onec.list_all(ONEC_SET, filter=F("Артикул") == merged.article)
        rows = [r for r in rows if not r.get("DeletionMark") and not r.get("IsFolder")]
        ours = [r for r in rows if merged.crm_id and tagged(r.get("Комментарий")) == merged.crm_id]
        return (ours[0] if ours else None), [r for r in rows if r not in ours]

    def seen(self, env: SyncEnv, row: dict[str, Any]) -> SeenInput:
        return onec_seen(row, dirty=False)


class CrmProductWriter:
    shared_size = 0

    def size(self, env: SyncEnv, intent: WriteIntent, current: Current) -> int:
        return 0 if intent.op == "mark_deleted" else 1

    def lookup(self, env: SyncEnv, intents: list[WriteIntent]) -> tuple[dict[int, Any], dict[int, Outcome]]:
        """Per interrupted create: ours by XML_ID (adopted), else a twin by CODE typed meanwhile (replan)."""
        found: dict[int, Any] = {}
        settled: dict[int, Outcome] = {}
        for start in range(0, len(intents), 25):
            group = intents[start : start + 25]
            commands = {}
            for n, i in enumerate(group):
                for key, flt in (
                    ("o", {"XML_ID": i.payload["onec_id"]}),
                    ("k", {"CODE": _merged(i).article}),
                ):
                    commands[f"{key}{n}"] = (
                        "crm.product.list",
                        {"filter": flt, "select": CRM_SELECT, "start": -1},
                    )
            result = env.crm.batch(commands, write=False)
            for n, i in enumerate(group):
                if error := result.errors.get(f"o{n}") or result.errors.get(f"k{n}"):
                    settled[i.id] = failed(error)
                elif ours := result.results.get(f"o{n}"):
                    found[i.id] = ours[0]
                elif result.results.get(f"k{n}"):
                    settled[i.id] = Outcome(replan=True)
        return found, settled

    def commands(self, env: SyncEnv, intent: WriteIntent, n: int, found: Any, current: Current) -> dict:
        if intent.op == "mark_deleted" or found is not None:  # a CRM deletion is only recorded
            return {}
        merged = _merged(intent)
        fields = {CRM_FIELDS[f]: getattr(merged, f) for f in intent.payload["fields"] if f in CRM_FIELDS}
        if intent.op == "create":
            return {f"p{n}": ("crm.product.add", {"fields": fields})}
        return {f"p{n}": ("crm.product.update", {"id": intent.target_id, "fields": fields})} if fields else {}

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
        if f"p{n}" in commands and f"p{n}" in result.errors:
            return failed(result.errors[f"p{n}"])
        if intent.op == "mark_deleted":
            return Outcome(target_id=intent.target_id)
        if found is not None:
            return Outcome(target_id=str(found["ID"]), seen=crm_seen(found, dirty=False), adopted=True)
        seen = current.get(intent.target_id or "")
        product_id = str(result.results[f"p{n}"]) if intent.op == "create" else str(intent.target_id)
        row = {
            **(seen.raw if seen else {}),
            **commands.get(f"p{n}", ("", {"fields": {}}))[1]["fields"],
            "ID": product_id,
        }
        return Outcome(target_id=product_id, seen=crm_seen(row, dirty=False))


TOY = EntitySpec(
    key=KEY,
    model=ToyItem,
    noun=("игрушечных товаров", "toy items"),
    identity_key=identity_key,
    key_field="article",
    content_hash=content_hash,
    validate=validate,
    tombstone=tombstone,
    merge_rules=lambda _mapping: None,
    merge=merge,
    link_slots={"crm": "crm_id", "onec": "onec_ref"},
    readers={
        "crm": read_products,
        "onec": OneCScan(
            KEY, ONEC_SET, lambda _m: ONEC_SELECT, lambda _env, rows: [onec_seen(r) for r in rows]
        ),
    },
    writers={"onec": OneCItemWriter(), "crm": CrmProductWriter()},
)

TOY_REF = EntityRef(
    name="toy_items", key=KEY, asset_uri="crm1c://toy_items", load_mapping=lambda: None, spec=lambda: TOY
)
