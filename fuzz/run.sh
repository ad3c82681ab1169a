#!/usr/bin/env bash
# fuzz/run.sh [SECONDS] - build the token/JWKS parser fuzz target with
# libFuzzer + AddressSanitizer + UBSan and run it for SECONDS (default 20).
#
#   BUILD=/tmp/x fuzz/run.sh 600     # longer, on demand
#
# The seed corpus (fuzz/corpus) is copied to a scratch directory so that
# the run never writes into the repository; crashes land in $BUILD/fuzz.
set -euo pipefail

seconds=${1:-20}
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
out="$build/fuzz"
src="$top/ngx_vidstream_module/src"

mkdir -p "$out"
clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -I"$src" $(pkg-config --cflags jansson openssl) \
    -o "$out/fuzz_jwt" "$top/fuzz/fuzz_jwt.c" "$src/ngx_http_vidstream_jwt.c" \
    $(pkg-config --libs jansson openssl)

corpus=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-jwt-XXXXXX")
trap 'rm -rf "$corpus"' EXIT
cp "$top"/fuzz/corpus/* "$corpus"/ 2>/dev/null || true

cd "$out"
"$out/fuzz_jwt" -max_total_time="$seconds" -max_len=12000 \
    -dict="$top/fuzz/jwt.dict" -print_final_stats=1 "$corpus" \
    2>&1 | tail -n 25
echo "fuzz_jwt: ${seconds}s without a crash"
