"""Which staging database to read, resolved the way the project does, and opening it read-only.

``--staging-url`` wins. Otherwise the Airflow connection ``crm1c_staging`` when ``AIRFLOW_CONN_CRM1C_STAGING``
is set (through :class:`crm1c.hooks.staging.StagingHook`, the only Airflow import, made on that path only),
else ``$AIRFLOW_HOME/staging.sqlite3`` with ``AIRFLOW_HOME`` defaulting to ``<repo>/.airflow``, as
``scripts/airflow-env.sh`` defines it. Nothing is created or migrated.
"""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa

from crm1c.redaction import redact_json as scrub
from crm1c.staging import Staging, make_engine
from crm1c.staging.db import current_revision, head_revision
from crm1c.staging.repo.story import StoryQueries

CONN_ENV = "AIRFLOW_CONN_CRM1C_STAGING"
REPO = Path(__file__).resolve().parents[3]


class StagingUnavailable(RuntimeError):
    """The staging database cannot be read (missing, unreachable or not migrated)."""


class StoryStaging(Staging, StoryQueries):
    """The staging repository with the read-only story queries."""


def default_staging_url() -> str:
    """The staging URL of this environment (see the module docstring); holds the password, never print it."""
    if os.environ.get(CONN_ENV):
        from crm1c.hooks.staging import StagingHook  # Airflow: only when its connection is configured

        return StagingHook().get_url()
    home = Path(os.environ.get("AIRFLOW_HOME") or REPO / ".airflow")
    return f"sqlite:///{home / 'staging.sqlite3'}"


def open_staging(url: str) -> StoryStaging:
    """A repository over an existing staging database at the latest revision; else StagingUnavailable."""
    parsed = sa.make_url(url)
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite" and not _sqlite_file_exists(parsed):
        raise StagingUnavailable(f"no staging database at {shown} (run a sync first, or give --staging-url)")
    engine = make_engine(parsed)
    try:
        with engine.connect() as conn:
            revision = current_revision(conn)
    except sa.exc.SQLAlchemyError as exc:
        engine.dispose()
        reason = scrub(str(getattr(exc, "orig", None) or exc).strip().splitlines()[0])
        raise StagingUnavailable(f"cannot read the staging database {shown}: {reason}") from exc
    expected = head_revision()
    if revision != expected:
        engine.dispose()
        found = "no crm1c schema" if revision is None else f"revision {revision}"
        raise StagingUnavailable(f"{shown} has {found}, this crm1c reads {expected}: let a sync migrate it")
    return StoryStaging(engine)


def _sqlite_file_exists(url: sa.URL) -> bool:
    database = url.database or ""
    return database not in ("", ":memory:") and Path(database).expanduser().is_file()
