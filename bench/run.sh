#!/usr/bin/env bash
# bench/run.sh: runs every benchmark (bench/*.sh but this one) in one go.
# Each prints its figures and its ratio against the baseline it names
# (bare nginx, the ffmpeg CLI).  Loads go to 127.0.0.1 only and are
# bounded in time.
set -uo pipefail
cd "$(dirname "$0")/.."
rc=0
for b in bench/*.sh; do
    [ "$(basename "$b")" = run.sh ] && continue
    echo "== $b"
    bash "$b" || { echo "bench: $b failed" >&2; rc=1; }
    echo
done
exit $rc
