#!/usr/bin/env bash
# nginx.conf.d/production.conf.template: rendered by the edge image's
# entrypoint with every placeholder filled, it passes `nginx -t` with the
# module loaded; the entrypoint refuses to render with a variable missing.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

build=${BUILD:-$TOP/build}
so=$build/ngx_http_vidstream_module.so
[ -f "$so" ] || { echo "$so not built"; exit 1; }

tmp=$(mktemp -d /tmp/vidstream-confcheck.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# The image's paths, moved into the temp dir for a non-image machine.
sed -e "s|/usr/lib/nginx/modules/ngx_http_vidstream_module.so|$so|" \
    -e "s|/run/nginx/|$tmp/|g" \
    -e "s|/var/lib/nginx/|$tmp/|g" \
    "$TOP/nginx.conf.d/production.conf.template" > "$tmp/production.conf.template"

render() {
    env -i PATH="$PATH" \
        VIDSTREAM_NGINX_TEMPLATE="$tmp/production.conf.template" \
        VIDSTREAM_NGINX_CONF="$tmp/production.conf" "$@" \
        "$TOP/config/docker/edge-entrypoint" true
}

# Values as in config/edge.env.example; the database host is an address so
# that configuration-time resolution needs no DNS on the test machine.
filled=(
    VIDSTREAM_JWT_ISSUER=https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEfGhI
    VIDSTREAM_JWT_CLIENT_ID=1example23456789abcdefghij
    "VIDSTREAM_DATABASE_URL=postgresql://vidstream@10.0.0.10:5432/vidstream?sslmode=require"
    VIDSTREAM_BUCKET=vidstream-media
    VIDSTREAM_QUEUE_URL=https://sqs.eu-west-1.amazonaws.com/123456789012/vidstream-jobs
    VIDSTREAM_RESOLVER=127.0.0.1
    VIDSTREAM_PLAYBACK_KEY=0123456789abcdef0123456789abcdef
)

check "entrypoint renders the template" render "${filled[@]}"
check "no placeholder is left" bash -c '! grep -Eq "\$\{VIDSTREAM_[A-Z0-9_]+\}" "$1"' _ "$tmp/production.conf"
check "nginx's own variables are untouched" grep -q '\$vidstream_aws_uri' "$tmp/production.conf"
out=$(AWS_REGION=eu-west-1 AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/x \
      /usr/sbin/nginx -t -p "$tmp" -c "$tmp/production.conf" 2>&1)
rc=$?
is "nginx -t accepts the rendered production configuration" "$rc" 0
[ $rc -eq 0 ] || echo "$out" | sed 's/^/#   /'

rm -f "$tmp/production.conf"
msg=$(render VIDSTREAM_JWT_ISSUER=x 2>&1)
rc=$?
is "entrypoint refuses to start with variables unset (exit 78)" "$rc" 78
check "and names what is missing" grep -q VIDSTREAM_BUCKET <<<"$msg"
check "and writes no configuration" test ! -e "$tmp/production.conf"

# nginx's own errors are JSON the same way in production as on the local
# stack (Test::Nginx tests the local block: t/lib/ApiTest.pm).
errors() { sed -n '/# BEGIN vidstream errors/,/# END vidstream errors/p' "$1"; }
check "the error handling block is in production.conf.template" \
    grep -q 'error_page 400 494 /_vidstream/error/400;' "$TOP/nginx.conf.d/production.conf.template"
is "production.conf.template and local.conf.in handle errors alike" \
    "$(errors "$TOP/nginx.conf.d/production.conf.template")" \
    "$(errors "$TOP/nginx.conf.d/local.conf.in")"
check "no named location serves errors (a malformed request has no URI)" \
    bash -c '! grep -Eq "error_page [0-9 ]+(=[0-9]* )?@" "$1" "$2"' _ \
    "$TOP/nginx.conf.d/production.conf.template" "$TOP/nginx.conf.d/local.conf.in"

# Every placeholder is documented in the edge environment example.
for v in $(grep -o '\${VIDSTREAM_[A-Z0-9_]*}' "$TOP/nginx.conf.d/production.conf.template" | sort -u); do
    name=${v#??}; name=${name%?}
    check "$name is in config/edge.env.example" \
        grep -Eq "^#?$name=" "$TOP/config/edge.env.example"
done

finish
