#!/usr/bin/env bash
# The worker's side of the job lifecycle (CONTRACT.md sections 3, 5, 6),
# against the real local stack:
#   - a failure that cannot be recorded leaves the message to come back,
#     and the video ends failed with its error_code, never stuck in
#     processing (handed back to queued; or, when even that cannot be
#     written, its lease runs out and the redelivery takes it over);
#   - a malformed message changes no video, whatever video it names;
#   - a well-formed message changes a video only when video_id, owner and
#     key all match its row (and the bucket is ours).
#   - a running job's lease is renewed (a reconciler running alongside
#     does not take it back), and a job whose lease is lost stops at once.
set -uo pipefail
. "$(dirname "$0")/worker/lib.sh"

short=$(w_gen short.mp4 -f lavfi -i testsrc2=size=320x240:rate=25 -t 1 \
        -c:v mpeg4)
slow=$(w_gen slow.avi -f lavfi -i testsrc2=size=640x360:rate=25 \
       -f lavfi -i sine -t 30 -c:v mpeg4 -q:v 2 -c:a mp3)
fast_env=(VIDSTREAM_WAIT_TIME=1 VIDSTREAM_VISIBILITY_TIMEOUT=3
          VIDSTREAM_RETRIES=1 VIDSTREAM_RETRY_BASE_MS=50)

# w_row ID: the columns a message must not change
w_row() {
    w_sql "SELECT status, attempts, coalesce(error, '-'),
                  coalesce(error_code, '-'), progress
             FROM videos WHERE id = '$1'"
}

# wait_log FILE PATTERN SECONDS
wait_log() {
    local i
    for i in $(seq 1 $(($3 * 5))); do
        grep -q "$2" "$1" && return 0
        sleep 0.2
    done
    return 1
}

# wait_empty QUEUE_URL SECONDS: nothing visible or in flight
wait_empty() {
    local i
    for i in $(seq 1 $(($2 * 5))); do
        [ "$(w_count "$1")" = 0 ] && return 0
        sleep 0.2
    done
    return 1
}

# refuse ID STATUS...: a trigger that makes any update of ID to one of
# STATUS fail, as a database that cannot take the write would
refuse() {
    local id=$1 list
    shift
    list=$(printf "'%s'," "$@"); list=${list%,}
    w_sql "CREATE OR REPLACE FUNCTION lc_refuse() RETURNS trigger
             LANGUAGE plpgsql AS \$\$
           BEGIN RAISE EXCEPTION 'test: this write is refused'; END \$\$;
           SET client_min_messages = warning;
           DROP TRIGGER IF EXISTS lc_refuse ON videos;
           CREATE TRIGGER lc_refuse BEFORE UPDATE ON videos FOR EACH ROW
             WHEN (NEW.id = '$id' AND NEW.status IN ($list))
             EXECUTE FUNCTION lc_refuse();" >/dev/null
}
unrefuse() {
    w_sql "SET client_min_messages = warning;
           DROP TRIGGER IF EXISTS lc_refuse ON videos;
           DROP FUNCTION IF EXISTS lc_refuse();" >/dev/null
}
trap 'unrefuse 2>/dev/null; w_cleanup' EXIT

# --- recording failed fails once: handed back, comes back, ends failed ----
w_queues 5
read -r id sub < <(w_video "$short")
curl -sf -X DELETE "$(s3_url "input/$sub/$id/source")" -o /dev/null
refuse "$id" failed
w_send "$(w_job_body "$id" "$sub")"
w_start "${fast_env[@]}"
pid=$W_LAST_PID; log=$W_LAST_LOG
check "fail unrecorded: the worker says it cannot record the failure" \
    wait_log "$log" 'cannot record it' 20
check "fail unrecorded: the log names the code" \
    grep -q 'cannot record it.*"error_code":"input_missing"' "$log"
check "fail unrecorded: message left to come back (logged)" \
    wait_log "$log" 'left to come back' 5
is "fail unrecorded: the message is still in the queue" \
    "$(w_count "$VIDSTREAM_QUEUE_URL")" 1
is "fail unrecorded: the video was handed back, not left processing" \
    "$(w_status "$id")" queued
unrefuse
check "fail unrecorded: on redelivery the video ends failed" \
    w_wait_status "$id" failed 30
is "fail unrecorded: with its error_code" \
    "$(w_sql "SELECT error_code FROM videos WHERE id = '$id'")" input_missing
is "fail unrecorded: and its error" \
    "$(w_sql "SELECT error FROM videos WHERE id = '$id'")" \
    "the uploaded file was not found"
is "fail unrecorded: lease cleared" \
    "$(w_sql "SELECT lease_until IS NULL FROM videos WHERE id = '$id'")" t
check "fail unrecorded: then the message is deleted" \
    wait_empty "$VIDSTREAM_QUEUE_URL" 10
check "fail unrecorded: the failed line names the code" \
    grep -q '"msg":"failed (input_missing): the uploaded file was not found","error_code":"input_missing"' "$log"
w_stop "$pid"

# --- nothing can be written: the lease runs out, the redelivery ends it ----
w_queues 5
read -r id sub < <(w_video "$short")
curl -sf -X DELETE "$(s3_url "input/$sub/$id/source")" -o /dev/null
refuse "$id" failed queued
w_send "$(w_job_body "$id" "$sub")"
w_start "${fast_env[@]}" VIDSTREAM_LEASE_SECONDS=2
pid=$W_LAST_PID; log=$W_LAST_LOG
check "nothing writable: the worker cannot record the failure" \
    wait_log "$log" 'cannot record it' 20
is "nothing writable: the video stays processing (its lease runs out)" \
    "$(w_status "$id")" processing
is "nothing writable: the message is still in the queue" \
    "$(w_count "$VIDSTREAM_QUEUE_URL")" 1
check "nothing writable: a redelivery takes the expired lease over" \
    wait_log "$log" '"attempt":2,' 20
unrefuse
check "nothing writable: the video ends failed" w_wait_status "$id" failed 30
is "nothing writable: with its error_code" \
    "$(w_sql "SELECT error_code FROM videos WHERE id = '$id'")" input_missing
check "nothing writable: then the message is deleted" \
    wait_empty "$VIDSTREAM_QUEUE_URL" 10
w_stop "$pid"

# --- messages that must change nothing ------------------------------------
w_queues 5
read -r id sub < <(w_video "$short")
other=$(/usr/bin/python3 -c 'import uuid; print(uuid.uuid4())')
before=$(w_row "$id")
key="input/$sub/$id/source"
# malformed, each naming the video: wrong version, missing key, key of
# another shape, a field of the wrong type, not JSON
w_send "{\"version\":2,\"video_id\":\"$id\",\"owner\":\"$other\",\"bucket\":\"$VIDSTREAM_BUCKET\",\"key\":\"input/$other/$id/source\"}"
w_send "{\"version\":1,\"video_id\":\"$id\",\"owner\":\"$sub\",\"bucket\":\"$VIDSTREAM_BUCKET\"}"
w_send "{\"version\":1,\"video_id\":\"$id\",\"owner\":\"$sub\",\"bucket\":\"$VIDSTREAM_BUCKET\",\"key\":\"input/$other/$id/source\"}"
w_send "{\"version\":1,\"video_id\":\"$id\",\"owner\":7,\"bucket\":\"$VIDSTREAM_BUCKET\",\"key\":\"$key\"}"
w_send "video_id=$id"
# well formed, but not this video's: another owner (its key says so too),
# another bucket
w_send "$(w_job_body "$id" "$other")"
w_send "{\"version\":1,\"video_id\":\"$id\",\"owner\":\"$sub\",\"bucket\":\"not-$VIDSTREAM_BUCKET\",\"key\":\"$key\"}"
w_start "${fast_env[@]}" VIDSTREAM_CONCURRENCY=2
pid=$W_LAST_PID; log=$W_LAST_LOG
check "no match: all seven messages deleted" \
    wait_empty "$VIDSTREAM_QUEUE_URL" 30
is "no match: the video is unchanged" "$(w_row "$id")" "$before"
is "no match: five malformed messages logged" \
    "$(grep -c 'malformed message.*no video changed' "$log")" 5
check "no match: the other owner's message is an unknown video" \
    grep -q 'unknown video.*no video changed' "$log"
check "no match: the other bucket's message is ignored" \
    grep -q 'not ours: ignored' "$log"
w_stop "$pid"

# a row whose input key is not the message's: the key must match too
w_queues 5
read -r id2 sub2 < <(w_video "$short")
w_sql "UPDATE videos SET input_key = 'input/$sub2/$id2/elsewhere'
        WHERE id = '$id2'" >/dev/null
before=$(w_row "$id2")
w_send "$(w_job_body "$id2" "$sub2")"
# and the matching message of the first video: the worker does work
w_send "$(w_job_body "$id" "$sub")"
w_start "${fast_env[@]}"
pid=$W_LAST_PID; log=$W_LAST_LOG
check "key mismatch: the matching message is done" w_wait_status "$id" done 60
check "key mismatch: both messages deleted" \
    wait_empty "$VIDSTREAM_QUEUE_URL" 10
is "key mismatch: the video is unchanged" "$(w_row "$id2")" "$before"
check "key mismatch: logged" \
    grep -q 'key does not match the video: message deleted, no video changed' "$log"
w_stop "$pid"

# --- the lease: renewed while the job runs, and a lost one stops it ------
w_queues 5
read -r id sub < <(w_video "$slow")
w_send "$(w_job_body "$id" "$sub")"
w_start VIDSTREAM_WAIT_TIME=1 VIDSTREAM_VISIBILITY_TIMEOUT=30 \
    VIDSTREAM_LEASE_SECONDS=2 VIDSTREAM_RECONCILE_INTERVAL=1 \
    VIDSTREAM_PRESET=veryslow VIDSTREAM_THREADS=1
pid=$W_LAST_PID; log=$W_LAST_LOG
check "lease: job started" w_wait_status "$id" processing 20
sleep 5
is "lease: renewed for 5 s of a 2 s lease, not taken back" \
    "$(w_status "$id") $(w_sql "SELECT attempts FROM videos WHERE id = '$id'")" \
    "processing 1"
is "lease: lease_until ahead" \
    "$(w_sql "SELECT lease_until > now() FROM videos WHERE id = '$id'")" t
# ended behind the worker's back (as the reconciler does past the max age)
w_sql "UPDATE videos SET status = 'failed', error_code = 'transcode_failed',
         error = 'ended by the test', lease_until = NULL
        WHERE id = '$id'" >/dev/null
check "lease lost: the job stops" \
    wait_log "$log" 'lost: job abandoned, message deleted' 10
check "lease lost: its message deleted" wait_empty "$VIDSTREAM_QUEUE_URL" 10
is "lease lost: the video is left as it was ended" \
    "$(w_sql "SELECT status, error FROM videos WHERE id = '$id'")" \
    "failed|ended by the test"
w_stop "$pid"

finish
