"""Counterparties into 1C ``Catalog_Контрагенты``, one object per request in the engine's pool.

A branch needs its head's Ref_Key: the known one, or the one non-branch counterparty with its ИНН in 1C
(the head may be created by the same load step: the branch then waits for the step's last pass).
"""

from __future__ import annotations

from typing import Any

from crm1c.clients.odata_filter import F
from crm1c.domain.counterparty import Counterparty
from crm1c.domain.counterparty_codec import CodecError, to_onec
from crm1c.domain.issues import DependencyPending
from crm1c.staging import SeenInput, WriteIntent
from crm1c.sync.counterparties.records import ONEC_SET, onec_seen
from crm1c.sync.runtime import SyncEnv


class OneCCounterpartyWriter:
    """:class:`~crm1c.sync.spec.OneCWriter` of counterparties."""

    def entity_set(self, merged: Any) -> str:
        return ONEC_SET

    def prepare(self, env: SyncEnv, intents: list[WriteIntent]) -> set[int]:
        return set()  # each write asks for what it needs itself; nothing waits for another write

    def body(
        self, env: SyncEnv, intent: WriteIntent, merged: Counterparty, current: dict | None
    ) -> dict[str, Any]:
        try:
            head = _head_ref(env, merged)
            if current is None:
                return to_onec(merged, env.mapping, head)
            return to_onec(merged, env.mapping, head, only=intent.payload["fields"], current=current)
        except CodecError as exc:
            if exc.issue.code == "head_required":
                raise DependencyPending(exc.issue) from None
            raise

    def find(self, env: SyncEnv, merged: Counterparty) -> tuple[dict | None, list[dict]]:
        """Live counterparties in 1C with the same ИНН and КПП: ``(ours, others)``. ``ours`` is the one an
        earlier attempt created (tagged with our CRM id; untagged only if ``merged`` has no CRM id)."""
        flt = (F("ИНН") == merged.inn) & (F("КПП") == (merged.kpp or ""))
        rows = [r for r in env.onec.list_all(ONEC_SET, filter=flt) if not r.get("DeletionMark")]
        if not merged.crm_id:
            return (rows[0], []) if len(rows) == 1 else (None, rows)
        tag = f"{env.mapping.links.onec.prefix}{merged.crm_id}"
        tagged = [r for r in rows if tag in str(r.get(env.mapping.links.onec.attribute) or "").split()]
        others = [r for r in rows if r not in tagged]
        return (tagged[0] if len(tagged) == 1 else None), others

    def seen(self, env: SyncEnv, row: dict[str, Any]) -> SeenInput:
        return onec_seen(row, env.mapping, dirty=False)


def _head_ref(env: SyncEnv, cp: Counterparty) -> str | None:
    """A branch's head in 1C: its known Ref_Key, or the one non-branch counterparty with the same ИНН."""
    if cp.kind != "branch" or cp.head_ref:
        return cp.head_ref
    heads = [
        r
        for r in env.onec.list_all(
            ONEC_SET,
            select=["Ref_Key", "DeletionMark"],
            filter=(F("ИНН") == cp.inn) & ~F("ОбособленноеПодразделение"),
        )
        if not r.get("DeletionMark")
    ]
    return str(heads[0]["Ref_Key"]) if len(heads) == 1 else None
