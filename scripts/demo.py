"""The demo: run the counterparty sync once through Airflow against the contour, then report in plain words.

Called by ``make demo`` after the contour is up with the demo data. Prints what each system held before
and after, what was created and updated, what waits in quarantine (and why), and the conflicts.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "plugins"), str(REPO)]

from contour.bitrix import seed as bitrix_seed  # noqa: E402 - after the path set-up
from contour.onec import seed as onec_seed  # noqa: E402
from contour.settings import ContourSettings  # noqa: E402

DAG_ID = "sync_counterparties"


def _counts(state: Path) -> tuple[int, int]:
    onec = onec_seed.summary(state)
    crm = bitrix_seed.summary(state)
    return crm.get("companies", 0), onec.get("Catalog_Контрагенты", 0)


def main() -> int:
    settings = ContourSettings.from_env()
    home = Path(os.environ.get("AIRFLOW_HOME", REPO / ".airflow"))
    home.mkdir(parents=True, exist_ok=True)
    staging_file = home / "staging.sqlite3"
    staging_file.unlink(missing_ok=True)  # a demo starts from a clean exchange
    crm_before, onec_before = _counts(settings.state_dir)
    print(f"\nBefore: CRM companies {crm_before}, 1C counterparties {onec_before}")
    print(f"Running {DAG_ID} through Airflow (./airflow.sh dags test {DAG_ID}) …")
    started = time.monotonic()
    log_file = home / "demo-run.log"
    with open(log_file, "w") as log:
        code = subprocess.call(
            [str(REPO / "airflow.sh"), "dags", "test", DAG_ID, "-c", '{"mode": "full"}'],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
    elapsed = time.monotonic() - started
    if code != 0:
        print(f"The run failed (exit {code}); the full log is in {log_file}")
        return code
    crm_after, onec_after = _counts(settings.state_dir)
    print(f"Done in {elapsed:.0f} s. After: CRM companies {crm_after}, 1C counterparties {onec_after}\n")
    _report(f"sqlite:///{staging_file}")
    print(f"\nFull Airflow log: {log_file}.")
    print("UI: make up → http://127.0.0.1:8080 (login admin, with the password make up prints).")
    return 0


def _report(url: str) -> None:
    from crm1c.staging import Staging, make_engine

    staging = Staging(make_engine(url))
    last_run = staging.latest_audit("run")
    totals = last_run.detail if last_run is not None else {}
    print("What the exchange did:")
    for key, label in (
        ("onec_create", "created in 1C"),
        ("onec_update", "updated in 1C"),
        ("crm_create", "created in the CRM"),
        ("crm_update", "updated in the CRM"),
    ):
        print(f"  {label:<24} {totals.get(key, 0):>4}")
    held = staging.open_quarantine("counterparty")
    records = len({(q.system, q.external_id) for q in held})
    print(f"\nWaiting in quarantine ({records} records; fix them at the source, the next run picks them up):")
    for q in held:
        where = "CRM company" if q.system == "crm" else "1C counterparty"
        print(f"  {where} {q.external_id}, field {q.field}: {q.reason_ru}")
    conflicts = staging.open_conflicts("counterparty")
    print(f"\nEdited differently on both sides ({len(conflicts)}; the owning system's value was kept):")
    for c in conflicts:
        print(f"  CRM {c.crm_id} / 1C {c.onec_id}, {c.field}: CRM «{c.crm_value}» vs 1C «{c.onec_value}»")
    ok, bad = staging.verify_audit_chain()
    print(f"\nAudit log: {'hash chain verified' if ok else f'BROKEN at row {bad}'}")


if __name__ == "__main__":
    sys.exit(main())
