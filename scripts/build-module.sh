#!/usr/bin/env bash
# build-module.sh configure|build NGINX_SRC BUILD_DIR
#
# Without NGINX_SRC: copies Debian's nginx-dev tree (/usr/share/nginx/src)
# and configures it with the flags Debian's nginx was built with, so that the
# module loads into /usr/sbin/nginx.  With NGINX_SRC: configures a copy of
# that tree --with-compat.  `make modules` then builds only the module.
set -euo pipefail

action=$1 nginx_src=${2:-} build=$3
top=$(cd "$(dirname "$0")/.." && pwd)
src="$build/src"

case $action in
configure)
    rm -rf "$src" && mkdir -p "$build"
    if [ -z "$nginx_src" ]; then
        debian=/usr/share/nginx/src
        [ -f "$debian/conf_flags" ] || {
            echo "build-module: $debian missing; run 'make deps'" >&2; exit 1; }
        cp -a "$debian" "$src"
        # shellcheck disable=SC1091
        . "$src/conf_flags"
        flags=("${NGX_CONF_FLAGS[@]}")
    else
        [ -x "$nginx_src/configure" ] || [ -x "$nginx_src/auto/configure" ] || {
            echo "build-module: $nginx_src is not an nginx source tree" >&2
            exit 1; }
        cp -a "$nginx_src/." "$src"
        [ -x "$src/configure" ] || cp "$src/auto/configure" "$src/configure"
        flags=(--with-compat --with-http_ssl_module --with-threads)
    fi
    cd "$src"
    # nginx's own flags already carry -Wall -Werror; the module also gets
    # -Wextra (minus what nginx's own macros trip over).
    ./configure "${flags[@]}" \
        --with-cc-opt="-g -O2 -fPIC -Wextra -Wno-unused-parameter" \
        --add-dynamic-module="$top/ngx_vidstream_module" > "$build/configure.log" 2>&1 \
        || { tail -n 30 "$build/configure.log" >&2; exit 1; }
    ;;
build)
    cd "$src"
    # a failed compile must fail the build (never leave a stale .so)
    rc=0
    make -s -f objs/Makefile modules > "$build/make.log" 2>&1 || rc=$?
    grep -v '^make' "$build/make.log" || true
    exit $rc
    ;;
esac
