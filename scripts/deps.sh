#!/usr/bin/env bash
# Installs what vidstream needs to build, test and run the local stack.
# Idempotent: when everything is present it checks and returns in seconds.
# Never touches the system's apt sources: Test::Nginx comes from Debian
# unstable through a private list under .deps/.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
deps_dir="$top/.deps"

debs=(
    build-essential pkg-config git curl jq ca-certificates
    nginx nginx-dev
    libjwt-dev libjansson-dev libhiredis-dev libpq-dev libssl-dev
    libcurl4-openssl-dev libxml2-dev
    libavformat-dev libavcodec-dev libavfilter-dev libavutil-dev
    libswscale-dev libswresample-dev ffmpeg
    postgresql postgresql-client redis-server
    nodejs npm
    chromium
    python3-botocore
    wrk clang libclang-rt-14-dev valgrind
    libwww-perl liburi-perl libtext-diff-perl libtest-longstring-perl
    liblist-moreutils-perl libtest-base-perl libhttp-message-perl
    libipc-run-perl libfilter-perl libencode-perl libscalar-list-utils-perl
    procps bc time
    prometheus
)

# As root, runs the command; otherwise collects it, and the script ends by
# printing every command a root user must run, then fails.
root_cmds=()
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    else
        root_cmds+=("$(printf '%q ' "$@")")
    fi
}

# The Debian mirror the system already uses: a "URIs:" line of a deb822
# file or a "deb" line of a one-line list (comments skipped).
debian_mirror() {
    local m
    m=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list \
            2>/dev/null \
        | sed -nE 's/^(URIs:|deb)[[:space:]]+(\[[^]]*\][[:space:]]+)?(https?:[^ ]*debian\/?)( .*)?$/\3/p' \
        | grep -v security | head -n1 || true)
    m=${m%/}
    echo "${m:-http://deb.debian.org/debian}"
}

# private_apt DIR LINE: an apt configuration of its own in DIR with the one
# sources line LINE, for `apt-get "${apt_opts[@]}" …`; the system's sources
# and lists are never touched.
private_apt() {
    mkdir -p "$1/lists/partial" "$1/debs"
    echo "$2" > "$1/sources.list"
    apt_opts=(-o Dir::Etc::SourceList="$1/sources.list"
              -o Dir::Etc::SourceParts=/dev/null
              -o Dir::State::Lists="$1/lists"
              -o Dir::Cache::Archives="$1/debs"
              -o APT::Sandbox::User=root)
}

missing=()
for p in "${debs[@]}"; do
    # nodejs may come from another source than Debian (nodesource); accept
    # any node >= 20 on PATH.
    if [ "$p" = nodejs ] || [ "$p" = npm ]; then
        command -v node >/dev/null && command -v npm >/dev/null && continue
    fi
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
        || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "${missing[@]}" >/dev/null
    # Debian starts these services on install; the project runs its own.
    for svc in nginx redis-server postgresql prometheus; do
        as_root service "$svc" stop >/dev/null 2>&1 || true
    done
fi

# Test::Nginx: libtest-nginx-perl (arch: all) from Debian unstable.
if ! perl -MTest::Nginx::Socket -e1 2>/dev/null; then
    apt_dir="$deps_dir/apt-sid"
    private_apt "$apt_dir" "deb $(debian_mirror) sid main"
    echo "deps: fetching libtest-nginx-perl from Debian unstable"
    apt-get "${apt_opts[@]}" update -qq
    (cd "$apt_dir/debs" && apt-get "${apt_opts[@]}" download libtest-nginx-perl)
    as_root dpkg -i "$apt_dir"/debs/libtest-nginx-perl_*.deb >/dev/null
    [ ${#root_cmds[@]} -gt 0 ] || perl -MTest::Nginx::Socket -e1
fi

# nginx's own full source tree, the version Debian ships (for reading, for
# `make NGINX_SRC=.deps/nginx-src`, and for the static-build test), through
# a private deb-src list.
if [ ! -f "$deps_dir/nginx-src/src/core/nginx.h" ]; then
    src_dir="$deps_dir/apt-src"
    private_apt "$src_dir" "deb-src $(debian_mirror) bookworm main"
    echo "deps: fetching nginx's source package (deb-src)"
    apt-get "${apt_opts[@]}" update -qq
    (cd "$src_dir/debs" && apt-get "${apt_opts[@]}" source --download-only -qq nginx >/dev/null)
    rm -rf "$deps_dir/nginx-src"
    # apt checked the files against the signed Sources index; --no-check
    # only skips the .dsc's own signature (the uploader's key)
    dpkg-source --no-check -x "$(ls "$src_dir"/debs/nginx_*.dsc | head -n1)" \
        "$deps_dir/nginx-src" >/dev/null
fi

# Node packages (the local AWS emulators; fauxqs 1.9.2 is the last release
# that runs on Node 20; hls.js, which the edge serves to the web app;
# puppeteer-core, which drives Debian's chromium in t/stack/web-app.sh and
# downloads no browser), project-local and exactly as scripts/node's lock file
# says: the registry's newest @aws-sdk releases name versions it does not
# serve, so a fresh resolution can fail; the lock was resolved with
# `npm install --before=2026-11-15 --omit-lockfile-registry-resolved`.
node_dir="$deps_dir/node"
if ! cmp -s "$top"/scripts/node/package-lock.json "$node_dir/package-lock.json" \
        || [ ! -d "$node_dir/node_modules" ]; then
    echo "deps: installing the Node packages of scripts/node into $node_dir"
    mkdir -p "$node_dir"
    cp "$top"/scripts/node/package.json "$top"/scripts/node/package-lock.json "$node_dir/"
    (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) \
        || { rm -f "$node_dir/package-lock.json"; exit 1; }
fi

if [ ${#root_cmds[@]} -gt 0 ]; then
    echo "deps: not root; run these as root, then run make deps again:" >&2
    printf '  %s\n' "${root_cmds[@]}" >&2
    exit 1
fi
echo "deps: ok"
