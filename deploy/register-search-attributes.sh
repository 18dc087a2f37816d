#!/usr/bin/env bash
# Registers timdesk's custom search attributes on a Temporal cluster. Run it once per namespace BEFORE
# the first worker starts: a workflow that upserts an unregistered attribute gets stuck.
#   TEMPORAL_ADDRESS=temporal:7233 TEMPORAL_NAMESPACE=default ./deploy/register-search-attributes.sh
set -euo pipefail
temporal=${TEMPORAL_CLI:-temporal}
addr=${TEMPORAL_ADDRESS:-localhost:7233}
ns=${TEMPORAL_NAMESPACE:-default}
for name in TimdeskStatus TimdeskCustomer TimdeskAgent TimdeskLanguage; do
  if "$temporal" operator search-attribute list --address "$addr" --namespace "$ns" | grep -qw "$name"; then
    echo "$name already registered"
  else
    "$temporal" operator search-attribute create --address "$addr" --namespace "$ns" --name "$name" --type Keyword
    echo "$name registered"
  fi
done
