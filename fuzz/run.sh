#!/usr/bin/env bash
# fuzz/run.sh [SECONDS] - build the fuzz targets with libFuzzer +
# AddressSanitizer + UBSan and run each for SECONDS (default 20): the
# token/JWKS parser (fuzz_jwt) and the playback token (fuzz_playback).
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
    -I"$src" -I"$top/lib" $(pkg-config --cflags jansson openssl) \
    -o "$out/fuzz_jwt" "$top/fuzz/fuzz_jwt.c" "$src/ngx_http_vidstream_jwt_scan.c" \
    "$src/ngx_http_vidstream_jwk.c" "$src/ngx_http_vidstream_jwt_verify.c" \
    "$top/lib/vs_util.c" $(pkg-config --libs jansson openssl)

corpus=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-jwt-XXXXXX")
trap 'rm -rf "$corpus"' EXIT
cp "$top"/fuzz/corpus/* "$corpus"/ 2>/dev/null || true

cd "$out"
"$out/fuzz_jwt" -max_total_time="$seconds" -max_len=12000 \
    -dict="$top/fuzz/jwt.dict" -print_final_stats=1 "$corpus" \
    2>&1 | tail -n 25
echo "fuzz_jwt: ${seconds}s without a crash"

clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -I"$top/lib" $(pkg-config --cflags openssl) \
    -o "$out/fuzz_playback" "$top/fuzz/fuzz_playback.c" \
    "$top/lib/vs_playback.c" "$top/lib/vs_util.c" $(pkg-config --libs openssl)
play_corpus=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-play-XXXXXX")
trap 'rm -rf "$corpus" "$play_corpus"' EXIT
"$out/fuzz_playback" -max_total_time="$seconds" -max_len=512 \
    -print_final_stats=1 "$play_corpus" 2>&1 | tail -n 25
echo "fuzz_playback: ${seconds}s without a crash"
