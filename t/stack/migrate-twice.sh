#!/usr/bin/env bash
# sql/: the migrations apply twice without error, and the schema enforces
# what CONTRACT.md sections 3 and 5 need.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

[ -n "${VIDSTREAM_STACK_ENV:-}" ] || { echo "needs VIDSTREAM_STACK_ENV"; exit 1; }
set -a; . "$VIDSTREAM_STACK_ENV"; set +a

base=${VIDSTREAM_DATABASE_URL%/*}
db=vidstream_migrate_$$
psql "$base/postgres" -XAtqc "CREATE DATABASE $db" >/dev/null
url=$base/$db
trap 'psql "$base/postgres" -XAtqc "DROP DATABASE IF EXISTS $db" >/dev/null' EXIT
export PGOPTIONS="-c client_min_messages=warning"
q() { psql "$url" -XAtq -v ON_ERROR_STOP=1 -c "$1" 2>&1; }

check "first migrate" bash "$TOP/sql/migrate.sh" "$url"
check "second migrate (recorded, skipped)" bash "$TOP/sql/migrate.sh" "$url"
n=$(ls "$TOP"/sql/[0-9][0-9][0-9]_*.sql | wc -l)
is "every migration recorded once" "$(q 'SELECT count(*) FROM schema_migrations')" "$n"
for f in "$TOP"/sql/[0-9][0-9][0-9]_*.sql; do
    check "$(basename "$f") is idempotent when applied again by hand" \
        psql "$url" -Xq -v ON_ERROR_STOP=1 -f "$f"
done
check "make migrate works" make -s -C "$TOP" migrate DATABASE_URL="$url"

id=$(q "INSERT INTO videos (owner_sub, filename, content_type, size, input_key)
        VALUES ('alice', 'a.mov', 'video/quicktime', 10, 'input/alice/x/source')
        RETURNING id")
check "insert gives a uuid id" bash -c '[[ $1 =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]]' _ "$id"
is "new video is pending_upload" "$(q "SELECT status FROM videos WHERE id = '$id'")" pending_upload
check "status outside the lifecycle is refused" \
    bash -c '! psql "$1" -XAtq -v ON_ERROR_STOP=1 -c "UPDATE videos SET status = '"'"'bogus'"'"' WHERE id = '"'"'$2'"'"'" 2>/dev/null' _ "$url" "$id"
check "progress over 100 is refused" \
    bash -c '! psql "$1" -XAtq -v ON_ERROR_STOP=1 -c "UPDATE videos SET progress = 101 WHERE id = '"'"'$2'"'"'" 2>/dev/null' _ "$url" "$id"
before=$(q "SELECT updated_at FROM videos WHERE id = '$id'")
q "SELECT pg_sleep(0.01)" >/dev/null
q "UPDATE videos SET status = 'queued' WHERE id = '$id' AND status = 'pending_upload'" >/dev/null
after=$(q "SELECT updated_at FROM videos WHERE id = '$id'")
check "updated_at is maintained" test "$before" != "$after"
plan=$(q "SET enable_seqscan = off; EXPLAIN SELECT id FROM videos WHERE owner_sub = 'alice' ORDER BY created_at DESC, id DESC LIMIT 20")
check "my-videos-newest-first uses the index" grep -q videos_owner_created_idx <<<"$plan"

finish
