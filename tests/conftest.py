"""Test-wide set-up: a private AIRFLOW_HOME before anything imports Airflow, and shared fixtures."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
_HOME = Path(tempfile.mkdtemp(prefix="crm1c-airflow-test-"))
os.environ["AIRFLOW_HOME"] = str(_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(REPO / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_HOME}/airflow.db"
for path in (REPO / "plugins", REPO / "dags", REPO):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

# ``make test-deep``: every property test (those without their own count too) runs that many examples.
if _DEEP_EXAMPLES := int(os.environ.get("CRM1C_PROPERTY_EXAMPLES", "0")):
    from hypothesis import settings

    settings.register_profile("deep", max_examples=_DEEP_EXAMPLES, deadline=None)
    settings.load_profile("deep")
