#!/usr/bin/env bash
# bench/metrics.sh: what counting costs on the download hot path
# (GET /videos/<id>/download: token from the cache, owner check in
# PostgreSQL, presign, JSON; counted by action, auth result, token cache,
# PostgreSQL query and latency).  Two nginx side by side, identical but
# for vidstream_metrics_collect on / off, one worker each; wrk takes turns
# on them, ROUNDS times each, in one run.
#
# Prints requests/s and the CPU time the nginx worker spent per request
# (from /proc: on a shared machine it moves far less than requests/s), and
# the overhead of "on" against "off" for both.  Target: <= 2 %.
#
# Uses the stack of the environment when there is one (VIDSTREAM_DATABASE_URL
# set, e.g. `set -a; . .run/stack.env`), else starts a throwaway one
# (PostgreSQL, S3, SQS; no nginx, no worker) and stops it at the end.
#   BENCH_DURATION=3s BENCH_ROUNDS=8 bash bench/metrics.sh
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
module=${MODULE:-${TEST_NGINX_LOAD_MODULES:-$top/build/ngx_http_vidstream_module.so}}
dur=${BENCH_DURATION:-3s}
conns=${BENCH_CONNECTIONS:-64}
rounds=${BENCH_ROUNDS:-8}

. "$top/bench/lib.sh"
bench_init bench-metrics
bench_stack

sub="bench-metrics-$$"

# a key of our own, a JWKS with it, a token for $sub, a done video of $sub
token=$(bench_token "$sub" bench)
id=$(bench_done_video "$sub" bench.mov)

# start_nginx on|off: an nginx under $dir/<on|off>; sets port_<on|off>
start_nginx() {
    local mode=$1 prefix=$dir/$1 port
    port=$(free_port)
    mkdir -p "$prefix/logs"
    cat > "$prefix/nginx.conf" <<_EOC_
load_module $module;
worker_processes 1;
daemon off;
error_log $prefix/logs/error.log error;
pid $prefix/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    vidstream_metrics_collect $mode;
    vidstream_jwt_issuer https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TEST;
    vidstream_jwt_client_id testclient1;
    vidstream_jwks_file $dir/jwks.json;
    vidstream_jwt_cache zone=jwt:1m;
    vidstream_postgres "$VIDSTREAM_DATABASE_URL" ${BENCH_PG_ARGS:-pool=4 timeout=2s};
    vidstream_s3_bucket ${VIDSTREAM_BUCKET:-bench};
    vidstream_s3_endpoint ${AWS_ENDPOINT_URL_S3:-http://127.0.0.1:9};
    server {
        listen 127.0.0.1:$port;
        location /videos { vidstream_auth on; vidstream_api; }
        location = /metrics { vidstream_metrics; }
    }
}
_EOC_
    /usr/sbin/nginx -p "$prefix" -c "$prefix/nginx.conf" &
    pids+=($!)
    for _ in $(seq 1 50); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' \
             -H "Authorization: Bearer $token" \
             "http://127.0.0.1:$port/videos/$id/download")" = 200 ] \
            && { eval "port_$mode=$port"; eval "worker_$mode=\$(pgrep -P $!)"; return 0; }
        sleep 0.1
    done
    echo "bench/metrics: nginx ($mode) did not start" >&2
    cat "$prefix/logs/error.log" >&2
    exit 1
}

start_nginx on
start_nginx off
# shellcheck disable=SC2154
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port_off/metrics")" = 404 ] \
    || { echo "bench/metrics: collection is not off" >&2; exit 1; }

hz=$(getconf CLK_TCK)

# one line per run: mode requests seconds ticks non2xx
runs=$dir/runs

run() {  # run on|off
    local m=$1 port worker t0 t1 out n s b
    eval "port=\$port_$m; worker=\$worker_$m"
    t0=$(cpu_ticks "$worker")
    out=$(wrk -t2 -c"$conns" -d"$dur" -H "Authorization: Bearer $token" \
          "http://127.0.0.1:$port/videos/$id/download")
    t1=$(cpu_ticks "$worker")
    n=$(echo "$out" | awk '/requests in/ {print $1}')
    s=$(echo "$out" | awk '/requests in/ {sub(/s,$/, "", $4); print $4}')
    b=$(echo "$out" | awk '/Non-2xx/ {print $5; f=1} END {if (!f) print 0}')
    echo "$m $n $s $((t1 - t0)) $b" >> "$runs"
    echo "  $m: $(echo "$out" | awk '/^Requests\/sec/ {print $2}') req/s" >&2
}

echo "bench/metrics: download, 1 worker each, $conns connections, $rounds x $dur per side, alternating"
# warm both up (pools connected, token cached, caches hot); not counted
for m in on off; do
    eval "port=\$port_$m"
    wrk -t2 -c"$conns" -d2s -H "Authorization: Bearer $token" \
        "http://127.0.0.1:$port/videos/$id/download" > /dev/null
done
for r in $(seq 1 "$rounds"); do
    # alternate which side goes first, so that drift is shared
    if [ $((r % 2)) -eq 1 ]; then run on; run off; else run off; run on; fi
done

# per mode: totals; overhead: the median over the rounds of on/off (each
# round runs both sides back to back, so a burst of other work on the
# machine spoils one round, not the figure)
python3 - "$runs" "$hz" <<'PY'
import statistics, sys
hz = float(sys.argv[2])
runs = {"on": [], "off": []}
for line in open(sys.argv[1]):
    m, n, s, t, b = line.split()
    runs[m].append((int(n), float(s), int(t), int(b)))
for m in ("on", "off"):
    n = sum(r[0] for r in runs[m]); s = sum(r[1] for r in runs[m])
    t = sum(r[2] for r in runs[m]); b = sum(r[3] for r in runs[m])
    print("metrics %-3s rps=%.0f nginx_cpu_us/req=%.2f non2xx=%d"
          % (m, n / s, t * 1e6 / hz / n, b))
rps = [(a[0] / a[1]) / (o[0] / o[1]) for a, o in zip(runs["on"], runs["off"])]
cpu = [(a[2] / a[0]) / (o[2] / o[0]) for a, o in zip(runs["on"], runs["off"])]
print("on against off (median of %d rounds): requests/s %+.1f %%, "
      "CPU per request %+.1f %% (target: no worse than 2 %%)"
      % (len(rps), (statistics.median(rps) - 1) * 100,
         (statistics.median(cpu) - 1) * 100))
PY
echo "metrics (on) after the run: $(curl -s "http://127.0.0.1:$port_on/metrics" \
    | grep '^vidstream_http_requests_total{action="download",status="2xx"}')"

psql "$VIDSTREAM_DATABASE_URL" -X -q -c "DELETE FROM videos WHERE owner_sub = '$sub'" >/dev/null
