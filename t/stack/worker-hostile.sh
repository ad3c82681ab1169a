#!/usr/bin/env bash
# Hostile uploads (issue 11), against the real local stack. Each ends
# 'failed' with a sentence that says what it is, and:
#   - nothing is fetched: the playlists, manifests and scripts name a
#     listener on a free loopback port that counts requests, and it must
#     see none (the worker fetched a DASH manifest's BaseURL before);
#   - pictures that claim 16000x16000 or 30000x30000 are refused before
#     their memory is spent: the worker's peak RSS (VmHWM, reset before
#     each job through /proc/PID/clear_refs) stays within 150 MB of idle;
#   - the worker is alive afterwards and still transcodes a real video,
#     and every kind of demuxer on the allow-list;
#   - a container header that understates the picture does not get past
#     the limit either: the decoders carry max_pixels.
# Each failure carries its error_code (CONTRACT.md section 3).
set -uo pipefail
. "$(dirname "$0")/worker/lib.sh"

mkdir -p "$W_TMP/in"
IN=$W_TMP/in
LIMIT_KB=$((150 * 1024))

# --- the listener: every request is a line in hits.log ----------------------
HITS=$W_TMP/hits.log
: > "$HITS"
/usr/bin/python3 - "$HITS" >"$W_TMP/listener.port" 2>/dev/null <<'EOF' &
import http.server, socketserver, sys
log = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(log, "a") as f:
            f.write("%s %s\n" % (self.command, self.path))
        self.send_response(404); self.end_headers()
    do_HEAD = do_POST = do_GET
    def log_message(self, *a): pass
s = socketserver.TCPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
EOF
W_PIDS+=($!)
for i in $(seq 1 50); do [ -s "$W_TMP/listener.port" ] && break; sleep 0.1; done
PORT=$(cat "$W_TMP/listener.port")
BAIT=http://127.0.0.1:$PORT
curl -s -o /dev/null "$BAIT/selftest"
is "listener counts requests" "$(wc -l < "$HITS")" 1
: > "$HITS"

# --- the inputs -------------------------------------------------------------
declare -A input expect code
add() { input[$1]=$2; expect[$1]=$3; code[$1]=$4; }

cat > "$IN/manifest.mpd" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static"
     mediaPresentationDuration="PT2S" minBufferTime="PT1S"
     profiles="urn:mpeg:dash:profile:isoff-on-demand:2011">
  <BaseURL>$BAIT/dash/</BaseURL>
  <Period><AdaptationSet mimeType="video/mp4">
    <Representation id="1" bandwidth="100000" codecs="avc1.42c01e"
                    width="320" height="240"><BaseURL>v.mp4</BaseURL>
    </Representation></AdaptationSet></Period>
</MPD>
EOF
add dash "$IN/manifest.mpd" "fail:MPEG-DASH manifest (dash)" input_unsupported

printf '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\n%s/hls/seg0.ts\n#EXT-X-ENDLIST\n' \
    "$BAIT" > "$IN/index.m3u8"
add hls "$IN/index.m3u8" "fail:HLS playlist (hls)" input_unsupported
cp "$IN/index.m3u8" "$IN/holiday.mp4"
add hls_as_mp4 "$IN/holiday.mp4" "fail:HLS playlist (hls)" input_unsupported

printf 'ffconcat version 1.0\nfile %s/concat/a.mp4\nfile %s/concat/b.mp4\n' \
    "$BAIT" "$BAIT" > "$IN/list.ffconcat"
add ffconcat "$IN/list.ffconcat" "fail:ffconcat script (concat)" input_unsupported

printf 'v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=bait\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=video %s RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n' \
    "$PORT" > "$IN/session.sdp"
add sdp "$IN/session.sdp" "fail:SDP session description (sdp)" input_unsupported

printf 'data:video/mp4;base64,AAAAGGZ0eXBtcDQyAAAAAG1wNDJpc29t\n' > "$IN/data.txt"
add data_uri "$IN/data.txt" "fail:not a recognised video" input_unsupported

head -c 60000 /dev/urandom > "$IN/random.mp4"
add random_bytes "$IN/random.mp4" "fail:not a recognised video" input_unsupported

# the bombs: a header that claims a huge picture, and almost nothing else
printf 'YUV4MPEG2 W30000 H30000 F25:1 Ip A1:1 C420jpeg\nFRAME\n' > "$IN/huge.y4m"
head -c 4096 /dev/zero >> "$IN/huge.y4m"
add y4m_30000 "$IN/huge.y4m" "fail:30000×30000 pixels" input_too_large

/usr/bin/python3 - "$IN/bomb.png" <<'EOF'
import struct, sys, zlib
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d \
        + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
open(sys.argv[1], "wb").write(
    b"\x89PNG\r\n\x1a\n"
    + chunk(b"IHDR", struct.pack(">IIBBBBB", 16000, 16000, 8, 2, 0, 0, 0))
    + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))
EOF
add png_16000 "$IN/bomb.png" "fail:still image (png_pipe)" input_unsupported

$FF -f lavfi -i color=size=64x64 -frames:v 1 "$IN/small.jpg"
/usr/bin/python3 - "$IN/small.jpg" "$IN/bomb.jpg" <<'EOF'
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
i = 2
while d[i + 1] not in (0xc0, 0xc1, 0xc2):          # to the SOF marker
    i += 2 + struct.unpack(">H", d[i + 2:i + 4])[0]
d[i + 5:i + 9] = struct.pack(">HH", 16000, 16000)
open(sys.argv[2], "wb").write(d)
EOF
add jpeg_16000 "$IN/bomb.jpg" "fail:still image (jpeg_pipe)" input_unsupported

# 1,000 streams: refused by max_streams (or, were the limit raised, done
# from the first video and audio streams; either within the memory bound)
maps=()
for i in $(seq 1 999); do maps+=(-map 1:a); done
$FF -f lavfi -i testsrc2=size=160x120:rate=25 -f lavfi -i sine=r=8000 -t 1 \
    -map 0:v "${maps[@]}" -c:v mpeg4 -c:a pcm_s16le "$IN/streams.mkv"
add streams_1000 "$IN/streams.mkv" "fail:more streams than the limit" input_too_large

# --- one job at a time, peak RSS per job --------------------------------------
w_queues 1
w_start VIDSTREAM_CONCURRENCY=1 VIDSTREAM_WAIT_TIME=1
pid=$W_LAST_PID; log=$W_LAST_LOG

hwm() { awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status"; }
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status"; }

# idle: connected, polling, nothing to do
for i in $(seq 1 50); do grep -q '"stage"' "$log" && break; sleep 0.1; done
sleep 1
idle=$(rss)
echo "# idle worker: VmRSS $idle kB, VmHWM $(hwm) kB"
check "idle RSS measured" test -n "$idle"

for name in dash hls hls_as_mp4 ffconcat sdp data_uri random_bytes y4m_30000 \
            png_16000 jpeg_16000 streams_1000; do
    read -r id sub < <(w_video "${input[$name]}") \
        || { flunk "$name: upload"; continue; }
    echo 5 > "/proc/$pid/clear_refs"        # VmHWM := VmRSS
    start=$(date +%s.%N)
    w_send "$(w_job_body "$id" "$sub")"
    for i in $(seq 1 300); do
        st=$(w_status "$id"); case $st in done|failed) break ;; esac; sleep 0.1
    done
    secs=$(/usr/bin/python3 -c "print('%.1f' % ($(date +%s.%N) - $start))")
    peak=$(hwm)
    is "$name: failed" "$st" failed
    err=$(w_sql "SELECT error FROM videos WHERE id = '$id'")
    check "$name: error says '${expect[$name]#fail:}' ($err)" \
        grep -qF "${expect[$name]#fail:}" <<<"$err"
    ec=$(w_sql "SELECT error_code FROM videos WHERE id = '$id'" 2>/dev/null)
    is "$name: error_code" "$ec" "${code[$name]}"
    echo "# $name: peak RSS $peak kB (idle $idle kB), $secs s"
    check "$name: peak RSS $((peak / 1024)) MB, +$(((peak - idle) / 1024)) MB over idle (< 150)" \
        test $((peak - idle)) -lt "$LIMIT_KB"
    check "$name: worker alive" kill -0 "$pid"
done

is "no request reached the listener" "$(wc -l < "$HITS")" 0
[ -s "$HITS" ] && sed 's/^/#   /' "$HITS"
check "no nested open was even attempted past the allow-list" \
    bash -c "! grep -q 'refused a nested open' '$log'"

# still working: a real video after all that
clip=$(w_gen ok.mp4 -f lavfi -i testsrc2=size=320x240:rate=25 -f lavfi -i sine \
       -t 1 -c:v mpeg4 -c:a aac)
read -r id sub < <(w_video "$clip")
w_send "$(w_job_body "$id" "$sub")"
check "a real video afterwards: done" w_wait_status "$id" done 60

# and the allow-list lets every demuxer on it through: raw elementary
# streams (no timestamps at all), y4m, IVF, DV, MXF, NUT, ASF, FLV, PS
V="-f lavfi -i testsrc2=size=320x240:rate=25 -t 1"
A="-f lavfi -i sine -t 1"
declare -A ok
ok[raw_h264]=$(w_gen r.h264 $V -c:v libx264 -pix_fmt yuv420p)
ok[raw_hevc]=$(w_gen r.hevc $V -c:v libx265 -x265-params log-level=none)
ok[raw_m4v]=$(w_gen r.m4v $V -c:v mpeg4)
ok[raw_m2v]=$(w_gen r.m2v $V -c:v mpeg2video)
ok[ivf_vp8]=$(w_gen r.ivf $V -c:v libvpx)
ok[y4m]=$(w_gen r.y4m $V -pix_fmt yuv420p)
ok[dv]=$(w_gen r.dv $V -s 720x576 -pix_fmt yuv420p -c:v dvvideo)
ok[mxf]=$(w_gen r.mxf $V -s 720x576 -c:v mpeg2video)
ok[nut]=$(w_gen r.nut $V $A -c:v mpeg4 -c:a pcm_s16le)
ok[asf_wmv]=$(w_gen r.wmv $V $A -c:v wmv2 -c:a wmav2)
ok[flv]=$(w_gen r.flv $V $A -c:v flv -c:a libmp3lame -ar 44100)
ok[ps_vob]=$(w_gen r.vob $V $A -c:v mpeg2video -c:a mp2 -f vob)
declare -A okid
for name in "${!ok[@]}"; do
    read -r okid[$name] sub < <(w_video "${ok[$name]}")
    w_send "$(w_job_body "${okid[$name]}" "$sub")"
done
for name in $(printf '%s\n' "${!ok[@]}" | sort); do
    check "accepted $name: done" w_wait_status "${okid[$name]}" done 60
    check "accepted $name: lasts 1 s ($(w_sql "SELECT duration_ms FROM videos WHERE id = '${okid[$name]}'") ms)" \
        test "$(w_sql "SELECT abs(duration_ms - 1000) <= 100 FROM videos WHERE id = '${okid[$name]}'")" = t
done
check "worker alive at the end" kill -0 "$pid"

w_stop "$pid"

# a Matroska header that claims 64x48 around H.264 of 640x480: the limit
# holds at the decoders too (the same pipeline through the transcode
# subcommand, with a limit of 100,000 pixels)
lie=$(w_gen lie.mkv -f lavfi -i testsrc2=size=640x480:rate=25 -t 1 \
      -c:v libx264 -pix_fmt yuv420p)
/usr/bin/python3 - "$lie" <<'EOF'
import sys
d = bytearray(open(sys.argv[1], "rb").read())
for eid, value in ((0xB0, 64), (0xBA, 48)):        # PixelWidth, PixelHeight
    i = d.index(bytes([eid, 0x82]))
    d[i + 2:i + 4] = value.to_bytes(2, "big")
open(sys.argv[1], "wb").write(d)
EOF
out=$(VIDSTREAM_MAX_PIXELS=100000 "$WORKER" transcode "$lie" "$W_TMP/lie.mp4" 2>&1)
check "header says 64x48, H.264 is 640x480: refused" \
    grep -q 'the video is 640×480 pixels; the limit is 100000' <<<"$out"

# FLV creates its streams as their packets come: the probe used to decode
# such a stream's pictures without max_pixels (three 8K pictures: 195 MB)
flv=$(w_gen big8k.flv -f lavfi -i color=size=7680x4320:rate=25 -frames:v 3 \
      -c:v libx264 -preset ultrafast -pix_fmt yuv420p)
out=$(VIDSTREAM_MAX_PIXELS=100000 /usr/bin/time -f 'peak_kb=%M' "$WORKER" \
      transcode "$flv" "$W_TMP/flv.mp4" 2>&1)
kb=$(sed -n 's/^peak_kb=//p' <<<"$out")
check "FLV with 8K H.264: refused" \
    grep -q 'the video is 7680×4320 pixels; the limit is 100000' <<<"$out"
check "FLV with 8K H.264: peak RSS $((kb / 1024)) MB < 120 MB (no picture decoded)" \
    test "${kb:-999999}" -lt $((120 * 1024))

finish
