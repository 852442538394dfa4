#!/usr/bin/env bash
# The Airflow CLI in the project's local environment: ./airflow.sh dags test sync_counterparties
set -euo pipefail
source "$(dirname "$0")/scripts/airflow-env.sh"
AIRFLOW="$REPO/.venv/bin/airflow"
[ -x "$AIRFLOW" ] || { echo "no virtualenv yet: run 'make venv' first" >&2; exit 1; }
if [ ! -f "$AIRFLOW_HOME/.migrated" ]; then
  "$AIRFLOW" db migrate >"$AIRFLOW_HOME/migrate.log" 2>&1 || { cat "$AIRFLOW_HOME/migrate.log" >&2; exit 1; }
  touch "$AIRFLOW_HOME/.migrated"
fi
# The scheduler's and the triggerer's log servers bind every interface (Airflow 3.3 has no host setting for them):
# started only when CRM1C_LISTEN opens the components to the network (see scripts/airflow-env.sh).
if [[ "${1:-}" =~ ^(scheduler|triggerer)$ && "$CRM1C_LISTEN" =~ ^(127\.[0-9.]+|localhost|::1)$ ]]; then
  set -- "$@" --skip-serve-logs
fi
exec "$AIRFLOW" "$@"
