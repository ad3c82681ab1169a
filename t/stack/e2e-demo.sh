#!/usr/bin/env bash
# End to end: the whole of `make demo` (its own stack with nginx and a
# worker: create, presigned PUT, complete, transcode, presigned GETs checked
# with ffprobe, down), then that nothing of that stack is left running.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

run=$(mktemp -d /tmp/vidstream-e2e.XXXXXX)
export RUN_DIR=$run/stack
trap 'bash "$TOP/scripts/stack.sh" down >/dev/null 2>&1; rm -rf "$run"' EXIT

out=$(bash "$TOP/scripts/demo.sh" 2>&1)
rc=$?
is "make demo's round trip exits 0" "$rc" 0
[ $rc -eq 0 ] || { echo "$out" | tail -n 40 | sed 's/^/#   /'; }
check "the video was transcoded and downloaded" grep -q "summary: .* uploaded, transcoded and downloaded" <<<"$out"
check "the demo says ok" grep -q "^demo: ok" <<<"$out"
check "the MP4 is H.264 + AAC with moov first" grep -q "H.264 + AAC, moov first" <<<"$out"
check "the thumbnail is a JPEG" grep -q "ffprobe: JPEG" <<<"$out"
check "the demo stopped its stack" test ! -e "$RUN_DIR/stack.env"

finish
