# Process supervision shared by dev.sh and cluster.sh (sourced, not run): `start NAME CMD...`
# runs CMD in the background with every output line prefixed [NAME]; on exit, INT or TERM every
# started process gets TERM (last started first), then KILL after STOP_GRACE_TICKS × 0.2 s.
# shellcheck shell=bash

STOP_GRACE_TICKS=${STOP_GRACE_TICKS:-50}
pids=()
stop() {
  trap - INT TERM EXIT
  echo "stopping..."
  for ((i=${#pids[@]}-1; i>=0; i--)); do kill -TERM "${pids[$i]}" 2>/dev/null || true; done
  for _ in $(seq 1 "$STOP_GRACE_TICKS"); do
    alive=0; for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break; sleep 0.2
  done
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  echo "stopped"
}
trap stop EXIT
trap 'stop; exit 0' INT TERM

# start NAME CMD...: run CMD in the background, every output line prefixed with [NAME].
start() {
  local name=$1; shift
  ( exec "$@" > >(sed -u "s/^/[$name] /") 2>&1 ) &
  pids+=($!)
}
