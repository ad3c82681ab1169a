#!/usr/bin/env bash
# The module's use of libjwt 1.10 is limited to its grant API (decoding the
# claims of a token the module has verified itself): the built .so imports
# no libjwt function that takes a key or an algorithm, so no call can let a
# token's header pick how it is verified (jwt_decode() with the RSA
# public key's PEM verifies an HS256 token made with that PEM as the HMAC
# secret).  Checked on the .so's undefined dynamic symbols.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

build=${BUILD:-$TOP/build}
so=$build/ngx_http_vidstream_module.so
[ -f "$so" ] || { echo "$so not built"; exit 1; }

allowed="jwt_add_grants_json jwt_free jwt_get_grant jwt_get_grants_json jwt_new"

imports=$(nm -D --undefined-only "$so" | awk '$2 ~ /^jwt_/ { print $2 }' | sort)

check "the module links libjwt's grant API" test -n "$imports"

for sym in $imports; do
    case " $allowed " in
        *" $sym "*) pass "$sym is part of the grant API" ;;
        *) flunk "the module imports libjwt's $sym" ;;
    esac
done

# the functions that take a key, or let the token's header pick the algorithm
for sym in jwt_decode jwt_set_alg jwt_encode_str jwt_encode_fp; do
    check "$sym is not imported" \
        bash -c "! grep -qx '$sym' <<< '$imports'"
done

finish
