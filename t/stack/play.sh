#!/usr/bin/env bash
# Playback through the edge (CONTRACT.md 3.2) on a stack of its own with
# nginx running nginx.conf.d/local.conf.in: a done video whose MP4 and
# poster are in S3; GET /videos/<id>/playback with the owner's token; the
# URLs it gives play with no Authorization (bytes identical, Range, HEAD,
# a cache hit, ffprobe reads the MP4 through the edge with its duration);
# another user gets 404, a video not done 409; a changed token 403.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3

run=$(mktemp -d /tmp/vidstream-play.XXXXXX)
chmod 755 "$run"    # nginx's workers write the cache under it
export RUN_DIR=$run/stack
trap 'STACK_WORKER=0 bash "$TOP/scripts/stack.sh" down >/dev/null 2>&1; rm -rf "$run"' EXIT

STACK_WORKER=0 bash "$TOP/scripts/stack.sh" up >"$run/up.log" 2>&1 \
    || { sed 's/^/#   /' "$run/up.log"; flunk "stack up"; finish; }
set -a; . "$RUN_DIR/stack.env"; set +a
export VIDSTREAM_STACK_ENV=$RUN_DIR/stack.env

alice=alice-$$-$RANDOM
bob=bob-$$-$RANDOM
ta=$("$TOP/scripts/token" "$alice")
tb=$("$TOP/scripts/token" "$bob")

row() {  # row OWNER STATUS [HLS] -> id
    local done=false
    [ "$2" = done ] && done=true
    psql "$VIDSTREAM_DATABASE_URL" -XAtq -v ON_ERROR_STOP=1 -c "
        WITH n AS (SELECT gen_random_uuid() AS id) INSERT INTO videos
        (id, owner_sub, status, filename, content_type, size, input_key,
         output_mp4, output_thumbnail, output_hls)
        SELECT n.id, '$1', '$2', 'clip.mov', 'video/mp4', 10,
               'input/$1/' || n.id || '/source', $done, $done, ${3:-false}
        FROM n RETURNING id"
}

vid=$(row "$alice" done)
hvid=$(row "$alice" done true)
queued=$(row "$alice" queued)

# the slice size local.conf.in ships (slice Nm), in bytes
slice=$(( $(sed -n 's/^ *slice \([0-9]*\)m;.*/\1/p' "$TOP/nginx.conf.d/local.conf.in") * 1048576 ))
check "local.conf.in slices /play ($slice bytes)" test "$slice" -gt 0

# a 3 s MP4 with moov first, over more than one slice (about 8.5 MB), and
# a poster
ffmpeg -v error -f lavfi -i testsrc2=size=1920x1080:rate=25 -f lavfi \
    -i sine=frequency=440 -t 3 -c:v libx264 -preset ultrafast -qp 10 \
    -pix_fmt yuv420p -c:a aac -movflags +faststart -y "$run/video.mp4"
ffmpeg -v error -f lavfi -i testsrc2=size=320x180 -frames:v 1 -y \
    "$run/thumbnail.jpg"
size=$(stat -c %s "$run/video.mp4")
# HLS as the worker lays it out (worker/transcode.h): a master playlist,
# one rendition of fMP4 segments
mkdir -p "$run/hls/360p"
ffmpeg -v error -f lavfi -i testsrc2=size=640x360:rate=25 -f lavfi -i sine \
    -t 4 -c:v libx264 -preset ultrafast -g 25 -pix_fmt yuv420p -c:a aac \
    -f hls -hls_time 1 -hls_playlist_type vod -hls_segment_type fmp4 \
    -hls_fmp4_init_filename init.mp4 \
    -hls_segment_filename "$run/hls/360p/seg_%d.m4s" "$run/hls/360p/stream.m3u8"
printf '#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-STREAM-INF:BANDWIDTH=1000000,RESOLUTION=640x360\n360p/stream.m3u8\n' \
    > "$run/hls/index.m3u8"
check "the test MP4 ($size bytes) spans more than one slice" \
    test "$size" -gt $((slice + 100000))

$PY - "$alice" "$vid" "$hvid" "$run" <<'PYEOF' || flunk "objects put into S3"
import os, sys
import botocore.session
from botocore.config import Config
sub, vid, hvid, d = sys.argv[1:5]
s3 = botocore.session.get_session().create_client(
    's3', endpoint_url=os.environ['AWS_ENDPOINT_URL_S3'],
    region_name=os.environ['AWS_REGION'],
    aws_access_key_id=os.environ['AWS_ACCESS_KEY_ID'],
    aws_secret_access_key=os.environ['AWS_SECRET_ACCESS_KEY'],
    config=Config(s3={'addressing_style': 'path'}))
for name in ('video.mp4', 'thumbnail.jpg'):
    with open(os.path.join(d, name), 'rb') as f:
        s3.put_object(Bucket=os.environ['VIDSTREAM_BUCKET'],
                      Key='output/%s/%s/%s' % (sub, vid, name), Body=f.read(),
                      ContentType='binary/octet-stream')
for root, _, files in os.walk(os.path.join(d, 'hls')):
    for name in files:
        path = os.path.join(root, name)
        with open(path, 'rb') as f:
            s3.put_object(Bucket=os.environ['VIDSTREAM_BUCKET'],
                          Key='output/%s/%s/%s' % (sub, hvid,
                                                   os.path.relpath(path, d)),
                          Body=f.read())
PYEOF

U=$VIDSTREAM_URL

# --- GET /videos/<id>/playback ------------------------------------------------
body=$(curl -s -w '\n%{http_code}' -H "Authorization: Bearer $ta" "$U/videos/$vid/playback")
code=${body##*$'\n'}; body=${body%$'\n'*}
is "playback: the owner gets 200" "$code" 200
mp4=$($PY -c 'import json,sys; print(json.load(sys.stdin)["mp4"])' <<<"$body")
thumb=$($PY -c 'import json,sys; print(json.load(sys.stdin)["thumbnail"])' <<<"$body")
hls=$($PY -c 'import json,sys; print(json.load(sys.stdin)["hls"])' <<<"$body")
check "playback: mp4 is /play/<token>/video.mp4" \
    grep -Eq '^/play/[A-Za-z0-9_-]+/video\.mp4$' <<<"$mp4"
is "playback: hls is null without HLS" "$hls" None
is "playback: another user gets 404" \
    "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tb" "$U/videos/$vid/playback")" 404
is "playback: a queued video is 409" \
    "$(curl -s -w ' %{http_code}' -H "Authorization: Bearer $ta" "$U/videos/$queued/playback")" \
    '{"error":"not_ready","message":"the video is not ready to play","status":"queued"}
 409'

# --- /play ------------------------------------------------------------------------
# the edge's playback counters (CONTRACT.md section 8: /metrics)
pm() {  # pm METRIC_LINE_PREFIX: its value, 0 when absent
    curl -s "$U/metrics" | awk -v k="$1" 'index($0, k) == 1 {print $2; f=1}
                                          END {if (!f) print 0}'
}
bytes0=$(pm "vidstream_play_sent_bytes_total ")
miss0=$(pm 'vidstream_play_responses_total{cache="miss"}')
hit0=$(pm 'vidstream_play_responses_total{cache="hit"}')
curl -s -D "$run/h1" -o "$run/got.mp4" "$U$mp4"
check "play: the MP4 is byte for byte the object" cmp -s "$run/got.mp4" "$run/video.mp4"
check "play: 200 video/mp4, Cache-Control: private" bash -c \
    'grep -q "^HTTP/1.1 200" "$1" && grep -qi "^Content-Type: video/mp4" "$1" && grep -qi "^Cache-Control: private" "$1"' _ "$run/h1"
check "play: no x-amz-* header reaches the client" bash -c '! grep -qi "^x-amz-" "$1"' _ "$run/h1"

is "metrics: the MP4's bytes counted as sent by /play" \
    "$(($(pm "vidstream_play_sent_bytes_total ") - bytes0))" "$size"
is "metrics: its first slice was a cache miss" \
    "$(($(pm 'vidstream_play_responses_total{cache="miss"}') - miss0))" 1
curl -s -o /dev/null "$U$mp4"
is "metrics: the same file again is a cache hit" \
    "$(($(pm 'vidstream_play_responses_total{cache="hit"}') - hit0))" 1
curl -s -D "$run/h2" -o "$run/part" -H "Range: bytes=$((slice - 48576))-$((slice + 51424))" "$U$mp4"
check "play: a Range across slices is 206 with the right bytes" bash -c \
    'grep -q "^HTTP/1.1 206" "$1" && cmp -s "$2" <(tail -c +$(($4 - 48575)) "$3" | head -c 100001)' \
    _ "$run/h2" "$run/part" "$run/video.mp4" "$slice"
is "play: a Range past the end is 416" \
    "$(curl -s -o /dev/null -w '%{http_code}' -H "Range: bytes=$size-" "$U$mp4")" 416
is "play: HEAD gives the length" \
    "$(curl -sI "$U$mp4" | tr -d '\r' | sed -n 's/^[Cc]ontent-[Ll]ength: //p')" "$size"
curl -s -o "$run/got.jpg" -D "$run/h3" "$U$thumb"
check "play: the poster is image/jpeg, identical" bash -c \
    'grep -qi "^Content-Type: image/jpeg" "$1" && cmp -s "$2" "$3"' _ "$run/h3" "$run/got.jpg" "$run/thumbnail.jpg"

dur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$U$mp4")
check "play: ffprobe reads the MP4 through the edge, 3 s long ($dur)" \
    $PY -c "import sys; sys.exit(0 if abs(float('$dur') - 3.0) < 0.1 else 1)"

tok=${mp4#/play/}; tok=${tok%/video.mp4}
bad=${tok:0:40}$( [ "${tok:40:1}" = A ] && echo B || echo A )${tok:41}
is "play: a changed token is 403" \
    "$(curl -s -w ' %{http_code}' "$U/play/$bad/video.mp4")" \
    '{"error":"forbidden","message":"the playback link is invalid or has expired"}
 403'
is "play: the upload is not playable" \
    "$(curl -s -o /dev/null -w '%{http_code}' "$U/play/$tok/source")" 404
is "play: a dot segment is 404" \
    "$(curl -s --path-as-is -o /dev/null -w '%{http_code}' "$U/play/$tok/hls/../video.mp4")" 404

# --- HLS -------------------------------------------------------------------------
body=$(curl -s -H "Authorization: Bearer $ta" "$U/videos/$hvid/playback")
hls=$($PY -c 'import json,sys; print(json.load(sys.stdin)["hls"])' <<<"$body")
check "playback: hls is /play/<token>/hls/index.m3u8" \
    grep -Eq '^/play/[A-Za-z0-9_-]+/hls/index\.m3u8$' <<<"$hls"
check "play: the master playlist is application/vnd.apple.mpegurl" bash -c \
    'curl -sI "$1" | grep -qi "^Content-Type: application/vnd.apple.mpegurl"' _ "$U$hls"
check "play: a segment is video/iso.segment" bash -c \
    'curl -sI "$1" | grep -qi "^Content-Type: video/iso.segment"' _ "$U${hls%index.m3u8}360p/seg_1.m4s"
dur=$(ffprobe -v error -allowed_extensions ALL -show_entries format=duration \
      -of csv=p=0 "$U$hls" 2>"$run/ffprobe.err")
check "play: ffprobe plays the HLS through the edge (relative URIs under the token), 4 s ($dur)" \
    $PY -c "import sys; sys.exit(0 if abs(float('${dur:-0}') - 4.0) < 0.2 else 1)"
[ -s "$run/ffprobe.err" ] && sed 's/^/#   /' "$run/ffprobe.err" | head -5

finish
