"""Drift made behind crm1c's back, as people do it in the two systems, and a record of what was read.

:func:`inject_drift` picks linked legal-entity pairs and changes them: one counterparty deleted in 1C (a
physical DELETE), one deletion-marked there, an ИНН typed over by hand in 1C, a company renamed in the CRM
(and one "renamed" with only spacing noise, which is no drift). :class:`RequestLog` tells which requests
both emulators answered in between.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import requests
import sqlalchemy as sa

from crm1c.staging.schema import xref
from tests.contour_harness import ONEC_PASSWORD, ONEC_USER
from tests.sync.harness import ONEC_SET, contour_admin, read_world, rename_in_crm

READ_SUFFIXES = (".list", ".get", ".fields")


def inn10(nine: str) -> str:
    """A valid 10-digit ИНН that starts with ``nine``."""
    weights = (2, 4, 10, 3, 5, 9, 4, 6, 8)
    return nine + str(sum(w * int(d) for w, d in zip(weights, nine, strict=True)) % 11 % 10)


@dataclass(frozen=True)
class Pair:
    crm_id: str
    onec_id: str
    name: str
    inn: str
    kpp: str


@dataclass(frozen=True)
class Drift:
    """What was changed: the pairs by what happened to them, and the values typed in."""

    deleted_in_onec: Pair
    marked_in_onec: Pair
    inn_edited: Pair
    renamed_in_crm: Pair
    noise_in_crm: Pair
    new_inn: str
    new_name: str


def linked_legal_pairs(staging: Any, crm: Any, onec: Any) -> list[Pair]:
    world = read_world(crm, onec)
    pairs = []
    for crm_id, onec_id in sorted(counterparty_pairs(staging), key=lambda p: int(p[0])):
        cp = world.onec.get(onec_id)
        if cp is not None and cp.kind == "legal" and cp.name and cp.inn and cp.kpp:
            pairs.append(Pair(crm_id, onec_id, cp.name, cp.inn, cp.kpp))
    return pairs


def counterparty_pairs(staging: Any) -> list[tuple[str, str]]:
    """(CRM id, 1C id) of the counterparty links (staging also links documents once invoices are synced)."""
    with staging.engine.connect() as conn:
        query = sa.select(xref.c.crm_id, xref.c.onec_id).where(xref.c.entity == "counterparty")
        return [(str(r.crm_id), str(r.onec_id)) for r in conn.execute(query)]


def inject_drift(contour: Any, staging: Any, crm: Any, onec: Any) -> Drift:
    deleted, marked, edited, renamed, noisy = linked_legal_pairs(staging, crm, onec)[:5]
    taken = {p.inn for p in linked_legal_pairs(staging, crm, onec)}
    new_inn = next(i for n in itertools.count(770100001) if (i := inn10(str(n))) not in taken)
    new_name = f"{renamed.name} (переименована в CRM)"
    delete_in_onec(contour, deleted.onec_id)
    current = onec.get(ONEC_SET, marked.onec_id, select=["DataVersion"])
    onec.mark_deleted(ONEC_SET, marked.onec_id, current["DataVersion"])
    current = onec.get(ONEC_SET, edited.onec_id, select=["DataVersion"])
    onec.update(ONEC_SET, edited.onec_id, {"ИНН": new_inn}, current["DataVersion"])
    rename_in_crm(crm, renamed.crm_id, new_name)
    rename_in_crm(crm, noisy.crm_id, "  " + noisy.name.replace(" ", "\u00a0 ", 1) + " ")
    return Drift(deleted, marked, edited, renamed, noisy, new_inn, new_name)


def delete_in_onec(
    contour: Any, ref: str, entity_set: str = ONEC_SET, *, check: bool = True
) -> requests.Response:
    """What an administrator does with «Удаление помеченных объектов»: the object is gone (1C ``DELETE``);
    ``check``: an error answer raises."""
    resp = requests.delete(
        f"{contour.onec_url}{entity_set}(guid'{ref}')",
        params={"$format": "json"},
        auth=(ONEC_USER.encode(), ONEC_PASSWORD.encode()),
        verify=str(contour.ca_file),
        timeout=10,
    )
    if check:
        resp.raise_for_status()
    return resp


class RequestLog:
    """The requests both emulators answered since :meth:`start`: 1C's request log, Bitrix24's per-method
    calls (batch sub-calls included)."""

    def __init__(self, contour: Any) -> None:
        self.contour = contour
        self.onec_mark = self._onec_last_id()
        self.bitrix_calls = self._bitrix_calls()

    def onec_requests(self) -> list[tuple[str, str]]:
        rows = contour_admin(self.contour, "onec", "requests?limit=100000")["requests"]
        return [(r["method"], r["path"]) for r in rows if r["id"] > self.onec_mark]

    def bitrix_methods(self) -> dict[str, int]:
        now = self._bitrix_calls()
        return {m: n - self.bitrix_calls.get(m, 0) for m, n in now.items() if n > self.bitrix_calls.get(m, 0)}

    def _onec_last_id(self) -> int:
        rows = contour_admin(self.contour, "onec", "requests?limit=1")["requests"]
        return int(rows[0]["id"]) if rows else 0

    def _bitrix_calls(self) -> dict[str, int]:
        methods = contour_admin(self.contour, "bitrix", "stats")["methods"]
        return {m: int(s["calls"]) for m, s in methods.items()}


def assert_read_only(log: RequestLog) -> None:
    """Only reads reached either system since ``log`` started."""
    onec = log.onec_requests()
    assert onec, "1C was read"
    assert {verb for verb, _ in onec} == {"GET"}, onec
    methods = log.bitrix_methods()
    assert methods, "the CRM was read"
    writes = [m for m in methods if m != "batch" and not m.endswith(READ_SUFFIXES)]
    assert not writes, f"Bitrix24 write methods called: {writes}"
