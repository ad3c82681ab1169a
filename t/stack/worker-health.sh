#!/usr/bin/env bash
# The worker's liveness file, as the container health check
# (config/docker/healthcheck-worker) reads it:
#   - created at start and refreshed on every turn of the receive loop
#     while idle (long polls of 1 s here);
#   - refreshed while a job runs (longer than the staleness limit used);
#   - a stopped (SIGSTOP: "wedged") worker goes unhealthy, and healthy
#     again once it runs;
#   - an unwritable path is logged, not fatal.
set -uo pipefail
. "$(dirname "$0")/worker/lib.sh"

HC=$TOP/config/docker/healthcheck-worker
hb=$W_TMP/hb/worker.heartbeat
mkdir -p "$W_TMP/hb"

mtime_ns() { /usr/bin/python3 -c 'import os,sys; print(os.stat(sys.argv[1]).st_mtime_ns)' "$1" 2>/dev/null || echo 0; }

# wait_newer FILE NS SECONDS: the file's mtime moves past NS
wait_newer() {
    local i
    for i in $(seq 1 $(($3 * 10))); do
        [ "$(mtime_ns "$1")" -gt "$2" ] && return 0
        sleep 0.1
    done
    return 1
}

# --- idle: every receive-loop turn touches the file ---------------------------
w_queues 5
check "no heartbeat file before the worker runs" test ! -e "$hb"
check "health check: unhealthy without the file" \
    bash -c "! VIDSTREAM_HEARTBEAT_FILE='$hb' '$HC' 2>/dev/null"
w_start VIDSTREAM_WAIT_TIME=1 VIDSTREAM_HEARTBEAT_FILE="$hb"
pid=$W_LAST_PID; log=$W_LAST_LOG
for i in $(seq 1 50); do [ -e "$hb" ] && break; sleep 0.1; done
check "idle: heartbeat file created at start" test -e "$hb"
t0=$(mtime_ns "$hb")
check "idle: refreshed by the next long polls (1 s each)" wait_newer "$hb" "$t0" 4
t1=$(mtime_ns "$hb")
check "idle: and refreshed again" wait_newer "$hb" "$t1" 4
check "health check: healthy (limit 3 s)" \
    env VIDSTREAM_HEARTBEAT_FILE="$hb" VIDSTREAM_HEARTBEAT_MAX_AGE=3 "$HC"

# --- wedged: a stopped process stops heartbeating -----------------------------
kill -STOP "$pid"
sleep 4.2
check "SIGSTOPped worker: health check unhealthy (limit 3 s)" \
    bash -c "! VIDSTREAM_HEARTBEAT_FILE='$hb' VIDSTREAM_HEARTBEAT_MAX_AGE=3 '$HC' 2>/dev/null"
kill -CONT "$pid"
sleep 2.5
check "resumed worker: healthy again" \
    env VIDSTREAM_HEARTBEAT_FILE="$hb" VIDSTREAM_HEARTBEAT_MAX_AGE=3 "$HC"
w_stop "$pid"

# --- a running job keeps it fresh, even with 20 s long polls ----------------
slow=$(w_gen slow.avi -f lavfi -i testsrc2=size=640x360:rate=25 -t 6 -c:v mpeg4 -q:v 2)
read -r id sub < <(w_video "$slow")
w_send "$(w_job_body "$id" "$sub")"
rm -f "$hb"
w_start VIDSTREAM_WAIT_TIME=20 VIDSTREAM_CONCURRENCY=1 VIDSTREAM_THREADS=1 \
    VIDSTREAM_PRESET=veryslow VIDSTREAM_HEARTBEAT_FILE="$hb"
pid=$W_LAST_PID; log=$W_LAST_LOG
for i in $(seq 1 100); do [ "$(w_status "$id")" = processing ] && break; sleep 0.1; done
is "job: processing" "$(w_status "$id")" processing
fresh=0 samples=0
while [ "$(w_status "$id")" = processing ] && [ $samples -lt 60 ]; do
    t=$(mtime_ns "$hb"); now=$(date +%s%N)
    samples=$((samples + 1))
    [ $(( (now - t) / 1000000 )) -le 2000 ] && fresh=$((fresh + 1))
    sleep 0.5
done
check "job: ran for a while ($samples samples)" test "$samples" -ge 4
is "job: the file was never older than 2 s while it ran" "$fresh" "$samples"
check "job: done" w_wait_status "$id" done 60
w_stop "$pid"

# --- an unwritable heartbeat path: logged, the worker still works ------------
w_start VIDSTREAM_WAIT_TIME=1 VIDSTREAM_HEARTBEAT_FILE=/nonexistent-dir/hb
pid=$W_LAST_PID; log=$W_LAST_LOG
sleep 2.5
check "unwritable path: still running" kill -0 "$pid"
is "unwritable path: logged once" "$(grep -c 'cannot touch /nonexistent-dir/hb' "$log")" 1
w_stop "$pid"

finish
