#!/usr/bin/env bash
# What the worker writes, against the real local stack:
#   - multipart upload: an output above VIDSTREAM_MULTIPART_THRESHOLD goes up
#     as CreateMultipartUpload, UploadPart x N (5 MiB parts), Complete, and
#     the stored object equals the local output byte for byte; a failing
#     part aborts the upload (AbortMultipartUpload) and the job is retried;
#   - HLS: a master playlist listing a ladder of renditions that follows
#     the source (the top one at the MP4's size, none larger than the
#     source: a 1080p source gives 1080/720/480, a 360p one 360 only), each
#     with its segments in S3, cut at the same instants, segments no longer
#     than the target + 0.5 s, readable by ffprobe; the source decoded once
#     for every output (the job's decoded_frames is the source's frame
#     count); the poster a JPEG at the output size;
#   - Redis: the video JSON is published on vidstream:videos:<id> on every
#     progress write and on the final status; Redis down fails nothing.
# S3 traffic of the multipart cases goes through t/stack/worker/s3proxy.py,
# which forwards to the stack's S3, records every request and can fail one.
set -uo pipefail
. "$(dirname "$0")/worker/lib.sh"

PY=/usr/bin/python3
MiB=$((1024 * 1024))

# proxy_start [FAIL_PART]: sets PROXY_URL and PROXY_LOG
proxy_start() {
    local pf=$W_TMP/proxy.$RANDOM.port i
    PROXY_LOG=$W_TMP/proxy.$RANDOM.log
    : > "$PROXY_LOG"
    $PY "$TOP/t/stack/worker/s3proxy.py" "$AWS_ENDPOINT_URL_S3" "$pf" \
        "$PROXY_LOG" "${1:-}" &
    W_PIDS+=($!)
    PROXY_PID=$!
    for i in $(seq 1 50); do [ -s "$pf" ] && break; sleep 0.1; done
    PROXY_URL=http://127.0.0.1:$(cat "$pf")
}

# --- multipart upload ----------------------------------------------------------
w_queues 5
big=$(w_gen big.mp4 -f lavfi -i testsrc2=size=1280x720:rate=25 -f lavfi -i sine \
      -t 7 -c:v libx264 -preset ultrafast -qp 0 -pix_fmt yuv420p -c:a aac)
# the same pipeline locally: remuxed, deterministic
"$WORKER" transcode "$big" "$W_TMP/big_local.mp4" >/dev/null
size=$(stat -c %s "$W_TMP/big_local.mp4")
check "multipart: the output ($size bytes) is over 2 parts of 5 MiB" \
    test "$size" -gt $((10 * MiB))

proxy_start
read -r id sub < <(w_video "$big")
w_send "$(w_job_body "$id" "$sub")"
w_start VIDSTREAM_WAIT_TIME=1 AWS_ENDPOINT_URL_S3="$PROXY_URL" \
    VIDSTREAM_MULTIPART_THRESHOLD=$((5 * MiB)) VIDSTREAM_PART_SIZE=$((5 * MiB))
pid=$W_LAST_PID; log=$W_LAST_LOG
check "multipart: done" w_wait_status "$id" done 60
w_stop "$pid"
key=output/$sub/$id/video.mp4
curl -sf -o "$W_TMP/big_s3.mp4" "$(s3_url "$key")"
check "multipart: the stored object equals the local output byte for byte" \
    cmp -s "$W_TMP/big_s3.mp4" "$W_TMP/big_local.mp4"
# what went over the wire, from the proxy's record
summary=$($PY - "$PROXY_LOG" "/$VIDSTREAM_BUCKET/$key" "$W_TMP/big_s3.mp4" "$((5 * MiB))" <<'EOF'
import hashlib, json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
path, obj, psize = sys.argv[2], open(sys.argv[3], "rb").read(), int(sys.argv[4])
mine = [r for r in recs if r["path"] == path]
create = [r for r in mine if r["method"] == "POST" and "uploads" in r["query"]]
parts = [r for r in mine if r["method"] == "PUT" and "partNumber" in r["query"]]
done = [r for r in mine if r["method"] == "POST" and "uploadId" in r["query"]]
plain = [r for r in mine if r["method"] == "PUT" and not r["query"]]
ids = {r["query"]["uploadId"][0] for r in parts + done}
nums = [int(r["query"]["partNumber"][0]) for r in parts]
slices_ok = all(
    hashlib.sha256(obj[(n - 1) * psize:n * psize]).hexdigest() == r["sha256"]
    for n, r in zip(nums, parts))
sizes_ok = all(r["length"] == psize for r in parts[:-1]) and \
    0 < parts[-1]["length"] <= psize if parts else False
print("create=%d parts=%s complete=%d plain_put=%d one_upload_id=%s "
      "statuses_ok=%s sizes_ok=%s slices_ok=%s" % (
      len(create), ",".join(map(str, nums)), len(done), len(plain),
      len(ids) == 1, all(r["status"] == 200 for r in create + parts + done),
      sizes_ok, slices_ok))
EOF
)
nparts=$(( (size + 5 * MiB - 1) / (5 * MiB) ))
is "multipart: Create, UploadPart 1..$nparts, Complete (as S3 saw it)" "$summary" \
    "create=1 parts=$(seq -s, 1 $nparts) complete=1 plain_put=0 one_upload_id=True statuses_ok=True sizes_ok=True slices_ok=True"
check "multipart: logged" grep -q "multipart upload of $size bytes in $nparts parts" "$log"
is "multipart: the thumbnail (small) was one PUT" \
    "$(grep -c "\"PUT\", \"path\": \"/$VIDSTREAM_BUCKET/output/$sub/$id/thumbnail.jpg\", \"query\": {}" "$PROXY_LOG")" 1
kill "$PROXY_PID"

# a part fails: the upload is aborted, retried, the message left to come back
# (a fresh queue, so that this part starts from an empty one)
w_queues 5
proxy_start 2
read -r id sub < <(w_video "$big")
w_send "$(w_job_body "$id" "$sub")"
w_start VIDSTREAM_WAIT_TIME=1 AWS_ENDPOINT_URL_S3="$PROXY_URL" \
    VIDSTREAM_MULTIPART_THRESHOLD=$((5 * MiB)) VIDSTREAM_PART_SIZE=$((5 * MiB)) \
    VIDSTREAM_RETRIES=1 VIDSTREAM_RETRY_BASE_MS=50 VIDSTREAM_VISIBILITY_TIMEOUT=60
pid=$W_LAST_PID; log=$W_LAST_LOG
for i in $(seq 1 300); do grep -q 'message left to come back' "$log" && break; sleep 0.2; done
w_stop "$pid"
key=output/$sub/$id/video.mp4
summary=$($PY - "$PROXY_LOG" "/$VIDSTREAM_BUCKET/$key" <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
mine = [r for r in recs if r["path"] == sys.argv[2]]
created = sum(1 for r in mine if r["method"] == "POST" and "uploads" in r["query"])
ids = []
for r in mine:
    if r["method"] == "PUT" and "uploadId" in r["query"]:
        u = r["query"]["uploadId"][0]
        if u not in ids:
            ids.append(u)
aborted = [u for u in ids if any(r["method"] == "DELETE"
           and r["query"].get("uploadId") == [u] for r in mine)]
after_fail = any(r["method"] == "PUT" and r["query"].get("partNumber") == ["3"]
                 for r in mine)
completed = any(r["method"] == "POST" and "uploadId" in r["query"] for r in mine)
print("uploads=%d aborted=%d part3_sent=%s completed=%s" % (
      created, len(aborted), after_fail, completed))
EOF
)
is "failing part: 2 uploads (1 retry), each aborted, none completed" "$summary" \
    "uploads=2 aborted=2 part3_sent=False completed=False"
# s3rver 3.7 does not implement AbortMultipartUpload (405): logged, not fatal
check "failing part: the abort's answer is logged" \
    grep -q 'AbortMultipartUpload failed (S3 DELETE .*HTTP 405\|multipart upload aborted' "$log"
check "failing part: transient failure logged" \
    grep -q 'transient failure after 1 retries.*HTTP 500 InternalError' "$log"
is "failing part: no object stored" \
    "$(curl -s -o /dev/null -w '%{http_code}' "$(s3_url "$key")")" 404
is "failing part: video back to queued" "$(w_status "$id")" queued
kill "$PROXY_PID"

# --- HLS ---------------------------------------------------------------------------
# hls_case NAME INPUT TYPE SEGMENT LADDER WANT_RENDITIONS WANT_PATH
# (LADDER "default": VIDSTREAM_HLS_LADDER unset)
hls_case() {
    local name=$1 input=$2 type=$3 seg=$4 ladder=$5 want=$6 path=$7
    local id sub pid log tree line rends probe n w lenv=() src frames
    w_queues 5
    read -r id sub < <(w_video "$input")
    w_send "$(w_job_body "$id" "$sub")"
    [ "$ladder" = default ] || lenv=(VIDSTREAM_HLS_LADDER="$ladder")
    w_start VIDSTREAM_WAIT_TIME=1 VIDSTREAM_HLS=1 VIDSTREAM_HLS_TYPE="$type" \
        VIDSTREAM_HLS_SEGMENT="$seg" "${lenv[@]}"
    pid=$W_LAST_PID; log=$W_LAST_LOG
    check "$name: done" w_wait_status "$id" done 120
    w_stop "$pid"
    is "$name: output_hls set" "$(w_sql "SELECT output_hls FROM videos WHERE id = '$id'")" t
    if grep "\"video_id\":\"$id\"" "$log" | grep -q '"remuxed":true'; then
        is "$name: MP4 path" remux "$path"
    else
        is "$name: MP4 path" transcode "$path"
    fi
    tree=$W_TMP/hls_$name
    rends=
    while IFS= read -r line; do
        case $line in
        "ok - "*)     pass "$name: ${line#ok - }" ;;
        "not ok - "*) flunk "$name: ${line#not ok - }" ;;
        RENDITIONS=*) rends=${line#RENDITIONS=} ;;
        esac
    done < <($PY "$TOP/t/stack/worker/hls_check.py" \
                 "$(s3_url "output/$sub/$id/hls")" "$tree" "$seg")
    is "$name: renditions listed in index.m3u8" "$rends" "$want"
    probe=$(ffprobe -v error -select_streams v -show_entries stream=codec_name,width,height \
            -of csv=p=0 "$tree/index.m3u8" 2>&1 | grep . | sort -u | tr '\n' ' ')
    is "$name: ffprobe reads the master playlist from the downloaded tree" \
        "$(ffprobe -v error -show_entries format=nb_programs -of csv=p=0 "$tree/index.m3u8")" \
        "$(echo "$want" | tr ',' '\n' | wc -l)"
    n=$(echo "$want" | tr ',' '\n' | wc -l)
    is "$name: ffprobe sees $n H.264 video streams of distinct sizes ($probe)" \
        "$(for w in $probe; do case $w in h264,*) echo "$w" ;; esac; done | wc -l)" "$n"

    # one decode feeds every output (issue 13), the ladder follows the
    # source (issue 15)
    src=$(w_probe "$input" stream=width,height | tr , x)
    frames=$(ffprobe -v error -select_streams v:0 -count_frames \
             -show_entries stream=nb_read_frames -of csv=p=0 "$input")
    is "$name: the source's $frames frames are decoded once for every output" \
        "$(grep "\"video_id\":\"$id\"" "$log" \
           | grep -o '"decoded_frames":[0-9]*' | cut -d: -f2)" "$frames"
    check "$name: no rendition is larger than the source ($src)" \
        $PY -c 'import re, sys
w, h = map(int, sys.argv[2].split("x"))
r = re.findall(r"RESOLUTION=(\d+)x(\d+)", open(sys.argv[1]).read())
sys.exit(not r or any(int(a) > w or int(b) > h for a, b in r))' \
        "$tree/index.m3u8" "$src"
    is "$name: the top rendition is the MP4's size" \
        "$(grep -o 'RESOLUTION=[0-9x]*' "$tree/index.m3u8" | head -n1)" \
        "RESOLUTION=$(w_sql "SELECT width || 'x' || height FROM videos WHERE id = '$id'")"
    check "$name: every rendition is cut at the same instants" \
        bash -c 'first=$(grep EXTINF "$1"); shift
                 for f; do [ "$(grep EXTINF "$f")" = "$first" ] || exit 1; done' \
        _ "$tree"/*/stream.m3u8
    curl -sf -o "$W_TMP/poster_$name.jpg" \
        "$(s3_url "output/$sub/$id/thumbnail.jpg")"
    is "$name: the poster is a JPEG at the output size" \
        "$(w_probe "$W_TMP/poster_$name.jpg" stream=codec_name,width,height)" \
        "mjpeg,$(w_sql "SELECT width || ',' || height FROM videos WHERE id = '$id'")"
}

# transcoded (keyframes forced on the boundaries, top rendition copied),
# 29.97 fps, fMP4, a ladder with an entry above the source (skipped)
hls_in=$(w_gen hls.avi -f lavfi -i testsrc2=size=1280x720:rate=30000/1001 \
         -f lavfi -i sine -t 7 -c:v mpeg4 -q:v 4 -c:a mp3)
hls_case hls_fmp4 "$hls_in" fmp4 2 1080,720,480,360 720p,480p,360p transcode
# remuxed H.264 with keyframes every 10 s (the top is re-encoded), TS
hls_in2=$(w_gen hls2.mp4 -f lavfi -i testsrc2=size=640x360:rate=25 \
          -f lavfi -i sine -t 7 -c:v libx264 -g 250 -preset ultrafast \
          -pix_fmt yuv420p -c:a aac)
hls_case hls_ts_remuxed "$hls_in2" ts 3 240 360p,240p remux
# the default ladder (720,480) under a 1080p source: 1080p, 720p, 480p
hls_in3=$(w_gen hls3.avi -f lavfi -i testsrc2=size=1920x1080:rate=25 \
          -f lavfi -i sine -t 3 -c:v mpeg4 -q:v 4 -c:a mp3)
hls_case hls_1080 "$hls_in3" fmp4 1 default 1080p,720p,480p transcode
# ... and under a 360p source: nothing upscaled, 360p only
hls_in4=$(w_gen hls4.avi -f lavfi -i testsrc2=size=640x360:rate=25 \
          -f lavfi -i sine -t 3 -c:v mpeg4 -q:v 4 -c:a mp3)
hls_case hls_360 "$hls_in4" fmp4 1 default 360p transcode

# --- Redis: video events --------------------------------------------------------
# sub_start ID: a redis-cli SUBSCRIBE to the video's channel, payloads in $SUB_OUT
sub_start() {
    SUB_OUT=$W_TMP/sub.$RANDOM
    redis-cli -u "$VIDSTREAM_REDIS_URL" --raw SUBSCRIBE "vidstream:videos:$1" >"$SUB_OUT" 2>&1 &
    W_PIDS+=($!)
    SUB_PID=$!
    for i in $(seq 1 50); do grep -q "vidstream:videos:$1" "$SUB_OUT" && break; sleep 0.1; done
}
if [ -z "${VIDSTREAM_REDIS_URL:-}" ]; then
    flunk "redis: the stack has no VIDSTREAM_REDIS_URL"
else
    w_queues 5
    ev_in=$(w_gen ev.avi -f lavfi -i testsrc2=size=640x360:rate=25 -f lavfi -i sine \
            -t 8 -c:v mpeg4 -q:v 2 -c:a mp3)
    read -r id sub < <(w_video "$ev_in")
    sub_start "$id"
    w_send "$(w_job_body "$id" "$sub")"
    w_start VIDSTREAM_WAIT_TIME=1 VIDSTREAM_THREADS=1 VIDSTREAM_PRESET=veryslow
    pid=$W_LAST_PID; log=$W_LAST_LOG
    check "redis: done" w_wait_status "$id" done 60
    sleep 0.5
    w_stop "$pid"; kill "$SUB_PID" 2>/dev/null
    summary=$($PY - "$SUB_OUT" "$id" <<'EOF'
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
keys = ["id", "status", "filename", "content_type", "size", "progress",
        "error", "error_code", "duration_ms", "width", "height", "outputs",
        "created_at",
        "updated_at"]
shape = all(sorted(e) == sorted(keys) and e["id"] == sys.argv[2] for e in evs)
st = [e["status"] for e in evs]
prog = [e["progress"] for e in evs if e["status"] == "processing"]
last = evs[-1] if evs else {}
print("shape=%s first=%s progress_events=%s increasing=%s last=%s,%s,%s" % (
    shape, st[0] if st else None, len([p for p in prog if p > 0]) >= 2,
    prog == sorted(prog), last.get("status"), last.get("progress"),
    last.get("outputs", {}).get("mp4")))
EOF
)
    is "redis: video JSON on vidstream:videos:<id>: processing, progress, done" \
        "$summary" "shape=True first=processing progress_events=True increasing=True last=done,100,True"
    check "redis: the final event carries what the row has" \
        grep -q '^{"id":"'"$id"'","status":"done",.*"width":640,"height":360,"outputs":{"mp4":true,"thumbnail":true,"hls":false}' "$SUB_OUT"

    # Redis down: the job does not notice
    w_queues 5
    read -r id sub < <(w_video "$ev_in")
    w_send "$(w_job_body "$id" "$sub")"
    w_start VIDSTREAM_WAIT_TIME=1 VIDSTREAM_REDIS_URL=redis://127.0.0.1:1/0
    pid=$W_LAST_PID; log=$W_LAST_LOG
    check "redis down: the job is done anyway" w_wait_status "$id" done 60
    w_stop "$pid"
    is "redis down: logged once" "$(grep -c 'Redis connect to 127.0.0.1:1' "$log")" 1
    check "redis: a bad URL is a configuration error (exit 2)" \
        bash -c "VIDSTREAM_REDIS_URL=rediss://x:1 '$WORKER' --once >/dev/null 2>&1; test \$? = 2"
fi

finish
