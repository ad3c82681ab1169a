#!/usr/bin/env bash
# The worker against the real local stack: inputs in many containers and
# codecs end 'done' with an H.264/AAC MP4 (moov first, the input's duration
# within 100 ms, even dimensions, caps applied) and a thumbnail, or 'failed'
# with a readable reason; the remux path is taken exactly when it should.
# Also: S3 event notifications (raw and in an SNS envelope), s3:TestEvent,
# malformed messages, duplicate messages.
set -uo pipefail
. "$(dirname "$0")/worker/lib.sh"

w_queues 5
src="testsrc2=size=320x240:rate=25"

declare -A input expect
add() { input[$1]=$2; expect[$1]=$3; }

add mpeg4_avi   "$(w_gen a.avi -f lavfi -i $src -f lavfi -i sine=sample_rate=44100 -t 1.5 -c:v mpeg4 -c:a mp3)" transcode
add vp8_webm    "$(w_gen b.webm -f lavfi -i $src -f lavfi -i sine=sample_rate=48000 -t 1.5 -c:v libvpx -c:a libvorbis)" transcode
add vp9_webm    "$(w_gen c.webm -f lavfi -i $src -f lavfi -i sine=sample_rate=48000 -t 1.5 -c:v libvpx-vp9 -deadline realtime -c:a libopus)" transcode
add h264_mkv    "$(w_gen d.mkv -f lavfi -i $src -f lavfi -i sine -t 1.5 -c:v libx264 -pix_fmt yuv420p -c:a aac)" remux
add hevc_mp4    "$(w_gen e.mp4 -f lavfi -i $src -f lavfi -i sine -t 1.5 -c:v libx265 -x265-params log-level=none -c:a aac)" transcode
add prores_mov  "$(w_gen f.mov -f lavfi -i $src -f lavfi -i sine -t 1.5 -c:v prores -c:a pcm_s16le)" transcode
add mpeg2_ts    "$(w_gen g.ts -f lavfi -i $src -f lavfi -i sine -t 1.5 -c:v mpeg2video -c:a mp2)" transcode
add theora_ogv  "$(w_gen h.ogv -f lavfi -i $src -f lavfi -i sine -t 1.5 -c:v libtheora -c:a libvorbis)" transcode
add odd_size    "$(w_gen i.mp4 -f lavfi -i testsrc2=size=321x239:rate=25 -f lavfi -i sine -t 1.5 -c:v mpeg4 -c:a aac)" transcode
add no_audio    "$(w_gen j.mp4 -f lavfi -i $src -t 1.5 -c:v libx264 -pix_fmt yuv420p)" remux
add h264_aac    "$(w_gen k.mp4 -f lavfi -i $src -f lavfi -i sine -t 1.5 -c:v libx264 -pix_fmt yuv420p -c:a aac)" remux
add h264_444    "$(w_gen l.mp4 -f lavfi -i $src -t 1.5 -c:v libx264 -pix_fmt yuv444p)" transcode
add h264_mp3    "$(w_gen m.mkv -f lavfi -i $src -f lavfi -i sine -t 1.5 -c:v libx264 -pix_fmt yuv420p -c:a mp3)" transcode
add fps_120     "$(w_gen n.mp4 -f lavfi -i testsrc2=size=320x240:rate=120 -t 1.5 -c:v libx264 -pix_fmt yuv420p)" transcode
add big_1440p   "$(w_gen o.mp4 -f lavfi -i testsrc2=size=2560x1440:rate=10 -t 1 -c:v libx264 -preset ultrafast -pix_fmt yuv420p)" transcode
add vfr_mkv     "$(w_gen p.mkv -f lavfi -i "testsrc2=size=320x240:rate=30,setpts='PTS+if(gt(N,20),0.3/TB,0)'" -t 1.5 -c:v libvpx -fps_mode vfr)" transcode
/usr/bin/python3 "$TOP/t/stack/worker/rotate.py" "${input[no_audio]}" "$W_TMP/in/rot.mp4"
add rotated     "$W_TMP/in/rot.mp4" transcode
add audio_only  "$(w_gen q.m4a -f lavfi -i sine -t 1.5 -c:a aac)" "fail:no video stream"
: > "$W_TMP/in/zero.mp4";                       add zero_bytes "$W_TMP/in/zero.mp4" "fail:empty"
head -c 40000 "${input[h264_aac]}" > "$W_TMP/in/trunc.mp4"; add truncated "$W_TMP/in/trunc.mp4" "fail:not a recognised video"
$FF -f lavfi -i $src -f lavfi -i sine -t 2 -c:v libx264 -pix_fmt yuv420p -c:a aac -movflags +faststart "$W_TMP/in/fs.mp4"
head -c $(( $(stat -c %s "$W_TMP/in/fs.mp4") / 2 )) "$W_TMP/in/fs.mp4" > "$W_TMP/in/trunc2.mp4"
add truncated_faststart "$W_TMP/in/trunc2.mp4" "fail:truncated"
head -c 60000 /dev/urandom > "$W_TMP/in/random.mp4"; add random_bytes "$W_TMP/in/random.mp4" "fail:not a recognised video"

declare -A vid owner
for name in "${!input[@]}"; do
    read -r vid[$name] owner[$name] < <(w_video "${input[$name]}") \
        || { flunk "$name: upload"; continue; }
    w_send "$(w_job_body "${vid[$name]}" "${owner[$name]}")"
done

w_start VIDSTREAM_CONCURRENCY=2 VIDSTREAM_WAIT_TIME=1
log=$W_LAST_LOG

for name in $(printf '%s\n' "${!input[@]}" | sort); do
    id=${vid[$name]}; sub=${owner[$name]}
    [ -n "$id" ] || continue
    for i in $(seq 1 300); do
        st=$(w_status "$id"); case $st in done|failed) break ;; esac; sleep 0.2
    done
    case ${expect[$name]} in
    fail:*)
        is "$name: failed" "$st" failed
        err=$(w_sql "SELECT error FROM videos WHERE id = '$id'")
        check "$name: error says '${expect[$name]#fail:}' ($err)" \
            grep -q "${expect[$name]#fail:}" <<<"$err"
        continue ;;
    esac
    is "$name: done" "$st" done
    out=$W_TMP/out_$name.mp4
    curl -sf -o "$out" "$(s3_url "output/$sub/$id/video.mp4")"
    check "$name: output uploaded" test -s "$out"
    is "$name: H.264 video" "$(ffprobe -v error -select_streams v -show_entries stream=codec_name -of csv=p=0 "$out")" h264
    is "$name: yuv420p" "$(ffprobe -v error -select_streams v -show_entries stream=pix_fmt -of csv=p=0 "$out")" yuv420p
    a_in=$(ffprobe -v error -select_streams a -show_entries stream=codec_name -of csv=p=0 "${input[$name]}")
    a_out=$(ffprobe -v error -select_streams a -show_entries stream=codec_name -of csv=p=0 "$out")
    if [ -n "$a_in" ]; then is "$name: AAC audio" "$a_out" aac
    else is "$name: no audio stream" "$a_out" ""; fi
    check "$name: moov before mdat" w_moov_first "$out"
    d_in=$(w_probe "${input[$name]}" format=duration); d_out=$(w_probe "$out" format=duration)
    check "$name: duration $d_out within 100 ms of $d_in" \
        /usr/bin/python3 -c "import sys; sys.exit(abs($d_in - $d_out) > 0.1)"
    wh=$(ffprobe -v error -select_streams v -show_entries stream=width,height -of csv=p=0 "$out")
    check "$name: even dimensions ($wh)" /usr/bin/python3 -c "w,h=map(int,'$wh'.split(',')); import sys; sys.exit(w%2 or h%2)"
    is "$name: row has width,height" "$(w_sql "SELECT width || ',' || height FROM videos WHERE id = '$id'")" "$wh"
    check "$name: row has duration_ms" test "$(w_sql "SELECT duration_ms > 0 AND output_mp4 AND output_thumbnail AND progress = 100 FROM videos WHERE id = '$id'")" = t
    curl -sf -o "$W_TMP/t_$name.jpg" "$(s3_url "output/$sub/$id/thumbnail.jpg")"
    is "$name: thumbnail is a JPEG" "$(w_probe "$W_TMP/t_$name.jpg" stream=codec_name)" mjpeg
    is "$name: source deleted" "$(curl -s -o /dev/null -w '%{http_code}' "$(s3_url "input/$sub/$id/source")")" 404
    if grep "\"video_id\":\"$id\"" "$log" | grep -q '"remuxed":true'; then path=remux; else path=transcode; fi
    is "$name: $path path" "$path" "${expect[$name]}"
    case $name in
    rotated)   is "rotated: rotation applied (240x320)" "$wh" "240,320" ;;
    big_1440p) is "big_1440p: capped to 1080p" "$wh" "1920,1080" ;;
    odd_size)  is "odd_size: 320x238" "$wh" "320,238" ;;
    fps_120)   is "fps_120: capped to 60 fps" "$(ffprobe -v error -select_streams v -show_entries stream=avg_frame_rate -of csv=p=0 "$out")" "60/1" ;;
    esac
done

# --- message formats -----------------------------------------------------
clip=${input[h264_aac]}

# a duplicate job message: one job
read -r id sub < <(w_video "$clip")
w_send "$(w_job_body "$id" "$sub")"
w_send "$(w_job_body "$id" "$sub")"
check "duplicate: done" w_wait_status "$id" done 30
sleep 2
is "duplicate: one attempt only" "$(w_sql "SELECT attempts FROM videos WHERE id = '$id'")" 1
check "duplicate: second message logged as no work" \
    grep -q "\"video_id\":\"$id\".*duplicate message, no work" "$log"

# a raw S3 event (key form-encoded) for a video still pending_upload
read -r id sub < <(w_video "$clip" pending_upload)
w_send "{\"Records\":[{\"eventVersion\":\"2.1\",\"eventSource\":\"aws:s3\",\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":\"$VIDSTREAM_BUCKET\"},\"object\":{\"key\":\"input/$sub/$id/source\",\"size\":1}}}]}"
check "raw S3 event: done" w_wait_status "$id" done 30

# an S3 event in an SNS envelope
read -r id sub < <(w_video "$clip")
inner="{\"Records\":[{\"eventName\":\"ObjectCreated:CompleteMultipartUpload\",\"s3\":{\"bucket\":{\"name\":\"$VIDSTREAM_BUCKET\"},\"object\":{\"key\":\"input/$sub/$id/source\"}}}]}"
w_send "$(/usr/bin/python3 -c 'import json,sys; print(json.dumps({"Type":"Notification","TopicArn":"arn:aws:sns:us-east-1:1:t","Message":sys.argv[1]}))' "$inner")"
check "SNS-wrapped S3 event: done" w_wait_status "$id" done 30

# s3:TestEvent, garbage, an unknown video, a malformed job naming a real video
w_send '{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-21T10:00:00Z","Bucket":"b","RequestId":"r","HostId":"h"}'
w_send 'this is not json'
w_send "$(w_job_body 11111111-2222-4333-8444-555555555555 nobody)"
read -r id sub < <(w_video "$clip")
w_send "{\"version\":9,\"video_id\":\"$id\"}"
for i in $(seq 1 150); do [ "$(w_count "$VIDSTREAM_QUEUE_URL")" = 0 ] && break; sleep 0.2; done
is "every message deleted (test event, garbage, unknown video too)" "$(w_count "$VIDSTREAM_QUEUE_URL")" 0
# CONTRACT.md section 6: a malformed message changes no video, whatever it
# names (t/stack/worker-lifecycle.sh has the rest)
is "malformed job message: the video it names is unchanged" "$(w_status "$id")" queued
check "s3:TestEvent logged" grep -q 's3:TestEvent: deleted' "$log"
check "unknown video logged" grep -q 'unknown video' "$log"
is "nothing in the DLQ" "$(w_count "$W_DLQ_URL")" 0

# every log line is one JSON object
check "stdout is JSON lines" /usr/bin/python3 -c '
import json, sys
for line in open(sys.argv[1]):
    json.loads(line)' "$log"

w_stop "$W_LAST_PID"
finish
