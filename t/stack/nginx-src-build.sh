#!/usr/bin/env bash
# The module against a full nginx source tree (NGINX_SRC; by default the
# Debian source package `make deps` unpacks into .deps/nginx-src):
#   - dynamic: `make NGINX_SRC=…` builds a --with-compat .so that Debian's
#     /usr/sbin/nginx of the same version loads;
#   - static: the same config script under --add-module links the module
#     into an nginx binary, which then serves the health endpoint.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

src=${NGINX_SRC:-$TOP/.deps/nginx-src}
[ -f "$src/src/core/nginx.h" ] || { echo "no nginx source tree at $src (make deps)"; exit 1; }
tmp=$(mktemp -d /tmp/vidstream-srcbuild.XXXXXX)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT

check "make NGINX_SRC=… builds the dynamic module" \
    make -s -C "$TOP" NGINX_SRC="$src" BUILD="$tmp/dyn" lib module
so=$tmp/dyn/ngx_http_vidstream_module.so
mkdir -p "$tmp/t/logs"
printf 'load_module %s;\nevents {}\nhttp { server { listen 127.0.0.1:1; location = /h { vidstream_health upload; } } }\n' \
    "$so" > "$tmp/t/nginx.conf"
check "Debian's nginx loads the module built from the source tree" \
    /usr/sbin/nginx -t -q -p "$tmp/t" -c "$tmp/t/nginx.conf"

# static: a copy of the tree, configured with --add-module
cp -a "$src" "$tmp/static"
[ -x "$tmp/static/configure" ] || cp "$tmp/static/auto/configure" "$tmp/static/configure"
(
    cd "$tmp/static" &&
    VIDSTREAM_LIB="$tmp/dyn/lib/libvidstream.a" ./configure --with-compat \
        --without-http_rewrite_module --without-http_gzip_module \
        --add-module="$TOP/ngx_vidstream_module" >"$tmp/configure.log" 2>&1 &&
    make -s -j"$(nproc)" >"$tmp/make.log" 2>&1
)
rc=$?
is "a static nginx builds with the module (--add-module)" "$rc" 0
[ $rc -eq 0 ] || tail -n 20 "$tmp/configure.log" "$tmp/make.log" | sed 's/^/#   /'
bin=$tmp/static/objs/nginx
check "the static binary lists the module" \
    bash -c '"$1" -V 2>&1 | grep -q "add-module=.*ngx_vidstream_module"' _ "$bin"

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$tmp/s/logs"
cat > "$tmp/s/nginx.conf" <<CONF
daemon off;
master_process off;
error_log $tmp/s/logs/error.log;
pid $tmp/s/nginx.pid;
events {}
http {
    access_log off;
    client_body_temp_path $tmp/s/body;
    proxy_temp_path $tmp/s/proxy;
    fastcgi_temp_path $tmp/s/fcgi;
    uwsgi_temp_path $tmp/s/uwsgi;
    scgi_temp_path $tmp/s/scgi;
    server {
        listen 127.0.0.1:$port;
        location = /upload/health { vidstream_health upload; }
    }
}
CONF
"$bin" -p "$tmp/s" -c "$tmp/s/nginx.conf" &
pid=$!
for i in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
is "the static nginx answers /upload/health" \
    "$(curl -s "http://127.0.0.1:$port/upload/health")" "upload ok"
kill "$pid"; wait "$pid" 2>/dev/null; pid=""

finish
