"""The steps of an entity's sync, whatever the system: extract, plan, load, publish.

:class:`ExtractStep` and :class:`LoadStep` need a system (Bitrix24 or 1C: see the ``bitrix24`` and
``onec`` modules); :class:`SyncPlanOperator` and :class:`SyncPublishOperator` talk only to staging.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import Asset

from crm1c.operators._params import as_mode, early
from crm1c.operators.base import SyncStepOperator
from crm1c.sync.entities import entity

if TYPE_CHECKING:
    from airflow.sdk import Context

    from crm1c.hooks.staging import StagingHook
    from crm1c.sync.entities import EntityRef
    from crm1c.sync.runtime import SyncEnv


class ExtractStep(SyncStepOperator):
    """Reads what changed in :attr:`system` into staging.

    :param mode: ``incremental`` (changes since the last run) or ``full`` (everything; also detects
        deletions); templated: ``"{{ params.mode }}"``.
    """

    template_fields: Sequence[str] = (*SyncStepOperator.template_fields, "mode")

    def __init__(self, *, mode: str = "incremental", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mode = early(mode, as_mode)

    def checked_params(self) -> dict[str, Any]:
        return {**super().checked_params(), "mode": as_mode(self.mode)}

    def run_step(self, ref: EntityRef, env: SyncEnv, params: dict[str, Any]) -> dict[str, Any]:
        from crm1c.sync import pipeline

        return pipeline.extract(ref, env, str(self.system), params["mode"])


class LoadStep(SyncStepOperator):
    """Makes the queued writes into :attr:`system`, each exactly once (none when the entity's rollout mode
    does not write there, e.g. 1C in ``read_only``: they stay queued until it is back on)."""

    def run_step(self, ref: EntityRef, env: SyncEnv, params: dict[str, Any]) -> dict[str, Any]:
        from crm1c.sync import pipeline

        system, policy = str(self.system), params.get("policy")
        if policy is not None and not policy.writes(system):
            waiting = env.staging.pending_count(ref.key, system)
            env.count(f"{system}_held_by_mode", waiting)
            self.log.info(
                "mode %s: nothing is written to %s; %d queued write(s) wait until the entity is on",
                policy.mode.value,
                system,
                waiting,
            )
            return dict(env.counters)
        return pipeline.load(ref, env, system)


class SyncPlanOperator(SyncStepOperator):
    """Validates, matches and merges what was extracted; queues the writes (quarantine for the rest)."""

    @property
    def hook(self) -> StagingHook:
        return self.staging_hook

    def run_step(self, ref: EntityRef, env: SyncEnv, params: dict[str, Any]) -> dict[str, Any]:
        from crm1c.sync import pipeline

        result = pipeline.plan(ref, env)
        if env.dry_run:
            listed = len(result.get("would_write", []))
            self.log.info("dry run: nothing written; %d write(s) listed in the XCom (would_write)", listed)
        return result


class SyncPublishOperator(SyncStepOperator):
    """Advances the watermarks, verifies the audit chain, returns the run's totals and puts them in the
    extra of the entity's asset event (give it ``outlets=[Asset(entity(...).asset_uri)]``). Then it checks
    the run (:func:`crm1c.watch.run.run_alerts`: quarantine growth, the Bitrix24 rate budget) and alerts
    on-call by e-mail and Slack when a threshold of ``include/mappings/alerts.yaml`` is passed."""

    record_stats: ClassVar[bool] = False
    ui_color = "#dcf5e3"

    @property
    def hook(self) -> StagingHook:
        return self.staging_hook

    def run_step(self, ref: EntityRef, env: SyncEnv, params: dict[str, Any]) -> dict[str, Any]:
        from crm1c.sync import pipeline

        totals = pipeline.publish(ref, env)
        self._watch(ref, env, totals)
        return totals

    def _watch(self, ref: EntityRef, env: SyncEnv, totals: dict[str, Any]) -> None:
        """Send what :func:`~crm1c.watch.run.run_alerts` finds (a failed channel is logged, not raised)."""
        from airflow.sdk.configuration import conf

        from crm1c.notify import load_alerts_config
        from crm1c.notify.alerts import Alert, send_alert
        from crm1c.notify.message import build_log_url
        from crm1c.watch.run import run_alerts

        config = load_alerts_config()
        base = conf.get("api", "base_url", fallback="http://localhost:8080/")
        link = build_log_url(base, self.dag_id, env.run_id, self.task_id, None)
        found = run_alerts(env.staging, ref.key, ref.name, env.run_id, totals, config.thresholds, link)
        for message in found:
            self.log.warning("%s", message.subject)
            send_alert(Alert(message.subject, message.html, message.text), config)

    def execute(self, context: Context) -> dict[str, Any]:
        totals = super().execute(context)
        uri = Asset(entity(self.entity).asset_uri).uri  # as Airflow normalises it
        assets = [o for o in self.outlets if isinstance(o, Asset) and o.uri == uri]
        if not assets:
            self.log.warning("no outlet %s on task %s: the totals go to XCom only", uri, self.task_id)
        for asset in assets:
            context["outlet_events"][asset].extra = totals
        return totals
