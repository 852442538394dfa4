"""The base of every crm1c sync operator: one step of one entity's sync, run through the engine.

What a step needs is built here, from Airflow Connections only: the validated mapping, the staging
repository (``StagingHook``), the clients of the systems the step talks to (``Bitrix24Hook`` /
``OneCODataHook``, built by the subclasses), a :class:`~crm1c.sync.runtime.SyncEnv`. The engine
(:mod:`crm1c.sync.pipeline`) does the work; the operator turns its outcome into task states:

* an invalid mapping or task parameter, bad credentials (:class:`~crm1c.clients.errors.AuthError`) →
  :class:`AirflowFailException` (no retry could fix them);
* writes left unconfirmed → :class:`AirflowException` (the retry looks them up before writing again);
* otherwise the step's counters are returned (a small dict: the XCom) and kept in the staging run stats.

In a DAG that starts with the rollout gate (:class:`~crm1c.operators.rollout.RolloutGateOperator`), each step
obeys the run policy the gate returned: a dry run (``shadow``), a pilot filter, no writes to a system.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from crm1c.operators._params import as_bool, early
from crm1c.sync.entities import EntityRef
from crm1c.sync.entities import entity as entity_ref

if TYPE_CHECKING:
    from airflow.sdk import Context

    from crm1c.hooks.staging import StagingHook
    from crm1c.sync.runtime import SyncEnv

#: Task parameters that are :class:`SyncEnv` fields (the others, e.g. ``mode``, go to the step itself).
_ENV_FIELDS = ("dry_run", "onec_pool", "pilot")
#: The task id of the rollout gate, the first task of an entity DAG.
ROLLOUT_GATE = "rollout_gate"


class SyncStepOperator(BaseOperator):
    """One step of the sync of ``entity`` (subclasses say which: extract, plan, load, publish).

    :param entity: the entity, as in DAG ids (``"counterparties"``); an unknown name fails at parse time.
    :param staging_conn_id: the staging database connection (templated).
    :param dry_run: plan and report, write nothing (templated: ``"{{ params.dry_run }}"``).
    :param on_failure_callback: when neither the task nor the DAG's ``default_args`` give one: the crm1c
        failure notifiers (:func:`crm1c.notify.failure_notifiers`: e-mail and Slack to on-call).
    """

    template_fields: Sequence[str] = ("staging_conn_id", "dry_run")
    #: Shadows ``BaseOperator.dry_run()``, an Airflow 2 template-rendering helper Airflow 3 never calls:
    #: the DAG param, the keyword and the rendered field keep one name.
    dry_run: bool | str  # type: ignore[assignment]
    ui_color = "#e8f1fb"
    #: The external system the step talks to (``"crm"`` | ``"onec"``), None for staging only.
    system: ClassVar[str | None] = None
    #: Whether the step's counters go to the staging run stats (publish reads them instead).
    record_stats: ClassVar[bool] = True

    def __init__(
        self,
        *,
        entity: str = "counterparties",
        staging_conn_id: str = "crm1c_staging",
        dry_run: bool | str = False,
        **kwargs: Any,
    ) -> None:
        _ = entity_ref(entity)  # an unknown entity fails when the DAG is parsed
        super().__init__(**with_failure_alerts(kwargs, entity))
        self.entity = entity
        self.staging_conn_id = staging_conn_id
        self.dry_run = early(dry_run, as_bool)

    @cached_property
    def staging_hook(self) -> StagingHook:
        from crm1c.hooks.staging import StagingHook

        return StagingHook(self.staging_conn_id)

    # -- what subclasses provide ------------------------------------------------------------------

    def clients(self) -> dict[str, Any]:
        """The clients this step needs, as :class:`SyncEnv` fields (``crm=``, ``onec=``)."""
        return {}

    def checked_params(self) -> dict[str, Any]:
        """The rendered task parameters, typed and validated (:class:`ValueError` names a bad one)."""
        return {"dry_run": as_bool(self.dry_run)}

    def run_step(self, ref: EntityRef, env: SyncEnv, params: dict[str, Any]) -> dict[str, Any]:
        """Call the engine (:mod:`crm1c.sync.pipeline`); return the step's counters."""
        raise NotImplementedError

    # -- the run ----------------------------------------------------------------------------------

    def execute(self, context: Context) -> dict[str, Any]:
        ref = entity_ref(self.entity)
        params = self._params()
        params |= self._rollout(ref, context, params)
        mapping = self._mapping(ref)
        staging = self.staging_hook.get_staging()
        try:
            env = self._env(staging, mapping, str(context["run_id"]), params)
            result = self._run(ref, env, params)
        finally:
            staging.engine.dispose()
        left = sum(v for k, v in env.counters.items() if k.endswith("_left_pending"))
        if left:
            raise AirflowException(
                f"{left} write(s) could not be confirmed; the retry looks them up before writing"
            )
        counts = {k: v for k, v in result.items() if not isinstance(v, list)}  # lists: in the XCom
        self.log.info("%s %s: %s", ref.name, self.task_id, counts)
        return result

    def _rollout(self, ref: EntityRef, context: Context, params: dict[str, Any]) -> dict[str, Any]:
        """What the rollout gate's policy adds to the parameters: ``policy``, ``dry_run`` (also when the
        run asked for one), ``pilot`` (the engine's record filter). Nothing in a DAG without a gate."""
        from crm1c.rollout import RunPolicy, pilot_predicate

        if not self.has_dag() or ROLLOUT_GATE not in self.dag.task_ids:
            return {}
        data = context["ti"].xcom_pull(task_ids=ROLLOUT_GATE)
        if not data:
            raise AirflowFailException(f"the {ROLLOUT_GATE} task left no run policy: clear the whole run")
        policy = RunPolicy.from_xcom(data)
        out: dict[str, Any] = {"policy": policy, "dry_run": params["dry_run"] or policy.dry_run}
        if policy.pilot_filter is not None:
            match = ref.spec().pilot_match
            if match is None:
                raise AirflowFailException(f"{ref.name} cannot run a pilot (it has no pilot filter)")
            out["pilot"] = pilot_predicate(match, policy.pilot_filter)
        return out

    def _run(self, ref: EntityRef, env: SyncEnv, params: dict[str, Any]) -> dict[str, Any]:
        """The step, its clients closed and its counters kept in the run stats whatever happens (with the
        Bitrix24 client's request counters, when the step has one)."""
        from crm1c.watch.budget import rate_counters

        started = datetime.now(UTC)
        try:
            return dict(self.run_step(ref, env, params))
        except Exception as exc:
            _fail_fast_on_auth(exc)
            raise
        finally:
            self._close(env)
            if env.crm is not None:  # the rate budget check at publish reads them (crm1c.watch.budget)
                env.counters.update(rate_counters(env.crm.stats.snapshot()))
            if self.record_stats:
                env.staging.record_run_stats(
                    env.run_id, ref.key, self.task_id, started, datetime.now(UTC), dict(env.counters)
                )

    def _params(self) -> dict[str, Any]:
        try:
            return self.checked_params()
        except ValueError as exc:
            raise AirflowFailException(f"task {self.task_id}: bad parameter: {exc}") from None

    @staticmethod
    def _mapping(ref: EntityRef) -> Any:
        from crm1c.mapping.loader import MappingError

        try:
            return ref.load_mapping()
        except MappingError as exc:
            raise AirflowFailException(f"the mapping is invalid, nothing was synced:\n{exc}") from None

    def _env(self, staging: Any, mapping: Any, run_id: str, params: dict[str, Any]) -> SyncEnv:
        from crm1c.sync.runtime import SyncEnv

        options = {k: v for k, v in params.items() if k in _ENV_FIELDS}
        return SyncEnv(staging=staging, mapping=mapping, run_id=run_id, **self.clients(), **options)

    @staticmethod
    def _close(env: SyncEnv) -> None:
        for client in (env.crm, env.onec):
            if client is not None:
                client.close()


def with_failure_alerts(kwargs: dict[str, Any], entity: str | None) -> dict[str, Any]:
    """``kwargs`` with the crm1c failure notifiers as ``on_failure_callback`` when neither the task nor the
    DAG's ``default_args`` give one."""
    if "on_failure_callback" in kwargs or "on_failure_callback" in (kwargs.get("default_args") or {}):
        return kwargs
    from crm1c.notify import failure_notifiers

    return kwargs | {"on_failure_callback": failure_notifiers(entity)}


def _fail_fast_on_auth(exc: BaseException) -> None:
    """Bad credentials: fail now, without retries (the client's message names what to check, no secret)."""
    from crm1c.clients.errors import AuthError

    if isinstance(exc, AuthError):
        raise AirflowFailException(str(exc)) from None
