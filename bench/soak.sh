#!/usr/bin/env bash
# bench/soak.sh: the edge under sustained load (issue 12; not in make test).
#
# 2 nginx workers, wrk at 256 connections for 60 s on each of
#   GET /videos/<id>/download   (token cache, owner check, presign)
#   POST /videos                (validation, INSERT … RETURNING, presign)
# and checks, for each run: no 5xx, no socket error (connect, read, write,
# timeout), the nginx workers' RSS flat (the mean of the last 10 s within
# 5% of the mean of the first 10 s after warm-up) and the PostgreSQL
# connections of nginx never above what its pools allow (workers × pool).
#
# Uses the stack of the environment when there is one (VIDSTREAM_DATABASE_URL
# set), else starts a throwaway one and stops it at the end.
#   SOAK_DURATION=60 SOAK_CONNECTIONS=256 bash bench/soak.sh
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
module=${MODULE:-$top/build/ngx_http_vidstream_module.so}
secs=${SOAK_DURATION:-60}
conns=${SOAK_CONNECTIONS:-256}
workers=2
pool=4

. "$top/bench/lib.sh"
bench_init soak
bench_stack

port=$(free_port)
sub="soak-$$"
app="vidstream-soak-$$"

# a key of our own, a JWKS with it, a token for $sub, a done video of $sub
token=$(bench_token "$sub" soak)
id=$(bench_done_video "$sub" soak.mov)

# application_name tells nginx's connections apart from everyone else's
case $VIDSTREAM_DATABASE_URL in
*\?*) pg_url="$VIDSTREAM_DATABASE_URL&application_name=$app" ;;
*)    pg_url="$VIDSTREAM_DATABASE_URL?application_name=$app" ;;
esac

mkdir -p "$dir/logs"
cat > "$dir/nginx.conf" <<_EOC_
load_module $module;
worker_processes $workers;
worker_rlimit_nofile 8192;
daemon off;
error_log $dir/logs/error.log error;
pid $dir/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    vidstream_jwt_issuer https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TEST;
    vidstream_jwt_client_id testclient1;
    vidstream_jwks_file $dir/jwks.json;
    vidstream_jwt_cache zone=jwt:1m;
    vidstream_postgres "$pg_url" pool=$pool timeout=2s;
    vidstream_aws_region ${AWS_REGION:-eu-west-1};
    vidstream_s3_bucket ${VIDSTREAM_BUCKET:-soak};
    vidstream_s3_endpoint ${AWS_ENDPOINT_URL_S3:-http://127.0.0.1:9};
    server {
        listen 127.0.0.1:$port backlog=4096;
        location /videos { vidstream_auth on; vidstream_api; }
    }
}
_EOC_

/usr/sbin/nginx -p "$dir" -c "$dir/nginx.conf" &
pid=$!
for _ in $(seq 1 50); do
    curl -s -o /dev/null "http://127.0.0.1:$port/videos" && break
    sleep 0.1
done

cat > "$dir/create.lua" <<'_EOL_'
wrk.method = "POST"
wrk.body = '{"filename":"soak.mov","content_type":"video/quicktime","size":1234}'
wrk.headers["Content-Type"] = "application/json"
_EOL_

rss_kb() {  # the nginx workers' RSS, summed
    local t=0 p v
    for p in $(pgrep -P "$pid"); do
        v=$(awk '/^VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null) || continue
        t=$((t + ${v:-0}))
    done
    echo "$t"
}
pg_conns() {
    psql "$VIDSTREAM_DATABASE_URL" -X -q -At -c \
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$app'"
}

failed=0
soak() {  # soak NAME URL [wrk args]
    local name=$1 url=$2 samples=$dir/$1.rss maxpg=0 n
    shift 2
    : > "$samples"
    wrk -t2 -c"$conns" -d"${secs}s" --timeout 10s --latency \
        -H "Authorization: Bearer $token" "$@" "$url" > "$dir/$name.out" &
    local wrk_pid=$!
    while kill -0 "$wrk_pid" 2>/dev/null; do
        rss_kb >> "$samples"
        n=$(pg_conns); [ "$n" -gt "$maxpg" ] && maxpg=$n
        sleep 1
    done
    wait "$wrk_pid" || true

    local rps p99 total non2xx sockerr rss
    rps=$(awk '/^Requests\/sec/ {print $2}' "$dir/$name.out")
    p99=$(awk '$1 == "99%" {print $2}' "$dir/$name.out")
    total=$(awk '/requests in/ {print $1}' "$dir/$name.out")
    non2xx=$(awk '/Non-2xx/ {print $5}' "$dir/$name.out")
    sockerr=$(awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}' \
              "$dir/$name.out")
    # first 10 s after a 5 s warm-up against the last 10 s
    rss=$(awk '{ v[NR] = $1 } END {
                 for (i = 6; i <= 15 && i <= NR; i++) { f += v[i]; nf++ }
                 for (i = NR - 9; i <= NR; i++) if (i > 0) { l += v[i]; nl++ }
                 if (nf == 0 || nl == 0) { print "0 0 999"; exit }
                 printf "%d %d %.1f", f / nf, l / nl, (l / nl - f / nf) * 100 / (f / nf)
               }' "$samples")
    set -- $rss
    printf '%s: %s req/s, p99 %s, %s requests, non-2xx %s, socket errors %s, ' \
        "$name" "$rps" "$p99" "$total" "${non2xx:-0}" "${sockerr:-0}"
    printf 'workers RSS %d -> %d KiB (%+.1f%%), nginx PostgreSQL connections max %d (pools %d)\n' \
        "$1" "$2" "$3" "$maxpg" $((workers * pool))

    local fivexx
    fivexx=$(grep -c '\[error\].*\(50[0-9]\)' "$dir/logs/error.log" 2>/dev/null || true)
    if [ "${non2xx:-0}" != 0 ] || [ "${sockerr:-0}" != 0 ] \
        || awk -v d="$3" 'BEGIN { exit !(d > 5 || d < -5) }' \
        || [ "$maxpg" -gt $((workers * pool)) ]
    then
        echo "soak: $name FAILED (non-2xx ${non2xx:-0}, socket errors ${sockerr:-0}, RSS ${3}%, pg $maxpg; error log lines about 5xx: $fivexx)"
        failed=1
    fi
}

echo "bench/soak: $workers workers, $conns connections, ${secs} s a path"
soak download "http://127.0.0.1:$port/videos/$id/download"
soak create "http://127.0.0.1:$port/videos" -s "$dir/create.lua"

psql "$VIDSTREAM_DATABASE_URL" -X -q -c "DELETE FROM videos WHERE owner_sub = '$sub'" >/dev/null
[ $failed -eq 0 ] && echo "bench/soak: ok" || { echo "bench/soak: FAILED"; exit 1; }
