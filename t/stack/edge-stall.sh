#!/usr/bin/env bash
# The edge under stalls (issue 12), against a stack of its own whose nginx
# runs the shipped nginx.conf.d/local.conf.in (no worker: the job messages
# stay on the queue, where this test reads them):
#   - nginx's own errors (a malformed request line, a 9,000-byte URI, a
#     64 KiB header, TRACE) are the contract's JSON, never HTML or a 500;
#   - a transaction holding the row (a complete that commits late) never
#     makes complete a 409: it answers 200 queued and sends the job;
#   - PostgreSQL stopped (SIGSTOP) during complete: 503, then the retried
#     complete answers 200/202, never 409, and the job is on the queue;
#   - the SQS emulator stopped during complete: 503 within
#     vidstream_aws_timeout (5 s) plus a margin, the video still queued;
#     the retried complete sends the job.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

run=$(mktemp -d /tmp/vidstream-stall.XXXXXX)
export RUN_DIR=$run/stack
stopped=()
cleanup() {
    [ ${#stopped[@]} -gt 0 ] && kill -CONT "${stopped[@]}" 2>/dev/null
    STACK_WORKER=0 bash "$TOP/scripts/stack.sh" down >/dev/null 2>&1
    rm -rf "$run"
}
trap cleanup EXIT

STACK_WORKER=0 bash "$TOP/scripts/stack.sh" up >"$run/up.log" 2>&1 \
    || { cat "$run/up.log"; flunk "stack up"; finish; }
env_file=$RUN_DIR/stack.env
set -a; . "$env_file"; set +a

user=stall-$$-$RANDOM
token=$(node "$TOP/scripts/token" "$user" --env "$env_file")

# api METHOD PATH [BODY] [CURL ARGS...]: prints "<status> <body>"
api() {
    local method=$1 path=$2 body=${3:-}
    shift 3 2>/dev/null || shift $#
    curl -s -m 30 -o "$run/body" -w '%{http_code}' -X "$method" \
        -H "Authorization: Bearer $token" \
        ${body:+-H 'Content-Type: application/json' --data-binary "$body"} \
        "$@" "$VIDSTREAM_URL$path" > "$run/code"
    echo "$(cat "$run/code") $(cat "$run/body")"
}

create() {
    api POST /videos '{"filename":"s.mov","content_type":"video/mp4","size":5}' \
        | sed -n 's/^201 .*"id" : "\([0-9a-f-]\{36\}\)".*/\1/p'
}

sql() { psql "$VIDSTREAM_DATABASE_URL" -XAtqc "$1"; }

# jobs ID: how many job messages for video ID the queue holds (taken off)
jobs() {
    python3 - "$1" <<'PY'
import json, os, sys, urllib.request
def sqs(action, params):
    req = urllib.request.Request(os.environ["AWS_ENDPOINT_URL_SQS"] + "/",
        data=json.dumps(params).encode(), method="POST", headers={
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": "AmazonSQS." + action,
        "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=x"})
    return json.loads(urllib.request.urlopen(req, timeout=10).read() or b"{}")
q = os.environ["VIDSTREAM_QUEUE_URL"]
n = 0
for _ in range(10):
    ms = sqs("ReceiveMessage", {"QueueUrl": q, "MaxNumberOfMessages": 10,
                                "WaitTimeSeconds": 0}).get("Messages", [])
    if not ms:
        break
    for m in ms:
        if json.loads(m["Body"]).get("video_id") == sys.argv[1]:
            n += 1
            sqs("DeleteMessage", {"QueueUrl": q, "ReceiptHandle": m["ReceiptHandle"]})
print(n)
PY
}

# -- nginx's own errors, with the shipped configuration ------------------

raw() {  # raw REQUEST: the status line and body nginx answers
    python3 - "$1" "${VIDSTREAM_URL#http://}" <<'PY'
import socket, sys
host, port = sys.argv[2].split(":")
s = socket.create_connection((host, int(port)), timeout=10)
s.sendall(sys.argv[1].encode("latin-1"))
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
head, _, body = data.partition(b"\r\n\r\n")
lines = head.decode("latin-1").split("\r\n")
ctype = [l.split(":", 1)[1].strip() for l in lines if l.lower().startswith("content-type:")]
print(lines[0].split(" ")[1], ctype[0] if ctype else "-", body.decode("latin-1").strip())
PY
}

bad='{"error":"invalid_request","message":"malformed request or headers too large"}'
is "GET /videos/%00 is a JSON 400" \
   "$(raw $'GET /videos/%00 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')" \
   "400 application/json $bad"
is "a raw space in the query is a JSON 400" \
   "$(raw $'GET /videos?a=1 2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')" \
   "400 application/json $bad"
long=$(head -c 9000 /dev/zero | tr '\0' a)
is "a 9,000-byte URI is a JSON 414" \
   "$(raw "GET /videos/$long HTTP/1.1"$'\r\nHost: x\r\nConnection: close\r\n\r\n')" \
   '414 application/json {"error":"invalid_request","message":"request URI too long"}'
big=$(head -c 65536 /dev/zero | tr '\0' h)
is "a 64 KiB header is a JSON 400" \
   "$(raw $'GET /videos HTTP/1.1\r\nHost: x\r\nX-Big: '"$big"$'\r\nConnection: close\r\n\r\n')" \
   "400 application/json $bad"
is "TRACE is a JSON 405" \
   "$(raw $'TRACE /videos HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')" \
   '405 application/json {"error":"method_not_allowed","message":"method not allowed here"}'
check "nginx logged no empty-URI redirect and no alert" \
   bash -c '! grep -Eq "empty URI|\[alert\]|\[crit\]" "$1"/nginx/error.log' _ "$RUN_DIR"

# -- a complete that commits late (a transaction holds the row) ----------

id=$(create)
check "a video to complete" test -n "$id"
psql "$VIDSTREAM_DATABASE_URL" -Xq -c "BEGIN" \
    -c "UPDATE videos SET status = 'queued', queued_at = now() WHERE id = '$id'" \
    -c "SELECT pg_sleep(1.5)" -c "COMMIT" >/dev/null &
holder=$!
sleep 0.4
is "complete while another transaction queues the row: 200 queued, never 409" \
   "$(api POST "/videos/$id/complete")" "200 {\"id\":\"$id\",\"status\":\"queued\"}"
wait $holder
is "and the job it never sent is sent" "$(jobs "$id")" 1
is "and enqueued_at is set" "$(sql "SELECT enqueued_at IS NOT NULL FROM videos WHERE id = '$id'")" t

# -- PostgreSQL stopped during complete ----------------------------------

pg_data=$(cat "$RUN_DIR/pg.datadir")
postmaster=$(head -n1 "$pg_data/postmaster.pid")

for round in 1 2 3 4; do
    id=$(create)
    pids=("$postmaster" $(pgrep -P "$postmaster"))
    stopped=("${pids[@]}")
    kill -STOP "${pids[@]}"
    t0=$(date +%s%N)
    first=$(api POST "/videos/$id/complete")
    t1=$(date +%s%N)
    sleep 0.5
    kill -CONT "${pids[@]}"
    stopped=()
    is "round $round: PostgreSQL stopped: complete is 503" "${first%% *}" 503
    check "round $round: within the 2 s pool timeout (+1 s)" \
        test $(( (t1 - t0) / 1000000 )) -lt 3000
    # retried at once, as a client would, until PostgreSQL answers
    codes=""
    for i in $(seq 1 40); do
        out=$(api POST "/videos/$id/complete")
        codes="$codes ${out%% *}"
        [ "${out%% *}" = 503 ] || break
        sleep 0.1
    done
    last=${codes##* }
    check "round $round: the retried complete is 200 or 202, never 409 (got$codes)" \
        bash -c '[[ "$1" = 200 || "$1" = 202 ]] && [[ "$2" != *409* ]]' _ "$last" "$codes"
    n=$(jobs "$id")
    check "round $round: the job is on the queue ($n message(s))" test "$n" -ge 1
    is "round $round: queued with enqueued_at set" \
       "$(sql "SELECT status || ' ' || (enqueued_at IS NOT NULL) FROM videos WHERE id = '$id'")" "queued true"
done

# -- creates with an Idempotency-Key: racing, and across a stall ---------

key="race-$RANDOM"
for i in $(seq 1 8); do
    curl -s -m 30 -o "$run/race.$i" -H "Authorization: Bearer $token" \
        -H "Idempotency-Key: $key" -H 'Content-Type: application/json' \
        --data-binary '{"filename":"race.mov","content_type":"video/mp4","size":3}' \
        "$VIDSTREAM_URL/videos" &
done
wait
ids=$(sed -n 's/.*"id" : "\([0-9a-f-]\{36\}\)".*/\1/p' "$run"/race.* | sort -u)
is "8 racing creates under one key: one video id in every answer" \
   "$(echo "$ids" | wc -l) $(cat "$run"/race.* | grep -c '"id" : ')" "1 8"
is "and one row" \
   "$(sql "SELECT count(*) FROM videos WHERE owner_sub = '$user' AND filename = 'race.mov'")" 1

# the first create under a key commits while the repeat's statement waits
# for it: the repeat reads that video after all
key="late-$RANDOM"
hash=$(printf 'vidstream create v1\0late.mov\0video/mp4\0006\0' | sha256sum | cut -c1-64)
late=$(sql "SELECT gen_random_uuid()")
psql "$VIDSTREAM_DATABASE_URL" -Xq -c "BEGIN" \
    -c "INSERT INTO videos (id, owner_sub, filename, content_type, size, input_key) VALUES ('$late', '$user', 'late.mov', 'video/mp4', 6, 'input/$user/$late/source')" \
    -c "INSERT INTO idempotency_keys (owner_sub, key, request_hash, video_id) VALUES ('$user', '$key', '$hash', '$late')" \
    -c "SELECT pg_sleep(1)" -c "COMMIT" >/dev/null &
holder=$!
sleep 0.4
out=$(api POST /videos '{"filename":"late.mov","content_type":"video/mp4","size":6}' -H "Idempotency-Key: $key")
wait $holder
is "a repeat racing the first create's commit is 201 with its video" \
   "$(echo "$out" | sed -n 's/^\(201\) .*"id" : "\([0-9a-f-]*\)".*/\1 \2/p')" "201 $late"

for round in 1 2 3 4; do
    key="stall-$round-$RANDOM"
    body="{\"filename\":\"k$round.mov\",\"content_type\":\"video/mp4\",\"size\":4}"
    pids=("$postmaster" $(pgrep -P "$postmaster"))
    stopped=("${pids[@]}")
    kill -STOP "${pids[@]}"
    first=$(api POST /videos "$body" -H "Idempotency-Key: $key")
    sleep 0.5
    kill -CONT "${pids[@]}"
    stopped=()
    codes="${first%% *}"
    for i in $(seq 1 40); do
        out=$(api POST /videos "$body" -H "Idempotency-Key: $key")
        codes="$codes ${out%% *}"
        [ "${out%% *}" = 503 ] || break
        sleep 0.1
    done
    is "create round $round: PostgreSQL stopped, then retried with its key: 503 ... 201" \
       "$(echo "$codes" | sed 's/^503\( 503\)* 201$/503 201/')" "503 201"
    is "create round $round: one row, however many tries committed" \
       "$(sql "SELECT count(*) FROM videos WHERE owner_sub = '$user' AND filename = 'k$round.mov'")" 1
done

# -- the SQS emulator stopped during complete ----------------------------

sqs_pid=$(cat "$RUN_DIR/pids/sqs.pid")
id=$(create)
stopped=("$sqs_pid")
kill -STOP "$sqs_pid"
t0=$(date +%s%N)
first=$(api POST "/videos/$id/complete")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
is "SQS stopped: complete is 503" "${first%% *}" 503
check "within vidstream_aws_timeout 5 s + 1 s (took $ms ms)" test "$ms" -lt 6000
is "the video stays queued, its job unsent" \
   "$(sql "SELECT status || ' ' || (enqueued_at IS NULL) FROM videos WHERE id = '$id'")" "queued true"
kill -CONT "$sqs_pid"
stopped=()
out=$(api POST "/videos/$id/complete")
is "SQS back: the retried complete is 200 queued" "$out" "200 {\"id\":\"$id\",\"status\":\"queued\"}"
n=$(jobs "$id")
check "the job is on the queue ($n message(s): the stalled one may arrive too)" test "$n" -ge 1
is "enqueued_at is set" "$(sql "SELECT enqueued_at IS NOT NULL FROM videos WHERE id = '$id'")" t

finish
