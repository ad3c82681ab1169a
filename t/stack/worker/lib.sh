# Sourced by t/stack/worker-*.sh: a stack to run against (the one named by
# $VIDSTREAM_STACK_ENV, else a private one started with scripts/stack.sh),
# a private queue and dead-letter queue per test (so that no other worker
# takes our messages), and helpers to create videos and send jobs the way
# nginx and S3 do.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

WORKER=${VIDSTREAM_WORKER:-${BUILD:-$TOP/build}/vidstream-worker}
W_TMP=$(mktemp -d /tmp/vidstream-worker-test.XXXXXX)
W_PIDS=()
W_OWN_STACK=0

w_cleanup() {
    local p f
    for p in "${W_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    # a failure: the workers' logs say why (CI keeps only our output)
    if [ "${t_failed:-0}" -gt 0 ]; then
        for f in "$W_TMP"/worker.*.log; do
            [ -e "$f" ] || continue
            echo "# --- $f (last 60 lines)" >&2
            tail -n 60 "$f" | sed 's/^/# /' >&2
        done
    fi
    if [ "$W_OWN_STACK" = 1 ]; then
        RUN_DIR=$W_TMP/stack bash "$TOP/scripts/stack.sh" down >/dev/null 2>&1
    fi
    rm -rf "$W_TMP"
}
trap w_cleanup EXIT

if [ ! -x "$WORKER" ]; then
    echo "no worker binary at $WORKER (set BUILD or VIDSTREAM_WORKER)" >&2
    exit 1
fi

if [ -n "${VIDSTREAM_STACK_ENV:-}" ]; then
    env_file=$VIDSTREAM_STACK_ENV
else
    W_OWN_STACK=1
    RUN_DIR=$W_TMP/stack STACK_NGINX=0 STACK_WORKER=0 \
        bash "$TOP/scripts/stack.sh" up >"$W_TMP/stack.log" 2>&1 \
        || { cat "$W_TMP/stack.log" >&2; exit 1; }
    env_file=$W_TMP/stack/stack.env
fi
set -a; . "$env_file"; set +a
unset VIDSTREAM_QUEUE_URL VIDSTREAM_DLQ_URL

# SQS JSON protocol (the local SQS does not check signatures)
sqs() {
    curl -sf -X POST "$AWS_ENDPOINT_URL_SQS/" \
        -H 'Content-Type: application/x-amz-json-1.0' \
        -H "X-Amz-Target: AmazonSQS.$1" -d "$2"
}

# w_queues MAX_RECEIVE: a private queue + DLQ; exports VIDSTREAM_QUEUE_URL
# and W_DLQ_URL
w_queues() {
    local name=wt$$_$RANDOM dlq_arn
    W_DLQ_URL=$(sqs CreateQueue "{\"QueueName\":\"${name}_dlq\"}" \
                | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["QueueUrl"])')
    dlq_arn=$(sqs GetQueueAttributes "{\"QueueUrl\":\"$W_DLQ_URL\",\"AttributeNames\":[\"QueueArn\"]}" \
              | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["Attributes"]["QueueArn"])')
    VIDSTREAM_QUEUE_URL=$(sqs CreateQueue "$(/usr/bin/python3 -c '
import json, sys
print(json.dumps({"QueueName": sys.argv[1], "Attributes": {
    "RedrivePolicy": json.dumps({"deadLetterTargetArn": sys.argv[2],
                                 "maxReceiveCount": sys.argv[3]})}}))
' "$name" "$dlq_arn" "${1:-5}")" \
        | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["QueueUrl"])')
    export VIDSTREAM_QUEUE_URL W_DLQ_URL
}

# w_count QUEUE_URL: visible + in flight messages
w_count() {
    sqs GetQueueAttributes "{\"QueueUrl\":\"$1\",\"AttributeNames\":[\"All\"]}" \
        | /usr/bin/python3 -c '
import json, sys
a = json.load(sys.stdin)["Attributes"]
print(int(a.get("ApproximateNumberOfMessages", 0))
      + int(a.get("ApproximateNumberOfMessagesNotVisible", 0)))'
}

# w_visible QUEUE_URL: visible messages only
w_visible() {
    sqs GetQueueAttributes "{\"QueueUrl\":\"$1\",\"AttributeNames\":[\"All\"]}" \
        | /usr/bin/python3 -c '
import json, sys
print(int(json.load(sys.stdin)["Attributes"].get("ApproximateNumberOfMessages", 0)))'
}

w_sql() { psql "$VIDSTREAM_DATABASE_URL" -XAtqc "$1"; }

s3_url() { echo "$AWS_ENDPOINT_URL_S3/$VIDSTREAM_BUCKET/$1"; }

# w_video FILE [STATUS]: a videos row for FILE, uploaded to its input key;
# prints "ID SUB"
w_video() {
    local file=$1 status=${2:-queued} id sub size
    id=$(/usr/bin/python3 -c 'import uuid; print(uuid.uuid4())')
    sub=$(/usr/bin/python3 -c 'import uuid; print(uuid.uuid4())')
    size=$(stat -c %s "$file"); [ "$size" -gt 0 ] || size=1
    # enqueued_at: as the edge does once SQS took the job (the tests send
    # it themselves right after); NULL would invite the reconciler's resend
    w_sql "INSERT INTO videos (id, owner_sub, status, filename, content_type,
             size, input_key, queued_at, enqueued_at)
           VALUES ('$id', '$sub', '$status', '$(basename "$file")',
             'video/mp4', $size, 'input/$sub/$id/source', now(), now())" >/dev/null
    curl -sf -X PUT --data-binary @"$file" \
        "$(s3_url "input/$sub/$id/source")" -o /dev/null || return 1
    echo "$id $sub"
}

# w_job_body ID SUB: the job message nginx sends
w_job_body() {
    printf '{"version":1,"video_id":"%s","owner":"%s","bucket":"%s","key":"input/%s/%s/source"}' \
        "$1" "$2" "$VIDSTREAM_BUCKET" "$2" "$1"
}

# w_send BODY: SendMessage to our queue
w_send() {
    sqs SendMessage "$(/usr/bin/python3 -c 'import json,sys; print(json.dumps({"QueueUrl": sys.argv[1], "MessageBody": sys.argv[2]}))' \
        "$VIDSTREAM_QUEUE_URL" "$1")" >/dev/null
}

w_status() { w_sql "SELECT status FROM videos WHERE id = '$1'"; }

# w_wait_status ID STATUS SECONDS
w_wait_status() {
    local i
    for i in $(seq 1 $(($3 * 5))); do
        [ "$(w_status "$1")" = "$2" ] && return 0
        sleep 0.2
    done
    return 1
}

# w_start [ENV=VALUE...]: a worker in the background, log in $W_TMP.
# Its reconciler is off unless asked for (VIDSTREAM_RECONCILE_INTERVAL=N):
# it scans the whole shared database and would send other tests' videos
# to this test's queue.
w_start() {
    local log=$W_TMP/worker.$RANDOM.log
    env VIDSTREAM_RECONCILE_INTERVAL=0 "$@" "$WORKER" >>"$log" 2>&1 &
    W_PIDS+=($!)
    W_LAST_PID=$!
    W_LAST_LOG=$log
}

w_stop() {
    kill -TERM "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}

# w_probe FILE FIELD: one ffprobe value
w_probe() {
    ffprobe -v error -show_entries "$2" -of csv=p=0 "$1" | head -n1
}

# w_moov_first FILE
w_moov_first() {
    /usr/bin/python3 -c '
import sys
d = open(sys.argv[1], "rb").read()
m, k = d.find(b"moov"), d.find(b"mdat")
sys.exit(0 if 0 <= m < k else 1)' "$1"
}

# short test inputs (1-2 s, small), shared by the tests
FF="ffmpeg -hide_banner -loglevel error -y"
w_gen() {
    local out=$W_TMP/in/$1; shift
    mkdir -p "$W_TMP/in"
    $FF "$@" "$out" || return 1
    echo "$out"
}
