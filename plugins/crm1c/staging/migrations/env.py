"""Alembic environment for the crm1c staging DB.

Normally driven by :func:`crm1c.staging.db.migrate`, which passes an open connection (already holding the
migration lock) in ``config.attributes["connection"]``. For the ``alembic`` CLI (e.g. autogenerate), set
``sqlalchemy.url`` in the config or ``CRM1C_STAGING_URL`` in the environment.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy.engine import Connection

from crm1c.staging.db import VERSION_TABLE, make_engine
from crm1c.staging.schema import metadata


def _configure_and_run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE)
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    url = context.config.get_main_option("sqlalchemy.url") or os.environ.get("CRM1C_STAGING_URL")
    if not url:
        raise RuntimeError("no staging DB url: use crm1c.staging.db.migrate(url) or set CRM1C_STAGING_URL")
    return url


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=metadata, version_table=VERSION_TABLE, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (conn := context.config.attributes.get("connection")) is not None:
    _configure_and_run(conn)
else:
    engine = make_engine(_url())
    try:
        with engine.begin() as new_conn:
            _configure_and_run(new_conn)
    finally:
        engine.dispose()
