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
exec "$AIRFLOW" "$@"
