#!/usr/bin/env bash
# The edge under stalls (issue 12, CONTRACT.md sections 3 and 5), against a
# stack of its own whose nginx runs the shipped nginx.conf.d/local.conf.in,
# with its worker, whose reconciler runs every second and sends the job of
# a video queued without a confirmed send after VIDSTREAM_RESEND_AFTER
# (10 s here). Every video completed below holds a real (1 s, 160x120)
# video, so that "reaches done" is the worker's real outcome:
#   - nginx's own errors (a malformed request line, a 9,000-byte URI, a
#     64 KiB header, TRACE) are the contract's JSON, never HTML or a 500;
#   - a transaction holding the row (a complete that commits late) never
#     makes complete a 409: it answers 200 queued and sends the job: done;
#   - PostgreSQL stopped (SIGSTOP) during complete: 503, then the retried
#     complete answers 200/202, never 409, and sends the job: done, with no
#     help from the reconciler;
#   - the same stall and the client never retries: the late commit leaves
#     the video queued with its send unconfirmed (checked in SQL), and the
#     reconciler alone sends it: done;
#   - creates under an Idempotency-Key, racing, racing a late commit and
#     retried across a PostgreSQL stall: one row each; the stalled ones are
#     then uploaded and completed: done;
#   - the SQS emulator stopped during complete: 503 within
#     vidstream_aws_timeout (5 s) plus a margin, GET still answers the
#     video queued, its send unconfirmed; SQS resumed, the retried complete
#     answers 200 (queued: it sends the job; processing or done: the
#     SendMessage nginx gave up on reached SQS after all and the worker
#     took it first): done, without the reconciler.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

# the reconciler's timers, short; RESEND_AFTER long enough that a retried
# complete (within ~2 s of the stall) always confirms its send first, so
# that the retried paths and the reconciler path are told apart
resend_after=10
# how long a completed video may take to reach done (a loaded machine)
done_within=90

run=$(mktemp -d /tmp/vidstream-stall.XXXXXX)
export RUN_DIR=$run/stack
stopped=()
cleanup() {
    [ ${#stopped[@]} -gt 0 ] && kill -CONT "${stopped[@]}" 2>/dev/null
    # a failure: the worker's and nginx's logs say why
    if [ "$t_failed" -gt 0 ]; then
        echo "# --- worker.log (last 40 lines)"
        tail -n 40 "$RUN_DIR/logs/worker.log" 2>/dev/null | sed 's/^/# /'
        echo "# --- nginx error.log (last 20 lines)"
        tail -n 20 "$RUN_DIR/nginx/error.log" 2>/dev/null | sed 's/^/# /'
    fi
    bash "$TOP/scripts/stack.sh" down >/dev/null 2>&1
    rm -rf "$run"
}
trap cleanup EXIT

[ -x "$TOP/build/vidstream-worker" ] || { flunk "no worker binary (make)"; finish; }

# the clip every completed video holds
clip=$run/clip.mp4
ffmpeg -nostdin -v error -f lavfi -i testsrc=duration=1:size=160x120:rate=10 \
    -pix_fmt yuv420p "$clip" || { flunk "ffmpeg made the test clip"; finish; }
clip_size=$(stat -c %s "$clip")

VIDSTREAM_RECONCILE_INTERVAL=1 VIDSTREAM_RESEND_AFTER=$resend_after \
VIDSTREAM_WAIT_TIME=2 \
    bash "$TOP/scripts/stack.sh" up >"$run/up.log" 2>&1 \
    || { cat "$run/up.log"; flunk "stack up"; finish; }
env_file=$RUN_DIR/stack.env
set -a; . "$env_file"; set +a
worker_log=$RUN_DIR/logs/worker.log
# its first words: the reconciler's timers as the worker read them
for i in $(seq 1 50); do
    grep -q '"stage":"reconcile","msg":"every' "$worker_log" && break
    sleep 0.1
done
check "the worker runs, its reconciler every 1 s, resend after $resend_after s" \
    grep -q "\"stage\":\"reconcile\",\"msg\":\"every 1 s\",.*\"resend_after_s\":$resend_after," "$worker_log"

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

# upload ANSWER: PUTs the clip to the presigned URL of a create's 201 body
upload() {
    local url
    url=$(jq -r '.upload.url // empty' <<<"$1" 2>/dev/null)
    [ -n "$url" ] || return 1
    [ "$(curl -s -m 30 -o /dev/null -w '%{http_code}' -X PUT \
            -H 'Content-Type: video/mp4' --data-binary @"$clip" "$url")" = 200 ]
}

# create: a new video holding the clip; prints its id
create() {
    local out id
    out=$(api POST /videos "{\"filename\":\"s.mp4\",\"content_type\":\"video/mp4\",\"size\":$clip_size}")
    id=$(sed -n 's/^201 .*"id" : "\([0-9a-f-]\{36\}\)".*/\1/p' <<<"$out")
    [ -n "$id" ] && upload "${out#201 }" && echo "$id"
}

sql() { psql "$VIDSTREAM_DATABASE_URL" -XAtqc "$1"; }

# status ID: the status GET /videos/ID answers, "?" if anything else
status() {
    local s
    s=$(api GET "/videos/$1" | sed -n 's/^200 .*"status" : "\([a-z_]*\)".*/\1/p')
    echo "${s:-?}"
}

# settle ID: polls GET until done or failed (at most $done_within s);
# prints the last status seen. After one video missed the bound, the
# next ones get 10 s each, so that a dead worker fails the test quickly.
settle() {
    local s end=$((SECONDS + done_within))
    [ -e "$run/missed" ] && end=$((SECONDS + 10))
    while :; do
        s=$(status "$1")
        case $s in done|failed) break ;; esac
        if [ $SECONDS -ge $end ]; then
            touch "$run/missed"   # (a subshell: a file, not a variable)
            break
        fi
        sleep 0.5
    done
    echo "$s"
}

# reconciled ACTION ID: the worker's reconciler logged ACTION for video ID
reconciled() {
    grep '"stage":"reconcile"' "$worker_log" | grep "\"video_id\":\"$2\"" \
        | grep -q "\"action\":\"$1\""
}

# not_resent ID: the reconciler never sent the job of video ID
not_resent() { ! reconciled resend "$1"; }

pg_data=$(cat "$RUN_DIR/pg.datadir")
postmaster=$(head -n1 "$pg_data/postmaster.pid")

# pg_stall COMMAND...: runs COMMAND with PostgreSQL (the postmaster and
# every backend) stopped, and resumes it 0.5 s after COMMAND returned
pg_stall() {
    local pids
    pids=("$postmaster" $(pgrep -P "$postmaster"))
    stopped=("${pids[@]}")
    kill -STOP "${pids[@]}"
    "$@"
    sleep 0.5
    kill -CONT "${pids[@]}"
    stopped=()
}

# stalled_complete ID: complete with PostgreSQL stopped; sets first (its
# answer) and ms (how long it took)
stalled_complete() {
    local t0
    t0=$(date +%s%N)
    first=$(api POST "/videos/$1/complete")
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
}

# retry_complete ID: complete, retried every 0.1 s while it is 503 (as a
# client would, until PostgreSQL answers); sets codes and out (the last)
retry_complete() {
    local i
    codes=""
    for i in $(seq 1 40); do
        out=$(api POST "/videos/$1/complete")
        codes="$codes ${out%% *}"
        [ "${out%% *}" = 503 ] || break
        sleep 0.1
    done
}

# warm: waits (at most 10 s) until GET /videos has answered 200 six times
# in a row: the previous stall is over for the API, and the connection its
# timeout dropped has had time to come back (a query that waits for a
# connection while PostgreSQL is stopped is never sent and cannot commit
# late: the reconciler path below checks in SQL that its late commit
# happened)
warm() {
    local ok=0 end=$((SECONDS + 10))
    while [ $ok -lt 6 ] && [ $SECONDS -lt $end ]; do
        if [ "$(api GET /videos | cut -d' ' -f1)" = 200 ]; then
            ok=$((ok + 1))
        else
            ok=0
            sleep 0.1
        fi
    done
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
check "a video created, its clip uploaded" test -n "$id"
psql "$VIDSTREAM_DATABASE_URL" -Xq -c "BEGIN" \
    -c "UPDATE videos SET status = 'queued', queued_at = now() WHERE id = '$id'" \
    -c "SELECT pg_sleep(1.5)" -c "COMMIT" >/dev/null &
holder=$!
sleep 0.4
is "complete while another transaction queues the row: 200 queued, never 409" \
   "$(api POST "/videos/$id/complete")" "200 {\"id\":\"$id\",\"status\":\"queued\"}"
wait $holder
is "and the job it never sent is sent: enqueued_at is set" \
   "$(sql "SELECT enqueued_at IS NOT NULL FROM videos WHERE id = '$id'")" t
is "and the video reaches done" "$(settle "$id")" done
check "by that complete's send, not the reconciler's" not_resent "$id"

# -- PostgreSQL stopped during complete, the client retries --------------

ids=()
for round in 1 2 3 4; do
    id=$(create)
    check "round $round: a video holding the clip" test -n "$id"
    warm
    pg_stall stalled_complete "$id"
    is "round $round: PostgreSQL stopped: complete is 503" "${first%% *}" 503
    check "round $round: within the 2 s pool timeout (+1 s) (took $ms ms)" \
        test "$ms" -lt 3000
    retry_complete "$id"
    check "round $round: the retried complete is 200 or 202, never 409 (got$codes)" \
        bash -c '[[ "$1" = 200 || "$1" = 202 ]] && [[ "$2" != *409* ]]' _ "${codes##* }" "$codes"
    is "round $round: its job sent and confirmed (enqueued_at set)" \
       "$(sql "SELECT enqueued_at IS NOT NULL FROM videos WHERE id = '$id'")" t
    ids+=("$id")
done
round=0
for id in "${ids[@]}"; do
    round=$((round + 1))
    is "round $round: the video reaches done" "$(settle "$id")" done
    check "round $round: by the retried complete, not the reconciler" not_resent "$id"
done

# -- PostgreSQL stopped during complete, the client never retries --------

# late_state ID: the row once the stalled complete's statement has run
# (at most 5 s, well within resend_after): "<status> <enqueued_at IS NULL>"
late_state() {
    local s end=$((SECONDS + 5))
    while :; do
        s=$(sql "SELECT status || ' ' || (enqueued_at IS NULL) FROM videos WHERE id = '$1'")
        [ "$s" != "pending_upload true" ] && break
        [ $SECONDS -lt $end ] || break
        sleep 0.1
    done
    echo "$s"
}

ids=()
for round in 1 2; do
    id=$(create)
    check "reconciler round $round: a video holding the clip" test -n "$id"
    warm
    pg_stall stalled_complete "$id"
    is "reconciler round $round: PostgreSQL stopped: complete is 503" "${first%% *}" 503
    # nobody sends its job: only the reconciler can bring it to done
    is "reconciler round $round: the stalled complete committed late: queued, its send unconfirmed" \
       "$(late_state "$id")" "queued true"
    ids+=("$id")
done
round=0
for id in "${ids[@]}"; do
    round=$((round + 1))
    is "reconciler round $round: never retried, the video reaches done" \
       "$(settle "$id")" done
    check "reconciler round $round: the reconciler sent its job (action resend)" \
        reconciled resend "$id"
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

# stalled_create: POST /videos under $key; sets first
stalled_create() {
    first=$(api POST /videos "$body" -H "Idempotency-Key: $key")
}

ids=()
for round in 1 2 3 4; do
    key="stall-$round-$RANDOM"
    body="{\"filename\":\"k$round.mp4\",\"content_type\":\"video/mp4\",\"size\":$clip_size}"
    pg_stall stalled_create
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
       "$(sql "SELECT count(*) FROM videos WHERE owner_sub = '$user' AND filename = 'k$round.mp4'")" 1
    # the video the client learned of goes on: upload, complete
    id=$(sed -n 's/^201 .*"id" : "\([0-9a-f-]\{36\}\)".*/\1/p' <<<"$out")
    check "create round $round: the clip PUT to the retried create's upload URL" \
        upload "${out#201 }"
    is "create round $round: complete is 202 queued" \
       "$(api POST "/videos/$id/complete")" "202 {\"id\":\"$id\",\"status\":\"queued\"}"
    ids+=("$id")
done
round=0
for id in "${ids[@]}"; do
    round=$((round + 1))
    is "create round $round: the video reaches done" "$(settle "$id")" done
done

# -- the SQS emulator stopped during complete ----------------------------

sqs_pid=$(cat "$RUN_DIR/pids/sqs.pid")
id=$(create)
check "a video holding the clip" test -n "$id"
stopped=("$sqs_pid")
kill -STOP "$sqs_pid"
t0=$(date +%s%N)
first=$(api POST "/videos/$id/complete")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
is "SQS stopped: complete is 503" "${first%% *}" 503
check "within vidstream_aws_timeout 5 s + 1 s (took $ms ms)" test "$ms" -lt 6000
# the status the client sees is consistent: queued (the README: never put
# back to pending_upload, a SendMessage that timed out may have landed)
is "GET answers the video queued" "$(status "$id")" queued
is "queued, its job's send unconfirmed (enqueued_at NULL)" \
   "$(sql "SELECT status || ' ' || (enqueued_at IS NULL) FROM videos WHERE id = '$id'")" "queued true"
kill -CONT "$sqs_pid"
stopped=()
# The SendMessage nginx gave up on reaches SQS when it resumes, and the
# worker may claim its message before the retry: then the retry answers
# the video's status and has nothing to send. Else it sends the job.
out=$(api POST "/videos/$id/complete")
retried=$(sed -n 's/^200 {"id":"'"$id"'","status":"\([a-z]*\)"}$/\1/p' <<<"$out")
check "SQS back: the retried complete is 200 queued, processing or done (got $out)" \
    bash -c '[[ "$1" =~ ^(queued|processing|done)$ ]]' _ "$retried"
if [ "$retried" = queued ]; then
    is "it found the video queued: it sent the job (enqueued_at set)" \
       "$(sql "SELECT enqueued_at IS NOT NULL FROM videos WHERE id = '$id'")" t
fi
is "the video reaches done" "$(settle "$id")" done
check "without the reconciler (it never had to send the job)" not_resent "$id"

finish
