"""Turn an Airflow callback context into a redacted :class:`~crm1c.notify.message.FailureAlert`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from crm1c.notify.message import FailureAlert, build_log_url
from crm1c.notify.redaction import redact

PROJECT_TAG = "crm1c"
NO_ERROR = "(no exception recorded)"


def failure_alert(context: Mapping[str, Any], entity: str | None = None) -> FailureAlert:
    """Collect DAG, task, entity, run, try, error and log link from ``context``; every value redacted."""
    ti = context.get("ti") or context.get("task_instance")
    dag = context.get("dag")
    dag_id = str(getattr(ti, "dag_id", None) or getattr(dag, "dag_id", "-"))
    task_id = str(getattr(ti, "task_id", "-"))
    run_id = str(context.get("run_id") or getattr(ti, "run_id", "-"))
    try_number = getattr(ti, "try_number", None)
    alert = FailureAlert(
        dag_id=dag_id,
        task_id=task_id,
        entity=entity or entity_from_tags(getattr(dag, "tags", None)),
        run_id=run_id,
        try_number=try_number,
        max_tries=getattr(ti, "max_tries", None),
        error=describe_error(context.get("exception")),
        log_url=_log_url(ti, dag_id, run_id, task_id, try_number),
    )
    return _redacted(alert)


def describe_error(error: BaseException | str | None) -> str:
    """``ExceptionClass: message`` (not yet redacted)."""
    if error is None:
        return NO_ERROR
    if isinstance(error, BaseException):
        message = str(error)
        name = type(error).__name__
        return f"{name}: {message}" if message else name
    return str(error)


def entity_from_tags(tags: Iterable[str] | None) -> str:
    """The DAG's entity tag: its first tag other than ``crm1c`` (sorted), or ``-``."""
    candidates = sorted(str(t) for t in (tags or ()) if str(t) != PROJECT_TAG)
    return candidates[0] if candidates else "-"


def _log_url(ti: Any, dag_id: str, run_id: str, task_id: str, try_number: int | None) -> str:
    """The runtime TI's ``log_url`` (task SDK), else built from ``[api] base_url``."""
    try:
        url = getattr(ti, "log_url", None)
    except Exception:  # a property that needs config or comms it cannot reach
        url = None
    if isinstance(url, str) and url:
        return url
    from airflow.sdk.configuration import conf

    base_url = conf.get("api", "base_url", fallback="http://localhost:8080/")
    return build_log_url(base_url, dag_id, run_id, task_id, try_number, getattr(ti, "map_index", None))


def _redacted(alert: FailureAlert) -> FailureAlert:
    fields = ("dag_id", "task_id", "entity", "run_id", "error", "log_url")
    return FailureAlert(
        **{name: redact(getattr(alert, name)) for name in fields},
        try_number=alert.try_number,
        max_tries=alert.max_tries,
    )
