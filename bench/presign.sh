#!/usr/bin/env bash
# Presigned URLs per second on one core (lib/vs_sigv4.c, warm key cache).
# BUILD defaults to the repository's build/; pass BUILD=/tmp/x to use another.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
make -s -C "$top" BUILD="$build" "$build/bench/bench_presign" >/dev/null
# one core: pin to CPU 0 when taskset is available
if command -v taskset >/dev/null 2>&1; then
    exec taskset -c 0 "$build/bench/bench_presign" "${1:-2}"
fi
exec "$build/bench/bench_presign" "${1:-2}"
