"""Layering rules: clients import no Airflow, crm1c never imports the contour, TLS is never switched off."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"
OURS = [PLUGINS / "crm1c" / "clients", PLUGINS / "crm1c" / "hooks"]


def test_clients_import_without_airflow():
    code = (
        "import sys; import crm1c.clients, crm1c.clients.onec, crm1c.clients.bitrix24; "
        "assert not [m for m in sys.modules if m.split('.')[0] == 'airflow'], 'airflow imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={"PYTHONPATH": str(PLUGINS)}, timeout=60)


def test_no_contour_imports_and_no_disabled_tls():
    for folder in OURS:
        for path in folder.rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"^\s*(from|import)\s+contour\b", text, re.M), path
            assert not re.search(r"verify\s*=\s*False", text), path
            assert "CERT_NONE" not in text and "check_hostname = False" not in text, path
