#!/usr/bin/env bash
# dev.sh — the local stack behind `make run`: Temporal dev server (SQLite under ./.data), the Tencent IM
# emulator, the timdesk API and the worker, each log line prefixed with its process name.
# Ctrl-C (or SIGTERM) stops everything. Re-running reuses ./bin and ./.data.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$root/bin}
DATA=${DATA:-$root/.data}
mkdir -p "$DATA"

TEMPORAL_PORT=${TEMPORAL_PORT:-7233}
TEMPORAL_UI_PORT=${TEMPORAL_UI_PORT:-8233}
API_PORT=${API_PORT:-8080}
TIMSIM_PORT=${TIMSIM_PORT:-9800}
WORKER_METRICS_PORT=${WORKER_METRICS_PORT:-9464}

need() { [ -x "$1" ] || { echo "dev.sh: $1 is missing; run 'make run' (it builds everything first)" >&2; exit 1; }; }
need "$BIN/temporal"; need "$BIN/timsim"; need "$BIN/timdesk-api"; need "$BIN/timdesk-worker"

# shellcheck source=deploy/localenv.sh
. "$root/deploy/localenv.sh"
for p in "$TEMPORAL_PORT" "$TEMPORAL_UI_PORT" "$API_PORT" "$TIMSIM_PORT" "$WORKER_METRICS_PORT"; do
  port_free "$p" || { echo "dev.sh: port $p is already in use (another 'make run'?); stop it or set TEMPORAL_PORT/TEMPORAL_UI_PORT/API_PORT/TIMSIM_PORT/WORKER_METRICS_PORT" >&2; exit 1; }
done

local_env
set -a
TIMDESK_LISTEN=127.0.0.1:$API_PORT
TIMDESK_WORKER_METRICS_LISTEN=127.0.0.1:$WORKER_METRICS_PORT
TEMPORAL_ADDRESS=127.0.0.1:$TEMPORAL_PORT
TIMDESK_CHAT_TRANSPORT=${TIMDESK_CHAT_TRANSPORT:-sim}
TIMSIM_CALLBACK_URL=http://127.0.0.1:$API_PORT/tim/callback
set +a

# shellcheck source=deploy/procs.sh
. "$root/deploy/procs.sh"

start temporal "$BIN/temporal" server start-dev \
  --ip 127.0.0.1 --port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT" \
  --db-filename "$DATA/temporal.db" \
  --sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=normal \
  --namespace "$TEMPORAL_NAMESPACE" \
  --search-attribute TimdeskStatus=Keyword --search-attribute TimdeskCustomer=Keyword \
  --search-attribute TimdeskAgent=Keyword --search-attribute TimdeskLanguage=Keyword \
  --search-attribute TimdeskQueuedSince=Datetime \
  --dynamic-config-value system.enableActivityEagerExecution=true \
  --log-level warn

echo "waiting for the Temporal dev server on 127.0.0.1:$TEMPORAL_PORT ..."
for i in $(seq 1 150); do
  "$BIN/temporal" operator cluster health --address "127.0.0.1:$TEMPORAL_PORT" >/dev/null 2>&1 && break
  [ "$i" = 150 ] && { echo "dev.sh: Temporal did not come up in 30 s; see the [temporal] lines above" >&2; exit 1; }
  sleep 0.2
done

# demo_jwt USER: what a business's login system would hand its app for USER (HS256 with the dev
# secret, valid 7 days), for the customer chat page's URL.
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
demo_jwt() {
  local now header payload sig
  now=$(date +%s)
  header=$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)
  payload=$(printf '{"sub":"%s","iat":%d,"exp":%d}' "$1" "$now" $((now + 7 * 86400)) | b64url)
  sig=$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -hmac "$TIMDESK_AUTH_JWT_SECRET" -binary | b64url)
  printf '%s.%s.%s' "$header" "$payload" "$sig"
}
DEMO_CUSTOMER=${DEMO_CUSTOMER:-alice}
chat_url="http://127.0.0.1:$API_PORT/chat/#token=$(demo_jwt "$DEMO_CUSTOMER")"

start timsim "$BIN/timsim"
start worker "$BIN/timdesk-worker"
start api "$BIN/timdesk-api"

cat <<EOF

timdesk is up:
  Tencent IM emulator (chat as customers and agents): http://127.0.0.1:$TIMSIM_PORT/
  Customer chat page as $DEMO_CUSTOMER (open it in a phone-sized window; agents answer on the emulator page):
    $chat_url
  Temporal Web UI:                                    http://127.0.0.1:$TEMPORAL_UI_PORT/
  Temporal frontend (gRPC):                           127.0.0.1:$TEMPORAL_PORT
  timdesk API:                                        http://127.0.0.1:$API_PORT/healthz
  Worker metrics (Prometheus):                        http://127.0.0.1:$WORKER_METRICS_PORT/metrics
  Admin API key (Authorization: Bearer ...):          $TIMDESK_ADMIN_API_KEY
  Secrets and data:                                   $DATA (dev.env, temporal.db)
Press Ctrl-C to stop everything.

EOF

# Stop everything as soon as any one process exits, so a crash is never hidden behind the others.
status=0
wait -n "${pids[@]}" || status=$?
echo "a process exited (status $status); see its last lines above"
exit 1
