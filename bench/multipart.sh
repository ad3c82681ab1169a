#!/usr/bin/env bash
# bench/multipart.sh: multipart uploads (CONTRACT.md 3.1), in one run:
#
#   1. GET /videos/<id>/upload/parts?count=1000 on one nginx worker (token
#      check, owner check in PostgreSQL, 1,000 presigned UploadPart URLs,
#      ~0.6 MB of JSON): answers/s, p99, nginx CPU per answer (target
#      >= 500 answers/s);
#   2. a 1 GiB file sent by scripts/upload with 4 parts in parallel against
#      one `curl -T` to a presigned single PUT, through the local S3 of a
#      stack of its own (nginx, no worker), BENCH_UPLOAD_RUNS times; the
#      upload's time is split into its parts and its complete.  The local
#      S3 serves requests in parallel as S3 does (one process a core, at
#      most 4: scripts/local-aws.mjs); VIDSTREAM_S3_PROCESSES=1 measures
#      one s3rver thread instead.  scripts/upload sends with
#      build/upload-parts (VIDSTREAM_UPLOAD_SENDER=curl: its curl and dd
#      fallback).
#
#   BENCH_DURATION=10s BENCH_CONNECTIONS=16 BENCH_UPLOAD_MB=1024 \
#       BENCH_UPLOAD_RUNS=2 bash bench/multipart.sh
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
module=${MODULE:-$top/build/ngx_http_vidstream_module.so}
dur=${BENCH_DURATION:-10s}
conns=${BENCH_CONNECTIONS:-16}
upload_mb=${BENCH_UPLOAD_MB:-1024}

dir=$(mktemp -d /tmp/vidstream-bench-mp.XXXXXX)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
    RUN_DIR=$dir/stack bash "$top/scripts/stack.sh" down >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT

export RUN_DIR=$dir/stack
STACK_WORKER=0 bash "$top/scripts/stack.sh" up >"$dir/up.log" 2>&1 \
    || { cat "$dir/up.log" >&2; exit 1; }
set -a
# shellcheck disable=SC1091
. "$RUN_DIR/stack.env"
set +a

sub="bench-mp-$$"
token=$("$top/scripts/token" "$sub")

# --- 1. part URLs on one worker -------------------------------------------

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# 10,000 parts of 8 MiB: an upload the edge presigns without asking S3
id=$(psql "$VIDSTREAM_DATABASE_URL" -X -q -At -c "
    WITH n AS (SELECT gen_random_uuid() AS id)
    INSERT INTO videos (id, owner_sub, filename, content_type, size,
                        input_key, upload_id, part_size, part_count)
    SELECT n.id, '$sub', 'bench.mov', 'video/mp4', 83886080000,
           'input/$sub/' || n.id || '/source', 'bench-upload-id', 8388608,
           10000 FROM n RETURNING id")

mkdir -p "$dir/nginx/logs"
cat > "$dir/nginx/nginx.conf" <<_EOC_
load_module $module;
worker_processes 1;
daemon off;
error_log $dir/nginx/logs/error.log error;
pid $dir/nginx/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    vidstream_jwt_issuer $VIDSTREAM_JWT_ISSUER;
    vidstream_jwt_client_id $VIDSTREAM_JWT_CLIENT_ID;
    vidstream_jwks_file $VIDSTREAM_JWKS_FILE;
    vidstream_jwt_cache zone=jwt:1m;
    vidstream_postgres "$VIDSTREAM_DATABASE_URL" pool=4 timeout=2s;
    vidstream_aws_region ${AWS_REGION:-us-east-1};
    vidstream_s3_bucket $VIDSTREAM_BUCKET;
    vidstream_s3_endpoint $AWS_ENDPOINT_URL_S3;
    server {
        listen 127.0.0.1:$port;
        location /videos { vidstream_auth on; vidstream_api; }
    }
}
_EOC_

/usr/sbin/nginx -p "$dir/nginx" -c "$dir/nginx/nginx.conf" &
pid=$!
url="http://127.0.0.1:$port/videos/$id/upload/parts?first=9001&count=1000"
for _ in $(seq 1 50); do
    code=$(curl -s -o "$dir/parts.json" -w '%{http_code}' \
           -H "Authorization: Bearer $token" "$url") && [ "$code" = 200 ] && break
    sleep 0.1
done
[ "$code" = 200 ] || { echo "bench/multipart: parts answered $code" >&2;
                       cat "$dir/nginx/logs/error.log" >&2; exit 1; }
n=$(jq '.parts | length' "$dir/parts.json")
[ "$n" = 1000 ] || { echo "bench/multipart: $n parts, not 1000" >&2; exit 1; }

worker=$(pgrep -P "$pid" | head -n1)
hz=$(getconf CLK_TCK)
ticks() { cut -d' ' -f14,15 "/proc/$1/stat" | awk '{print $1 + $2}'; }

t0=$(ticks "$worker")
wrk -t2 -c"$conns" -d"$dur" --latency -H "Authorization: Bearer $token" \
    "$url" > "$dir/wrk.out"
t1=$(ticks "$worker")
rps=$(awk '/^Requests\/sec/ {print $2}' "$dir/wrk.out")
p99=$(awk '$1 == "99%" {print $2}' "$dir/wrk.out")
non2xx=$(awk '/Non-2xx/ {print $5}' "$dir/wrk.out")
total=$(awk '/requests in/ {print $1}' "$dir/wrk.out")
awk -v rps="$rps" -v p99="$p99" -v bad="${non2xx:-0}" -v t="$total" \
    -v cpu="$((t1 - t0))" -v hz="$hz" -v bytes="$(wc -c < "$dir/parts.json")" \
    -v c="$conns" -v d="$dur" 'BEGIN {
    printf "parts?count=1000: %s answers/s, p99 %s, non-2xx %s, %d bytes each, nginx CPU %.0f us/answer (%.2f us/URL); 1 worker, %s connections, %s (target >= 500/s)\n",
           rps, p99, bad, bytes, cpu * 1e6 / hz / t, cpu * 1e6 / hz / t / 1000, c, d }'
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=

# --- 2. 1 GiB: scripts/upload -P 4 against one curl -T ---------------------
#
# The same file, both through the stack's local S3, BENCH_UPLOAD_RUNS
# rounds (default 4) in alternating order, then the median round's ratio; before each upload the file is
# read (page cache warm for both), and after each the stored object (and
# its parts) is deleted from the emulator's directory, so neither runs with
# the other's gigabyte of dirty pages still waiting to be written.

big=$dir/big.bin
head -c "$((upload_mb * 1024 * 1024))" /dev/urandom > "$big"
size=$(stat -c %s "$big")
runs=${BENCH_UPLOAD_RUNS:-4}
s3dir=$RUN_DIR/s3/$VIDSTREAM_BUCKET

rate() {  # rate BYTES SECONDS
    awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f MiB/s", b / s / 1048576 }'
}
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
drop() { rm -rf "${s3dir:?}/input"; }

single() {  # one presigned PUT of the file: $single_s
    local st put code s0 s1
    st=$(curl -s -o "$dir/single.json" -w '%{http_code}' \
         -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
         --data "{\"filename\":\"big.bin\",\"content_type\":\"application/octet-stream\",\"size\":$size,\"upload\":\"single\"}" \
         "$VIDSTREAM_URL/videos")
    [ "$st" = 201 ] || { echo "bench/multipart: create (single) $st" >&2; exit 1; }
    put=$(jq -r .upload.url "$dir/single.json")
    cat "$big" > /dev/null
    s0=$(date +%s.%N)
    code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -T "$big" \
           -H 'Content-Type: application/octet-stream' "$put")
    s1=$(date +%s.%N)
    [ "$code" = 200 ] || { echo "bench/multipart: single PUT $code" >&2; exit 1; }
    single_s=$(secs "$s0" "$s1")
    drop
}

multi() {  # scripts/upload --parallel 4: $multi_s, $parts, $parts_ms, $complete_ms
    local m0 m1
    touch "$big"        # (a new mtime: a new upload, not a resume)
    rm -rf "$dir/state"
    cat "$big" > /dev/null
    m0=$(date +%s.%N)
    VIDSTREAM_UPLOAD_STATE_DIR=$dir/state "$top/scripts/upload" "$big" \
        --token "$token" --url "$VIDSTREAM_URL" --parallel 4 \
        > "$dir/upload.out" 2>/dev/null \
        || { echo "bench/multipart: scripts/upload failed" >&2; exit 1; }
    m1=$(date +%s.%N)
    multi_s=$(secs "$m0" "$m1")
    parts=$(grep -c '^part ' "$dir/upload.out")
    parts_ms=$(sed -n 's/^sent [0-9]* parts in \([0-9]*\) ms$/\1/p' "$dir/upload.out")
    complete_ms=$(sed -n 's/.*complete took \([0-9]*\) ms.*/\1/p' "$dir/upload.out")
    drop
}

s3procs=$(pgrep -c -f "local-aws.mjs s3 .* $RUN_DIR/s3 " || echo "?")
[ "$s3procs" -gt 1 ] 2>/dev/null && s3procs=$((s3procs - 1))  # (the primary)
ratios=()
for r in $(seq 1 "$runs"); do
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    if [ $((r % 2)) = 1 ]; then single; multi; order="single first"
    else multi; single; order="upload first"; fi
    ratio=$(awk -v a="$single_s" -v b="$multi_s" 'BEGIN { printf "%.2f", a / b }')
    ratios+=("$ratio")
    echo "upload of $upload_mb MiB, run $r ($order, load $load, S3 processes $s3procs, sender ${VIDSTREAM_UPLOAD_SENDER:-upload-parts}): curl -T to a presigned PUT ${single_s}s ($(rate "$size" "$single_s")); scripts/upload --parallel 4, $parts parts, create to complete ${multi_s}s ($(rate "$size" "$multi_s")): parts ${parts_ms} ms, CompleteMultipartUpload ${complete_ms} ms; single/upload $ratio"
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END {
    m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "upload: median single/upload over %d rounds %.2f (range %.2f-%.2f; target >= 1.00: not slower)\n", NR, m, v[1], v[NR] }'
