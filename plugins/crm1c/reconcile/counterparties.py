"""The counterparty check: CRM companies ↔ staging's links (``xref``) ↔ 1C ``Catalog_Контрагенты``.

Per link: a side that is gone (``missing_in_onec`` / ``missing_in_crm``), a 1C deletion mark on a company
alive in the CRM (``deleted_in_onec``), compared requisites that differ (``requisite_differs``, one per
field, with staging's last agreed value). Per record without a link: a live record on the other side with
the same identity key (ИНН+КПП; ИНН for ИП) is an ``unmatched_twin``. Records held in quarantine are counted
and, unless the config includes them, left out of the differences.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crm1c.domain.counterparty import FIELD_TITLES, identity_key
from crm1c.reconcile.config import CounterpartyTolerances
from crm1c.reconcile.counterparty_sources import Entry, read_crm, read_onec
from crm1c.reconcile.env import ReconcileEnv
from crm1c.reconcile.links import SystemLinks
from crm1c.reconcile.model import CheckResult, Difference, RecordRef, System, Total

if TYPE_CHECKING:
    from crm1c.staging.models import Xref

NAME = "counterparties"
TITLE = ("Контрагенты", "counterparties")
KIND_TITLES = {
    "missing_in_onec": ("Связанного контрагента нет в 1С", "missing in 1C"),
    "missing_in_crm": ("Связанной компании нет в CRM", "missing in the CRM"),
    "deleted_in_onec": ("Помечен на удаление в 1С, жив в CRM", "deletion mark in 1C but alive in the CRM"),
    "requisite_differs": ("Реквизиты различаются", "requisite differs"),
    "unmatched_twin": ("Двойник по ИНН+КПП без связи", "unmatched twin (same ИНН+КПП, no link)"),
}
ABSENT = "нет / absent"
PRESENT = "есть / present"
MARKED = "помечен на удаление / deletion mark"


@dataclass
class Sides:
    """What the check compares: both systems' records, staging's links and quarantined ids."""

    crm: dict[str, Entry]
    onec: dict[str, Entry]
    links: list[Xref]
    quarantined: set[tuple[str, str]]  # (system, external id)


class CounterpartyCheck:
    """Reads both systems and staging, then :func:`compare` (see the module docstring)."""

    name = NAME

    def run(self, env: ReconcileEnv) -> CheckResult:
        from crm1c.sync.entities import entity  # the registry of synced entities (no engine import)

        ref = entity(NAME)
        mapping = ref.load_mapping()
        crm = read_crm(env.crm, mapping)
        onec = read_onec(env.onec, mapping, mapping.onec.entity_set)
        links = {x.id: x for x in env.staging.xrefs_of(ref.key, "crm", list(crm)).values()}
        links |= {x.id: x for x in env.staging.xrefs_of(ref.key, "onec", list(onec), role=None).values()}
        held = {(q.system, q.external_id) for q in env.staging.open_quarantine(ref.key)}
        sides = Sides(crm, onec, list(links.values()), held)
        urls = RecordRefs(env.links, mapping.onec.entity_set)
        return compare(sides, env.config.counterparties, urls)


def compare(sides: Sides, tolerances: CounterpartyTolerances, refs: RecordRefs) -> CheckResult:
    """The differences between ``sides`` and the totals, by the ``tolerances``."""
    found = _linked(sides, tolerances.compare, refs) + _twins(sides, refs)
    kept = found
    if not tolerances.include_quarantined:
        kept = [d for d in found if not _held(d, sides.quarantined)]
    return CheckResult(
        name=NAME,
        title=TITLE,
        totals=_totals(sides, skipped=len(found) - len(kept)),
        differences=kept,
        drift_kinds=frozenset(tolerances.drift_kinds),
        max_differences=tolerances.max_differences,
        kind_titles=KIND_TITLES,
        headline=f"{len(sides.links)} linked, CRM {len(sides.crm)}, 1C {len(sides.onec)}",
    )


def _linked(sides: Sides, fields: tuple[str, ...], refs: RecordRefs) -> list[Difference]:
    found: list[Difference] = []
    for link in sorted(sides.links, key=lambda x: (_order(x.crm_id), x.onec_id)):
        crm, onec = sides.crm.get(link.crm_id), sides.onec.get(link.onec_id)
        if crm is None and onec is None:
            continue  # deleted on both sides: nothing left to disagree
        base = link.base if isinstance(link.base, dict) else {}
        a = refs.crm(crm) if crm else refs.gone("crm", link.crm_id, base)
        b = refs.onec(onec) if onec else refs.gone("onec", link.onec_id, base)
        if onec is None:
            found.append(Difference("missing_in_onec", a, b, crm_value=PRESENT, onec_value=ABSENT))
        elif crm is None:
            if onec.live:  # a CRM deletion reaches 1C as a deletion mark
                found.append(Difference("missing_in_crm", a, b, crm_value=ABSENT, onec_value=PRESENT))
        elif onec.deleted:
            found.append(Difference("deleted_in_onec", a, b, crm_value=PRESENT, onec_value=MARKED))
        elif crm.cp is not None and onec.cp is not None:
            for name in fields:
                mine, theirs = getattr(crm.cp, name), getattr(onec.cp, name)
                if mine != theirs:
                    found.append(
                        Difference(
                            "requisite_differs", a, b, field=FIELD_TITLES[name][0],
                            crm_value=_text(mine), onec_value=_text(theirs), agreed=_text(base.get(name)),
                        )
                    )  # fmt: skip
    return found


def _twins(sides: Sides, refs: RecordRefs) -> list[Difference]:
    """Live records without a link whose identity key a live record of the other side has."""
    linked_crm = {x.crm_id: x.onec_id for x in sides.links}
    linked_onec = {x.onec_id: x.crm_id for x in sides.links}
    crm_keys, onec_keys = _by_key(sides.crm), _by_key(sides.onec)
    found: list[Difference] = []
    paired: set[tuple[str, str]] = set()
    for cid in sorted((c for c in sides.crm if c not in linked_crm), key=_order):
        for ref in onec_keys.get(_key(sides.crm[cid]) or "", []):
            paired.add((cid, ref))
            partner = linked_onec.get(ref)
            found.append(_twin(refs, sides.crm[cid], sides.onec[ref], partner and f"CRM {partner}"))
    for ref in sorted(r for r in sides.onec if r not in linked_onec and sides.onec[r].live):
        for cid in crm_keys.get(_key(sides.onec[ref]) or "", []):
            if (cid, ref) not in paired:
                partner = linked_crm.get(cid)
                found.append(_twin(refs, sides.crm[cid], sides.onec[ref], partner and f"1С {partner}"))
    return found


def _twin(refs: RecordRefs, crm: Entry, onec: Entry, linked_with: str | None) -> Difference:
    """``linked_with``: the record the linked one of the two twins is linked with, if one is."""
    key = _key(crm) or ""
    note = "нет связи / not linked"
    if linked_with:
        note = f"двойник связан с {linked_with} / the twin is linked with {linked_with}"
    return Difference(
        "unmatched_twin", refs.crm(crm), refs.onec(onec), field="ИНН+КПП",
        crm_value=key, onec_value=key, note=note,
    )  # fmt: skip


def _order(ext_id: str) -> tuple[int, str]:
    """CRM ids in numeric order (they are numbers without leading zeros)."""
    return len(ext_id), ext_id


def _by_key(entries: dict[str, Entry]) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = defaultdict(list)
    for ext_id, entry in entries.items():
        if entry.live and (key := _key(entry)):
            keys[key].append(ext_id)
    return keys


def _key(entry: Entry) -> str | None:
    return identity_key(entry.cp) if entry.cp is not None else None


def _held(diff: Difference, quarantined: set[tuple[str, str]]) -> bool:
    return any(r is not None and (r.system, r.id) in quarantined for r in (diff.crm, diff.onec))


def _totals(sides: Sides, skipped: int) -> list[Total]:
    linked_crm = {x.crm_id for x in sides.links}
    linked_onec = {x.onec_id for x in sides.links}
    held = [system for system, _ in sides.quarantined]
    return [
        Total("records", "Записей / records", crm=len(sides.crm), onec=len(sides.onec)),
        Total(
            "deletion_marks",
            "Помечено на удаление / deletion marks",
            onec=sum(e.deleted for e in sides.onec.values()),
        ),
        Total("linked", "Связано / linked", staging=len(sides.links)),
        Total(
            "not_linked",
            "Без связи / not linked",
            crm=sum(c not in linked_crm for c in sides.crm),
            onec=sum(r not in linked_onec and e.live for r, e in sides.onec.items()),
        ),
        Total(
            "unreadable",
            "Не читаются / unreadable",
            crm=sum(e.cp is None for e in sides.crm.values()),
            onec=sum(e.cp is None for e in sides.onec.values()),
        ),
        Total("quarantined", "На карантине / quarantined", crm=held.count("crm"), onec=held.count("onec")),
        Total(
            "quarantined_left_out",
            "Расхождения записей на карантине (не в отчёте) / of quarantined, left out",
            staging=skipped,
        ),
    ]


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


class RecordRefs:
    """Turns entries into :class:`RecordRef` s with their links into the systems."""

    def __init__(self, links: SystemLinks, entity_set: str) -> None:
        self.links, self.entity_set = links, entity_set

    def crm(self, entry: Entry) -> RecordRef:
        cp = entry.cp
        inn, kpp = (cp.inn, cp.kpp) if cp else (None, None)
        return RecordRef("crm", entry.id, entry.name, inn, kpp, self.links.crm_company(entry.id))

    def onec(self, entry: Entry) -> RecordRef:
        cp = entry.cp
        inn, kpp = (cp.inn, cp.kpp) if cp else (None, None)
        links = self.links.onec_object(self.entity_set, entry.id)
        return RecordRef("onec", entry.id, entry.name, inn, kpp, links)

    @staticmethod
    def gone(system: System, ext_id: str, base: dict[str, Any]) -> RecordRef:
        """A linked record no longer there: named as staging last agreed it, without links."""
        return RecordRef(system, ext_id, base.get("name"), base.get("inn"), base.get("kpp"))
