"""The two directions of the ``rollback_switch``: :class:`RollbackOperator` and :class:`ResumeOperator`.

Both take the run's ``action`` and run only for their own (the other task is skipped), so one manual DAG
holds both. The REST calls are ``AirflowApiHook``'s, staging is ``StagingHook``'s, 1C (compensation only)
``OneCODataHook``'s; the steps are :mod:`crm1c.rollback` (plain Python). The alert (e-mail and Slack to
on-call, :func:`crm1c.notify.alerts.send_alert`) is redacted; the XCom holds names, modes and counts only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from crm1c.operators._params import as_bool, early, is_template
from crm1c.operators.base import with_failure_alerts
from crm1c.rollback.request import (
    as_action,
    as_entities,
    as_since,
    as_target_mode,
    compensation_since,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from crm1c.hooks.airflow_api import AirflowApiHook
    from crm1c.hooks.onec import OneCODataHook
    from crm1c.hooks.staging import StagingHook
    from crm1c.rollback.report import Message, Who
    from crm1c.rollback.switch import SwitchEnv


class SwitchOperator(BaseOperator):
    """One direction of the switch for ``entities`` (as in DAG ids; their DAGs are ``sync_<entity>``).

    :param action: the run's action (templated: ``"{{ params.action }}"``); another action skips the task.
    :param entities: names from :data:`crm1c.sync.entities.ENTITY_NAMES` (templated).
    :param airflow_conn_id: the Airflow REST API connection (templated).
    :param staging_conn_id: the staging database (templated).
    :param on_failure_callback: default: the crm1c failure notifiers (e-mail and Slack to on-call).
    """

    template_fields: Sequence[str] = ("action", "entities", "airflow_conn_id", "staging_conn_id")
    ui_color = "#fbe9e7"
    #: The action this operator carries out.
    action_name: ClassVar[str]

    def __init__(
        self,
        *,
        action: str,
        entities: Sequence[str] | str,
        airflow_conn_id: str = "airflow_api",
        staging_conn_id: str = "crm1c_staging",
        **kwargs: Any,
    ) -> None:
        super().__init__(**with_failure_alerts(kwargs, None))
        self.action = early(action, as_action)  # a bad literal fails when the DAG is parsed
        self.entities = early(entities, as_entities)
        self.airflow_conn_id = airflow_conn_id
        self.staging_conn_id = staging_conn_id

    @cached_property
    def airflow_hook(self) -> AirflowApiHook:
        from crm1c.hooks.airflow_api import AirflowApiHook

        return AirflowApiHook(self.airflow_conn_id)

    @cached_property
    def staging_hook(self) -> StagingHook:
        from crm1c.hooks.staging import StagingHook

        return StagingHook(self.staging_conn_id)

    def execute(self, context: Context) -> dict[str, Any]:
        from crm1c.notify.alerts import Alert, send_alert
        from crm1c.rollback.report import Who

        action = self._checked(lambda: as_action(self.action))
        if action != self.action_name:
            self.log.info("action is %s; this task does the %s: skipped", action, self.action_name)
            raise AirflowSkipException
        entities = self._checked(lambda: as_entities(self.entities))
        options = self._checked(self.options)
        run_id = str(context["run_id"])
        actor = context["dag_run"].triggering_user_name or "airflow"
        who = Who(actor, datetime.now(UTC), run_id, _run_url(context))
        staging = self.staging_hook.get_staging()
        try:
            env = self._env(staging, actor, run_id)
            message, summary = self.switch(env, entities, who, options)
        finally:
            staging.engine.dispose()
        self.log.info("%s", message.text)
        sent = send_alert(Alert(message.subject, message.html, message.text))
        if not all(sent.values()):
            self.log.warning("on-call was not told on every channel: %s", sent)
        return {"action": action, "entities": summary, "alert": sent}

    def options(self) -> dict[str, Any]:
        """The action's own parameters, rendered, typed and checked (:class:`ValueError`)."""
        return {}

    def switch(
        self, env: SwitchEnv, entities: list[str], who: Who, options: dict[str, Any]
    ) -> tuple[Message, dict[str, dict[str, Any]]]:
        """Carry out the action for every entity; the alert and the XCom summary per entity."""
        raise NotImplementedError

    def _checked(self, check: Callable[[], Any]) -> Any:
        try:
            return check()
        except ValueError as exc:
            raise AirflowFailException(
                f"task {self.task_id}: bad parameter, nothing was changed: {exc}"
            ) from None

    def _env(self, staging: Any, actor: str, run_id: str) -> SwitchEnv:
        from crm1c.rollback.switch import SwitchEnv
        from crm1c.rollout import active_profile, load_rollout_defaults

        defaults, profile = load_rollout_defaults(), active_profile()
        return SwitchEnv(
            staging=staging, dags=self.airflow_hook, actor=actor, run_id=run_id,
            default_mode=lambda entity: defaults.mode(entity, profile).value, onec=self._onec,
        )  # fmt: skip

    def _onec(self) -> Any:
        raise AirflowFailException(f"task {self.task_id} does not write to 1C")


class RollbackOperator(SwitchOperator):
    """Pause each entity's DAG, set ``target_mode`` (the mode before is remembered in the audit log),
    compensate in 1C if asked, alert on-call.

    :param target_mode: ``read_only`` (1C → CRM only) or ``off`` (templated).
    :param since: ISO timestamp; compensation undoes what crm1c created in 1C from then on (templated).
    :param compensate: put deletion marks on those objects, posted documents only listed (templated).
    :param onec_conn_id: the 1C OData connection, used only to compensate (templated).
    """

    template_fields: Sequence[str] = (
        *SwitchOperator.template_fields, "target_mode", "since", "compensate", "onec_conn_id",
    )  # fmt: skip
    action_name = "rollback"

    def __init__(
        self,
        *,
        target_mode: str = "read_only",
        since: str | None = None,
        compensate: bool | str = False,
        onec_conn_id: str = "onec_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.target_mode = early(target_mode, as_target_mode)
        self.since = since
        self.compensate = early(compensate, lambda v: as_bool(v, "compensate"))
        if not (is_template(since) or is_template(compensate)):
            compensation_since(as_bool(compensate, "compensate"), as_since(since))
        self.onec_conn_id = onec_conn_id

    @cached_property
    def onec_hook(self) -> OneCODataHook:
        from crm1c.hooks.onec import OneCODataHook

        return OneCODataHook(self.onec_conn_id)

    def options(self) -> dict[str, Any]:
        compensate = as_bool(self.compensate, "compensate")
        return {
            "mode": as_target_mode(self.target_mode),
            "since": compensation_since(compensate, as_since(self.since)),
        }

    def switch(
        self, env: SwitchEnv, entities: list[str], who: Who, options: dict[str, Any]
    ) -> tuple[Message, dict[str, dict[str, Any]]]:
        from crm1c.rollback.report import rollback_message
        from crm1c.rollback.switch import roll_back

        mode, since = options["mode"], options["since"]
        done = []
        for entity in entities:
            done.append(roll_back(env, entity, mode, since))
            self.log.info("%s rolled back: %s", entity, done[-1].summary())
        return rollback_message(who, done, since), {r.entity: r.summary() for r in done}

    def _onec(self) -> Any:
        return self.onec_hook.get_client()


class ResumeOperator(SwitchOperator):
    """Set each entity's mode back to what it was before the rollback (``on`` without one), unpause its DAG,
    trigger a catch-up run, alert on-call."""

    action_name = "resume"

    def switch(
        self, env: SwitchEnv, entities: list[str], who: Who, options: dict[str, Any]
    ) -> tuple[Message, dict[str, dict[str, Any]]]:
        from crm1c.rollback.report import resume_message
        from crm1c.rollback.switch import resume

        done = []
        for entity in entities:
            done.append(resume(env, entity))
            self.log.info("%s resumed, DAG unpaused: %s", entity, done[-1].summary())
        return resume_message(who, done), {r.entity: r.summary() for r in done}


def _run_url(context: Context) -> str:
    """The run's page in the Airflow UI (both directions' tasks, their logs)."""
    from airflow.sdk.configuration import conf

    from crm1c.notify.message import build_run_url

    base = conf.get("api", "base_url", fallback="http://localhost:8080/")
    return build_run_url(base, context["dag"].dag_id, str(context["run_id"]))
