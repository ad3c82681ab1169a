#!/usr/bin/env bash
# Nothing stranded (CONTRACT.md section 5): the worker's reconciler, against
# the real local stack, with its timers shortened to seconds:
#   - kill -9 with three jobs in flight and their messages purged by hand:
#     the leases run out, the videos are taken back and all three done;
#   - a processing video whose worker died and whose message is gone:
#     taken back and finished;
#   - a queued video never confirmed sent (enqueued_at NULL) and no
#     message: sent, done;
#   - a queued video sent long ago whose message is gone: sent again, done;
#   - an expired lease with its attempts used up: failed, transcode_failed;
#   - queued or processing past the maximum age: failed, transcode_failed;
#   - pending_upload past its lifetime: S3 object and row removed (a young
#     one kept);
#   - one reconciler at a time: while another session holds the advisory
#     lock, passes are skipped.
set -uo pipefail
. "$(dirname "$0")/worker/lib.sh"

slow=$(w_gen slow.avi -f lavfi -i testsrc2=size=640x360:rate=25 \
       -f lavfi -i sine -t 6 -c:v mpeg4 -q:v 2 -c:a mp3)
short=$(w_gen short.mp4 -f lavfi -i testsrc2=size=320x240:rate=25 -t 1 \
        -c:v mpeg4)

# rc_video FILE STATUS AGE ENQUEUED LEASE ATTEMPTS: a row inserted as it
# would be after AGE (an SQL interval) of history, its input uploaded;
# ENQUEUED and LEASE are SQL expressions. Prints "ID SUB".
rc_video() {
    local file=$1 id sub
    id=$(/usr/bin/python3 -c 'import uuid; print(uuid.uuid4())')
    sub=$(/usr/bin/python3 -c 'import uuid; print(uuid.uuid4())')
    w_sql "INSERT INTO videos (id, owner_sub, status, filename, content_type,
             size, input_key, attempts, created_at, updated_at, queued_at,
             enqueued_at, lease_until)
           VALUES ('$id', '$sub', '$2', 'clip.mp4', 'video/mp4',
             $(stat -c %s "$file"), 'input/$sub/$id/source', $6,
             now() - interval '$3', now() - interval '$3',
             CASE WHEN '$2' = 'pending_upload' THEN NULL
                  ELSE now() - interval '$3' END,
             $4, $5)" >/dev/null
    curl -sf -X PUT --data-binary @"$file" \
        "$(s3_url "input/$sub/$id/source")" -o /dev/null || return 1
    echo "$id $sub"
}

col() { w_sql "SELECT $2 FROM videos WHERE id = '$1'"; }

# wait_all STATUS SECONDS ID...
wait_all() {
    local want=$1 secs=$2 i id left
    shift 2
    for i in $(seq 1 $((secs * 5))); do
        left=0
        for id in "$@"; do
            [ "$(w_status "$id")" = "$want" ] || left=1
        done
        [ $left = 0 ] && return 0
        sleep 0.2
    done
    return 1
}

# wait_gone ID SECONDS: the row is removed
wait_gone() {
    local i
    for i in $(seq 1 $(($2 * 5))); do
        [ "$(w_sql "SELECT count(*) FROM videos WHERE id = '$1'")" = 0 ] \
            && return 0
        sleep 0.2
    done
    return 1
}

s3_code() {
    curl -s -o /dev/null -w '%{http_code}' -I "$(s3_url "$1")"
}

# action LOG ACTION ID: the reconciler logged ACTION for ID
action() {
    grep '"stage":"reconcile"' "$1" | grep "\"video_id\":\"$3\"" \
        | grep -q "\"action\":\"$2\""
}

# --- kill -9 with three jobs in flight, their messages purged ---------------
w_queues 5
ids=()
for n in 1 2 3; do
    read -r id sub < <(w_video "$slow")
    ids+=("$id")
    w_send "$(w_job_body "$id" "$sub")"
done
w_start VIDSTREAM_WAIT_TIME=1 VIDSTREAM_CONCURRENCY=3 VIDSTREAM_THREADS=1 \
    VIDSTREAM_PRESET=veryslow VIDSTREAM_VISIBILITY_TIMEOUT=60 \
    VIDSTREAM_LEASE_SECONDS=3
first=$W_LAST_PID
check "kill -9: three jobs in flight" wait_all processing 30 "${ids[@]}"
kill -KILL "$first"; wait "$first" 2>/dev/null
sqs PurgeQueue "{\"QueueUrl\":\"$VIDSTREAM_QUEUE_URL\"}" >/dev/null
is "kill -9: their messages purged by hand" \
    "$(w_count "$VIDSTREAM_QUEUE_URL")" 0

# --- the rest of the strays, as history left them ----------------------------
# a processing video whose worker died and whose message is gone
read -r dead _ < <(rc_video "$short" processing '1 minute' \
                   "now() - interval '1 minute'" "now() - interval '1 s'" 1)
# queued, never confirmed sent, no message (nginx gave up after the commit)
read -r unsent _ < <(rc_video "$short" queued '30 s' NULL NULL 0)
# queued, sent two hours ago, the message lost
read -r lost _ < <(rc_video "$short" queued '2 hours' \
                   "now() - interval '2 hours'" NULL 0)
# an expired lease with its attempts used up
read -r exhausted sub_x < <(rc_video "$short" processing '1 hour' \
                           "now() - interval '1 hour'" \
                           "now() - interval '5 s'" 5)
# and its message, redelivered: a sixth claim must not happen
w_send "$(w_job_body "$exhausted" "$sub_x")"
# queued and processing for longer than the maximum age (a live lease even)
read -r old_q _ < <(rc_video "$short" queued '25 hours' \
                    "now() - interval '25 hours'" NULL 0)
read -r old_p _ < <(rc_video "$short" processing '25 hours' \
                    "now() - interval '25 hours'" \
                    "now() + interval '1 hour'" 1)
# pending_upload: past the lifetime, and young
read -r expired sub_e < <(rc_video "$short" pending_upload '8 days' NULL \
                          NULL 0)
read -r young sub_y < <(rc_video "$short" pending_upload '6 days' NULL \
                        NULL 0)
is "pending: the expired upload's object is there to begin with" \
    "$(s3_code "input/$sub_e/$expired/source")" 200

# --- one reconciler at a time: another session holds the lock for 4 s ----
psql "$VIDSTREAM_DATABASE_URL" -XAtqc \
    "SELECT pg_advisory_lock(1986618483, 1); SELECT pg_sleep(4)" \
    >/dev/null 2>&1 &
holder=$!
sleep 0.5

w_start VIDSTREAM_WAIT_TIME=1 VIDSTREAM_CONCURRENCY=2 \
    VIDSTREAM_PRESET=ultrafast VIDSTREAM_VISIBILITY_TIMEOUT=30 \
    VIDSTREAM_LEASE_SECONDS=3 VIDSTREAM_RECONCILE_INTERVAL=1 \
    VIDSTREAM_RESEND_AFTER=2 VIDSTREAM_REQUEUE_AFTER=3600 \
    VIDSTREAM_LOG_LEVEL=debug
pid=$W_LAST_PID; log=$W_LAST_LOG
sleep 2
check "lock: passes skipped while another session holds the lock" \
    grep -q 'another worker is reconciling: pass skipped' "$log"
is "lock: no pass ran meanwhile" \
    "$(grep -c '"action":"pass"' "$log")" 0
is "lock: the strays untouched meanwhile" \
    "$(w_status "$unsent") $(w_status "$old_q") $(w_status "$expired")" \
    "queued queued pending_upload"
wait "$holder"

check "kill -9: all three taken back and done" \
    wait_all done 120 "${ids[@]}"
for id in "${ids[@]}"; do
    check "kill -9: $id taken back (logged)" action "$log" take_back "$id"
    is "kill -9: $id on its second attempt" "$(col "$id" attempts)" 2
done

check "dead worker: taken back and done" wait_all done 60 "$dead"
check "dead worker: logged" action "$log" take_back "$dead"
is "dead worker: second attempt" "$(col "$dead" attempts)" 2

check "never sent: sent and done" wait_all done 60 "$unsent"
check "never sent: logged as resend" action "$log" resend "$unsent"
is "never sent: enqueued_at recorded" \
    "$(col "$unsent" 'enqueued_at IS NOT NULL')" t

check "lost message: sent again and done" wait_all done 60 "$lost"
check "lost message: logged as requeue" action "$log" requeue "$lost"

check "attempts used: failed" wait_all failed 30 "$exhausted"
is "attempts used: transcode_failed" \
    "$(col "$exhausted" error_code)" transcode_failed
check "attempts used: the reason says why ($(col "$exhausted" error))" \
    grep -q 'started 5 times' <<<"$(col "$exhausted" error)"
check "attempts used: logged" action "$log" exhausted "$exhausted"
is "attempts used: the message did not claim it a sixth time" \
    "$(col "$exhausted" attempts)" 5

check "max age: queued and processing failed" \
    wait_all failed 30 "$old_q" "$old_p"
is "max age: transcode_failed" \
    "$(col "$old_q" error_code) $(col "$old_p" error_code)" \
    "transcode_failed transcode_failed"
check "max age: the reason says why" \
    grep -q 'did not finish within 86400 s' <<<"$(col "$old_q" error)"
check "max age: logged" action "$log" expired "$old_q"
is "max age: never sent again (failed first)" \
    "$(grep "\"video_id\":\"$old_q\"" "$log" | grep -c '"action":"re')" 0

check "pending: the expired row removed" wait_gone "$expired" 30
is "pending: its object removed" \
    "$(s3_code "input/$sub_e/$expired/source")" 404
check "pending: logged" action "$log" remove_pending "$expired"
is "pending: the young one kept" "$(w_status "$young")" pending_upload
is "pending: the young one's object kept" \
    "$(s3_code "input/$sub_y/$young/source")" 200

check "summary: one line per pass" \
    grep -q '"action":"pass","expired":' "$log"
check "leases cleared on done" \
    test "$(w_sql "SELECT count(*) FROM videos WHERE status = 'done'
                     AND lease_until IS NOT NULL")" = 0
w_stop "$pid"

finish
