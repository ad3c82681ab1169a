#!/usr/bin/env bash
# vidstream-worker transcode vs the ffmpeg CLI with identical settings
# (libx264 veryfast CRF 23 high profile, AAC 128 kb/s, +faststart, the same
# scaling), on the same generated 1080p and 720p inputs (10 s testsrc2 +
# sine): wall time ratio (target <= 1.05) and peak RSS; then the remux fast
# path vs a full transcode of the same H.264/AAC input (target >= 20x);
# then HLS with a ladder (1080p source, 6 s segments, 720/480 renditions):
# the worker's MP4 + poster + 3 renditions vs one ffmpeg pass writing the
# same 3 renditions (and no MP4), keyframes forced every 6 s in both.
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

# best wall time (s) and its peak RSS (KiB) of $runs runs of a command
measure() {
    local best=999999 rss=0 i out w r
    for i in $(seq 1 "$runs"); do
        /usr/bin/time -o "$tmp/time" -f '%e %M' "$@" >/dev/null 2>&1 \
            || { echo "bench: failed: $*" >&2; exit 1; }
        out=$(tail -n1 "$tmp/time")
        w=${out% *}; r=${out#* }
        if awk "BEGIN{exit !($w < $best)}"; then best=$w; rss=$r; fi
    done
    echo "$best $rss"
}

# what vidstream-worker does, as ffmpeg arguments: IN OUT WxH
ffmpeg_same() {
    echo ffmpeg -hide_banner -loglevel error -y -i "$1" \
        -map 0:v:0 -map 0:a:0? -vf "scale=$3:flags=bicubic,format=yuv420p" \
        -c:v libx264 -preset veryfast -crf 23 -profile:v high \
        -c:a aac -b:a 128k -movflags +faststart "$2"
}

printf '%-28s %10s %10s %10s %10s %8s\n' input worker_s ffmpeg_s worker_MiB ffmpeg_MiB ratio
for res in 1080 720; do
    in=$tmp/in$res.avi
    size=$([ $res = 1080 ] && echo 1920:1080 || echo 1280:720)
    read -r ws wr < <(measure env VIDSTREAM_REMUX=0 "$worker" transcode "$in" "$tmp/w.mp4")
    read -r fs fr < <(measure $(ffmpeg_same "$in" "$tmp/f.mp4" "$size"))
    printf '%-28s %10s %10s %10.1f %10.1f %8.3f\n' "mpeg4 ${res}p 10 s -> h264" \
        "$ws" "$fs" "$(echo "$wr/1024" | bc -l)" "$(echo "$fr/1024" | bc -l)" \
        "$(echo "$ws/$fs" | bc -l)"
done

read -r rs rr < <(measure "$worker" transcode "$tmp/h264.mp4" "$tmp/r.mp4")
read -r ts tr < <(measure env VIDSTREAM_REMUX=0 "$worker" transcode "$tmp/h264.mp4" "$tmp/t.mp4")
printf 'remux %ss vs transcode %ss of the same H.264/AAC 1080p 10 s input: %.1fx faster (peak RSS %.1f vs %.1f MiB)\n' \
    "$rs" "$ts" "$(echo "$ts/$rs" | bc -l)" "$(echo "$rr/1024" | bc -l)" "$(echo "$tr/1024" | bc -l)"

# HLS ladder: worker (MP4 + thumbnail + HLS) vs ffmpeg (HLS only, one pass)
cat > "$tmp/ladder.sh" <<EOF
exec ffmpeg -hide_banner -loglevel error -y -i "$tmp/in1080.avi" -filter_complex \
    "[0:v]scale=1920:1080:flags=bicubic,format=yuv420p,split=3[a][b][c];[b]scale=1280:720:flags=bicubic[b2];[c]scale=852:480:flags=bicubic[c2]" \
    -map "[a]" -map "[b2]" -map "[c2]" -map 0:a -map 0:a -map 0:a \
    -c:v libx264 -preset veryfast -crf 23 -profile:v high -g 180 \
    -force_key_frames "expr:gte(t,n_forced*6)" -c:a aac -b:a 128k \
    -f hls -hls_time 6 -hls_playlist_type vod -hls_segment_type fmp4 \
    -var_stream_map "v:0,a:0 v:1,a:1 v:2,a:2" -master_pl_name index.m3u8 \
    "$tmp/fh/%v/stream.m3u8"
EOF
rm -rf "$tmp/wh" "$tmp/fh"; mkdir -p "$tmp/fh"
read -r hs hr < <(measure env VIDSTREAM_REMUX=0 VIDSTREAM_HLS_SEGMENT=6 VIDSTREAM_HLS_LADDER=720,480 \
    "$worker" transcode "$tmp/in1080.avi" "$tmp/w.mp4" "$tmp/w.jpg" "$tmp/wh")
read -r fs fr < <(measure bash "$tmp/ladder.sh")
printf 'HLS 1080/720/480, mpeg4 1080p 10 s: worker %ss (MP4 + poster + HLS) vs ffmpeg %ss (HLS only): ratio %.3f (peak RSS %.1f vs %.1f MiB)\n' \
    "$hs" "$fs" "$(echo "$hs/$fs" | bc -l)" "$(echo "$hr/1024" | bc -l)" "$(echo "$fr/1024" | bc -l)"
