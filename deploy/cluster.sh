#!/usr/bin/env bash
# cluster.sh — the production topology on one machine, behind `make cluster`:
#   PostgreSQL (started when it is not running) → Temporal's databases and schema (deploy/temporal/schema.sh)
#   → the Temporal server on PostgreSQL (deploy/temporal/config/production.yaml; all four services in
#   one process, or one process per service with --split) → namespace and search attributes
#   (deploy/register-search-attributes.sh) → the Tencent IM emulator → two workers and two API replicas
#   → the callback proxy (deploy/proxy) that round-robins Tencent's callbacks over the API replicas.
# Every log line is prefixed with its process name. Ctrl-C (or SIGTERM) stops everything.
#
#   deploy/cluster.sh [--split]     bring everything up
#   deploy/cluster.sh postgres      only make sure PostgreSQL runs and the Temporal role exists, then exit
#   deploy/cluster.sh reset         drop Temporal's two databases (every consultation in them), then exit
#
# Ports (defaults): proxy (the callback address) 8080, API replicas 8081/8082, emulator 9800, worker
# metrics 9464/9465, Temporal
# frontend 7233 (history 7234, matching 7235, worker 7239, membership 6933-6939, HTTP 7243, metrics
# 8000-8003). The same TEMPORAL_* variables as the server config choose them.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$root/bin}
DATA=${DATA:-$root/.data}
TEMPORAL_SERVER=${TEMPORAL_SERVER:-$BIN/temporal-server}
export TEMPORAL_SQL_TOOL=${TEMPORAL_SQL_TOOL:-$BIN/temporal-sql-tool}
export TEMPORAL_DB_HOST=${TEMPORAL_DB_HOST:-127.0.0.1}
export TEMPORAL_DB_PORT=${TEMPORAL_DB_PORT:-5432}
export TEMPORAL_DB_USER=${TEMPORAL_DB_USER:-temporal}
export TEMPORAL_DB_PASSWORD=${TEMPORAL_DB_PASSWORD:-temporal}
export TEMPORAL_DB=${TEMPORAL_DB:-temporal}
export TEMPORAL_VISIBILITY_DB=${TEMPORAL_VISIBILITY_DB:-temporal_visibility}
export TEMPORAL_DYNAMIC_CONFIG=${TEMPORAL_DYNAMIC_CONFIG:-$root/deploy/temporal/dynamicconfig/production.yaml}
export TEMPORAL_FRONTEND_PORT=${TEMPORAL_FRONTEND_PORT:-7233}
PROXY_PORT=${PROXY_PORT:-8080}
API_PORTS=${API_PORTS:-8081 8082}
WORKERS=${WORKERS:-2}
TIMSIM_PORT=${TIMSIM_PORT:-9800}

# ensure_postgres: PostgreSQL answers on TEMPORAL_DB_HOST:PORT (a local cluster is started when it is
# stopped), and the Temporal role can log in with its password (created with CREATEDB when it is
# missing; the stock pg_hba.conf wants a password on 127.0.0.1, so a role is simpler than editing it).
ensure_postgres() {
  if ! command -v pg_isready >/dev/null || ! command -v psql >/dev/null; then
    echo "cluster.sh: PostgreSQL is not installed. Debian/Ubuntu: apt-get install postgresql (15 or newer);" >&2
    echo "            or point TEMPORAL_DB_HOST/TEMPORAL_DB_PORT/TEMPORAL_DB_USER/TEMPORAL_DB_PASSWORD at one." >&2
    exit 1
  fi
  if ! pg_isready -q -h "$TEMPORAL_DB_HOST" -p "$TEMPORAL_DB_PORT"; then
    local local_host=0
    case $TEMPORAL_DB_HOST in 127.0.0.1|localhost|::1) local_host=1 ;; esac
    if [ "$local_host" = 1 ] && command -v pg_lsclusters >/dev/null; then
      local ver name
      read -r ver name _ < <(pg_lsclusters --no-header | awk -v p="$TEMPORAL_DB_PORT" '$3 == p')
      if [ -z "${ver:-}" ]; then
        echo "cluster.sh: no local PostgreSQL cluster on port $TEMPORAL_DB_PORT (pg_lsclusters)" >&2; exit 1
      fi
      echo "cluster.sh: starting PostgreSQL $ver/$name"
      if [ "$(id -u)" = 0 ]; then
        pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start
      else
        echo "cluster.sh: PostgreSQL is stopped; as root: pg_ctlcluster --skip-systemctl-redirect $ver $name start" >&2; exit 1
      fi
      for _ in $(seq 1 50); do pg_isready -q -h "$TEMPORAL_DB_HOST" -p "$TEMPORAL_DB_PORT" && break; sleep 0.2; done
    fi
    pg_isready -q -h "$TEMPORAL_DB_HOST" -p "$TEMPORAL_DB_PORT" ||
      { echo "cluster.sh: PostgreSQL does not answer on $TEMPORAL_DB_HOST:$TEMPORAL_DB_PORT" >&2; exit 1; }
  fi
  if ! PGPASSWORD=$TEMPORAL_DB_PASSWORD psql -qAt -h "$TEMPORAL_DB_HOST" -p "$TEMPORAL_DB_PORT" -U "$TEMPORAL_DB_USER" -d postgres -c 'select 1' >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then
      echo "cluster.sh: role $TEMPORAL_DB_USER cannot log in; as the postgres superuser run:" >&2
      echo "  CREATE ROLE $TEMPORAL_DB_USER LOGIN CREATEDB PASSWORD '...';" >&2; exit 1
    fi
    echo "cluster.sh: creating PostgreSQL role $TEMPORAL_DB_USER (LOGIN CREATEDB)"
    # The password reaches psql on stdin, never on a command line.
    su postgres -c "psql -q -v ON_ERROR_STOP=1 -p $TEMPORAL_DB_PORT" <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$TEMPORAL_DB_USER') THEN
    CREATE ROLE "$TEMPORAL_DB_USER" LOGIN CREATEDB;
  END IF;
END \$\$;
ALTER ROLE "$TEMPORAL_DB_USER" LOGIN CREATEDB PASSWORD '$TEMPORAL_DB_PASSWORD';
SQL
  fi
}

# shellcheck source=deploy/localenv.sh
. "$root/deploy/localenv.sh"

if [ "${1:-}" = postgres ]; then
  ensure_postgres
  exit 0
fi
# The databases outlive every run (and every checkout: they are the machine's). Consultations
# started by older workflow code may no longer replay on newer code (nothing is released, so
# workflow changes are not versioned): reset starts from empty databases.
if [ "${1:-}" = reset ]; then
  port_free "$TEMPORAL_FRONTEND_PORT" ||
    { echo "cluster.sh: port $TEMPORAL_FRONTEND_PORT is in use: stop the running cluster first" >&2; exit 1; }
  ensure_postgres
  for db in "$TEMPORAL_DB" "$TEMPORAL_VISIBILITY_DB"; do
    PGPASSWORD=$TEMPORAL_DB_PASSWORD psql -qAt -v ON_ERROR_STOP=1 -h "$TEMPORAL_DB_HOST" -p "$TEMPORAL_DB_PORT" -U "$TEMPORAL_DB_USER" \
      -d postgres -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)"
  done
  echo "cluster.sh: dropped $TEMPORAL_DB and $TEMPORAL_VISIBILITY_DB; the next 'make cluster' starts from empty databases"
  exit 0
fi
split=0
[ "${1:-}" = --split ] && split=1

need() { [ -x "$1" ] || { echo "cluster.sh: $1 is missing; run 'make cluster' (it builds everything first)" >&2; exit 1; }; }
for b in "$BIN/temporal" "$TEMPORAL_SERVER" "$TEMPORAL_SQL_TOOL" "$BIN/timsim" "$BIN/timdesk-api" "$BIN/timdesk-worker" "$BIN/timdesk-proxy"; do need "$b"; done

for p in "$TEMPORAL_FRONTEND_PORT" "$PROXY_PORT" $API_PORTS "$TIMSIM_PORT"; do
  port_free "$p" || { echo "cluster.sh: port $p is already in use (another 'make cluster' or 'make run'?)" >&2; exit 1; }
done

ensure_postgres
"$root/deploy/temporal/schema.sh"

local_env
set -a
TEMPORAL_ADDRESS=127.0.0.1:$TEMPORAL_FRONTEND_PORT
TIMSIM_CALLBACK_URL=http://127.0.0.1:$PROXY_PORT/tim/callback
set +a

STOP_GRACE_TICKS=75 # the Temporal server drains longer
# shellcheck source=deploy/procs.sh
. "$root/deploy/procs.sh"

server=("$TEMPORAL_SERVER" --root "$root/deploy/temporal" --config config --env production --allow-no-auth)
if [ "$split" = 1 ]; then
  i=0
  for svc in history matching frontend worker; do
    TEMPORAL_METRICS_ADDRESS=127.0.0.1:$((8000 + i)) start "temporal-$svc" "${server[@]}" start --service "$svc"
    i=$((i + 1))
  done
else
  start temporal "${server[@]}" start
fi

TEMPORAL_CLI=$BIN/temporal TEMPORAL_ADDRESS=$TEMPORAL_ADDRESS "$root/deploy/register-search-attributes.sh" | sed "s/^/[register] /"

start timsim "$BIN/timsim"
# Each worker serves its metrics on its own port (9464, 9465, ...).
for ((w = 1; w <= WORKERS; w++)); do
  TIMDESK_WORKER_METRICS_LISTEN=127.0.0.1:$((9463 + w)) start "worker-$w" "$BIN/timdesk-worker"
done
backends=() n=0
for p in $API_PORTS; do
  n=$((n + 1))
  TIMDESK_LISTEN=127.0.0.1:$p start "api-$n" "$BIN/timdesk-api"
  backends+=("http://127.0.0.1:$p")
done
PROXY_LISTEN=127.0.0.1:$PROXY_PORT PROXY_BACKENDS=$(IFS=,; echo "${backends[*]}") start proxy "$BIN/timdesk-proxy"

for p in $API_PORTS; do
  for i in $(seq 1 150); do
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break
    [ "$i" = 150 ] && { echo "cluster.sh: the API on port $p did not come up in 30 s; see its lines above" >&2; exit 1; }
    sleep 0.2
  done
done

cat <<EOF

timdesk's production topology is up:
  Tencent IM emulator (chat as customers and agents): http://127.0.0.1:$TIMSIM_PORT/
  Callback address (proxy over the API replicas):     http://127.0.0.1:$PROXY_PORT/tim/callback
  API replicas:                                       $(for p in $API_PORTS; do printf 'http://127.0.0.1:%s/healthz ' "$p"; done)
  Temporal frontend (PostgreSQL, $( [ "$split" = 1 ] && echo "one process per service" || echo "one process")): 127.0.0.1:$TEMPORAL_FRONTEND_PORT
                                                      $BIN/temporal workflow list --address 127.0.0.1:$TEMPORAL_FRONTEND_PORT
  Workers:                                            $WORKERS (metrics on http://127.0.0.1:9464/metrics and up)
  Admin API key (Authorization: Bearer ...):          $TIMDESK_ADMIN_API_KEY
Press Ctrl-C to stop everything (PostgreSQL keeps running, and keeps the data).

EOF

status=0
wait -n "${pids[@]}" || status=$?
echo "a process exited (status $status); see its last lines above"
exit 1
