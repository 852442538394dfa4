"""Airflow hook for the staging database: Connection ``crm1c_staging`` → migrated :class:`Staging`.

Connection type ``postgres`` (production; its URL comes from the postgres provider's ``PostgresHook``) or
``sqlite`` (host = file path; the embedded default).
"""

from __future__ import annotations

from airflow.sdk import BaseHook

from crm1c.hooks._engines import url_for_connection
from crm1c.staging import Staging, make_engine, migrate


class StagingHook(BaseHook):
    """Opens the staging database and brings its schema to the latest migration (idempotent)."""

    conn_name_attr = "staging_conn_id"
    default_conn_name = "crm1c_staging"
    conn_type = "postgres"
    hook_name = "crm1c staging database"

    def __init__(self, staging_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.staging_conn_id = staging_conn_id

    def get_url(self) -> str:
        """SQLAlchemy URL of the connection, password included (for the engine; never log it)."""
        return url_for_connection(self.get_connection(self.staging_conn_id)).render_as_string(
            hide_password=False
        )

    def get_staging(self) -> Staging:
        url = self.get_url()
        migrate(url)
        return Staging(make_engine(url))
