"""DAG tests: the Airflow metadata DB (a temporary SQLite, reset once per session), the parsed dags folder."""

from __future__ import annotations

from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="session")
def airflow_db():
    from airflow.utils import db

    db.resetdb()


@pytest.fixture(scope="module")
def bag():
    """The project's dags folder, parsed as the dag-processor does."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))
