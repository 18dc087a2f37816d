#!/usr/bin/env bash
# Creates timdesk's namespace (when missing) and registers its five custom search attributes on a
# Temporal cluster. Run it once per namespace BEFORE the first worker starts (a workflow that upserts
# an unregistered attribute gets stuck); running it again changes nothing. Used by deploy/cluster.sh,
# the cluster e2e suite, the docker-compose service and the k8s Job of the same name.
#   TEMPORAL_ADDRESS=temporal:7233 TEMPORAL_NAMESPACE=default ./deploy/register-search-attributes.sh
# TEMPORAL_NAMESPACE_RETENTION (default 72h) is the retention of a namespace this script creates.
set -euo pipefail
temporal=${TEMPORAL_CLI:-temporal}
addr=${TEMPORAL_ADDRESS:-localhost:7233}
ns=${TEMPORAL_NAMESPACE:-default}
retention=${TEMPORAL_NAMESPACE_RETENTION:-72h}

# retry N CMD...: run CMD until it succeeds, N times at most, 1 s apart (a server that just started,
# or a namespace just created, is not ready for a second or two).
retry() {
  local n=$1 i out; shift
  for ((i = 1; ; i++)); do
    if out=$("$@" 2>&1); then printf '%s\n' "$out"; return 0; fi
    if ((i >= n)); then printf '%s\n' "$out" >&2; return 1; fi
    sleep 1
  done
}

retry 60 "$temporal" operator cluster health --address "$addr" >/dev/null
if "$temporal" operator namespace describe --address "$addr" --namespace "$ns" >/dev/null 2>&1; then
  echo "namespace $ns exists"
else
  retry 10 "$temporal" operator namespace create --address "$addr" --namespace "$ns" --retention "$retention" >/dev/null
  echo "namespace $ns created (retention $retention)"
fi
# One list, then one create per missing attribute (the CLI's create pairs one --type with one --name).
existing=$(retry 30 "$temporal" operator search-attribute list --address "$addr" --namespace "$ns")
# name:type, as desk.SearchAttributes lists them (TimdeskQueuedSince orders the queue).
for attr in TimdeskStatus:Keyword TimdeskCustomer:Keyword TimdeskAgent:Keyword TimdeskLanguage:Keyword TimdeskQueuedSince:Datetime; do
  name=${attr%%:*} type=${attr#*:}
  if grep -qw "$name" <<<"$existing"; then
    echo "$name already registered"
  else
    retry 30 "$temporal" operator search-attribute create --address "$addr" --namespace "$ns" --name "$name" --type "$type" >/dev/null
    echo "$name registered"
  fi
done
# Every Temporal service sees new attributes once its namespace cache refreshes (every 2 s): until
# then a workflow start that sets them fails. Wait until a query with all five is accepted, and one
# refresh more, so whatever starts next can use them.
retry 30 "$temporal" workflow list --address "$addr" --namespace "$ns" --limit 1 \
  --query 'TimdeskStatus="" AND TimdeskCustomer="" AND TimdeskAgent="" AND TimdeskLanguage="" AND TimdeskQueuedSince > "2000-01-01T00:00:00Z"' >/dev/null
sleep 2
echo "search attributes usable in $ns"
