# Sourced by t/stack/*.sh: counters and assertions that print what failed.
# Each test ends with `finish`, which prints "N passed, N failed" and exits
# non-zero when anything failed.
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
t_passed=0
t_failed=0

pass() { t_passed=$((t_passed + 1)); echo "ok - $*"; }
flunk() { t_failed=$((t_failed + 1)); echo "not ok - $*"; }

# check DESCRIPTION COMMAND...: passes when the command succeeds
check() {
    local what=$1; shift
    if "$@"; then pass "$what"; else flunk "$what"; fi
}

# is DESCRIPTION GOT WANT
is() {
    if [ "$2" = "$3" ]; then
        pass "$1"
    else
        flunk "$1"; printf '#   got:  %s\n#   want: %s\n' "$2" "$3"
    fi
}

finish() {
    echo "$(basename "$0"): $t_passed passed, $t_failed failed"
    [ "$t_failed" -eq 0 ] && [ "$t_passed" -gt 0 ]
    exit $?
}
