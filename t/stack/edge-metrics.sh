#!/usr/bin/env bash
# The edge's /metrics (CONTRACT.md section 8) on a stack of its own whose
# nginx runs the shipped nginx.conf.d/local.conf.in (2 workers, no
# transcoding worker):
#   - from 127.0.0.1 it is Prometheus text that promtool accepts; from
#     another address (127.0.0.2) it is 403;
#   - create, complete (SQS SendMessage), an expired token, a forged one, a
#     404, a 409 and a delete (S3) move exactly their counters, whichever
#     worker answers the scrape;
#   - "nginx -s reload" resets nothing;
#   - SQS stopped: complete's 503 is counted, its call as an SQS timeout.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

run=$(mktemp -d /tmp/vidstream-metrics.XXXXXX)
export RUN_DIR=$run/stack
cleanup() {
    STACK_WORKER=0 bash "$TOP/scripts/stack.sh" down >/dev/null 2>&1
    rm -rf "$run"
}
trap cleanup EXIT

STACK_WORKER=0 bash "$TOP/scripts/stack.sh" up >"$run/up.log" 2>&1 \
    || { cat "$run/up.log"; flunk "stack up"; finish; }
env_file=$RUN_DIR/stack.env
set -a; . "$env_file"; set +a

user=metrics-$$-$RANDOM
token=$(node "$TOP/scripts/token" "$user" --env "$env_file")
expired=$(node "$TOP/scripts/token" "$user" --ttl -3600 --env "$env_file")
# the same token with the first signature byte changed
sig=${token##*.}
case ${sig:0:1} in A) f=B ;; *) f=A ;; esac
forged=${token%.*}.$f${sig:1}

# code METHOD PATH TOKEN [BODY]: the status
code() {
    curl -s -m 30 -o "$run/body" -w '%{http_code}' -X "$1" \
        ${3:+-H "Authorization: Bearer $3"} \
        ${4:+-H 'Content-Type: application/json' --data-binary "$4"} \
        "$VIDSTREAM_URL$2"
}

scrape() { curl -s -m 10 -f "$VIDSTREAM_URL/metrics" > "$1"; }

# delta A B: "series delta" for the series that changed between A and B
delta() {
    python3 - "$1" "$2" <<'PY'
import sys
def load(f):
    m = {}
    for line in open(f):
        if line.startswith("#") or not line.strip():
            continue
        k, v = line.rsplit(" ", 1)
        m[k] = float(v)
    return m
a, b = load(sys.argv[1]), load(sys.argv[2])
for k in sorted(b):
    d = b[k] - a.get(k, 0)
    if d and "_bucket" not in k and "_sum" not in k:
        print(k, int(d) if d == int(d) else d)
PY
}

# -- the exposition -------------------------------------------------------

check "GET /metrics from 127.0.0.1 is 200" scrape "$run/m0"
check "promtool check metrics accepts it" \
    bash -c 'promtool check metrics < "$1"' _ "$run/m0"
is "Content-Type" \
    "$(curl -s -o /dev/null -w '%{content_type}' "$VIDSTREAM_URL/metrics")" \
    "text/plain; version=0.0.4; charset=utf-8"
is "from 127.0.0.2 it is 403" \
    "$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.2 \
        "$VIDSTREAM_URL/metrics")" 403

# -- a known sequence -----------------------------------------------------

scrape "$run/a"
c1=$(code POST /videos "$token" \
     '{"filename":"m.mov","content_type":"video/mp4","size":5}')
id=$(sed -n 's/.*"id" : "\([0-9a-f-]\{36\}\)".*/\1/p' "$run/body")
c2=$(code POST "/videos/$id/complete" "$token")
c3=$(code GET "/videos/$id" "$expired")
c4=$(code GET "/videos/$id" "$forged")
c5=$(code GET /videos/00000000-0000-4000-8000-000000000000 "$token")
c6=$(code GET "/videos/$id/download" "$token")
c7=$(code DELETE "/videos/$id" "$token")
is "the sequence's answers" "$c1 $c2 $c3 $c4 $c5 $c6 $c7" \
    "201 202 401 401 404 409 204"
scrape "$run/b"

delta "$run/a" "$run/b" > "$run/d"
want=$(cat <<'EOF'
vidstream_auth_results_total{result="bad_signature"} 1
vidstream_auth_results_total{result="expired"} 1
vidstream_auth_results_total{result="ok"} 5
vidstream_aws_request_duration_seconds_count{service="sqs"} 1
vidstream_aws_requests_total{service="sqs",result="ok"} 1
vidstream_http_requests_total{action="complete",status="2xx"} 1
vidstream_http_requests_total{action="create",status="2xx"} 1
vidstream_http_requests_total{action="delete",status="2xx"} 1
vidstream_http_requests_total{action="download",status="4xx"} 1
vidstream_http_requests_total{action="get",status="4xx"} 1
vidstream_http_requests_total{action="other",status="2xx"} 1
vidstream_http_requests_total{action="other",status="4xx"} 2
EOF
)
# S3 calls (delete lists then deletes what it finds), PostgreSQL queries
# and the token cache are counted below, not line by line
is "exactly these counters moved" \
    "$(grep -v -e 'service="s3"' -e vidstream_pg_ -e token_cache "$run/d")" \
    "$want"
check "delete's S3 calls are counted as ok" \
    grep -q '^vidstream_aws_requests_total{service="s3",result="ok"} [1-9]' \
    "$run/d"
check "no S3 or SQS call failed" \
    bash -c '! grep -q "result=\"\(error\|timeout\)\"" "$1"' _ "$run/d"
check "PostgreSQL queries are counted ok, each in the histogram" \
    python3 - "$run/d" <<'PY'
import sys
d = dict(l.rsplit(" ", 1) for l in open(sys.argv[1]).read().splitlines())
ok = int(d.get('vidstream_pg_queries_total{result="ok"}', 0))
n = int(d.get("vidstream_pg_query_duration_seconds_count", 0))
sys.exit(0 if ok >= 5 and n == ok else 1)
PY
is "token cache: the first use of each token misses, the rest hit" \
    "$(grep token_cache "$run/d")" \
    "$(printf '%s\n' \
       'vidstream_token_cache_lookups_total{result="hit"} 4' \
       'vidstream_token_cache_lookups_total{result="miss"} 3')"
is "2 worker processes publish" \
    "$(sed -n 's/^vidstream_edge_worker_processes //p' "$run/b")" 2

# every worker answers the same numbers: scrape on fresh connections
same=1
for i in $(seq 1 8); do
    scrape "$run/s"
    [ "$(grep '^vidstream_auth_results_total' "$run/s")" = \
      "$(grep '^vidstream_auth_results_total' "$run/b")" ] || same=0
done
is "every scrape (any worker) sees the same auth counters" "$same" 1

# -- reload ---------------------------------------------------------------

master=$(cat "$RUN_DIR/nginx/nginx.pid")
# the worker processes (the cache manager and loader are children too)
workers() {
    ps -o pid=,args= --ppid "$master" | awk '/worker process/ {print $1}' \
        | sort | tr '\n' ' '
}
old=$(workers)
scrape "$run/c"
kill -HUP "$master"
for i in $(seq 1 100); do
    now=$(workers)
    n=$(echo "$now" | wc -w)
    overlap=0
    for p in $now; do case " $old " in *" $p "*) overlap=1 ;; esac; done
    [ "$n" -eq 2 ] && [ $overlap -eq 0 ] && break
    sleep 0.1
done
is "the reload replaced both workers" "$n $overlap" "2 0"
scrape "$run/d2"
# (the pool gauges follow the workers: the new ones connect anew)
is "after the reload no counter went back, only the scrape moved" \
    "$(delta "$run/c" "$run/d2" | grep -v -e '^vidstream_pg_connections{' \
       -e '^vidstream_pg_queries_in_flight ' -e '^vidstream_pg_queries_waiting ')" \
    'vidstream_http_requests_total{action="other",status="2xx"} 1'

# -- SQS stalled: complete is a 503 past vidstream_aws_timeout ------------

c1=$(code POST /videos "$token" \
     '{"filename":"n.mov","content_type":"video/mp4","size":5}')
id=$(sed -n 's/.*"id" : "\([0-9a-f-]\{36\}\)".*/\1/p' "$run/body")
scrape "$run/e"
sqs_pid=$(cat "$RUN_DIR/pids/sqs.pid")
kill -STOP "$sqs_pid"
c2=$(code POST "/videos/$id/complete" "$token")
kill -CONT "$sqs_pid"
scrape "$run/f"
is "complete with SQS stopped" "$c1 $c2" "201 503"
is "counted as one SQS timeout and one complete 5xx" \
    "$(delta "$run/e" "$run/f" | grep -e 'sqs' -e 'action="complete"')" \
    "$(printf '%s\n' \
       'vidstream_aws_request_duration_seconds_count{service="sqs"} 1' \
       'vidstream_aws_requests_total{service="sqs",result="timeout"} 1' \
       'vidstream_http_requests_total{action="complete",status="5xx"} 1')"

finish
