#!/usr/bin/env bash
# migrate.sh DATABASE_URL: applies sql/NNN_*.sql in order, each once, each in
# its own transaction, recording it in schema_migrations.  The files are
# idempotent too, so a migration re-applied by hand does no harm.
set -euo pipefail

url=${1:-${DATABASE_URL:-${VIDSTREAM_DATABASE_URL:-}}}
[ -n "$url" ] || { echo "usage: migrate.sh DATABASE_URL" >&2; exit 2; }
dir=$(cd "$(dirname "$0")" && pwd)

export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"

psql_q() { psql "$url" -X -q -v ON_ERROR_STOP=1 "$@"; }

psql_q -c "CREATE TABLE IF NOT EXISTS schema_migrations (
               version text PRIMARY KEY,
               applied_at timestamptz NOT NULL DEFAULT now())" >/dev/null

for f in "$dir"/[0-9][0-9][0-9]_*.sql; do
    v=$(basename "$f" .sql)
    done_=$(psql_q -At -c "SELECT 1 FROM schema_migrations WHERE version = '$v'")
    [ "$done_" = 1 ] && continue
    echo "migrate: applying $v"
    psql_q -1 -f "$f" -c "INSERT INTO schema_migrations (version) VALUES ('$v')" >/dev/null
done
