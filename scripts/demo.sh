#!/usr/bin/env bash
# make demo: one full round trip through the local stack (CONTRACT.md
# section 8): up, upload a real sample with scripts/upload (create, parts
# through presigned UploadPart URLs, complete, the worker's progress until
# done; CONTRACT.md 3.1), download the MP4 and the
# thumbnail with presigned GETs, check them with ffprobe, print timings,
# down.  Exits 0 only when every step worked.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
export RUN_DIR=${RUN_DIR:-$top/.run}
py=/usr/bin/python3
work=$(mktemp -d /tmp/vidstream-demo.XXXXXX)
started=0

step_t0=0
step() { step_t0=$(date +%s.%N); printf '\n\033[1m==> %s\033[0m\n' "$*"; }
took() { printf '    (%.2f s)\n' "$(echo "$(date +%s.%N) - $step_t0" | bc)"; }
die() { echo "demo: FAILED: $*" >&2; exit 1; }
json() { $py -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {"d": d}))' "$1"; }

finish() {
    rc=$?
    if [ $started -eq 1 ]; then
        echo; echo "==> stopping the stack"
        bash "$top/scripts/stack.sh" down || true
    fi
    rm -rf "$work"
    [ $rc -eq 0 ] && echo "demo: ok" || echo "demo: failed (exit $rc)"
    exit $rc
}
trap finish EXIT

t_start=$(date +%s.%N)

step "starting the local stack"
if ! bash "$top/scripts/stack.sh" status >/dev/null 2>&1; then
    started=1
fi
bash "$top/scripts/stack.sh" up
set -a; . "$RUN_DIR/stack.env"; set +a
[ -f "$RUN_DIR/pids/worker.pid" ] || die "the stack has no worker running"
took

step "making a sample video (5 s, 640x360, MPEG-4 Part 2 + MP3 in AVI)"
sample=$work/sample.avi
ffmpeg -v error -f lavfi -i testsrc2=size=640x360:rate=25 \
    -f lavfi -i sine=frequency=440:sample_rate=44100 -t 5 \
    -c:v mpeg4 -q:v 5 -c:a libmp3lame -b:a 96k "$sample"
size=$(stat -c %s "$sample")
echo "    $sample: $size bytes"
took

step "minting a token for user demo-user"
token=$("$top/scripts/token" demo-user --ttl 900 --env "$RUN_DIR/stack.env")
auth=(-H "Authorization: Bearer $token")
echo "    ${token:0:24}… (RS256, kid $VIDSTREAM_DEV_KID)"
took

step "uploading with scripts/upload (multipart, parts in parallel), then complete"
VIDSTREAM_UPLOAD_STATE_DIR=$work/state "$top/scripts/upload" "$sample" \
    --token "$token" --url "$VIDSTREAM_URL" --parallel 4 --wait \
    | tee "$work/upload.out" | sed 's/^/    /' \
    || die "scripts/upload failed"
id=$(sed -n 's/^video //p' "$work/upload.out")
[ -n "$id" ] || die "scripts/upload named no video"
v=$(curl -sS -f "${auth[@]}" "$VIDSTREAM_URL/videos/$id") || die "GET /videos/$id"
status=$(json 'd["status"]' <<<"$v")
[ "$status" = done ] || die "transcode failed: $(json 'd["error"]' <<<"$v")"
echo "    $(json '"%sx%s, %s ms" % (d["width"], d["height"], d["duration_ms"])' <<<"$v")"
took

for variant in mp4 thumbnail; do
    step "downloading the $variant with a presigned GET"
    dl=$(curl -sS -f "${auth[@]}" "$VIDSTREAM_URL/videos/$id/download?variant=$variant") \
        || die "download $variant"
    url=$(json 'd["url"]' <<<"$dl")
    out=$work/$variant.out
    code=$(curl -sS -o "$out" -w '%{http_code}' "$url")
    [ "$code" = 200 ] || die "GET $variant answered $code"
    echo "    $(stat -c %s "$out") bytes, expires $(json 'd["expires_at"]' <<<"$dl")"
    if [ $variant = mp4 ]; then
        codecs=$(ffprobe -v error -show_entries stream=codec_name \
                 -of csv=p=0 "$out" | sort | tr '\n' ' ')
        [ "$codecs" = "aac h264 " ] || die "mp4 streams are: $codecs"
        first=$($py - "$out" <<'PY'
import struct, sys
f = open(sys.argv[1], "rb")
while True:
    h = f.read(8)
    if len(h) < 8: break
    size, kind = struct.unpack(">I4s", h)
    if kind in (b"moov", b"mdat"): print(kind.decode()); break
    if size == 1: size = struct.unpack(">Q", f.read(8))[0] - 8
    f.seek(size - 8, 1)
PY
)
        [ "$first" = moov ] || die "mp4 has $first before moov"
        echo "    ffprobe: H.264 + AAC, moov first"
    else
        codec=$(ffprobe -v error -show_entries stream=codec_name -of csv=p=0 "$out")
        [ "$codec" = mjpeg ] || die "thumbnail is $codec"
        echo "    ffprobe: JPEG"
    fi
    took
done

printf '\n==> summary: %s uploaded, transcoded and downloaded in %.1f s\n' \
    "$id" "$(echo "$(date +%s.%N) - $t_start" | bc)"
