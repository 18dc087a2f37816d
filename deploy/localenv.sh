# The environment dev.sh and cluster.sh give the programs they start (sourced, not run).
# shellcheck shell=bash

# port_free PORT: nothing listens on 127.0.0.1:PORT.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# local_env: exports the local secrets — made once per checkout in $DATA/dev.env (git-ignored),
# never printed except the admin API key a developer needs for curl — and the settings both stacks
# share: the emulator on $TIMSIM_PORT as Tencent, the demo roster and FAQ. The caller adds its own
# addresses (Temporal, listen ports, the emulator's callback URL) after it.
local_env() {
  mkdir -p "$DATA"
  if [ ! -f "$DATA/dev.env" ]; then
    rnd() { od -An -N32 -tx1 /dev/urandom | tr -d ' \n'; }
    (umask 077 && cat > "$DATA/dev.env" <<EOF2
TIMDESK_SDKAPPID=1400000000
TIMDESK_SECRET_KEY=$(rnd)
TIMDESK_CALLBACK_TOKEN=$(rnd)
TIMDESK_AUTH_JWT_SECRET=$(rnd)
TIMDESK_ADMIN_API_KEY=$(rnd)
EOF2
    )
  fi
  set -a
  # shellcheck disable=SC1091
  . "$DATA/dev.env"
  TIMDESK_ADMIN=${TIMDESK_ADMIN:-administrator}
  TIMDESK_SERVICE_ACCOUNT=${TIMDESK_SERVICE_ACCOUNT:-support}
  TIMDESK_TIM_BASE_URL=http://127.0.0.1:$TIMSIM_PORT
  TEMPORAL_NAMESPACE=${TEMPORAL_NAMESPACE:-default}
  TIMDESK_TASK_QUEUE=${TIMDESK_TASK_QUEUE:-timdesk}
  TIMDESK_ROSTER_FILE=${TIMDESK_ROSTER_FILE:-$root/deploy/demo/roster.yaml}
  TIMDESK_FAQ_FILE=${TIMDESK_FAQ_FILE:-$root/deploy/demo/faq.yaml}
  TIMDESK_LOG_FORMAT=${TIMDESK_LOG_FORMAT:-text}
  TIMSIM_LISTEN=127.0.0.1:$TIMSIM_PORT
  set +a
}
