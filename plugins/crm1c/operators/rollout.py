"""Rollout modes in Airflow: the gate every entity DAG starts with, and the task that changes a mode.

* :class:`RolloutGateOperator` (``task_id="rollout_gate"``) reads the entity's effective mode (set in
  staging, else the default of ``include/mappings/rollout.yaml``), logs what it means for this run in
  English and Russian and returns the run policy (the XCom the sync steps obey,
  :meth:`SyncStepOperator._rollout`). ``off`` skips the run: every downstream task is skipped.
* :class:`RolloutSetModeOperator` stores a new mode (the ``rollout`` DAG), audited with who triggered it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from crm1c.operators.base import ROLLOUT_GATE, SyncStepOperator
from crm1c.sync.entities import ENTITY_NAMES
from crm1c.sync.entities import entity as entity_ref

if TYPE_CHECKING:
    from airflow.sdk import Context

    from crm1c.rollout import PilotFilter, RolloutDefaults


class RolloutGateOperator(SyncStepOperator):
    """The first task of an entity's DAG: enforces the entity's rollout mode for this run.

    :param posts_documents: whether the entity posts 1C documents (``review`` leaves them unposted; for an
        entity without documents the log says that ``review`` writes as ``on``).
    """

    ui_color = "#f3e8fb"

    def __init__(self, *, task_id: str = ROLLOUT_GATE, posts_documents: bool = False, **kwargs: Any) -> None:
        super().__init__(task_id=task_id, **kwargs)
        self.posts_documents = posts_documents

    def execute(self, context: Context) -> dict[str, Any]:
        from crm1c.rollout import Mode, active_profile, effective_policy

        dry_run = self._params()["dry_run"]
        defaults = _defaults()
        staging = self.staging_hook.get_staging()
        try:
            policy = effective_policy(
                staging,
                self.entity,
                defaults,
                profile=active_profile(),
                dry_run=dry_run,
                posts_documents=self.posts_documents,
            )
        except ValueError as exc:  # a stored pilot without a filter, an unknown profile
            raise AirflowFailException(str(exc)) from None
        finally:
            staging.engine.dispose()
        english, russian = policy.explain()
        self.log.info("%s (%s)", english, policy.source)
        self.log.info("%s", russian)
        if policy.mode is Mode.OFF:
            raise AirflowSkipException(english)
        if policy.pilot_filter is not None:
            _pilot_filter(self.entity, policy.pilot_filter)
        return policy.to_xcom()


class RolloutSetModeOperator(BaseOperator):
    """Sets an entity's rollout mode; the audit log keeps who (the user who triggered the run), when and
    from → to. Returns the change: entity, from, mode, pilot_filter, changed_by.

    :param entity: as in DAG ids (templated: ``"{{ params.entity }}"``).
    :param mode: off | shadow | pilot | read_only | review | on (templated).
    :param pilot_filter: for ``pilot`` only, e.g. ``{"inn": ["7707083893"]}`` (templated; the DAG renders
        native objects).
    :param staging_conn_id: the staging database connection.
    """

    template_fields: Sequence[str] = ("entity", "mode", "pilot_filter", "staging_conn_id")
    ui_color = "#f3e8fb"

    def __init__(
        self,
        *,
        entity: str,
        mode: str,
        pilot_filter: Any = None,
        staging_conn_id: str = "crm1c_staging",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.entity, self.mode, self.pilot_filter = entity, mode, pilot_filter
        self.staging_conn_id = staging_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        from crm1c.hooks.staging import StagingHook
        from crm1c.rollout import Mode, active_profile

        entity, mode, pilot_filter = self._checked()
        actor = _actor(context)
        defaults = _defaults()
        staging = StagingHook(self.staging_conn_id).get_staging()
        try:
            old = staging.get_mode(entity)
            new = staging.set_mode(
                entity, mode.value, pilot_filter=pilot_filter, actor=actor, run_id=str(context["run_id"])
            )
        finally:
            staging.engine.dispose()
        before = (
            old.mode if old else f"{defaults.mode(entity, active_profile())} (default of {defaults.source})"
        )
        shown = f" with pilot filter {pilot_filter}" if mode is Mode.PILOT else ""
        self.log.info("%s: mode %s → %s%s, set by %s", entity, before, new.mode, shown, actor)
        return {"entity": entity, "from": before, "mode": new.mode, "pilot_filter": new.pilot_filter} | {
            "changed_by": actor
        }

    def _checked(self) -> tuple[str, Any, PilotFilter | None]:
        """The rendered entity, mode and filter, validated; a bad one fails the task naming it."""
        from crm1c.rollout import Mode

        if self.entity not in ENTITY_NAMES:
            raise AirflowFailException(
                f"entity must be one of {', '.join(ENTITY_NAMES)}, got {self.entity!r}"
            )
        try:
            mode = Mode(self.mode)
        except ValueError:
            known = ", ".join(m.value for m in Mode)
            raise AirflowFailException(f"mode must be one of {known}, got {self.mode!r}") from None
        if mode is Mode.PILOT:
            return self.entity, mode, _pilot_filter(self.entity, self.pilot_filter)
        if self.pilot_filter:
            raise AirflowFailException(
                f"pilot_filter is only for mode pilot (mode is {mode.value}); leave it {{}}"
            )
        return self.entity, mode, None


def _defaults() -> RolloutDefaults:
    from crm1c.rollout import RolloutConfigError, load_rollout_defaults

    try:
        return load_rollout_defaults()
    except RolloutConfigError as exc:
        raise AirflowFailException(f"the rollout defaults are invalid:\n{exc}") from None


def _pilot_filter(entity: str, value: Any) -> PilotFilter:
    """``value`` checked against the keys the entity's pilot understands."""
    from crm1c.rollout import check_pilot_filter

    match = entity_ref(entity).spec().pilot_match
    if match is None:
        raise AirflowFailException(f"{entity} cannot run a pilot (it has no pilot filter)")
    try:
        return check_pilot_filter(value, match.keys)
    except ValueError as exc:
        raise AirflowFailException(str(exc)) from None


def _actor(context: Context) -> str:
    """Who triggered the run (Airflow's user), else ``conf["actor"]``, else ``"airflow"``."""
    run = context["dag_run"]
    conf = getattr(run, "conf", None) or {}
    return str(getattr(run, "triggering_user_name", None) or conf.get("actor") or "airflow")
