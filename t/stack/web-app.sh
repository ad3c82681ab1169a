#!/usr/bin/env bash
# The web app (CONTRACT.md section 9) in a real browser: a stack of its own
# with nginx, a worker and HLS on; headless Debian chromium driven by
# puppeteer-core (t/web/web-app.mjs) signs in with a pasted token, uploads a
# generated 3 s clip, watches it go to done, plays the MP4 (and HLS where
# the edge serves it), deletes it; then a multipart upload in parallel parts,
# through a lost connection and a reload (resumed).  When the edge answers
# no multipart upload above its threshold, that is reported as skipped and
# the client runs against the test's mock of section 3.1 instead (the parts
# still go to the local S3).  Also: a single PUT cut by a reload, a refused
# token, a phone-sized screen, and Cognito's hosted UI (authorization code +
# PKCE) against a stand-in the test serves on another port.  Screenshots of
# each step stay in the run directory printed.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

node_dir=${VIDSTREAM_NODE_DIR:-$TOP/.deps/node}
chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ] || [ ! -d "$node_dir/node_modules/puppeteer-core" ] \
        || [ ! -f "$node_dir/node_modules/hls.js/dist/hls.min.js" ]; then
    flunk "chromium ($chromium), puppeteer-core and hls.js ($node_dir) are installed (make deps)"
    finish
fi

run=$(mktemp -d /tmp/vidstream-web.XXXXXX)
chmod 755 "$run"            # nginx's workers (nobody) reach the stack below
shots=$run/screenshots
mkdir -p "$shots"
# the stack's own Node packages and hls.js come from $node_dir too
export RUN_DIR=$run/stack VIDSTREAM_NODE_DIR=$node_dir VIDSTREAM_HLS=1
trap 'bash "$TOP/scripts/stack.sh" down >/dev/null 2>&1' EXIT

clip=$run/clip.mp4
ffmpeg -v error -y -f lavfi -i testsrc=duration=3:size=320x240:rate=25 \
    -f lavfi -i sine=frequency=440:duration=3 -c:v libx264 -pix_fmt yuv420p \
    -c:a aac -shortest "$clip" \
    || { flunk "ffmpeg made a test clip"; finish; }

if ! bash "$TOP/scripts/stack.sh" up >"$run/stack-up.log" 2>&1; then
    flunk "the stack started"; sed 's/^/#   /' "$run/stack-up.log"; finish
fi
set -a
# shellcheck disable=SC1091
. "$RUN_DIR/stack.env"
set +a
token=$("$TOP/scripts/token" web-tester --env "$RUN_DIR/stack.env")

# Does this edge answer multipart above its threshold (64 MiB by default)?
big_size=$((72 * 1024 * 1024))
probe=$(curl -s -X POST "$VIDSTREAM_URL/videos" -H "Authorization: Bearer $token" \
    -d "{\"filename\":\"probe.bin\",\"content_type\":\"video/mp4\",\"size\":$big_size}")
probe_id=$(sed -n 's/^{"id" *: *"\([0-9a-f-]*\)".*/\1/p' <<<"$probe")
[ -n "$probe_id" ] && curl -s -o /dev/null -X DELETE "$VIDSTREAM_URL/videos/$probe_id" \
    -H "Authorization: Bearer $token"
big=$run/big-upload.mp4 big_parts=0 big_why="" mock=""
if grep -q '"method" *: *"multipart"' <<<"$probe"; then
    big_parts=$(sed -n 's/.*"part_count" *: *\([0-9]*\).*/\1/p' <<<"$probe")
else
    # the client's side of §3.1 still runs, against the test's mock of it
    big_why="POST /videos answers no multipart upload for $big_size bytes on this edge"
    mock=1 big_size=$((40 * 1024 * 1024))
fi
head -c "$big_size" /dev/urandom > "$big"
mid=$run/mid-upload.mp4            # a single PUT slow enough to cut short
head -c $((6 * 1024 * 1024)) /dev/urandom > "$mid"

echo "# screenshots: $shots"
out=$(cd "$run" && VIDSTREAM_URL=$VIDSTREAM_URL AWS_ENDPOINT_URL_S3=$AWS_ENDPOINT_URL_S3 \
      TOKEN=$token CLIP=$clip SHOTS=$shots NODE_DIR=$node_dir CHROMIUM=$chromium \
      BIG=$big BIG_SIZE=$big_size BIG_PARTS=$big_parts BIG_WHY=$big_why \
      MOCK_MULTIPART=$mock MID=$mid \
      timeout 170 node "$TOP/t/web/web-app.mjs" 2>&1)
rc=$?
while IFS= read -r line; do
    case $line in
    "ok - "*) pass "${line#ok - }" ;;
    "not ok - "*) flunk "${line#not ok - }" ;;
    *) echo "$line" ;;
    esac
done <<<"$out"
is "the browser test exits 0" "$rc" 0
if [ $t_failed -gt 0 ]; then
    echo "# nginx error log:"; tail -n 15 "$RUN_DIR/nginx/error.log" 2>/dev/null | sed 's/^/#   /'
fi
rm -f "$clip" "$big" "$mid"
finish
