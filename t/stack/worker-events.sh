#!/usr/bin/env bash
# Events and metrics of the worker (issue 16), against the real local stack:
#   - a video that becomes done or failed gets its event in the outbox in
#     the same transaction, and the worker POSTs it to VIDSTREAM_WEBHOOK_URL
#     signed the Standard Webhooks way: video.ready and video.failed with
#     the video object, signatures valid with the secret and not with
#     another;
#   - a receiver that is down: delivered once it comes back;
#   - a receiver that answers 500: the retry repeats the webhook-id;
#   - one CloudWatch EMF record per job, outcome and code right;
#   - the Prometheus endpoint passes promtool and counts the jobs.
set -uo pipefail
. "$(dirname "$0")/worker/lib.sh"

PY=/usr/bin/python3
secret="whsec_$(openssl rand -base64 24)"
hook_port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
metrics_port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
hooks=$W_TMP/hooks.jsonl
: > "$hooks"
recv_pid=

recv_start() {  # recv_start [--fail-first]
    $PY "$TOP/t/stack/worker/webhook_receiver.py" "$hook_port" "$secret" \
        "$hooks" "$@" &
    recv_pid=$!
    W_PIDS+=("$recv_pid")
    for _ in $(seq 1 50); do
        curl -s -o /dev/null "http://127.0.0.1:$hook_port/" && return 0
        sleep 0.1
    done
    return 1
}
recv_stop() { kill "$recv_pid" 2>/dev/null; wait "$recv_pid" 2>/dev/null; }

# deliveries of a video: "TYPE VERIFIED WRONG_SECRET_VERIFIED ID" lines
deliveries() {
    $PY - "$hooks" "$1" <<'EOF'
import json, sys
for l in open(sys.argv[1]):
    d = json.loads(l)
    if d["video_id"] == sys.argv[2]:
        print(d["type"], d["verified"], d["wrong_secret_verified"], d["id"],
              d["status"], d["error_code"])
EOF
}
wait_deliveries() {  # wait_deliveries VIDEO N SECONDS
    local i
    for i in $(seq 1 $(($3 * 5))); do
        [ "$(deliveries "$1" | wc -l)" -ge "$2" ] && return 0
        sleep 0.2
    done
    return 1
}

w_queues 5
good=$(w_gen good.mp4 -f lavfi -i testsrc2=size=320x240:rate=25 \
       -f lavfi -i sine -t 1 -c:v mpeg4 -c:a aac)
junk=$W_TMP/junk.mp4
head -c 4096 /dev/urandom > "$junk"

recv_start
w_start VIDSTREAM_WAIT_TIME=1 VIDSTREAM_WEBHOOK_URL="http://127.0.0.1:$hook_port/hook" \
        VIDSTREAM_WEBHOOK_SECRET="$secret" VIDSTREAM_METRICS_ADDR="127.0.0.1:$metrics_port"
worker=$W_LAST_PID; log=$W_LAST_LOG

# --- video.ready and video.failed from real jobs ----------------------------
read -r ok_id ok_sub < <(w_video "$good")
read -r bad_id bad_sub < <(w_video "$junk")
w_send "$(w_job_body "$ok_id" "$ok_sub")"
w_send "$(w_job_body "$bad_id" "$bad_sub")"
check "a good upload: done" w_wait_status "$ok_id" done 60
check "an upload that is no video: failed" w_wait_status "$bad_id" failed 60
is "the outbox holds one event per transition" \
   "$(w_sql "SELECT string_agg(type, ',' ORDER BY type) FROM video_events
             WHERE video_id IN ('$ok_id', '$bad_id')")" "video.failed,video.ready"
check "video.ready delivered" wait_deliveries "$ok_id" 1 15
check "video.failed delivered" wait_deliveries "$bad_id" 1 15
read -r t v w eid st code < <(deliveries "$ok_id" | head -n1)
is "video.ready: type, status" "$t $st" "video.ready done"
is "video.ready: the signature verifies with the secret" "$v" True
is "video.ready: and not with another secret" "$w" False
is "video.ready: webhook-id is the outbox event's id" \
   "$(w_sql "SELECT id FROM video_events WHERE video_id = '$ok_id'")" "$eid"
read -r t v w eid st code < <(deliveries "$bad_id" | head -n1)
is "video.failed: type, status, error_code" "$t $st $code" \
   "video.failed failed $(w_sql "SELECT error_code FROM videos WHERE id = '$bad_id'")"
is "video.failed: the signature verifies" "$v" True
is "delivered events are marked" \
   "$(w_sql "SELECT count(*) FROM video_events WHERE video_id IN ('$ok_id', '$bad_id')
             AND delivered_at IS NOT NULL")" 2

# --- the EMF records ---------------------------------------------------------
emf=$($PY - "$log" "$ok_id" "$bad_id" <<'EOF'
import json, sys
recs = {}
for l in open(sys.argv[1]):
    if not l.startswith("{"):
        continue
    d = json.loads(l)
    if "_aws" in d:
        recs.setdefault(d.get("video_id"), []).append(d)
out = []
for vid in sys.argv[2:]:
    r = recs.get(vid, [])
    ok = len(r) == 1
    if ok:
        a = r[0]["_aws"]
        m = a["CloudWatchMetrics"][0]
        names = [x["Name"] for x in m["Metrics"]]
        ok = (isinstance(a["Timestamp"], int) and m["Namespace"] == "vidstream"
              and ["Outcome"] in m["Dimensions"]
              and all(n in r[0] for n in names)
              and all(isinstance(r[0][n], (int, float)) for n in names)
              and all(d in r[0] for dims in m["Dimensions"] for d in dims))
    out.append("%s:%s:%s" % (len(r), ok, r[0]["Outcome"] + "/" + r[0]["ErrorCode"]
                             if r else "-"))
print(" ".join(out))
EOF
)
code=$(w_sql "SELECT error_code FROM videos WHERE id = '$bad_id'")
is "one EMF record per job, CloudWatch's shape, outcome and code" "$emf" \
   "1:True:done/none 1:True:failed/$code"

# --- Prometheus --------------------------------------------------------------
curl -sf "http://127.0.0.1:$metrics_port/metrics" > "$W_TMP/metrics.txt"
check "the metrics endpoint answers" test -s "$W_TMP/metrics.txt"
check "promtool check metrics passes" sh -c "promtool check metrics < '$W_TMP/metrics.txt'"
is "jobs counted by outcome" \
   "$(grep -E '^vidstream_worker_jobs_total\{outcome="done"' "$W_TMP/metrics.txt" | awk '{print $2}') $(grep -E "^vidstream_worker_jobs_total\{outcome=\"failed\",error_code=\"$code\"" "$W_TMP/metrics.txt" | awk '{print $2}')" \
   "1 1"
# (the stack's database is shared: older events may be delivered as well)
check "webhook deliveries counted" test \
   "$(grep -E '^vidstream_worker_webhook_deliveries_total\{result="delivered"' "$W_TMP/metrics.txt" | awk '{print $2}')" -ge 2
is "anything else is 404" \
   "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$metrics_port/")" 404

# --- receiver down, then back ------------------------------------------------
recv_stop
read -r down_id down_sub < <(w_video "$good" processing)
w_sql "UPDATE videos SET status = 'done' WHERE id = '$down_id'" >/dev/null
sleep 2
is "receiver down: nothing delivered yet" "$(deliveries "$down_id" | wc -l)" 0
check "receiver down: the failure is recorded, a retry scheduled" \
    test "$(w_sql "SELECT attempts >= 1 AND last_error IS NOT NULL
                   AND next_attempt_at > now() FROM video_events
                   WHERE video_id = '$down_id'")" = t
recv_start --fail-first
check "receiver back: delivered (backoff 5 s, then 10 s)" wait_deliveries "$down_id" 1 25

# --- a 500 answer: the retry repeats the id ------------------------------------
read -r rep_id rep_sub < <(w_video "$good" processing)
w_sql "UPDATE videos SET status = 'failed', error = 'x', error_code = 'input_corrupt'
       WHERE id = '$rep_id'" >/dev/null
check "answered 500, then retried" wait_deliveries "$rep_id" 2 25
is "the retry has the same webhook-id" \
   "$(deliveries "$rep_id" | awk '{print $4}' | sort -u | wc -l)" 1
is "every delivery verified" "$(deliveries "$rep_id" | awk '{print $2}' | sort -u)" True
check "the worker logged the deliveries" grep -q '"stage":"webhook".*delivered event' "$log"
check "the worker is alive" kill -0 "$worker"

w_stop "$worker"
finish
