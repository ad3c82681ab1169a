#!/usr/bin/env bash
# Requests/s of vidstream_auth on one nginx worker against the same
# location without auth, with wrk on 127.0.0.1 for a bounded time:
#
#   bare   vidstream_health upload;                       (no auth)
#   warm   + vidstream_auth on; vidstream_jwt_cache zone  (cache hits)
#   cold   + vidstream_auth on; vidstream_jwt_cache off   (every request
#          parses the token and checks its RS256 signature)
#   miss   + vidstream_auth on; a cache too small to hold the 5,000
#          distinct tokens wrk cycles through: every token distinct, every
#          request a cache miss (verify, insert, LRU eviction)
#
# `return 200` cannot be the baseline: it runs in the rewrite phase, before
# the access phase, so it would skip authentication altogether.
#
#   bench/auth.sh [SECONDS] [ROUNDS]   (default 3 s per run, 3 rounds)
#   BUILD=/tmp/x bench/auth.sh   (module from another build directory)
#
# nginx is pinned to CPU 0 and wrk to CPU 1 when taskset exists.  The three
# locations are measured in interleaved rounds and the best round of each
# is kept, which filters out other load on a shared machine.  Targets:
# warm >= 85% of bare, cold >= 30% of bare.
set -euo pipefail

seconds=${1:-3}
rounds=${2:-3}
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
so="$build/ngx_http_vidstream_module.so"
[ -f "$so" ] || make -s -C "$top" BUILD="$build" module >/dev/null
command -v wrk >/dev/null || { echo "auth bench: wrk not installed" >&2; exit 1; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/vidstream-auth-bench-XXXXXX")
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT

# a free port on 127.0.0.1
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# key, JWKS and one valid access token, generated now
token=$(cd "$top" && perl -It/lib -MVidstreamJWT -e '
    $VidstreamJWT::DIR = "'"$dir"'";
    my $d = VidstreamJWT::setup("k1");
    VidstreamJWT::write_jwks("'"$dir"'/jwks.json", VidstreamJWT::jwk("k1"));
    print VidstreamJWT::token(claims => { exp => time + 3600 });')

# 5,000 distinct tokens (same claims, each its own jti), signed with k1
node -e '
const c = require("crypto"), fs = require("fs");
const [tok, pem, out] = process.argv.slice(1);
const [h, p] = tok.split(".");
const claims = JSON.parse(Buffer.from(p, "base64url"));
const key = c.createPrivateKey(fs.readFileSync(pem));
const lines = [];
for (let i = 0; i < 5000; i++) {
    claims.jti = "bench-" + i;
    const input = h + "." + Buffer.from(JSON.stringify(claims)).toString("base64url");
    lines.push(input + "." + c.createSign("RSA-SHA256").update(input).sign(key).toString("base64url"));
}
fs.writeFileSync(out, lines.join("\n") + "\n");
' "$token" "$dir/k1.pem" "$dir/tokens.txt"
cat > "$dir/tokens.lua" <<'LUA'
local tokens = {}
for line in io.lines(os.getenv("VIDSTREAM_BENCH_TOKENS")) do
    tokens[#tokens + 1] = line
end
local i = 0
request = function()
    i = i % #tokens + 1
    return wrk.format(nil, nil, { ["Authorization"] = "Bearer " .. tokens[i] })
end
LUA

mkdir -p "$dir/logs"
cat > "$dir/nginx.conf" <<CONF
load_module $so;
worker_processes 1;
daemon off;
master_process off;
error_log $dir/logs/error.log warn;
pid $dir/logs/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    vidstream_jwt_issuer https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TEST;
    vidstream_jwt_client_id testclient1;
    vidstream_jwks_file $dir/jwks.json;
    server {
        listen 127.0.0.1:$port;
        location = /bare { vidstream_health upload; }
        location = /warm {
            vidstream_auth on;
            vidstream_jwt_cache zone=jwt:4m;
            vidstream_health upload;
        }
        location = /cold {
            vidstream_auth on;
            vidstream_jwt_cache off;
            vidstream_health upload;
        }
        location = /miss {
            vidstream_auth on;
            vidstream_jwt_cache zone=tiny:32k;
            vidstream_health upload;
        }
    }
}
CONF

pin_nginx=() pin_wrk=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    pin_nginx=(taskset -c 0) pin_wrk=(taskset -c 1)
fi

"${pin_nginx[@]}" /usr/sbin/nginx -p "$dir" -c "$dir/nginx.conf" &
pid=$!
for _ in $(seq 50); do
    curl -fs "http://127.0.0.1:$port/bare" >/dev/null 2>&1 && break
    sleep 0.1
done

# correctness first: a benchmark of 401s would measure nothing
for loc in warm cold miss; do
    code=$(curl -s -o /dev/null -w '%{http_code}' \
           -H "Authorization: Bearer $token" "http://127.0.0.1:$port/$loc")
    [ "$code" = 200 ] || { echo "auth bench: /$loc answered $code" >&2; exit 1; }
done

rps() {
    local out
    if [ "$1" = miss ]; then
        out=$(VIDSTREAM_BENCH_TOKENS="$dir/tokens.txt" "${pin_wrk[@]}" \
              wrk -t1 -c32 -d"${seconds}s" -s "$dir/tokens.lua" \
              "http://127.0.0.1:$port/$1")
    else
        out=$("${pin_wrk[@]}" wrk -t1 -c32 -d"${seconds}s" \
              -H "Authorization: Bearer $token" "http://127.0.0.1:$port/$1")
    fi
    if echo "$out" | grep -q 'Non-2xx'; then
        echo "auth bench: /$1 had non-2xx responses" >&2
        exit 1
    fi
    echo "$out" | awk '/^Requests\/sec/ { printf "%d", $2 }'
}

# warm the cache once so that every measured /warm request is a hit
curl -s -o /dev/null -H "Authorization: Bearer $token" "http://127.0.0.1:$port/warm"

bare=0 warm=0 cold=0 miss=0
for _ in $(seq "$rounds"); do
    r=$(rps bare); [ "$r" -gt "$bare" ] && bare=$r
    r=$(rps warm); [ "$r" -gt "$warm" ] && warm=$r
    r=$(rps cold); [ "$r" -gt "$cold" ] && cold=$r
    r=$(rps miss); [ "$r" -gt "$miss" ] && miss=$r
done

awk -v b="$bare" -v w="$warm" -v c="$cold" -v m="$miss" 'BEGIN {
    printf "auth: bare %d req/s, warm %d req/s (%.0f%% of bare, target 85%%), cold %d req/s (%.0f%% of bare, target 30%%), every token distinct %d req/s (%.0f%% of bare)\n",
           b, w, 100 * w / b, c, 100 * c / b, m, 100 * m / b
}'
