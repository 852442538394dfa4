"""Writes a deal's payment fields with ``crm.deal.update`` and reads them back in the same batch request;
moves a fully paid smart invoice to its category's success stage (``crm.item.update``, read back too).

A deal is one command, the update of the changed fields; after the updates of a batch request (up to 49)
one ``crm.deal.list`` of their IDs reads them all back (the commands of a batch run in order). A smart
invoice is two: its update and a ``crm.item.get``. ``crm.deal.update`` answers ``true`` for a field the
portal does not define and drops its value (protocols C.9a), so the answer proves nothing: the deal read
back does (a deal missing from the read-back is sent again, as after a lost answer). A value
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
from crm1c.sync.payments.crm_deals import crm_seen, deal_select, field_names, stuck, wire
from crm1c.sync.payments.crm_invoices import ENTITY_TYPE, SUCCESS, invoice_seen, number
from crm1c.sync.runtime import SyncEnv
from crm1c.sync.spec import Current, Outcome

READ_BACK = "deals"  # the batch key of the request's crm.deal.list (an intent's keys end in its number)


class CrmDealWriter:
    """The :class:`~crm1c.sync.spec.CrmWriter` of payments."""

    shared_size = 1  # the read-back of the request's deals

    def size(self, env: SyncEnv, intent: WriteIntent, current: Current) -> int:
        return 2 if _invoice(intent) else 1

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
        if _invoice(intent):
            return _stage_commands(intent, n, current)
        names, record = field_names(env), _merged(intent)
        fields = {names[f]: wire(f, getattr(record, f)) for f in intent.payload["fields"] if f in names}
        return {f"u{n}": ("crm.deal.update", {"id": intent.target_id, "fields": fields})}

    def shared(self, env: SyncEnv, batch: dict[str, Any]) -> dict[str, Any]:
        """One ``crm.deal.list`` of the deals the request updates (none: nothing)."""
        ids = [params["id"] for method, params in batch.values() if method == "crm.deal.update"]
        if not ids:
            return {}
        params = {"filter": {"ID": ids}, "select": deal_select(env), "start": -1}  # an array is IN
        return {READ_BACK: ("crm.deal.list", params)}

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
        if _invoice(intent):
            return _stage_outcome(intent, n, commands, result)
        row = _read_back(result, intent.target_id or "")
        if row is None:
            return _unread(result.errors.get(READ_BACK))
        names, record = field_names(env), _merged(intent)
        ignored = [
            f for f in intent.payload["fields"] if f in names and not stuck(f, row, names, getattr(record, f))
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
        return Outcome(target_id=intent.target_id, seen=crm_seen(row, names, dirty=False))


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


def _stage_outcome(intent: WriteIntent, n: int, commands: dict, result: Any) -> Outcome:
    answer = result.results.get(f"g{n}")
    if f"g{n}" in result.errors or not isinstance(answer, dict):
        return _unread(result.errors.get(f"g{n}"))
    item, success = answer.get("item") or {}, commands[f"u{n}"][1]["fields"]["stageId"]
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


def _read_back(result: Any, deal_id: str) -> dict | None:
    """The deal's row in the request's read-back (None: not there)."""
    return next((r for r in result.results.get(READ_BACK) or [] if str(r.get("ID")) == deal_id), None)


def _unread(error: Any) -> Outcome:
    """The write may have landed but was not read back: sent again."""
    return Outcome(retry=f"the record could not be read back: {error or 'no answer'}")


def _invoice(intent: WriteIntent) -> bool:
    return (intent.target_id or "").startswith(SMART_INVOICE)


def _merged(intent: WriteIntent) -> DealPayment:
    p = intent.payload
    return DealPayment(**p["merged"]).model_copy(
        update={"crm_id": p.get("crm_id"), "onec_ref": p.get("onec_id")}
    )
