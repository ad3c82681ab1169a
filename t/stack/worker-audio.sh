#!/usr/bin/env bash
# Audio in every shape we meet (issue 11), against the real local stack:
# AAC 5.1 / 7.1 / mono / 8 kHz / 96 kHz, AC-3, Opus, Vorbis, MP3 and PCM
# (odd frame sizes too) in MKV, MP4/MOV and TS, and the Matroska file of
# the report (MPEG-4 Part 2 720p 25 fps + AAC 5.1 48 kHz, no SeekHead or
# Cues) with the ways real files break it: laced blocks whose frames have
# no timestamp, one audio block with a timestamp from the past, a TS whose
# audio changes layout and rate mid-stream and whose clock restarts.
# Each ends 'done' with an AAC track (stereo downmix, mono kept mono; an
# H.264 + AAC input is copied, its AAC as it is),
# strictly increasing timestamps in every stream of the MP4, the input's
# duration within 100 ms, and audio as long as the video.
set -uo pipefail
. "$(dirname "$0")/worker/lib.sh"

V="-f lavfi -i testsrc2=size=160x120:rate=25"
T=2

declare -A input channels duration
add() { input[$1]=$2; channels[$1]=$3; }
sine() { echo "sine=r=$1:f=440${3:+:samples_per_frame=$3},aformat=channel_layouts=$2"; }

# Matroska
add mkv_aac_51    "$(w_gen a1.mkv $V -f lavfi -i "$(sine 48000 5.1)" -t $T -c:v mpeg4 -c:a aac)" 2
add mkv_aac_71    "$(w_gen a2.mkv $V -f lavfi -i "$(sine 48000 7.1)" -t $T -c:v mpeg4 -c:a aac)" 2
add mkv_aac_mono  "$(w_gen a3.mkv $V -f lavfi -i "$(sine 44100 mono)" -t $T -c:v mpeg4 -c:a aac)" 1
add mkv_aac_8k    "$(w_gen a4.mkv $V -f lavfi -i "$(sine 8000 stereo)" -t $T -c:v mpeg4 -c:a aac)" 2
add mkv_aac_96k   "$(w_gen a5.mkv $V -f lavfi -i "$(sine 96000 stereo)" -t $T -c:v mpeg4 -c:a aac)" 2
add mkv_ac3_51    "$(w_gen a6.mkv $V -f lavfi -i "$(sine 48000 5.1)" -t $T -c:v mpeg4 -c:a ac3)" 2
add mkv_opus_51   "$(w_gen a7.mkv $V -f lavfi -i "$(sine 48000 5.1)" -t $T -c:v mpeg4 -c:a libopus)" 2
add mkv_vorbis_51 "$(w_gen a8.mkv $V -f lavfi -i "$(sine 44100 5.1)" -t $T -c:v mpeg4 -c:a libvorbis)" 2
add mkv_mp3       "$(w_gen a9.mkv $V -f lavfi -i "$(sine 22050 mono)" -t $T -c:v mpeg4 -c:a libmp3lame)" 1
add mkv_pcm_51    "$(w_gen a10.mkv $V -f lavfi -i "$(sine 96000 5.1)" -t $T -c:v mpeg4 -c:a pcm_s24le)" 2
add mkv_pcm_odd   "$(w_gen a11.mkv $V -f lavfi -i "$(sine 44100 stereo 333)" -t $T -c:v mpeg4 -c:a pcm_s16le)" 2
# MP4 / MOV
add mp4_aac_51    "$(w_gen b1.mp4 $V -f lavfi -i "$(sine 48000 5.1)" -t $T -c:v mpeg4 -c:a aac)" 2
add mp4_aac_8k    "$(w_gen b2.mp4 $V -f lavfi -i "$(sine 8000 mono)" -t $T -c:v mpeg4 -c:a aac)" 1
add mp4_ac3_51    "$(w_gen b3.mp4 $V -f lavfi -i "$(sine 48000 5.1)" -t $T -c:v mpeg4 -c:a ac3)" 2
add mp4_opus_71   "$(w_gen b4.mp4 $V -f lavfi -i "$(sine 48000 7.1)" -t $T -c:v mpeg4 -c:a libopus)" 2
add mp4_mp3       "$(w_gen b5.mp4 $V -f lavfi -i "$(sine 44100 stereo)" -t $T -c:v mpeg4 -c:a libmp3lame)" 2
add mov_pcm_51    "$(w_gen b6.mov $V -f lavfi -i "$(sine 48000 5.1 1001)" -t $T -c:v mpeg4 -c:a pcm_s16le)" 2
# MPEG-TS
add ts_aac_51     "$(w_gen c1.ts $V -f lavfi -i "$(sine 48000 5.1)" -t $T -c:v mpeg2video -c:a aac)" 2
add ts_ac3_51     "$(w_gen c2.ts $V -f lavfi -i "$(sine 48000 5.1)" -t $T -c:v mpeg2video -c:a ac3)" 2
add ts_mp3        "$(w_gen c3.ts $V -f lavfi -i "$(sine 22050 mono)" -t $T -c:v mpeg2video -c:a libmp3lame)" 1
add ts_opus_51    "$(w_gen c4.ts $V -f lavfi -i "$(sine 48000 5.1)" -t $T -c:v mpeg2video -c:a libopus)" 2

# the reported file: mpeg4 720p 25 fps + AAC 5.1 48 kHz, 3.6 s, Matroska
# without SeekHead or Cues
report=$(w_gen report0.mkv -f lavfi -i testsrc2=size=1280x720:rate=25 \
         -f lavfi -i "$(sine 48000 5.1)" -t 3.6 -c:v mpeg4 -c:a aac)
FIX=$TOP/t/stack/worker/mkvfix.py
/usr/bin/python3 "$FIX" "$report" "$W_TMP/in/report.mkv"
add report        "$W_TMP/in/report.mkv" 2
/usr/bin/python3 "$FIX" "$report" "$W_TMP/in/report_laced.mkv" --lace 4
add report_laced  "$W_TMP/in/report_laced.mkv" 2
/usr/bin/python3 "$FIX" "$report" "$W_TMP/in/report_glitch.mkv" --glitch 2261:5
add report_glitch "$W_TMP/in/report_glitch.mkv" 2

# H.264 + AAC is copied, not encoded (5.1 stays 5.1): the copy's audio
# timestamps get the same care; a video timestamp from the past makes the
# MP4 muxer refuse the copy, and the job is transcoded instead
h264=$(w_gen h264.mkv $V -f lavfi -i "$(sine 48000 5.1)" -t $T -c:v libx264 \
       -pix_fmt yuv420p -c:a aac)
/usr/bin/python3 "$FIX" "$h264" "$W_TMP/in/copy_glitch.mkv" --glitch 1261:5
add copy_audio_glitch "$W_TMP/in/copy_glitch.mkv" 6
/usr/bin/python3 "$FIX" "$h264" "$W_TMP/in/copy_laced.mkv" --lace 4
add copy_audio_laced  "$W_TMP/in/copy_laced.mkv" 6
/usr/bin/python3 "$FIX" "$h264" "$W_TMP/in/copy_vglitch.mkv" --track 1 --glitch 1000:5
add copy_video_glitch "$W_TMP/in/copy_vglitch.mkv" 2

# a TS cut together: 5.1 48 kHz, then stereo 44.1 kHz, the clock restarting
p1=$(w_gen d1.ts $V -f lavfi -i "$(sine 48000 5.1)" -t 1.5 -c:v mpeg2video -c:a aac)
p2=$(w_gen d2.ts $V -f lavfi -i "$(sine 44100 stereo)" -t 1.5 -c:v mpeg2video -c:a aac)
cat "$p1" "$p2" > "$W_TMP/in/spliced.ts"
add ts_spliced    "$W_TMP/in/spliced.ts" 2
duration[ts_spliced]=$(/usr/bin/python3 -c "print($(w_probe "$p1" format=duration) + $(w_probe "$p2" format=duration))")

w_queues 5
declare -A vid owner
for name in "${!input[@]}"; do
    [ -s "${input[$name]}" ] || { flunk "$name: fixture"; continue; }
    read -r vid[$name] owner[$name] < <(w_video "${input[$name]}") \
        || { flunk "$name: upload"; continue; }
    w_send "$(w_job_body "${vid[$name]}" "${owner[$name]}")"
done

w_start VIDSTREAM_CONCURRENCY=2 VIDSTREAM_WAIT_TIME=1

# monotonic FILE: every stream's dts strictly increasing, none missing
monotonic() {
    ffprobe -v error -show_entries packet=stream_index,dts -of csv=p=0 "$1" \
        | /usr/bin/python3 -c '
import sys
last, bad, n = {}, [], 0
for line in sys.stdin:
    f = line.strip().split(",")
    if len(f) < 2:
        continue
    s, d = f[0], f[1]
    n += 1
    if d == "N/A" or (s in last and int(d) <= last[s]):
        bad.append("stream %s: %s after %s" % (s, d, last.get(s)))
        continue
    last[s] = int(d)
if bad or n == 0:
    print("#   " + "; ".join(bad[:5]))
    sys.exit(1)'
}

within() { /usr/bin/python3 -c "import sys; sys.exit(abs($1 - $2) > $3)"; }

for name in $(printf '%s\n' "${!input[@]}" | sort); do
    id=${vid[$name]:-}; sub=${owner[$name]:-}
    [ -n "$id" ] || continue
    for i in $(seq 1 300); do
        st=$(w_status "$id"); case $st in done|failed) break ;; esac; sleep 0.2
    done
    if [ "$st" != done ]; then
        is "$name: done" "$st" done
        echo "#   error: $(w_sql "SELECT error FROM videos WHERE id = '$id'")"
        continue
    fi
    pass "$name: done"
    out=$W_TMP/out_$name.mp4
    curl -sf -o "$out" "$(s3_url "output/$sub/$id/video.mp4")"
    a=$(ffprobe -v error -select_streams a -show_entries stream=codec_name,channels \
        -of csv=p=0 "$out")
    is "$name: AAC, ${channels[$name]} channel(s)" "$a" "aac,${channels[$name]}"
    check "$name: timestamps strictly increasing" monotonic "$out"
    d_in=${duration[$name]:-$(w_probe "${input[$name]}" format=duration)}
    d_out=$(w_probe "$out" format=duration)
    check "$name: duration $d_out within 100 ms of $d_in" within "$d_in" "$d_out" 0.1
    # as long as the video, give or take 150 ms and the two AAC frames
    # (256 ms at 8 kHz) by which the input's own audio may outlast it
    read -r rate d_a < <(ffprobe -v error -select_streams a \
        -show_entries stream=sample_rate,duration -of csv=p=0 "$out" | tr , ' ')
    d_v=$(ffprobe -v error -select_streams v -show_entries stream=duration -of csv=p=0 "$out")
    check "$name: audio ($d_a s) as long as the video ($d_v s)" \
        within "${d_a:-0}" "${d_v:-9}" "0.15 + 2048 / ${rate:-48000}"
done

w_stop "$W_LAST_PID"
finish
