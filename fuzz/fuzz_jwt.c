/*
 * libFuzzer target for the token and JWKS parsers
 * (ngx_vidstream_module/src/ngx_http_vidstream_jwt.c): compact JWS
 * splitting, base64url, the header and payload JSON, the claim checks, and
 * a JWKS document.  Run by fuzz/run.sh.
 *
 * The first input byte picks what the rest is fed to, so one corpus covers
 * both parsers.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_vidstream_jwt.h"


static const char  *client_ids[] = { "testclient1", "testclient2" };


/* the obvious bit-at-a-time decoder, to check the fast one against */
static long
reference_b64url(unsigned char *out, const char *in, size_t len)
{
    size_t          i;
    unsigned long   acc;
    int             v, bits;
    unsigned char   ch, *p;
    static const char  alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    if (len % 4 == 1) {
        return -1;
    }

    p = out;
    acc = 0;
    bits = 0;

    for (i = 0; i < len; i++) {
        ch = (unsigned char) in[i];
        if (ch == '\0' || strchr(alphabet, ch) == NULL) {
            return -1;
        }

        v = (int) (strchr(alphabet, ch) - alphabet);
        acc = (acc << 6) | (unsigned long) v;
        bits += 6;

        if (bits >= 8) {
            bits -= 8;
            *p++ = (unsigned char) (acc >> bits);
            acc &= (1UL << bits) - 1;
        }
    }

    return acc == 0 ? (long) (p - out) : -1;
}


static void
fuzz_token(const char *data, size_t size)
{
    const char                       *why;
    unsigned char                     buf[NGX_HTTP_VIDSTREAM_JWT_MAX_LEN];
    ngx_http_vidstream_jwt_t          jwt;
    ngx_http_vidstream_jwt_policy_t   policy;

    if (ngx_http_vidstream_jwt_parse(&jwt, data, size, &why) == 0) {

        if (jwt.signed_len > size || jwt.alg == NULL || jwt.kid == NULL) {
            abort();
        }

        policy.issuer = "https://cognito-idp.eu-west-1.amazonaws.com/x";
        policy.client_ids = client_ids;
        policy.n_client_ids = 2;
        policy.id_token = (size & 1);
        policy.leeway = 30;
        policy.now = 1800000000;

        if (ngx_http_vidstream_jwt_check_claims(&jwt, &policy, &why) == 0
            && (jwt.sub == NULL || jwt.sub_len == 0))
        {
            abort();
        }

    } else if (why == NULL) {
        abort();
    }

    ngx_http_vidstream_jwt_free(&jwt);

    /* the fast decoder agrees with the obvious one on the whole input */
    if (size <= sizeof(buf) * 4 / 3) {
        unsigned char  ref[NGX_HTTP_VIDSTREAM_JWT_MAX_LEN];
        long           n, m;

        n = ngx_http_vidstream_b64url_decode(buf, data, size);
        m = reference_b64url(ref, data, size);

        if (n != m || (n > 0 && memcmp(buf, ref, (size_t) n) != 0)) {
            abort();
        }
    }
}


static void
fuzz_jwks(const char *data, size_t size)
{
    const char                 *why;
    ngx_http_vidstream_jwks_t  *jwks;

    jwks = ngx_http_vidstream_jwks_parse(data, size, NULL, NULL, &why);
    if (jwks == NULL) {
        return;
    }

    if (jwks->nkeys > 0
        && ngx_http_vidstream_jwks_find(jwks, jwks->keys[0].kid) == NULL)
    {
        abort();
    }

    ngx_http_vidstream_jwks_free(jwks);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }

    if (data[0] == '{') {
        fuzz_jwks((const char *) data, size);

    } else {
        fuzz_token((const char *) data, size);
    }

    return 0;
}
