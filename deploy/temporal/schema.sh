#!/usr/bin/env bash
# schema.sh — creates Temporal's two PostgreSQL databases and brings their schema up to date. Safe to
# run on every start: existing databases are kept, only newer schema versions are applied. Used by
# deploy/cluster.sh, the cluster e2e suite, deploy/docker-compose.yml and the k8s schema Job.
#
#   TEMPORAL_SQL_TOOL   temporal-sql-tool binary (default: temporal-sql-tool on PATH)
#   TEMPORAL_DB_HOST/TEMPORAL_DB_PORT/TEMPORAL_DB_USER/TEMPORAL_DB_PASSWORD (127.0.0.1/5432/temporal/temporal)
#   TEMPORAL_DB/TEMPORAL_VISIBILITY_DB   database names (temporal/temporal_visibility)
# The user needs CREATEDB (or the databases must exist). The schemas are the ones embedded in the tool
# (postgresql/v12/temporal and postgresql/v12/visibility), so tool and server must be the same release.
set -euo pipefail
tool=${TEMPORAL_SQL_TOOL:-temporal-sql-tool}
export SQL_PLUGIN=postgres12
export SQL_HOST=${TEMPORAL_DB_HOST:-127.0.0.1}
export SQL_PORT=${TEMPORAL_DB_PORT:-5432}
export SQL_USER=${TEMPORAL_DB_USER:-temporal}
export SQL_PASSWORD=${TEMPORAL_DB_PASSWORD:-temporal}

schema() { # schema DATABASE SCHEMA_NAME
  local db=$1 name=$2 out
  if ! out=$("$tool" --db "$db" create-database 2>&1); then
    if ! grep -q "already exists" <<<"$out"; then
      echo "schema.sh: create database $db failed:" >&2; echo "$out" >&2; exit 1
    fi
  fi
  if ! out=$("$tool" --db "$db" setup-schema -v 0.0 2>&1 && "$tool" --db "$db" update-schema --schema-name "$name" 2>&1); then
    echo "schema.sh: schema of $db failed:" >&2; echo "$out" >&2; exit 1
  fi
  echo "schema.sh: $db is at $name's latest version"
}
schema "${TEMPORAL_DB:-temporal}" postgresql/v12/temporal
schema "${TEMPORAL_VISIBILITY_DB:-temporal_visibility}" postgresql/v12/visibility
