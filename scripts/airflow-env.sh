# Environment of the project's local Airflow (sourced by ./airflow.sh and `make up`).
# Every value is a default: export your own before calling to override it.
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$REPO/.airflow}"
export AIRFLOW__CORE__DAGS_FOLDER="${AIRFLOW__CORE__DAGS_FOLDER:-$REPO/dags}"
export AIRFLOW__CORE__PLUGINS_FOLDER="${AIRFLOW__CORE__PLUGINS_FOLDER:-$REPO/plugins}"
export AIRFLOW__CORE__LOAD_EXAMPLES="${AIRFLOW__CORE__LOAD_EXAMPLES:-False}"
export AIRFLOW__CORE__PARALLELISM="${AIRFLOW__CORE__PARALLELISM:-4}"
export AIRFLOW__CORE__EXECUTOR="${AIRFLOW__CORE__EXECUTOR:-LocalExecutor}"
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="${AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL:-10}"
# Where the local components listen: loopback only, unless you open them with CRM1C_LISTEN=0.0.0.0 (or export
# AIRFLOW__API__HOST etc. yourself; exported values are kept). The scheduler's and the triggerer's log servers
# have no host setting in Airflow 3.3 (they bind every interface), so ./airflow.sh starts them only when
# CRM1C_LISTEN is not a loopback address; on one machine the API server reads task logs from $AIRFLOW_HOME/logs.
CRM1C_LISTEN="${CRM1C_LISTEN:-127.0.0.1}"
export AIRFLOW__API__HOST="${AIRFLOW__API__HOST:-$CRM1C_LISTEN}"
export AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST="${AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST:-$CRM1C_LISTEN}"
# Task processes reach the API server here (Airflow's default is localhost:8080 whatever AIRFLOW__API__PORT says).
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="${AIRFLOW__CORE__EXECUTION_API_SERVER_URL:-http://127.0.0.1:${AIRFLOW__API__PORT:-8080}/execution/}"
# Login: user admin with role admin; its password is generated on first use (below).
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS:-admin:admin}"
CRM1C_PASSWORDS_OWN="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:-}"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:-$AIRFLOW_HOME/passwords.json}"
export PYTHONPATH="$REPO/plugins:$REPO${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$AIRFLOW_HOME"
# The simple auth manager's passwords file (development only; see README for production auth): made once with a
# random password for each configured user, mode 0600, then kept. A password equal to its user name (the old fixed
# default of this script) is replaced by a generated one. A passwords file you exported yourself is left alone.
if [ -z "$CRM1C_PASSWORDS_OWN" ]; then
  python3 - "$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE" "$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS" <<'PY' >&2
import json, os, secrets, sys, tempfile
path, users = sys.argv[1], [u.split(":")[0].strip() for u in sys.argv[2].split(",") if u.strip()]
try:
    with open(path) as f:
        old = json.load(f)
except FileNotFoundError:
    old = None
current = dict(old or {})
weak = sorted(u for u, pw in current.items() if pw == u)
new = [u for u in users if u not in current]
for user in [*weak, *new]:
    current[user] = secrets.token_urlsafe(16)
if current != old:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".passwords.")  # created 0600
    with os.fdopen(fd, "w") as f:
        json.dump(current, f)
        f.write("\n")
    os.replace(tmp, path)
    if weak:
        print(f"crm1c: the password of {', '.join(weak)} in {path} was the user name (the old default); "
              "replaced by a generated one")
    if new:
        print(f"crm1c: generated the local Airflow password of {', '.join(new)}; it is in {path}")
os.chmod(path, 0o600)
PY
fi
unset CRM1C_PASSWORDS_OWN
# Components started separately must share one JWT secret; make a long one once, keep it out of git.
if [ ! -f "$AIRFLOW_HOME/jwt_secret" ]; then
  (umask 077; python3 -c 'import secrets; print(secrets.token_urlsafe(64))' > "$AIRFLOW_HOME/jwt_secret")
fi
export AIRFLOW__API_AUTH__JWT_SECRET="${AIRFLOW__API_AUTH__JWT_SECRET:-$(cat "$AIRFLOW_HOME/jwt_secret")}"

# Connections to the local test contour (override with your own AIRFLOW_CONN_* to point at real systems).
# default_conn NAME VALUE: NAME keeps an exported non-empty value byte for byte, else gets VALUE. Never write a
# default containing "}" inside ${NAME:-...}: bash ends that expansion at the first "}" and appends the rest of the
# default to the exported value (an override then turns into invalid JSON or a wrong URI).
default_conn() { if [ -n "${!1:-}" ]; then export "$1"; else export "$1=$2"; fi; }
CONTOUR_DIR="${CONTOUR_STATE_DIR:-$REPO/.contour}"
default_conn AIRFLOW_CONN_BITRIX24_DEFAULT "{\"conn_type\": \"http\", \"host\": \"127.0.0.1\", \"port\": ${CONTOUR_BITRIX_PORT:-8082}, \"schema\": \"https\", \"login\": \"1\", \"password\": \"contour0webhook0token\", \"extra\": {\"ca_bundle\": \"$CONTOUR_DIR/ca.pem\", \"plan\": \"standard\", \"limiter\": \"sql\", \"limiter_conn_id\": \"crm1c_staging\"}}"
default_conn AIRFLOW_CONN_ONEC_DEFAULT "{\"conn_type\": \"http\", \"host\": \"127.0.0.1\", \"port\": ${CONTOUR_ONEC_PORT:-8081}, \"schema\": \"https\", \"login\": \"Интеграция\", \"password\": \"contour\", \"extra\": {\"base_path\": \"/accounting/odata/standard.odata/\", \"ca_bundle\": \"$CONTOUR_DIR/ca.pem\"}}"
default_conn AIRFLOW_CONN_CRM1C_STAGING "{\"conn_type\": \"sqlite\", \"host\": \"$AIRFLOW_HOME/staging.sqlite3\"}"
default_conn AIRFLOW_CONN_SMTP_DEFAULT "{\"conn_type\": \"smtp\", \"host\": \"127.0.0.1\", \"port\": 8025, \"extra\": {\"disable_ssl\": true, \"disable_tls\": true, \"timeout\": 5, \"retry_limit\": 0, \"from_email\": \"crm1c@localhost\"}}"
default_conn AIRFLOW_CONN_SLACK_DEFAULT "{\"conn_type\": \"slackwebhook\", \"host\": \"http://127.0.0.1:8026/slack\", \"password\": \"T000/B000/LOCAL\"}"
# The local API server as admin (rollback_switch pauses, unpauses and triggers DAGs through it).
default_conn AIRFLOW_CONN_AIRFLOW_API "$(python3 -c 'import json, sys; print(json.dumps({"conn_type": "http", "host": "127.0.0.1", "port": int(sys.argv[2]), "schema": "http", "login": "admin", "password": json.load(open(sys.argv[1])).get("admin", "")}))' "$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE" "${AIRFLOW__API__PORT:-8080}")"
unset -f default_conn
