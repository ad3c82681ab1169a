#!/usr/bin/env bash
# vidstream-worker transcode vs the ffmpeg CLI, on generated 10 s inputs
# (testsrc2 + sine). The machine is shared: commands are run in interleaved
# rounds (RUNS, default 3) and each one's best wall time is kept, with its
# CPU time (user + sys) and peak RSS.
#
#   1. the MP4 alone, identical settings (libx264 veryfast CRF 23 high,
#      AAC 128 kb/s, +faststart, the same scaling), 1080p and 720p mpeg4
#      inputs: target worker/ffmpeg <= 1.05;
#   2. the remux fast path vs a full transcode of an H.264/AAC input;
#   3. the HLS ladder of a 1080p source: the worker's MP4 + poster + 3
#      renditions (1080/720/480, 6 s segments) from one decode, vs
#      (a) ffmpeg the way a user runs it, one command per output (the MP4,
#          the poster, each rendition): target <= 0.85;
#      (b) one ffmpeg process that decodes once and splits
#          (-filter_complex split) into the same five outputs:
#          target <= 1.05.
#      The worker's top rendition carries the MP4's packets (one encode for
#      both), ffmpeg encodes it again: that is part of what is measured.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
worker=${VIDSTREAM_WORKER:-${BUILD:-$top/build}/vidstream-worker}
runs=${RUNS:-3}
tmp=$(mktemp -d /tmp/vidstream-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }
[ -x "$worker" ] || { echo "bench: no worker at $worker" >&2; exit 1; }

ff="ffmpeg -hide_banner -loglevel error -y"

# inputs: mpeg4 (so both must decode and re-encode), and H.264/AAC (remux)
$ff -f lavfi -i testsrc2=size=1920x1080:rate=30 -f lavfi -i sine=sample_rate=48000 \
    -t 10 -c:v mpeg4 -q:v 3 -c:a mp3 "$tmp/in1080.avi"
$ff -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=sample_rate=48000 \
    -t 10 -c:v mpeg4 -q:v 3 -c:a mp3 "$tmp/in720.avi"
$ff -i "$tmp/in1080.avi" -c:v libx264 -preset veryfast -pix_fmt yuv420p \
    -c:a aac "$tmp/h264.mp4"

# Every benchmarked command is a script $tmp/cmd/NAME (run with bash, its
# outputs cleared first). rounds NAME...: RUNS interleaved rounds of them;
# then best NAME prints "wall cpu rss_kib" of NAME's fastest run.
mkdir -p "$tmp/cmd" "$tmp/res"
cmd() { local name=$1; shift; printf '%s\n' "$*" > "$tmp/cmd/$name"; }
rounds() {
    local i name out
    for i in $(seq 1 "$runs"); do
        for name; do
            rm -rf "$tmp/out/$name"; mkdir -p "$tmp/out/$name"
            /usr/bin/time -o "$tmp/time" -f '%e %U %S %M' \
                bash "$tmp/cmd/$name" >/dev/null 2>"$tmp/err" \
                || { echo "bench: $name failed:" >&2; cat "$tmp/err" >&2; exit 1; }
            out=$(tail -n1 "$tmp/time")
            echo "$out" | awk '{printf "%s %.2f %s\n", $1, $2 + $3, $4}' \
                >> "$tmp/res/$name"
        done
    done
}
best() { sort -n "$tmp/res/$1" | head -n1; }
mib() { echo "$1" | awk '{printf "%.0f", $1 / 1024}'; }
ratio() { awk "BEGIN{printf \"%.3f\", $1 / $2}"; }

# what vidstream-worker does for the MP4, as ffmpeg arguments: IN OUT WxH
ffmpeg_same() {
    echo ffmpeg -hide_banner -loglevel error -y -i "$1" \
        -map 0:v:0 -map 0:a:0? -vf "scale=$3:flags=bicubic,format=yuv420p" \
        -c:v libx264 -preset veryfast -crf 23 -profile:v high \
        -c:a aac -b:a 128k -movflags +faststart "$2"
}

# ---- 1. the MP4 alone -------------------------------------------------------
for res in 1080 720; do
    size=$([ $res = 1080 ] && echo 1920:1080 || echo 1280:720)
    cmd w$res VIDSTREAM_REMUX=0 "$worker" transcode "$tmp/in$res.avi" \
        "$tmp/out/w$res/o.mp4"
    cmd f$res "$(ffmpeg_same "$tmp/in$res.avi" "$tmp/out/f$res/o.mp4" "$size")"
done
rounds w1080 f1080 w720 f720

printf '%-26s %8s %8s %8s %8s %6s %6s %7s\n' input worker_s ffmpeg_s \
    w_cpu_s f_cpu_s w_MiB f_MiB ratio
for res in 1080 720; do
    read -r ws wc wr < <(best w$res)
    read -r fs fc fr < <(best f$res)
    printf '%-26s %8s %8s %8s %8s %6s %6s %7s\n' "mpeg4 ${res}p 10 s -> h264" \
        "$ws" "$fs" "$wc" "$fc" "$(mib "$wr")" "$(mib "$fr")" \
        "$(ratio "$ws" "$fs")"
done

# ---- 2. remux vs transcode --------------------------------------------------
cmd remux "$worker" transcode "$tmp/h264.mp4" "$tmp/out/remux/o.mp4"
cmd full VIDSTREAM_REMUX=0 "$worker" transcode "$tmp/h264.mp4" \
    "$tmp/out/full/o.mp4"
rounds remux full
read -r rs rc rr < <(best remux)
read -r ts tc tr < <(best full)
printf 'remux %ss vs transcode %ss of the same H.264/AAC 1080p 10 s input: %.1fx faster (peak RSS %s vs %s MiB)\n' \
    "$rs" "$ts" "$(awk "BEGIN{print $ts / $rs}")" "$(mib "$rr")" "$(mib "$tr")"

# ---- 3. the HLS ladder ------------------------------------------------------
in=$tmp/in1080.avi
x264="-c:v libx264 -preset veryfast -crf 23 -profile:v high -g 180 -force_key_frames 'expr:gte(t,n_forced*6)'"
aac="-c:a aac -b:a 128k"
hls="-f hls -hls_time 6 -hls_playlist_type vod -hls_segment_type fmp4 -hls_flags independent_segments"
# the renditions' capped CRF: 0.1 bit per pixel at 30 fps (the worker's)
rate() { echo "-maxrate $(($1 * $2 * 3)) -bufsize $(($1 * $2 * 6))"; }

cmd wh VIDSTREAM_REMUX=0 VIDSTREAM_HLS_SEGMENT=6 VIDSTREAM_HLS_LADDER=720,480 \
    "$worker" transcode "$in" "$tmp/out/wh/o.mp4" "$tmp/out/wh/o.jpg" \
    "$tmp/out/wh/hls"

o=$tmp/out/fs
cat > "$tmp/cmd/fs" <<EOF
set -e
ffmpeg -hide_banner -loglevel error -y -i "$in" -map 0:v:0 -map 0:a:0 \
    -vf scale=1920:1080:flags=bicubic,format=yuv420p $x264 $aac \
    -movflags +faststart "$o/o.mp4"
ffmpeg -hide_banner -loglevel error -y -ss 1 -i "$in" -frames:v 1 -q:v 3 \
    "$o/o.jpg"
for r in 1920:1080 1280:720 852:480; do
    w=\${r%:*}; h=\${r#*:}; mkdir -p "$o/\${h}p"
    ffmpeg -hide_banner -loglevel error -y -i "$in" -map 0:v:0 -map 0:a:0 \
        -vf scale=\$r:flags=bicubic,format=yuv420p $x264 \
        -maxrate \$((w * h * 3)) -bufsize \$((w * h * 6)) $aac $hls \
        -hls_segment_filename "$o/\${h}p/seg_%d.m4s" "$o/\${h}p/stream.m3u8"
done
EOF

o=$tmp/out/f1
cat > "$tmp/cmd/f1" <<EOF
mkdir -p "$o/0" "$o/1" "$o/2"
exec ffmpeg -hide_banner -loglevel error -y -i "$in" -filter_complex \
    "[0:v]split=5[m][p][a][b][c];[m]scale=1920:1080:flags=bicubic,format=yuv420p[mo];[p]select='gte(t\,1)',scale=1920:1080:flags=bicubic[po];[a]scale=1920:1080:flags=bicubic,format=yuv420p[ao];[b]scale=1280:720:flags=bicubic,format=yuv420p[bo];[c]scale=852:480:flags=bicubic,format=yuv420p[co]" \
    -map "[mo]" -map 0:a $x264 $aac -movflags +faststart "$o/o.mp4" \
    -map "[po]" -frames:v 1 -q:v 3 "$o/o.jpg" \
    -map "[ao]" -map "[bo]" -map "[co]" -map 0:a -map 0:a -map 0:a \
    $x264 -maxrate:v:0 $((1920 * 1080 * 3)) -bufsize:v:0 $((1920 * 1080 * 6)) \
    -maxrate:v:1 $((1280 * 720 * 3)) -bufsize:v:1 $((1280 * 720 * 6)) \
    -maxrate:v:2 $((852 * 480 * 3)) -bufsize:v:2 $((852 * 480 * 6)) $aac $hls \
    -var_stream_map "v:0,a:0 v:1,a:1 v:2,a:2" -master_pl_name index.m3u8 \
    "$o/%v/stream.m3u8"
EOF
rounds wh fs f1

read -r hs hc hr < <(best wh)
read -r ss sc sr < <(best fs)
read -r os oc or < <(best f1)
echo "HLS ladder of a mpeg4 1080p 10 s source: MP4 + poster + 1080/720/480 renditions"
printf '  %-34s %7ss  cpu %7ss  %5s MiB\n' \
    "worker (one decode)" "$hs" "$hc" "$(mib "$hr")" \
    "ffmpeg, one command per output" "$ss" "$sc" "$(mib "$sr")" \
    "ffmpeg, one process, split" "$os" "$oc" "$(mib "$or")"
printf '  worker / per-output ffmpeg: %s wall, %s cpu (target <= 0.85)\n' \
    "$(ratio "$hs" "$ss")" "$(ratio "$hc" "$sc")"
printf '  worker / split ffmpeg:      %s wall, %s cpu (target <= 1.05)\n' \
    "$(ratio "$hs" "$os")" "$(ratio "$hc" "$oc")"
