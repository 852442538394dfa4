"""Writes a deal's payment fields with ``crm.deal.update`` and reads them back in the same batch request;
moves a fully paid smart invoice to its category's success stage (``crm.item.update``, read back too).

Each intent is two commands: the update of the changed fields and a ``crm.deal.get`` right after it (the
commands of a batch run in order). ``crm.deal.update`` answers ``true`` for a field the portal does not
define and drops its value (protocols C.9a), so the answer proves nothing: the deal read back does. A value
that did not stick holds the record with the field named; the intent is closed, and the next run, which
checks the fields at its start and creates a missing one, plans every deal again.

Nothing is ever created: a deal the CRM does not have is not written (the merge queues nothing for it). An
update is the same whatever happened before, so an update whose answer was lost is simply left pending and
sent again (or planned again when the deal read since shows it landed).
"""

from __future__ import annotations

from typing import Any

from crm1c.domain.deal_payment import SMART_INVOICE, DealPayment
from crm1c.domain.issues import Issue, IssueError
from crm1c.staging import WriteIntent
from crm1c.sync.engine.load_crm import failed
from crm1c.sync.payments.crm_deals import crm_seen, field_names, stuck, wire
from crm1c.sync.payments.crm_invoices import ENTITY_TYPE, SUCCESS, invoice_seen, number
from crm1c.sync.runtime import SyncEnv
from crm1c.sync.spec import Current, Outcome


class CrmDealWriter:
    """The :class:`~crm1c.sync.spec.CrmWriter` of payments."""

    def size(self, env: SyncEnv, intent: WriteIntent, current: Current) -> int:
        return 2

    def lookup(self, env: SyncEnv, intents: list[WriteIntent]) -> tuple[dict[int, Any], dict[int, Outcome]]:
        return {}, {}  # payments never create a deal

    def commands(self, env: SyncEnv, intent: WriteIntent, n: int, found: Any, current: Current) -> dict:
        if intent.op != "update" or not intent.target_id:
            raise IssueError(
                Issue(
                    "*",
                    "no_deal",
                    "Сделки нет в CRM: оплаты пишутся только в существующую сделку",
                    "The deal is not in the CRM: payments are only written to an existing deal",
                )
            )
        if intent.target_id.startswith(SMART_INVOICE):
            return _stage_commands(intent, n, current)
        names, record = field_names(env), _merged(intent)
        fields = {names[f]: wire(f, getattr(record, f)) for f in intent.payload["fields"] if f in names}
        return {
            f"u{n}": ("crm.deal.update", {"id": intent.target_id, "fields": fields}),
            f"g{n}": ("crm.deal.get", {"id": intent.target_id}),
        }

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
        if f"u{n}" in result.errors:
            return failed(result.errors[f"u{n}"])
        answer = result.results.get(f"g{n}")
        if f"g{n}" in result.errors or not isinstance(answer, dict):
            error = result.errors.get(f"g{n}")
            return Outcome(retry=f"the record could not be read back: {error or 'no answer'}")
        if (intent.target_id or "").startswith(SMART_INVOICE):
            return _stage_outcome(intent, answer.get("item") or {}, commands[f"u{n}"][1]["fields"]["stageId"])
        names, record = field_names(env), _merged(intent)
        ignored = [
            f
            for f in intent.payload["fields"]
            if f in names and not stuck(f, answer, names, getattr(record, f))
        ]
        if ignored:
            shown = ", ".join(names[f] for f in ignored)
            return Outcome(
                issue=Issue(
                    ignored[0],
                    "crm_field_ignored",
                    f"Битрикс24 не сохранил {shown} в сделке {intent.target_id}: поля нет на портале "
                    "(или оно другого типа); следующий обмен создаст недостающее поле",
                    f"Bitrix24 did not keep {shown} on deal {intent.target_id}: the portal has no such "
                    "field (or it has another type); the next run creates it",
                )
            )
        return Outcome(target_id=intent.target_id, seen=crm_seen(answer, names, dirty=False))


def _stage_commands(intent: WriteIntent, n: int, current: Current) -> dict:
    """A fully paid smart invoice to its category's success stage, and the item read back."""
    seen = current.get(intent.target_id or "")
    success = seen.raw.get(SUCCESS) if seen is not None else None
    if not success:
        raise IssueError(
            Issue(
                "paid_stage",
                "no_success_stage",
                f"У направления счёта {intent.target_id} нет успешной стадии (crm.status.list, SEMANTICS S)",
                f"The category of smart invoice {intent.target_id} has no success stage (SEMANTICS S)",
            )
        )
    item = {"entityTypeId": ENTITY_TYPE, "id": number(intent.target_id or "")}
    return {
        f"u{n}": ("crm.item.update", {**item, "fields": {"stageId": success}}),
        f"g{n}": ("crm.item.get", item),
    }


def _stage_outcome(intent: WriteIntent, item: dict, success: str) -> Outcome:
    stage = item.get("stageId")
    if stage != success:
        return Outcome(
            issue=Issue(
                "paid_stage",
                "crm_stage_refused",
                f"Счёт {intent.target_id} оплачен, но Битрикс24 оставил его на стадии {stage}",
                f"Smart invoice {intent.target_id} is paid but Bitrix24 kept it in stage {stage}",
            )
        )
    return Outcome(target_id=intent.target_id, seen=invoice_seen(item, success, dirty=False))


def _merged(intent: WriteIntent) -> DealPayment:
    p = intent.payload
    return DealPayment(**p["merged"]).model_copy(
        update={"crm_id": p.get("crm_id"), "onec_ref": p.get("onec_id")}
    )
