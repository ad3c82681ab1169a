#!/usr/bin/env bash
# The worker when things go wrong, against the real local stack:
#   - kill -9 mid-job: the message comes back and the job completes;
#   - SIGTERM during a job: the message is released at once (visibility 0),
#     the video goes back to 'queued', the worker exits 0, and another
#     worker completes it;
#   - SIGTERM during an idle long poll: the poll is not abandoned, what it
#     brings is released and nothing sent later is lost to it;
#   - a message that always fails transiently ends in the dead-letter
#     queue, retried inside the job first, the video left 'queued' with
#     the last transient error in its error column;
#   - the heartbeat keeps a job longer than the visibility timeout from
#     being handed to a second worker.
set -uo pipefail
. "$(dirname "$0")/worker/lib.sh"

# a job that takes several seconds on 2 cores
slow=$(w_gen slow.avi -f lavfi -i testsrc2=size=640x360:rate=25 \
       -f lavfi -i sine -t 8 -c:v mpeg4 -q:v 2 -c:a mp3)
slow_env=(VIDSTREAM_PRESET=veryslow VIDSTREAM_THREADS=1 VIDSTREAM_WAIT_TIME=1)

wait_processing() {
    local i
    for i in $(seq 1 100); do
        [ "$(w_status "$1")" = processing ] \
            && [ "$(w_sql "SELECT progress FROM videos WHERE id = '$1'")" -gt 0 ] \
            && return 0
        sleep 0.1
    done
    return 1
}

# --- kill -9 mid-job --------------------------------------------------------
w_queues 5
read -r id sub < <(w_video "$slow")
w_send "$(w_job_body "$id" "$sub")"
w_start "${slow_env[@]}" VIDSTREAM_VISIBILITY_TIMEOUT=6
first=$W_LAST_PID
check "kill -9: job started" wait_processing "$id"
kill -KILL "$first"; wait "$first" 2>/dev/null
is "kill -9: video stuck in processing" "$(w_status "$id")" processing
w_start "${slow_env[@]}" VIDSTREAM_VISIBILITY_TIMEOUT=6 VIDSTREAM_PRESET=ultrafast
second=$W_LAST_PID; second_log=$W_LAST_LOG
check "kill -9: the message came back and the job completed" \
    w_wait_status "$id" done 60
is "kill -9: two attempts" "$(w_sql "SELECT attempts FROM videos WHERE id = '$id'")" 2
check "kill -9: taken over on a redelivery" \
    grep -q '"attempt":2,"receive_count":[2-9]' "$second_log"
for i in $(seq 1 30); do [ "$(w_count "$VIDSTREAM_QUEUE_URL")" = 0 ] && break; sleep 0.2; done
is "kill -9: message deleted after the commit" "$(w_count "$VIDSTREAM_QUEUE_URL")" 0
w_stop "$second"

# --- SIGTERM during a job ------------------------------------------------------
w_queues 5
read -r id sub < <(w_video "$slow")
w_send "$(w_job_body "$id" "$sub")"
w_start "${slow_env[@]}" VIDSTREAM_VISIBILITY_TIMEOUT=60 VIDSTREAM_SHUTDOWN_GRACE=0
pid=$W_LAST_PID; log=$W_LAST_LOG
check "SIGTERM: job started" wait_processing "$id"
start=$(date +%s)
kill -TERM "$pid"; wait "$pid"; rc=$?
is "SIGTERM: exit status 0" "$rc" 0
check "SIGTERM: exited within 10 s" test $(( $(date +%s) - start )) -le 10
check "SIGTERM: message released (logged)" grep -q 'released' "$log"
is "SIGTERM: message visible again at once (visibility 60 s)" \
    "$(w_visible "$VIDSTREAM_QUEUE_URL")" 1
is "SIGTERM: video back to queued" "$(w_status "$id")" queued
w_start VIDSTREAM_WAIT_TIME=1
check "SIGTERM: another worker completes it" w_wait_status "$id" done 60
w_stop "$W_LAST_PID"

# --- SIGTERM with grace: a running job finishes -------------------------------
w_queues 5
short=$(w_gen short.mp4 -f lavfi -i testsrc2=size=320x240:rate=25 -t 1 -c:v mpeg4)
read -r id sub < <(w_video "$slow")
w_send "$(w_job_body "$id" "$sub")"
w_start "${slow_env[@]}" VIDSTREAM_SHUTDOWN_GRACE=60
pid=$W_LAST_PID
check "SIGTERM+grace: job started" wait_processing "$id"
kill -TERM "$pid"; wait "$pid"; rc=$?
is "SIGTERM+grace: exit status 0" "$rc" 0
is "SIGTERM+grace: the running job finished" "$(w_status "$id")" done
is "SIGTERM+grace: its message deleted" "$(w_count "$VIDSTREAM_QUEUE_URL")" 0

# --- SIGTERM during an idle long poll: no message goes astray ----------------
# SQS keeps a long poll alive after its client hangs up and may hand the
# next message to the dead connection, where it stays invisible for the
# whole visibility timeout. So the worker lets its poll end (within
# VIDSTREAM_WAIT_TIME) and releases what it brings.
w_queues 5
hb=$W_TMP/poll.heartbeat
read -r id sub < <(w_video "$short")
read -r id2 sub2 < <(w_video "$short")
w_start VIDSTREAM_WAIT_TIME=10 VIDSTREAM_VISIBILITY_TIMEOUT=300 \
    VIDSTREAM_HEARTBEAT_FILE="$hb"
pid=$W_LAST_PID; log=$W_LAST_LOG
for i in $(seq 1 100); do [ -e "$hb" ] && break; sleep 0.1; done
sleep 1                                 # its long poll is in flight
start=$(date +%s)
kill -TERM "$pid"
sleep 0.3
w_send "$(w_job_body "$id" "$sub")"     # the poll in flight gets it
wait "$pid"; rc=$?
w_send "$(w_job_body "$id2" "$sub2")"   # after the exit
is "SIGTERM while polling: exit status 0" "$rc" 0
check "SIGTERM while polling: exited when the 10 s poll ended" \
    test $(( $(date +%s) - start )) -le 15
check "SIGTERM while polling: what the poll brought was released (logged)" \
    grep -q 'received during shutdown: released' "$log"
is "SIGTERM while polling: both messages visible (visibility 300 s)" \
    "$(w_visible "$VIDSTREAM_QUEUE_URL")" 2
is "SIGTERM while polling: videos untouched" \
    "$(w_status "$id") $(w_status "$id2")" "queued queued"

# a second signal does not wait for the poll (an operator who insists)
w_start VIDSTREAM_WAIT_TIME=20 VIDSTREAM_HEARTBEAT_FILE="$hb.2"
pid=$W_LAST_PID
for i in $(seq 1 100); do [ -e "$hb.2" ] && break; sleep 0.1; done
sleep 1
start=$(date +%s)
kill -TERM "$pid"; sleep 0.5; kill -TERM "$pid" 2>/dev/null
wait "$pid"; rc=$?
is "second SIGTERM: exit status 0" "$rc" 0
check "second SIGTERM: the 20 s poll abandoned (exited within 10 s)" \
    test $(( $(date +%s) - start )) -le 10

# --- always transient: the DLQ ------------------------------------------------
w_queues 3
read -r id sub < <(w_video "$short")
w_send "$(w_job_body "$id" "$sub")"
# S3 unreachable: every HEAD is a connection refused
w_start VIDSTREAM_WAIT_TIME=1 VIDSTREAM_VISIBILITY_TIMEOUT=2 \
    VIDSTREAM_RETRIES=1 VIDSTREAM_RETRY_BASE_MS=50 \
    AWS_ENDPOINT_URL_S3=http://127.0.0.1:9
pid=$W_LAST_PID; log=$W_LAST_LOG
for i in $(seq 1 150); do [ "$(w_count "$W_DLQ_URL")" = 1 ] && break; sleep 0.2; done
is "DLQ: the message ended in the dead-letter queue" "$(w_count "$W_DLQ_URL")" 1
is "DLQ: not in the queue any more" "$(w_count "$VIDSTREAM_QUEUE_URL")" 0
check "DLQ: retried inside the job" grep -q 'transient failure after 1 retries' "$log"
is "DLQ: video left queued (not failed)" "$(w_status "$id")" queued
check "DLQ: the queue's maxReceiveCount (3) read at start" \
    grep -q 'max receive count 3' "$log"
err=$(w_sql "SELECT error FROM videos WHERE id = '$id'")
check "DLQ: the last delivery recorded why in the error column ($err)" \
    grep -q '^transient failure on delivery 3 of 3, the job message goes to the dead-letter queue.*HEAD failed' <<<"$err"
check "DLQ: earlier deliveries did not set it (logged as left to come back)" \
    grep -q 'transient failure after 1 retries, message left to come back' "$log"
w_stop "$pid"

# --- heartbeat: a job longer than the visibility timeout runs once -----------
w_queues 5
read -r id sub < <(w_video "$slow")
w_send "$(w_job_body "$id" "$sub")"
w_start "${slow_env[@]}" VIDSTREAM_VISIBILITY_TIMEOUT=3 VIDSTREAM_CONCURRENCY=1
a=$W_LAST_PID
w_start "${slow_env[@]}" VIDSTREAM_VISIBILITY_TIMEOUT=3 VIDSTREAM_CONCURRENCY=1
b=$W_LAST_PID
started=$(date +%s)
check "heartbeat: done" w_wait_status "$id" done 120
check "heartbeat: the job outlived the visibility timeout" \
    test $(( $(date +%s) - started )) -gt 3
is "heartbeat: one attempt" "$(w_sql "SELECT attempts FROM videos WHERE id = '$id'")" 1
w_stop "$a"; w_stop "$b"

finish
