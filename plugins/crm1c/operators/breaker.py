"""The mass-change circuit breaker of an entity's sync: between plan and the loads, it lets an ordinary run
through and stops one that would change too many linked records until a person answers.

It is providers-standard's human-in-the-loop :class:`ApprovalOperator` (Airflow 3.3: the task waits in the
``awaiting_input`` state, no triggerer involved). The decision and the staging changes are plain Python
(:mod:`crm1c.watch.breaker`); on-call is told by e-mail and Slack (:func:`crm1c.notify.alerts.send_alert`)
before the task waits. A person answers in the UI (the run's *Required actions*: Approve / Reject) or
through the REST API (``PATCH .../taskInstances/<task>/-1/hitlDetails`` with
``{"chosen_options": ["Approve"]}``). Approve: the loads run. Reject, or no answer within
``mass_change_wait_hours``: the run's queued writes are abandoned (audited), the loads and publish are
skipped, and the next run plans the records again and asks again.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.hitl import ApprovalOperator

from crm1c.notify.config import load_alerts_config
from crm1c.operators.base import ROLLOUT_GATE, with_failure_alerts
from crm1c.sync.entities import entity as entity_ref

if TYPE_CHECKING:
    from airflow.sdk import Context

    from crm1c.hooks.staging import StagingHook
    from crm1c.rollout import RunPolicy
    from crm1c.watch.message import Message

#: The breaker's task id in an entity DAG.
BREAKER = "mass_change_breaker"


class MassChangeBreakerOperator(ApprovalOperator):
    """Weighs the changes ``plan`` queued (:func:`crm1c.watch.breaker.decide`); returns the verdict, or
    waits for Approve / Reject when it trips.

    :param entity: as in DAG ids (``"counterparties"``).
    :param plan_task_id: the plan task whose counters are weighed.
    :param staging_conn_id: the staging database connection (templated).
    """

    template_fields = (*ApprovalOperator.template_fields, "staging_conn_id")
    ui_color = "#fdecea"

    def __init__(
        self,
        *,
        entity: str = "counterparties",
        task_id: str = BREAKER,
        plan_task_id: str = "plan",
        staging_conn_id: str = "crm1c_staging",
        **kwargs: Any,
    ) -> None:
        ref = entity_ref(entity)  # an unknown entity fails when the DAG is parsed
        hours = load_alerts_config().thresholds.mass_change_wait_hours
        super().__init__(
            task_id=task_id,
            subject=f"Mass change in {ref.name}: approve the writes?",
            defaults=ApprovalOperator.REJECT,  # what a timeout answers
            response_timeout=timedelta(hours=hours) if hours else None,
            **with_failure_alerts(kwargs, entity),
        )
        self.entity, self.plan_task_id, self.staging_conn_id = ref.name, plan_task_id, staging_conn_id
        self.wait_hours = hours

    @cached_property
    def staging_hook(self) -> StagingHook:
        from crm1c.hooks.staging import StagingHook

        return StagingHook(self.staging_conn_id)

    def execute(self, context: Context) -> Any:
        from crm1c.watch import breaker
        from crm1c.watch.queries import linked_count

        policy = self._policy(context)
        if policy is not None and not (policy.writes_onec or policy.writes_crm):
            why = f"mode {policy.mode.value} writes nothing: no mass change to weigh"
            self.log.info("%s: %s", self.entity, why)
            return {"entity": self.entity, "trips": False, "why": why}
        planned = context["ti"].xcom_pull(task_ids=self.plan_task_id) or {}
        config = load_alerts_config()
        key, run_id = entity_ref(self.entity).key, str(context["run_id"])
        staging = self.staging_hook.get_staging()
        try:
            known = linked_count(staging, key) - int(planned.get("matched", 0))  # linked before this plan
            changes = int(planned.get("planned_changes_existing", 0))
            verdict = breaker.decide(self.entity, changes, known, config.thresholds)
            self.log.info("%s: %s; %s", self.entity, verdict.why, "WAITING" if verdict.trips else "go on")
            if not verdict.trips:
                return verdict.summary()
            intents = breaker.run_intents(staging, key, run_id)
            breaker.held(staging, key, run_id, verdict, intents)
        finally:
            staging.engine.dispose()
        self._alert(breaker.breaker_message(verdict, intents, self._links(context), self.wait_hours))
        self.subject = f"Mass change in {self.entity}: {changes} of {known} linked records would change"
        self.body = breaker.approval_text(verdict, self.wait_hours)
        return super().execute(context)  # writes the request and waits (awaiting_input)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        """The answer: Approve lets the loads run; Reject (or the timeout's default) abandons the run's
        writes, then the provider skips the rest of the run (it raises to do so: the staging work comes
        first)."""
        if "error" not in event:
            self.validate_chosen_options(event["chosen_options"])
            self._settle(context, event)
        super().execute_complete(context, event)
        return {"entity": self.entity, "trips": True, "approved": True, "by": _responder(event)}

    def _settle(self, context: Context, event: dict[str, Any]) -> None:
        """Lift the hold of the run's writes (Approve) or abandon them (Reject), audited."""
        from crm1c.watch import breaker

        approved, timed_out = event["chosen_options"] == [self.APPROVE], bool(event.get("timedout"))
        who, key, run_id = _responder(event), entity_ref(self.entity).key, str(context["run_id"])
        staging = self.staging_hook.get_staging()
        try:
            intents = breaker.run_intents(staging, key, run_id)
            if approved:
                breaker.approved(staging, key, run_id, who, intents)
            else:
                breaker.rejected(staging, key, run_id, who, intents, timed_out=timed_out)
        finally:
            staging.engine.dispose()
        outcome = "approved" if approved else f"rejected: {len(intents)} queued write(s) abandoned, none made"
        self.log.info("%s: the mass change was %s by %s", self.entity, outcome, who)

    def _policy(self, context: Context) -> RunPolicy | None:
        """The rollout gate's run policy (None in a DAG without the gate)."""
        from crm1c.rollout import RunPolicy

        if ROLLOUT_GATE not in self.dag.task_ids:
            return None
        data = context["ti"].xcom_pull(task_ids=ROLLOUT_GATE)
        return RunPolicy.from_xcom(data) if data else None

    def _links(self, context: Context) -> tuple[str, str]:
        """The request's page in Airflow's UI and its REST URL."""
        from airflow.sdk.configuration import conf

        from crm1c.watch.breaker import answer_url

        base = conf.get("api", "base_url", fallback="http://localhost:8080/").rstrip("/")
        api = answer_url(base, self.dag_id, str(context["run_id"]), self.task_id)
        return self.generate_link_to_ui_from_context(context=context, base_url=base), api

    def _alert(self, message: Message) -> None:
        from crm1c.notify.alerts import Alert, send_alert

        self.log.warning("%s", message.subject)
        sent = send_alert(Alert(message.subject, message.html, message.text))
        if not all(sent.values()):
            self.log.warning("on-call was not told on every channel: %s", sent)


def _responder(event: dict[str, Any]) -> str:
    """Who answered: the Airflow user, or ``timeout`` when the default answered for nobody."""
    if event.get("timedout"):
        return "timeout"
    return str((event.get("responded_by_user") or {}).get("name") or "?")
