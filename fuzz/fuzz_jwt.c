/*
 * libFuzzer target for the token and JWKS parsers
 * (ngx_vidstream_module/src/ngx_http_vidstream_jwt_scan.c, _jwk.c and
 * _jwt_verify.c): compact JWS
 * splitting, base64url, the header and payload JSON, the claim checks, and
 * a JWKS document.  Run by fuzz/run.sh.
 *
 * The first input byte picks what the input is fed to, so one corpus covers
 * all three: "{" a JWKS document, "#" a payload JSON document (the rest of
 * the input) checked against jansson, anything else a token.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

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
    ngx_http_vidstream_jwt_policy_t   policy;

    static ngx_http_vidstream_jwt_t   jwt;

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


static size_t
b64url(char *out, const unsigned char *in, size_t len)
{
    size_t      i, n;
    uint32_t    v;
    static const char  alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    n = 0;

    for (i = 0; i + 3 <= len; i += 3) {
        v = (uint32_t) in[i] << 16 | (uint32_t) in[i + 1] << 8 | in[i + 2];
        out[n++] = alphabet[v >> 18];
        out[n++] = alphabet[(v >> 12) & 63];
        out[n++] = alphabet[(v >> 6) & 63];
        out[n++] = alphabet[v & 63];
    }

    if (len - i == 1) {
        v = (uint32_t) in[i] << 16;
        out[n++] = alphabet[v >> 18];
        out[n++] = alphabet[(v >> 12) & 63];

    } else if (len - i == 2) {
        v = (uint32_t) in[i] << 16 | (uint32_t) in[i + 1] << 8;
        out[n++] = alphabet[v >> 18];
        out[n++] = alphabet[(v >> 12) & 63];
        out[n++] = alphabet[(v >> 6) & 63];
    }

    return n;
}


/*
 * What the scanner refuses and jansson accepts: documents beyond its limits
 * (a coarse, safe over-estimate), and raw NUL bytes, which jansson's lexer
 * takes for the end of the input in some places and skips in others
 * ({"m":true\0} is an object to it).
 */
static int
beyond_limits(const char *doc, size_t len)
{
    size_t  i, open, colons;

    if (memchr(doc, '\0', len) != NULL) {
        return 1;
    }

    open = 0;
    colons = 0;

    for (i = 0; i < len; i++) {
        open += (doc[i] == '{' || doc[i] == '[');
        colons += (doc[i] == ':');
    }

    return open > 32 || colons > 128;
}


static void
check_string_claim(json_t *root, const char *name, const char *ours,
    size_t ours_len)
{
    json_t  *v;

    v = json_object_get(root, name);

    if (v == NULL) {
        if (ours != NULL) {
            abort();
        }

        return;
    }

    /* parsing succeeded, so a claim the scanner types was a string */
    if (!json_is_string(v) || ours == NULL
        || json_string_length(v) != ours_len
        || memcmp(json_string_value(v), ours, ours_len) != 0)
    {
        abort();
    }
}


/*
 * The payload scanner against jansson: whatever it accepts, jansson accepts
 * with the same claims; whatever jansson accepts, it accepts too unless a
 * claim has the wrong type or the document is beyond its limits.
 */
static void
fuzz_json(const char *doc, size_t len)
{
    int                                rc;
    char                              *token, *p;
    size_t                             n;
    json_t                            *root;
    const char                        *why;
    json_error_t                       error;

    static ngx_http_vidstream_jwt_t   jwt;
    static const char  header[] = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.";

    if (len > 4096) {
        return;
    }

    token = malloc(sizeof(header) + len * 4 / 3 + 16);
    if (token == NULL) {
        return;
    }

    p = memcpy(token, header, sizeof(header) - 1);
    p += sizeof(header) - 1;
    p += b64url(p, (const unsigned char *) doc, len);
    memcpy(p, ".c2ln", 5);
    n = (size_t) (p + 5 - token);

    rc = ngx_http_vidstream_jwt_parse(&jwt, token, n, &why);
    free(token);

    root = json_loadb(doc, len, JSON_REJECT_DUPLICATES, &error);

    if (rc == 0) {
        if (!json_is_object(root)) {
            abort();
        }

        if (jwt.payload_len != len || memcmp(jwt.payload_text, doc, len)) {
            abort();
        }

        check_string_claim(root, "sub", jwt.sub, jwt.sub_len);
        check_string_claim(root, "iss", jwt.iss,
                           jwt.iss ? strlen(jwt.iss) : 0);
        check_string_claim(root, "token_use", jwt.token_use,
                           jwt.token_use ? strlen(jwt.token_use) : 0);
        check_string_claim(root, "client_id", jwt.client_id,
                           jwt.client_id ? strlen(jwt.client_id) : 0);

        if (jwt.has_exp != (json_object_get(root, "exp") != NULL)
            || (json_is_integer(json_object_get(root, "exp"))
                && jwt.exp != json_integer_value(json_object_get(root, "exp"))))
        {
            abort();
        }

    } else if (json_is_object(root)
               && strcmp(why, "payload is not a JSON object") == 0
               && !beyond_limits(doc, len))
    {
        abort();
    }

    json_decref(root);
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

    } else if (data[0] == '#') {
        fuzz_json((const char *) data + 1, size - 1);

    } else {
        fuzz_token((const char *) data, size);
    }

    return 0;
}
