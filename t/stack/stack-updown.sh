#!/usr/bin/env bash
# make up / make down (CONTRACT.md section 8): starts everything on
# 127.0.0.1, writes stack.env, a second up is a no-op, down leaves nothing.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

run=$(mktemp -d /tmp/vidstream-updown.XXXXXX)
export RUN_DIR=$run/stack
trap 'bash "$TOP/scripts/stack.sh" down >/dev/null 2>&1; rm -rf "$run"' EXIT

check "stack up" bash "$TOP/scripts/stack.sh" up
env_file=$RUN_DIR/stack.env
check "stack.env written" test -s "$env_file"
for k in VIDSTREAM_URL VIDSTREAM_JWT_ISSUER VIDSTREAM_JWT_CLIENT_ID \
         VIDSTREAM_DEV_KEY VIDSTREAM_DEV_KID VIDSTREAM_DATABASE_URL \
         AWS_ENDPOINT_URL_S3 AWS_ENDPOINT_URL_SQS AWS_REGION \
         AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY VIDSTREAM_BUCKET \
         VIDSTREAM_QUEUE_URL VIDSTREAM_DLQ_URL; do
    check "stack.env has $k" grep -q "^$k=." "$env_file"
done
set -a; . "$env_file"; set +a

is "upload health through the stack's nginx" \
   "$(curl -s "$VIDSTREAM_URL/upload/health")" "upload ok"
is "download health through the stack's nginx" \
   "$(curl -s "$VIDSTREAM_URL/download/health")" "download ok"
big=$(head -c 70000 /dev/zero | tr '\0' a)
resp=$(curl -s -w ' %{http_code} %{content_type}' -H "Authorization: Bearer $big" "$VIDSTREAM_URL/videos")
is "a 70 KB header gets the contract's JSON 400 from nginx itself" \
   "$resp" '{"error":"invalid_request","message":"malformed request or headers too large"}
 400 application/json'
is "an unknown path is a JSON 404" \
   "$(curl -s -w ' %{http_code}' "$VIDSTREAM_URL/nope")" '{"error":"not_found","message":"no such resource"}
 404'
check "dev key is a private RSA key" \
   openssl pkey -in "$VIDSTREAM_DEV_KEY" -noout
check "PostgreSQL has the schema" \
   psql "$VIDSTREAM_DATABASE_URL" -XAtqc "SELECT count(*) FROM videos" -o /dev/null
is "S3 bucket exists" \
   "$(curl -s -o /dev/null -w '%{http_code}' "$AWS_ENDPOINT_URL_S3/$VIDSTREAM_BUCKET")" 200
attrs=$(curl -s -X POST "$AWS_ENDPOINT_URL_SQS/" \
    -H 'Content-Type: application/x-amz-json-1.0' \
    -H 'X-Amz-Target: AmazonSQS.GetQueueAttributes' \
    -d "{\"QueueUrl\":\"$VIDSTREAM_QUEUE_URL\",\"AttributeNames\":[\"RedrivePolicy\"]}")
check "queue has a redrive policy to the DLQ with maxReceiveCount 5" \
   bash -c 'grep -q "vidstream-jobs-dlq" <<<"$1" && grep -q "maxReceiveCount.*5" <<<"$1"' _ "$attrs"
redis_port=${VIDSTREAM_REDIS_URL##*:}; redis_port=${redis_port%%/*}
is "Redis answers" "$(redis-cli -h 127.0.0.1 -p "$redis_port" ping)" PONG
token=$(VIDSTREAM_STACK_ENV=$env_file "$TOP/scripts/token" alice --ttl 60)
is "scripts/token prints a three-part JWT" \
   "$(awk -F. '{print NF}' <<<"$token")" 3

# Everything listens on 127.0.0.1 only.
pids=$(cat "$RUN_DIR"/pids/*.pid)
pg_port=${VIDSTREAM_DATABASE_URL##*:}; pg_port=${pg_port%%/*}
wild=$(ss -Hltnp | awk '{print $4}' | grep -E "^(0\.0\.0\.0|\*|\[::\]):(${pg_port}|${redis_port}|${AWS_ENDPOINT_URL_S3##*:}|${AWS_ENDPOINT_URL_SQS##*:}|${VIDSTREAM_URL##*:})$" || true)
is "no stack port listens on a wildcard address" "$wild" ""

before=$(cat "$RUN_DIR"/pids/*.pid | sort | tr '\n' ' ')
check "second up is a no-op" bash "$TOP/scripts/stack.sh" up
after=$(cat "$RUN_DIR"/pids/*.pid | sort | tr '\n' ' ')
is "second up kept the same processes" "$after" "$before"

check "stack down" bash "$TOP/scripts/stack.sh" down
left=""
for p in $pids; do kill -0 "$p" 2>/dev/null && left="$left $p"; done
is "no stack process is left" "$left" ""
pg_left=$(pgrep -f "postgres.*-p $pg_port" || true)
is "PostgreSQL stopped" "$pg_left" ""
check "run directory removed" test ! -e "$RUN_DIR"

finish
