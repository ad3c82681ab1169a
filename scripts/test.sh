#!/usr/bin/env bash
# test.sh [unit|fuzz|nginx|stack]...: runs the test suites (all by default).
#
#   unit   the C unit tests ($BUILD/t/test_*)
#   fuzz   the libFuzzer targets, briefly (fuzz/run.sh; FUZZ_SECONDS)
#   nginx  the Test::Nginx suite, prove -r t/, with the module loaded and a
#          throwaway stack (PostgreSQL, Redis, S3, SQS; no nginx, no worker)
#          whose variables are exported to the tests
#   stack  every executable t/stack/*.sh (against the same throwaway stack,
#          $VIDSTREAM_STACK_ENV; some start stacks of their own)
#
# Exits non-zero when anything failed; ends with "N passed, N failed" over
# the suites.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
export BUILD=${BUILD:-$top/build}
phases=("$@")
[ ${#phases[@]} -gt 0 ] || phases=(unit fuzz nginx stack)

passed=0 failed=0 failures=()
ok()   { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); failures+=("$1"); echo "test: FAILED: $1" >&2; }

test_run=$top/.run-test
stack_up=0
stack() {
    [ $stack_up -eq 1 ] && return 0
    RUN_DIR=$test_run STACK_NGINX=0 STACK_WORKER=0 bash scripts/stack.sh up \
        || { fail "test stack did not start"; return 1; }
    stack_up=1
    set -a
    # shellcheck disable=SC1091
    . "$test_run/stack.env"
    set +a
    export VIDSTREAM_STACK_ENV=$test_run/stack.env
}
cleanup() {
    if [ $stack_up -eq 1 ]; then
        RUN_DIR=$test_run bash scripts/stack.sh down
    fi
}
trap cleanup EXIT

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

for phase in "${phases[@]}"; do
    case $phase in
    unit)
        echo "== unit tests"
        for t in "$BUILD"/t/test_*; do
            [ -x "$t" ] || continue
            if (cd "$top" && "$t"); then ok; else fail "unit $(basename "$t")"; fi
        done
        ;;
    fuzz)
        if [ -x fuzz/run.sh ]; then
            echo "== fuzz (${FUZZ_SECONDS:-20} s a target)"
            if bash fuzz/run.sh "${FUZZ_SECONDS:-20}"; then ok; else fail fuzz; fi
        fi
        ;;
    nginx)
        echo "== Test::Nginx"
        stack || continue
        export TEST_NGINX_BINARY=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
        export TEST_NGINX_LOAD_MODULES=$BUILD/ngx_http_vidstream_module.so
        export TEST_NGINX_SERVROOT=$test_run/servroot
        export TEST_NGINX_PORT=${TEST_NGINX_PORT:-$(free_port)}
        if prove -r t/; then ok; else fail "prove -r t/"; fi
        ;;
    stack)
        echo "== stack and end-to-end tests"
        stack || continue
        for t in t/stack/*.sh; do
            [ -x "$t" ] || continue
            echo "-- $t"
            if bash "$t"; then ok; else fail "$t"; fi
        done
        ;;
    *)
        echo "test.sh: unknown phase $phase" >&2; exit 2 ;;
    esac
done

cleanup; stack_up=0
echo
[ $failed -eq 0 ] || printf 'failed: %s\n' "${failures[@]}"
echo "suites: $passed passed, $failed failed"
[ $failed -eq 0 ]
