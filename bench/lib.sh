# bench/lib.sh: what the benchmarks share; sourced after `top` is set.
#
#   bench_init NAME     a temp dir ($dir) removed on exit, with the nginx
#                       in $pid and every pid in $pids stopped, and the
#                       benchmark's own stack (bench_stack) taken down
#   bench_stack [VAR]   the stack of the environment when VAR (default
#                       VIDSTREAM_DATABASE_URL) is set, e.g.
#                       `set -a; . .run/stack.env`; else a throwaway one
#                       (PostgreSQL, S3, SQS; no nginx, no worker)
#   free_port           a free TCP port on 127.0.0.1
#   bench_token SUB KID a key and $dir/jwks.json with it; prints a token
#                       for SUB, valid for an hour
#   bench_done_video SUB NAME   inserts a done video of SUB; prints its id
#   cpu_ticks PID...    utime + stime of the pids, summed

bench_init() {
    dir=$(mktemp -d "/tmp/vidstream-$1.XXXXXX")
    pid=
    pids=()
    own_stack=
    trap bench_cleanup EXIT
}

bench_cleanup() {
    local p
    for p in ${pid:-} "${pids[@]}"; do
        kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true
    done
    [ -n "$own_stack" ] \
        && RUN_DIR=$own_stack bash "$top/scripts/stack.sh" down >/dev/null 2>&1
    rm -rf "$dir"
}

bench_stack() {
    local var=${1:-VIDSTREAM_DATABASE_URL}
    [ -n "${!var:-}" ] && return 0
    own_stack=$dir/stack
    RUN_DIR=$own_stack STACK_NGINX=0 STACK_WORKER=0 \
        bash "$top/scripts/stack.sh" up >/dev/null
    set -a
    # shellcheck disable=SC1091
    . "$own_stack/stack.env"
    set +a
}

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

bench_token() {
    perl -I"$top/t/lib" -MVidstreamJWT -e '
        $VidstreamJWT::DIR = shift; my ($sub, $kid) = @ARGV;
        VidstreamJWT::setup($kid);
        VidstreamJWT::write_jwks("$VidstreamJWT::DIR/jwks.json", VidstreamJWT::jwk($kid));
        print VidstreamJWT::token(key => $kid, claims => { sub => $sub, exp => time + 3600 });
    ' "$dir" "$1" "$2"
}

bench_done_video() {
    psql "$VIDSTREAM_DATABASE_URL" -X -q -At -c "
        WITH n AS (SELECT gen_random_uuid() AS id)
        INSERT INTO videos (id, owner_sub, status, filename, content_type, size,
                            input_key, output_mp4)
        SELECT n.id, '$1', 'done', '$2', 'video/mp4', 1,
               'input/$1/' || n.id || '/source', true FROM n RETURNING id"
}

cpu_ticks() {
    local t=0 p s
    for p in "$@"; do
        s=$(cut -d' ' -f14,15 "/proc/$p/stat" 2>/dev/null) || continue
        t=$((t + ${s% *} + ${s#* }))
    done
    echo "$t"
}
