"""Airflow metadata DB for DAG tests (a temporary SQLite, reset once per session)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def airflow_db():
    from airflow.utils import db

    db.resetdb()
