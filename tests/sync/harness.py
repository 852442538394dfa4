"""Build a sync environment against the running contour: plain clients over HTTPS and a staging DB."""

from __future__ import annotations

import uuid
from typing import Any

from crm1c.clients.bitrix24 import Bitrix24Client
from crm1c.clients.onec import OneCClient
from crm1c.clients.ratelimit import make_limiter
from crm1c.clients.retry import RetryPolicy
from crm1c.mapping.loader import load_counterparty_mapping
from crm1c.staging import Staging, make_engine, migrate
from crm1c.sync import counterparties as flow
from crm1c.sync.runtime import SyncEnv
from tests.contour_harness import BITRIX_TOKEN, BITRIX_USER, ONEC_PASSWORD, ONEC_USER, RunningContour

STEPS = ("extract_crm", "extract_onec", "plan", "load_onec", "load_crm", "publish")


def clients(contour: RunningContour, plan: str = "off", retry: RetryPolicy | None = None) -> tuple[Any, Any]:
    retry = retry or RetryPolicy(base_delay=0.05, max_delay=0.5)
    crm = Bitrix24Client(
        contour.bitrix_base,
        BITRIX_USER,
        BITRIX_TOKEN,
        verify=str(contour.ca_file),
        limiter=make_limiter(plan),
        retry=retry,
        timeout=10,
    )
    onec = OneCClient(
        contour.onec_url, ONEC_USER, ONEC_PASSWORD, verify=str(contour.ca_file), retry=retry, timeout=10
    )
    return crm, onec


def staging_for(url: str) -> Staging:
    migrate(url)
    return Staging(make_engine(url))


def make_env(staging: Staging, crm: Any, onec: Any, **kw: Any) -> SyncEnv:
    return SyncEnv(
        staging=staging,
        mapping=load_counterparty_mapping(),
        run_id=kw.pop("run_id", uuid.uuid4().hex),
        crm=crm,
        onec=onec,
        **kw,
    )


def run_sync(
    staging: Staging,
    crm: Any,
    onec: Any,
    mode: str = "incremental",
    steps: tuple[str, ...] = STEPS,
    **kw: Any,
) -> dict[str, Any]:
    """One run of the counterparty DAG's steps, each with a fresh env as separate tasks would have."""
    run_id = kw.pop("run_id", uuid.uuid4().hex)
    out: dict[str, Any] = {}
    for step in steps:
        env = make_env(staging, crm, onec, run_id=run_id, **kw)
        fn = getattr(flow, step)
        out = fn(env, mode) if step.startswith("extract") else fn(env)
        if step != "publish":
            now = staging._now()
            staging.record_run_stats(run_id, "counterparty", step, now, now, dict(env.counters))
    return out
