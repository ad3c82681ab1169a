#!/usr/bin/env bash
# stack.sh up|down|status: the local stack of CONTRACT.md section 8.
#
# Everything runs in the background on 127.0.0.1, on free ports picked at
# start: a throwaway PostgreSQL cluster with sql/ applied, Redis, s3rver
# (S3) with the bucket, fauxqs (SQS) with the queue and a dead-letter queue
# (redrive maxReceiveCount 5), nginx with the module and nginx.conf.d/local
# config, and one vidstream-worker.  `up` is idempotent and ends by writing
# $RUN_DIR/stack.env; `down` stops everything by PID.
#
# Environment:
#   RUN_DIR        where state lives (default .run)
#   STACK_NGINX=0  do not start nginx      (the Test::Nginx suite runs its own)
#   STACK_WORKER=0 do not start the worker (tests that read the queue)
#   VIDSTREAM_NODE_DIR  the Node packages (default .deps/node): the local
#                  AWS emulators, and hls.js that nginx serves to the web app
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
run=${RUN_DIR:-$top/.run}
case $run in /*) ;; *) run=$top/$run ;; esac
build=${BUILD:-$top/build}
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)

region=us-east-1
bucket=vidstream-media
queue=vidstream-jobs
dlq=vidstream-jobs-dlq
issuer="https://cognito-idp.$region.amazonaws.com/${region}_vidstreamdev"
client_id=vidstreamdevclient

log() { echo "stack: $*" >&2; }

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# As root, PostgreSQL must run as another user.
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_port() {  # wait_port PORT NAME PIDFILE
    local i
    for i in $(seq 1 100); do
        if (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; then return 0; fi
        if [ -n "${3:-}" ] && ! alive "$3"; then break; fi
        sleep 0.1
    done
    log "$2 did not start on port $1; its log:"
    tail -n 20 "$run/logs/$2.log" >&2 || true
    return 1
}

pidfiles() {
    ls "$run"/pids/*.pid 2>/dev/null || true
}

is_up() {
    [ -f "$run/stack.env" ] || return 1
    local f
    for f in $(pidfiles); do alive "$f" || return 1; done
    [ -f "$run/pg.datadir" ] && as_pg "$pg_bin/pg_ctl" -D "$(cat "$run/pg.datadir")" status >/dev/null 2>&1
}

stop_pid() {  # stop_pid PIDFILE [SECONDS]: TERM, then KILL after 10 s
    local f=$1 pid i wait=${2:-10}
    pid=$(cat "$f" 2>/dev/null) || return 0
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 1 $((wait * 10))); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "$(basename "$f" .pid) ignored SIGTERM; killing"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$f"
}

down() {
    [ -d "$run" ] || return 0
    local f
    # the worker first, so that it releases its messages while SQS is up
    # (an idle worker finishes its long poll first: VIDSTREAM_WAIT_TIME)
    [ -f "$run/pids/worker.pid" ] && stop_pid "$run/pids/worker.pid" 30
    for f in $(pidfiles); do stop_pid "$f"; done
    if [ -f "$run/pg.datadir" ]; then
        local data
        data=$(cat "$run/pg.datadir")
        as_pg "$pg_bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
        rm -rf "$(dirname "$data")"
    fi
    rm -rf "$run"
    log "down"
}

up() {
    if is_up; then
        log "already up ($run/stack.env)"
        return 0
    fi
    down 2>/dev/null || true
    mkdir -p "$run"/{pids,logs,keys,s3,nginx/tmp}

    local pg_port redis_port s3_port sqs_port nginx_port
    pg_port=$(free_port); redis_port=$(free_port); s3_port=$(free_port)
    sqs_port=$(free_port); nginx_port=$(free_port)
    worker_metrics_port=$(free_port)

    # PostgreSQL: its data directory lives under /tmp so that the postgres
    # user can reach it whatever the permissions of the checkout.
    local pgroot data
    pgroot=$(mktemp -d /tmp/vidstream-pg.XXXXXX)
    data=$pgroot/data
    echo "$data" > "$run/pg.datadir"
    [ "$(id -u)" -eq 0 ] && chown postgres "$pgroot"
    as_pg "$pg_bin/initdb" -D "$data" -U vidstream --auth=trust \
        --encoding=UTF8 --locale=C.UTF-8 >"$run/logs/initdb.log" 2>&1 \
        || { tail "$run/logs/initdb.log" >&2; return 1; }
    as_pg "$pg_bin/pg_ctl" -D "$data" -w -t 30 -l "$pgroot/postgres.log" \
        -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $pgroot -c fsync=off -c full_page_writes=off -c synchronous_commit=off" \
        start >/dev/null || { cat "$pgroot/postgres.log" >&2; return 1; }
    local db_url="postgresql://vidstream@127.0.0.1:$pg_port/vidstream"
    psql "postgresql://vidstream@127.0.0.1:$pg_port/postgres" -X -q \
        -c "CREATE DATABASE vidstream" >/dev/null
    bash "$top/sql/migrate.sh" "$db_url" >/dev/null

    redis-server --bind 127.0.0.1 --port "$redis_port" --daemonize yes \
        --pidfile "$run/pids/redis.pid" --dir "$run" --save "" \
        --appendonly no --logfile "$run/logs/redis.log" >/dev/null
    wait_port "$redis_port" redis

    node "$top/scripts/local-aws.mjs" s3 "$s3_port" "$run/s3" "$bucket" \
        >"$run/logs/s3.log" 2>&1 &
    echo $! > "$run/pids/s3.pid"
    node "$top/scripts/local-aws.mjs" sqs "$sqs_port" "$queue" "$dlq" 5 \
        >"$run/logs/sqs.log" 2>&1 &
    echo $! > "$run/pids/sqs.pid"
    wait_port "$s3_port" s3 "$run/pids/s3.pid"
    wait_port "$sqs_port" sqs "$run/pids/sqs.pid"
    # The web app PUTs uploads straight to S3 from the edge's origin.
    local origin cors=""
    for origin in "http://127.0.0.1:$nginx_port" "http://localhost:$nginx_port"; do
        cors+="<AllowedOrigin>$origin</AllowedOrigin>"
    done
    cors="<CORSConfiguration><CORSRule>$cors<AllowedMethod>PUT</AllowedMethod>"
    cors+="<AllowedHeader>content-type</AllowedHeader>"
    cors+="<MaxAgeSeconds>3600</MaxAgeSeconds></CORSRule></CORSConfiguration>"
    curl -fsS -X PUT "http://127.0.0.1:$s3_port/$bucket?cors" \
        --data-binary "$cors" >/dev/null \
        || { log "s3: setting the bucket's CORS failed"; return 1; }
    local i queue_url="" dlq_url=""
    for i in $(seq 1 50); do
        queue_url=$(sed -n 's/.*"queue_url":"\([^"]*\)".*/\1/p' "$run/logs/sqs.log")
        [ -n "$queue_url" ] && break
        sleep 0.1
    done
    [ -n "$queue_url" ] || { log "sqs queues not created"; cat "$run/logs/sqs.log" >&2; return 1; }
    dlq_url=$(sed -n 's/.*"dlq_url":"\([^"]*\)".*/\1/p' "$run/logs/sqs.log")

    # The dev signing key and the JWKS nginx trusts.
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
        -out "$run/keys/dev.pem" 2>/dev/null
    chmod 600 "$run/keys/dev.pem"
    local kid
    kid=$(node "$top/scripts/jwks.mjs" "$run/keys/dev.pem" "$run/keys/jwks.json")
    chmod 644 "$run/keys/jwks.json"

    # The key of playback tokens (/play/<token>/…): 32 random bytes.
    head -c 32 /dev/urandom > "$run/keys/playback.key"
    chmod 600 "$run/keys/playback.key"

    cat > "$run/stack.env" <<ENV
VIDSTREAM_URL=http://127.0.0.1:$nginx_port
VIDSTREAM_JWT_ISSUER=$issuer
VIDSTREAM_JWT_CLIENT_ID=$client_id
VIDSTREAM_DEV_KEY=$run/keys/dev.pem
VIDSTREAM_DEV_KID=$kid
VIDSTREAM_JWKS_FILE=$run/keys/jwks.json
VIDSTREAM_DATABASE_URL=$db_url
VIDSTREAM_REDIS_URL=redis://127.0.0.1:$redis_port/0
AWS_ENDPOINT_URL_S3=http://127.0.0.1:$s3_port
AWS_ENDPOINT_URL_SQS=http://127.0.0.1:$sqs_port
AWS_REGION=$region
AWS_ACCESS_KEY_ID=S3RVER
AWS_SECRET_ACCESS_KEY=S3RVER
VIDSTREAM_BUCKET=$bucket
VIDSTREAM_QUEUE_URL=$queue_url
VIDSTREAM_DLQ_URL=$dlq_url
VIDSTREAM_WORKER_METRICS_URL=http://127.0.0.1:$worker_metrics_port/metrics
VIDSTREAM_WEBHOOK_SECRET=whsec_$(openssl rand -base64 32)
ENV
    # the worker delivers events where `make up` was told to (CONTRACT.md 8)
    if [ -n "${VIDSTREAM_WEBHOOK_URL:-}" ]; then
        echo "VIDSTREAM_WEBHOOK_URL=$VIDSTREAM_WEBHOOK_URL" >> "$run/stack.env"
    fi

    if [ "${STACK_NGINX:-1}" = 1 ]; then
        start_nginx "$nginx_port"
    fi
    if [ "${STACK_WORKER:-1}" = 1 ] && [ -x "$build/vidstream-worker" ]; then
        start_worker
    fi
    log "up: $(grep VIDSTREAM_URL "$run/stack.env") ($run/stack.env)"
}

start_nginx() {
    local port=$1 so="$build/ngx_http_vidstream_module.so"
    [ -f "$so" ] || { log "$so not built; run make"; return 1; }
    chmod 755 "$run" "$run/nginx" "$run/keys"
    (
        # nginx reads the AWS credentials from its environment at start
        set -a
        # shellcheck disable=SC1091
        . "$run/stack.env"
        set +a
        export NGINX_PORT=$port NGINX_PREFIX="$run/nginx" \
               VIDSTREAM_MODULE="$so" VIDSTREAM_TOP="$top" \
               VIDSTREAM_NODE_DIR="${VIDSTREAM_NODE_DIR:-$top/.deps/node}"
        envsubst "$(grep -o '\${[A-Z0-9_]*}' "$top/nginx.conf.d/local.conf.in" \
                        | sort -u | tr '\n' ' ')" \
            < "$top/nginx.conf.d/local.conf.in" > "$run/nginx/nginx.conf"
        /usr/sbin/nginx -p "$run/nginx" -c "$run/nginx/nginx.conf" -t -q \
            2>"$run/logs/nginx-t.log" \
            || { cat "$run/logs/nginx-t.log" >&2; exit 1; }
        exec /usr/sbin/nginx -p "$run/nginx" -c "$run/nginx/nginx.conf" \
            2>>"$run/logs/nginx.log"
    ) || return 1
    local i
    for i in $(seq 1 50); do [ -s "$run/nginx/nginx.pid" ] && break; sleep 0.1; done
    cp "$run/nginx/nginx.pid" "$run/pids/nginx.pid"
    wait_port "$port" nginx "$run/pids/nginx.pid"
}

start_worker() {
    (
        set -a
        # shellcheck disable=SC1091
        . "$run/stack.env"
        set +a
        # short polls, so that `make down` stops an idle worker quickly;
        # messages are still received the moment they arrive
        export VIDSTREAM_WAIT_TIME=${VIDSTREAM_WAIT_TIME:-5}
        # HLS on, as in production (config/worker.env.example)
        export VIDSTREAM_HLS=${VIDSTREAM_HLS:-1}
        # the stack's one worker serves its metrics (tests that start more
        # workers against the same stack.env must not all bind the port)
        export VIDSTREAM_METRICS_ADDR=${VIDSTREAM_WORKER_METRICS_URL#http://}
        export VIDSTREAM_METRICS_ADDR=${VIDSTREAM_METRICS_ADDR%/metrics}
        exec "$build/vidstream-worker" >>"$run/logs/worker.log" 2>&1
    ) &
    echo $! > "$run/pids/worker.pid"
    sleep 0.3
    alive "$run/pids/worker.pid" || { log "worker exited:"; tail "$run/logs/worker.log" >&2; return 1; }
}

status() {
    if is_up; then
        echo "up"; cat "$run/stack.env"
    else
        echo "down"; return 1
    fi
}

case ${1:-} in
up) up ;;
down) down ;;
status) status ;;
*) echo "usage: stack.sh up|down|status" >&2; exit 2 ;;
esac
