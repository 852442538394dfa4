"""The reconciliation task: compare CRM ⇄ staging ⇄ 1C, keep the report in staging, send it to on-call.

Reads both systems through the clients of ``Bitrix24Hook`` / ``OneCODataHook`` (the comparison itself is
:func:`crm1c.reconcile.reconcile`, plain Python; it writes to neither system). The HTML report and the
Slack line are redacted (connection secrets, URL credentials) before they are stored or sent. Recipients
and connections come from ``include/mappings/alerts.yaml``: e-mail through the smtp provider, Slack through
an incoming webhook.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from crm1c.operators._params import as_bool, early, is_template
from crm1c.operators.base import with_failure_alerts
from crm1c.redaction import redact_json

if TYPE_CHECKING:
    from airflow.sdk import Context

    from crm1c.hooks.bitrix24 import Bitrix24Hook
    from crm1c.hooks.onec import OneCODataHook
    from crm1c.hooks.staging import StagingHook
    from crm1c.notify.alerts import Alert
    from crm1c.notify.config import AlertsConfig
    from crm1c.reconcile import Period, ReconciliationConfig, Report


class ReconcileOperator(BaseOperator):
    """Runs every reconciliation check; returns the totals (status, counts by check and kind).

    :param period_from: first day money checks look at (templated; empty: open); counterparties and
        receivables are compared as they are now. Both empty: the previous and the current month.
    :param period_to: last day (templated; empty: open).
    :param send: mail and post the report (templated: ``"{{ params.send }}"``); it is stored either way.
    :param bitrix24_conn_id: the Bitrix24 webhook connection (templated).
    :param onec_conn_id: the 1C OData connection (templated).
    :param staging_conn_id: the staging database (templated).
    :param on_failure_callback: default: the crm1c failure notifiers (e-mail and Slack to on-call).
    """

    template_fields: Sequence[str] = (
        "period_from",
        "period_to",
        "send",
        "bitrix24_conn_id",
        "onec_conn_id",
        "staging_conn_id",
    )
    ui_color = "#efe6fb"

    def __init__(
        self,
        *,
        period_from: str | None = None,
        period_to: str | None = None,
        send: bool | str = True,
        bitrix24_conn_id: str = "bitrix24_default",
        onec_conn_id: str = "onec_default",
        staging_conn_id: str = "crm1c_staging",
        **kwargs: Any,
    ) -> None:
        super().__init__(**with_failure_alerts(kwargs, None))
        if not (is_template(period_from) or is_template(period_to)):
            _period(period_from, period_to)  # a bad literal fails when the DAG is parsed
        self.period_from = period_from
        self.period_to = period_to
        self.send = early(send, lambda v: as_bool(v, "send"))
        self.bitrix24_conn_id = bitrix24_conn_id
        self.onec_conn_id = onec_conn_id
        self.staging_conn_id = staging_conn_id

    @cached_property
    def bitrix24_hook(self) -> Bitrix24Hook:
        from crm1c.hooks.bitrix24 import Bitrix24Hook

        return Bitrix24Hook(self.bitrix24_conn_id)

    @cached_property
    def onec_hook(self) -> OneCODataHook:
        from crm1c.hooks.onec import OneCODataHook

        return OneCODataHook(self.onec_conn_id)

    @cached_property
    def staging_hook(self) -> StagingHook:
        from crm1c.hooks.staging import StagingHook

        return StagingHook(self.staging_conn_id)

    def execute(self, context: Context) -> dict[str, Any]:
        from crm1c.notify import load_alerts_config
        from crm1c.notify.alerts import Alert
        from crm1c.reconcile import html_report, slack_summary, subject

        period, send = self._params()
        config = _config()
        alerts = load_alerts_config()
        staging = self.staging_hook.get_staging()
        try:
            report = self._compare(staging, config, period, str(context["run_id"]))
            mail = _redacted(html_report(report, config.report.max_rows_per_kind))
            line = _redacted(slack_summary(report, config.report.slack_top, _task_url(context)))
            staging.save_report(
                started_at=report.started_at, finished_at=report.finished_at, status=report.status,
                totals=report.totals(), differences=redact_json(report.found(), _redacted), html=mail,
                period_from=period.start, period_to=period.end,
            )  # fmt: skip
        finally:
            staging.engine.dispose()
        self.log.info("reconciliation: %s", line)
        if send:
            self._send(Alert(_redacted(subject(report)), mail, line), alerts)
        return report.totals()

    def _params(self) -> tuple[Period, bool]:
        try:
            return _effective(_period(self.period_from, self.period_to)), as_bool(self.send, "send")
        except ValueError as exc:
            raise AirflowFailException(f"task {self.task_id}: bad parameter: {exc}") from None

    def _compare(self, staging: Any, config: ReconciliationConfig, period: Period, run_id: str) -> Report:
        """The checks, against the clients of both hooks; a run that fails is kept as ``failed``."""
        from crm1c.mapping.loader import MappingError
        from crm1c.reconcile import ReconcileEnv, SystemLinks, reconcile

        started = datetime.now(UTC)
        clients: list[Any] = []
        try:
            clients += [self.bitrix24_hook.get_client(), self.onec_hook.get_client()]
            crm, onec = clients
            links = SystemLinks.of(crm.base_url, onec.base_url)
            return reconcile(ReconcileEnv(crm, onec, staging, config, links, period, run_id))
        except Exception as exc:
            self._keep_failure(staging, started, period, run_id, exc)
            if isinstance(exc, MappingError) or _is_auth(exc):
                raise AirflowFailException(_redacted(str(exc))) from None
            raise
        finally:
            for client in clients:
                client.close()

    def _keep_failure(
        self, staging: Any, started: datetime, period: Period, run_id: str, exc: Exception
    ) -> None:
        """Keep a failed run in the report history (best effort: the task's own error matters more)."""
        error = _redacted(f"{type(exc).__name__}: {exc}")
        try:
            staging.save_report(
                started_at=started, finished_at=datetime.now(UTC), status="failed",
                totals={"run_id": run_id, "status": "failed", "error": error}, differences=[],
                period_from=period.start, period_to=period.end,
            )  # fmt: skip
        except Exception as failure:
            self.log.warning("the failed run was not kept in staging: %s", _redacted(str(failure)))

    @staticmethod
    def _send(alert: Alert, alerts: AlertsConfig) -> None:
        """E-mail and Slack, each tried; the task fails after both if either could not be sent."""
        from crm1c.notify.alerts import send_alert

        failed = [medium for medium, sent in send_alert(alert, alerts).items() if not sent]
        if failed:
            raise AirflowException(
                f"the reconciliation report (stored) was not sent by {' and '.join(failed)}; see the log"
            )


def _config() -> ReconciliationConfig:
    from crm1c.reconcile import ReconciliationConfigError, load_reconciliation_config

    try:
        return load_reconciliation_config()
    except ReconciliationConfigError as exc:
        raise AirflowFailException(f"the reconciliation tolerances are invalid:\n{exc}") from None


def _period(start: Any, end: Any) -> Period:
    from crm1c.reconcile.model import Period

    return Period.parse(start, end)


def _effective(period: Period) -> Period:
    """Both ends empty: the previous and the current month (of today, UTC); else as given."""
    from crm1c.reconcile.model import Period

    if period.start is None and period.end is None:
        return Period.default(datetime.now(UTC).date())
    return period


def _task_url(context: Context) -> str:
    """The task's page in the Airflow UI (where the run and its totals are)."""
    from airflow.sdk.configuration import conf

    from crm1c.notify.message import build_log_url

    ti = context["ti"]
    base = conf.get("api", "base_url", fallback="http://localhost:8080/")
    return build_log_url(base, ti.dag_id, ti.run_id, ti.task_id, ti.try_number, ti.map_index)


def _is_auth(exc: BaseException) -> bool:
    from crm1c.clients.errors import AuthError

    return isinstance(exc, AuthError)


def _redacted(text: str) -> str:
    from crm1c.notify.redaction import redact

    return redact(text)
