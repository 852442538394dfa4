"""The project's set-up files say what the README promises."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent


def test_compose_has_the_production_shape():
    compose = yaml.safe_load((REPO / "docker-compose.yaml").read_text())
    services = compose["services"]
    for name in (
        "airflow-apiserver",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
        "airflow-worker",
        "airflow-db",
        "staging-db",
        "redis",
    ):
        assert name in services, name
    assert services["airflow-apiserver"]["command"] == "api-server"
    assert services["airflow-worker"]["command"] == "celery worker"
    assert "3.3.2" in services["airflow-scheduler"]["image"]
    env = services["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:")
    assert "@airflow-db:" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert '"host":"staging-db"' in env["AIRFLOW_CONN_CRM1C_STAGING"]
    assert services["contour"]["profiles"] == ["contour"]
    # no secret literal in the compose file: passwords come from .env
    assert not re.search(r"PASSWORD:\s*[^$\s{]", (REPO / "docker-compose.yaml").read_text())


def test_ci_calls_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    assert "make test" in readme and "make test" in ci.splitlines()[-1]


def test_makefile_has_the_documented_entry_points():
    targets = set(re.findall(r"^([a-z-]+):", (REPO / "Makefile").read_text(), re.M))
    assert {"demo", "test", "up", "down", "contour-up", "contour-down", "venv", "lock"} <= targets


def test_requirements_pin_airflow_and_constraints_freeze_it():
    reqs = (REPO / "requirements.txt").read_text()
    assert "apache-airflow==3.3.2" in reqs
    frozen = dict(
        line.split("==", 1) for line in (REPO / "constraints.txt").read_text().split() if "==" in line
    )
    assert frozen["apache-airflow"] == "3.3.2"
    for provider in ("http", "postgres", "smtp", "slack", "standard"):
        assert f"apache-airflow-providers-{provider}" in frozen


def test_local_state_and_secrets_are_ignored():
    ignored = (REPO / ".gitignore").read_text().split()
    for entry in (".env", ".contour/", ".airflow/", ".venv/", "*.db", "*.sqlite3"):
        assert entry in ignored
