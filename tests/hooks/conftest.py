"""Airflow must see a throw-away AIRFLOW_HOME before it is first imported by these tests."""

from __future__ import annotations

import os
import sys
import tempfile

if "airflow" not in sys.modules:
    os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="crm1c-hooks-airflow-")
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
