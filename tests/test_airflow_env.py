"""scripts/airflow-env.sh: an exported AIRFLOW_CONN_* reaches Airflow unchanged; else the default applies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "airflow-env.sh"
CONNECTIONS = (
    "AIRFLOW_CONN_BITRIX24_DEFAULT",
    "AIRFLOW_CONN_ONEC_DEFAULT",
    "AIRFLOW_CONN_CRM1C_STAGING",
    "AIRFLOW_CONN_SMTP_DEFAULT",
    "AIRFLOW_CONN_SLACK_DEFAULT",
)
# Both forms Airflow accepts. The JSON one ends in "}}" (nested extra) and has "}" and "$" inside a value;
# the URI one has a percent-escape that must survive untouched.
OVERRIDES = {
    "json": '{"conn_type": "http", "host": "other.example", "password": "a}b$c", "extra": {"k": {"n": 1}}}',
    "uri": "https://user:p%40ss@override.example:443/base/path?timeout=5",
}


def _env(home: Path, **values: str) -> dict[str, str]:
    """The caller's environment without anything Airflow- or contour-related, plus a private AIRFLOW_HOME."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AIRFLOW", "CONTOUR_")) and k not in ("PYTHONPATH", "BASH_ENV", "ENV")
    }
    env["AIRFLOW_HOME"] = str(home)
    env.update(values)
    return env


def _sourced(home: Path, names: tuple[str, ...], **values: str) -> dict[str, str]:
    """Source the script in bash with `values` exported and return the variables `names` as it leaves them."""
    out = subprocess.run(
        ["bash", "-c", f'source "{SCRIPT}" && for n in "$@"; do printf "%s\\0" "${{!n}}"; done', "_", *names],
        env=_env(home, **values),
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return dict(zip(names, out.split("\0")[:-1], strict=True))


@pytest.mark.parametrize("form", sorted(OVERRIDES))
@pytest.mark.parametrize("name", CONNECTIONS)
def test_exported_connection_reaches_the_environment_unchanged(tmp_path, name, form):
    value = OVERRIDES[form]
    assert _sourced(tmp_path, (name,), **{name: value}) == {name: value}


@pytest.mark.parametrize("exported", [None, ""], ids=["unset", "empty"])
def test_unset_or_empty_connection_gets_a_valid_json_default(tmp_path, exported):
    values = {} if exported is None else dict.fromkeys(CONNECTIONS, exported)
    defaults = _sourced(tmp_path, CONNECTIONS, **values)
    for name, value in defaults.items():
        conn = json.loads(value)
        assert conn["conn_type"] and conn["host"], name
    assert json.loads(defaults["AIRFLOW_CONN_CRM1C_STAGING"]) == {
        "conn_type": "sqlite",
        "host": f"{tmp_path}/staging.sqlite3",
    }


_LOOKUP = """
import json
from airflow.sdk import BaseHook
c = BaseHook.get_connection("crm1c_staging")
print(json.dumps({k: getattr(c, k) for k in ("conn_type", "host", "port", "login", "password", "schema")}))
"""


@pytest.mark.parametrize(
    ("exported", "expected"),
    [
        pytest.param(
            '{"conn_type": "sqlite", "host": "/tmp/crm1c-override.sqlite3"}',
            {"conn_type": "sqlite", "host": "/tmp/crm1c-override.sqlite3"},
            id="json",
        ),
        pytest.param(
            "postgres://crm1c:p%40ss@staging.example:5433/crm1c",
            {
                "conn_type": "postgres",
                "host": "staging.example",
                "port": 5433,
                "login": "crm1c",
                "password": "p@ss",
                "schema": "crm1c",
            },
            id="uri",
        ),
    ],
)
def test_airflow_resolves_the_exported_staging_connection(tmp_path, exported, expected):
    """What ./airflow.sh gives Airflow: the connection lookup of a task sees the exported connection."""
    proc = subprocess.run(
        ["bash", "-c", f'source "{SCRIPT}" && exec "$0" -c "$1"', sys.executable, _LOOKUP],
        env=_env(tmp_path, AIRFLOW_CONN_CRM1C_STAGING=exported),
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    resolved = json.loads(proc.stdout.strip().splitlines()[-1])
    assert {k: resolved[k] for k in expected} == expected
