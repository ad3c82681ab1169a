
/*
 * ngx_http_vidstream_jwt: see ngx_http_vidstream_jwt.h.
 *
 * libjwt is deliberately not used: its jwt_decode() takes a key and lets the
 * token's header pick the algorithm (an HS256 token "verifies" with the RSA
 * public key's PEM as HMAC secret).  Parsing a JWS is a split, two base64url
 * decodes and two JSON documents; jansson does the JSON.
 */

#include <string.h>
#include <stdlib.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "ngx_http_vidstream_jwt.h"


static const signed char  ngx_http_vidstream_b64url[256] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
    -1,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, 63,
    -1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1
};


long
ngx_http_vidstream_b64url_decode(unsigned char *out, const char *in,
    size_t len)
{
    int                   a, b, c, d;
    size_t                i, rest;
    unsigned char        *p;
    const unsigned char  *s;

    if (len % 4 == 1) {
        return -1;
    }

    p = out;
    s = (const unsigned char *) in;
    rest = len % 4;

    for (i = 0; i + 4 <= len; i += 4) {
        a = ngx_http_vidstream_b64url[s[i]];
        b = ngx_http_vidstream_b64url[s[i + 1]];
        c = ngx_http_vidstream_b64url[s[i + 2]];
        d = ngx_http_vidstream_b64url[s[i + 3]];

        if ((a | b | c | d) < 0) {
            return -1;
        }

        *p++ = (unsigned char) (a << 2 | b >> 4);
        *p++ = (unsigned char) (b << 4 | c >> 2);
        *p++ = (unsigned char) (c << 6 | d);
    }

    if (rest == 0) {
        return (long) (p - out);
    }

    a = ngx_http_vidstream_b64url[s[i]];
    b = ngx_http_vidstream_b64url[s[i + 1]];
    c = (rest == 3) ? ngx_http_vidstream_b64url[s[i + 2]] : 0;

    if ((a | b | c) < 0) {
        return -1;
    }

    /* the leftover bits of a canonical encoding are zero */

    *p++ = (unsigned char) (a << 2 | b >> 4);

    if (rest == 2) {
        if (b & 0x0f) {
            return -1;
        }

    } else {
        if (c & 0x03) {
            return -1;
        }

        *p++ = (unsigned char) (b << 4 | c >> 2);
    }

    return (long) (p - out);
}


/* decodes a base64url segment into a fresh NUL-terminated buffer */
static unsigned char *
ngx_http_vidstream_jwt_segment(const char *in, size_t len, size_t *out_len)
{
    long            n;
    unsigned char  *out;

    out = malloc(len * 3 / 4 + 2);
    if (out == NULL) {
        return NULL;
    }

    n = ngx_http_vidstream_b64url_decode(out, in, len);
    if (n < 0) {
        free(out);
        return NULL;
    }

    out[n] = '\0';
    *out_len = (size_t) n;

    return out;
}


/* a NumericDate: an integer, or a real with an integral part that fits */
static int
ngx_http_vidstream_jwt_date(json_t *v, int64_t *date)
{
    double  d;

    if (json_is_integer(v)) {
        *date = (int64_t) json_integer_value(v);
        return 0;
    }

    if (json_is_real(v)) {
        d = json_real_value(v);
        if (!(d > -1e15 && d < 1e15)) {
            return -1;
        }

        *date = (int64_t) d;
        return 0;
    }

    return -1;
}


/* an optional string claim: 0 absent or string, -1 present and not one */
static int
ngx_http_vidstream_jwt_string(json_t *obj, const char *name, const char **s,
    size_t *len)
{
    json_t  *v;

    v = json_object_get(obj, name);
    if (v == NULL) {
        *s = NULL;
        return 0;
    }

    if (!json_is_string(v)) {
        return -1;
    }

    *s = json_string_value(v);

    /* an embedded NUL would make "iss\u0000x" compare equal to "iss" */
    if (strlen(*s) != json_string_length(v)) {
        return -1;
    }

    if (len) {
        *len = json_string_length(v);
    }

    return 0;
}


int
ngx_http_vidstream_jwt_parse(ngx_http_vidstream_jwt_t *jwt,
    const char *token, size_t len, const char **why)
{
    size_t          header_len, payload_len, dot1, dot2, i;
    json_t         *v;
    json_error_t    error;
    unsigned char  *header_text;

    memset(jwt, 0, sizeof(ngx_http_vidstream_jwt_t));

    if (len == 0) {
        *why = "empty token";
        return -1;
    }

    if (len > NGX_HTTP_VIDSTREAM_JWT_MAX_LEN) {
        *why = "token too large";
        return -1;
    }

    dot1 = 0;
    dot2 = 0;

    for (i = 0; i < len; i++) {
        if (token[i] != '.') {
            continue;
        }

        if (dot1 == 0) {
            dot1 = i + 1;

        } else if (dot2 == 0) {
            dot2 = i + 1;

        } else {
            *why = "token does not have three segments";
            return -1;
        }
    }

    if (dot2 == 0) {
        *why = "token does not have three segments";
        return -1;
    }

    /* an empty signature is left to the algorithm check ("alg": "none") */
    if (dot1 == 1 || dot2 == dot1 + 1) {
        *why = "token has an empty segment";
        return -1;
    }

    header_text = ngx_http_vidstream_jwt_segment(token, dot1 - 1, &header_len);
    if (header_text == NULL) {
        *why = "malformed base64url in header";
        return -1;
    }

    jwt->header = json_loadb((const char *) header_text, header_len,
                             JSON_REJECT_DUPLICATES, &error);
    free(header_text);

    if (jwt->header == NULL || !json_is_object(jwt->header)) {
        *why = "header is not a JSON object";
        return -1;
    }

    jwt->payload_text = (char *) ngx_http_vidstream_jwt_segment(token + dot1,
                                                   dot2 - dot1 - 1,
                                                   &payload_len);
    if (jwt->payload_text == NULL) {
        *why = "malformed base64url in payload";
        return -1;
    }

    jwt->payload_len = payload_len;

    jwt->payload = json_loadb(jwt->payload_text, payload_len,
                              JSON_REJECT_DUPLICATES, &error);

    if (jwt->payload == NULL || !json_is_object(jwt->payload)) {
        *why = "payload is not a JSON object";
        return -1;
    }

    jwt->sig = ngx_http_vidstream_jwt_segment(token + dot2, len - dot2,
                                              &jwt->sig_len);
    if (jwt->sig == NULL) {
        *why = "malformed base64url in signature";
        return -1;
    }

    jwt->signed_len = dot2 - 1;

    /* header */

    if (ngx_http_vidstream_jwt_string(jwt->header, "alg", &jwt->alg, NULL)
        != 0 || jwt->alg == NULL)
    {
        *why = "header has no alg";
        return -1;
    }

    if (ngx_http_vidstream_jwt_string(jwt->header, "kid", &jwt->kid, NULL)
        != 0 || jwt->kid == NULL || jwt->kid[0] == '\0')
    {
        *why = "header has no kid";
        return -1;
    }

    /* we implement no JWS extension, so none can be critical (RFC 7515) */
    if (json_object_get(jwt->header, "crit") != NULL) {
        *why = "unsupported crit header";
        return -1;
    }

    /* claims */

    if (ngx_http_vidstream_jwt_string(jwt->payload, "sub", &jwt->sub,
                                      &jwt->sub_len) != 0
        || ngx_http_vidstream_jwt_string(jwt->payload, "iss", &jwt->iss,
                                         NULL) != 0
        || ngx_http_vidstream_jwt_string(jwt->payload, "token_use",
                                         &jwt->token_use, NULL) != 0
        || ngx_http_vidstream_jwt_string(jwt->payload, "client_id",
                                         &jwt->client_id, NULL) != 0)
    {
        *why = "claim of the wrong type";
        return -1;
    }

    v = json_object_get(jwt->payload, "aud");
    if (v != NULL && !json_is_string(v) && !json_is_array(v)) {
        *why = "claim of the wrong type";
        return -1;
    }

    jwt->aud = v;

    v = json_object_get(jwt->payload, "exp");
    if (v != NULL) {
        if (ngx_http_vidstream_jwt_date(v, &jwt->exp) != 0) {
            *why = "exp is not a date";
            return -1;
        }

        jwt->has_exp = 1;
    }

    v = json_object_get(jwt->payload, "nbf");
    if (v != NULL) {
        if (ngx_http_vidstream_jwt_date(v, &jwt->nbf) != 0) {
            *why = "nbf is not a date";
            return -1;
        }

        jwt->has_nbf = 1;
    }

    v = json_object_get(jwt->payload, "iat");
    if (v != NULL) {
        if (ngx_http_vidstream_jwt_date(v, &jwt->iat) != 0) {
            *why = "iat is not a date";
            return -1;
        }

        jwt->has_iat = 1;
    }

    return 0;
}


void
ngx_http_vidstream_jwt_free(ngx_http_vidstream_jwt_t *jwt)
{
    if (jwt->header) {
        json_decref(jwt->header);
    }

    if (jwt->payload) {
        json_decref(jwt->payload);
    }

    free(jwt->payload_text);
    free(jwt->sig);

    memset(jwt, 0, sizeof(ngx_http_vidstream_jwt_t));
}


static int
ngx_http_vidstream_jwt_client_ok(const ngx_http_vidstream_jwt_policy_t *policy,
    const char *id)
{
    size_t  i;

    for (i = 0; i < policy->n_client_ids; i++) {
        if (strcmp(policy->client_ids[i], id) == 0) {
            return 1;
        }
    }

    return 0;
}


int
ngx_http_vidstream_jwt_check_claims(const ngx_http_vidstream_jwt_t *jwt,
    const ngx_http_vidstream_jwt_policy_t *policy, const char **why)
{
    size_t       i;
    json_t      *v;
    const char  *want;

    if (!jwt->has_exp) {
        *why = "token has no exp";
        return -1;
    }

    if (jwt->exp + policy->leeway <= policy->now) {
        *why = "token expired";
        return -1;
    }

    if (jwt->has_nbf && jwt->nbf - policy->leeway > policy->now) {
        *why = "token not yet valid (nbf)";
        return -1;
    }

    if (jwt->has_iat && jwt->iat - policy->leeway > policy->now) {
        *why = "token issued in the future (iat)";
        return -1;
    }

    if (jwt->iss == NULL || strcmp(jwt->iss, policy->issuer) != 0) {
        *why = "wrong issuer";
        return -1;
    }

    want = policy->id_token ? "id" : "access";

    if (jwt->token_use == NULL || strcmp(jwt->token_use, want) != 0) {
        *why = "wrong token_use";
        return -1;
    }

    if (policy->id_token) {
        if (jwt->aud == NULL) {
            *why = "wrong audience";
            return -1;
        }

        if (json_is_string(jwt->aud)) {
            if (!ngx_http_vidstream_jwt_client_ok(policy,
                                            json_string_value(jwt->aud)))
            {
                *why = "wrong audience";
                return -1;
            }

        } else {
            for (i = 0; i < json_array_size(jwt->aud); i++) {
                v = json_array_get(jwt->aud, i);
                if (json_is_string(v)
                    && ngx_http_vidstream_jwt_client_ok(policy,
                                                    json_string_value(v)))
                {
                    break;
                }
            }

            if (i == json_array_size(jwt->aud)) {
                *why = "wrong audience";
                return -1;
            }
        }

    } else if (jwt->client_id == NULL
               || !ngx_http_vidstream_jwt_client_ok(policy, jwt->client_id))
    {
        *why = "wrong client_id";
        return -1;
    }

    if (jwt->sub == NULL || jwt->sub_len == 0) {
        *why = "token has no sub";
        return -1;
    }

    /*
     * sub names S3 prefixes and database rows: a Cognito sub is a UUID, so
     * anything with control characters, "/" or NULs is refused outright
     */
    if (jwt->sub_len > NGX_HTTP_VIDSTREAM_SUB_MAX_LEN) {
        *why = "sub too long";
        return -1;
    }

    for (i = 0; i < jwt->sub_len; i++) {
        if ((unsigned char) jwt->sub[i] < 0x20 || jwt->sub[i] == 0x7f
            || jwt->sub[i] == '/' || jwt->sub[i] == '\\')
        {
            *why = "sub has invalid characters";
            return -1;
        }
    }

    return 0;
}


/*
 * SHA-256, fetched once per process: an implicit fetch per token shows on
 * the cold path (and OpenSSL 3.0 loses one such fetch per process when it is
 * left to EVP_PKEY_CTX_set_signature_md() with EVP_sha256())
 */
static EVP_MD  *ngx_http_vidstream_jwt_sha256;


static EVP_MD *
ngx_http_vidstream_sha256(void)
{
    if (ngx_http_vidstream_jwt_sha256 == NULL) {
        ngx_http_vidstream_jwt_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    }

    return ngx_http_vidstream_jwt_sha256;
}


void
ngx_http_vidstream_jwt_cleanup(void)
{
    EVP_MD_free(ngx_http_vidstream_jwt_sha256);
    ngx_http_vidstream_jwt_sha256 = NULL;
}


int
ngx_http_vidstream_jwt_verify_rs256(const ngx_http_vidstream_jwk_t *key,
    const unsigned char *msg, size_t msg_len, const unsigned char *sig,
    size_t sig_len)
{
    EVP_MD         *sha256;
    unsigned char   digest[32];

    /* a PKCS#1 v1.5 signature is exactly as long as the modulus */
    if (sig_len != (size_t) EVP_PKEY_get_size(key->pkey)) {
        return 0;
    }

    sha256 = ngx_http_vidstream_sha256();

    if (sha256 == NULL
        || EVP_Digest(msg, msg_len, digest, NULL, sha256, NULL) != 1)
    {
        return 0;
    }

    /* the context was set up for PKCS#1 v1.5 with SHA-256 when loaded */
    return EVP_PKEY_verify(key->verify, sig, sig_len, digest,
                           sizeof(digest)) == 1;
}


/* a verification context pinned to RS256, reusable for many signatures */
static EVP_PKEY_CTX *
ngx_http_vidstream_jwk_verify_ctx(EVP_PKEY *pkey)
{
    EVP_MD        *sha256;
    EVP_PKEY_CTX  *ctx;

    sha256 = ngx_http_vidstream_sha256();
    if (sha256 == NULL) {
        return NULL;
    }

    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (ctx == NULL) {
        return NULL;
    }

    if (EVP_PKEY_verify_init(ctx) != 1
        || EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1
        || EVP_PKEY_CTX_set_signature_md(ctx, sha256) != 1)
    {
        EVP_PKEY_CTX_free(ctx);
        return NULL;
    }

    return ctx;
}


/* the decoded bytes of a base64url JWK member, or NULL */
static unsigned char *
ngx_http_vidstream_jwk_bytes(json_t *jwk, const char *name, size_t *len)
{
    json_t  *v;

    v = json_object_get(jwk, name);
    if (!json_is_string(v) || json_string_length(v) == 0
        || json_string_length(v) > 2048)
    {
        return NULL;
    }

    return ngx_http_vidstream_jwt_segment(json_string_value(v),
                                          json_string_length(v), len);
}


/* SHA-256 over len(n), n and e: what the key is, whatever its kid */
static int
ngx_http_vidstream_jwk_thumb(const unsigned char *n, size_t n_len,
    const unsigned char *e, size_t e_len, unsigned char *thumb)
{
    int             rc;
    EVP_MD         *sha256;
    EVP_MD_CTX     *md;
    unsigned char   len[4];

    sha256 = ngx_http_vidstream_sha256();
    md = EVP_MD_CTX_new();

    if (sha256 == NULL || md == NULL) {
        EVP_MD_CTX_free(md);
        return -1;
    }

    len[0] = (unsigned char) (n_len >> 24);
    len[1] = (unsigned char) (n_len >> 16);
    len[2] = (unsigned char) (n_len >> 8);
    len[3] = (unsigned char) n_len;

    rc = (EVP_DigestInit_ex(md, sha256, NULL) == 1
          && EVP_DigestUpdate(md, len, sizeof(len)) == 1
          && EVP_DigestUpdate(md, n, n_len) == 1
          && EVP_DigestUpdate(md, e, e_len) == 1
          && EVP_DigestFinal_ex(md, thumb, NULL) == 1) ? 0 : -1;

    EVP_MD_CTX_free(md);

    return rc;
}


static EVP_PKEY *
ngx_http_vidstream_jwk_rsa(json_t *jwk, unsigned char *thumb,
    const char **why)
{
    int              bits;
    size_t           n_len, e_len;
    BIGNUM          *n, *e;
    EVP_PKEY        *pkey;
    OSSL_PARAM      *params;
    EVP_PKEY_CTX    *pctx;
    unsigned char   *n_bytes, *e_bytes;
    OSSL_PARAM_BLD  *bld;

    n = NULL;
    e = NULL;
    pkey = NULL;
    params = NULL;
    pctx = NULL;
    bld = NULL;

    n_bytes = ngx_http_vidstream_jwk_bytes(jwk, "n", &n_len);
    e_bytes = ngx_http_vidstream_jwk_bytes(jwk, "e", &e_len);

    if (n_bytes == NULL || e_bytes == NULL) {
        *why = "malformed n or e";
        goto cleanup;
    }

    n = BN_bin2bn(n_bytes, (int) n_len, NULL);
    e = BN_bin2bn(e_bytes, (int) e_len, NULL);

    if (n == NULL || e == NULL) {
        *why = "out of memory";
        goto cleanup;
    }

    if (ngx_http_vidstream_jwk_thumb(n_bytes, n_len, e_bytes, e_len, thumb)
        != 0)
    {
        *why = "out of memory";
        goto cleanup;
    }

    bits = BN_num_bits(n);

    if (bits < 2048 || bits > 8192) {
        *why = "modulus not between 2048 and 8192 bits";
        goto cleanup;
    }

    if (BN_num_bits(e) > 32 || !BN_is_odd(e) || BN_is_one(e)) {
        *why = "bad public exponent";
        goto cleanup;
    }

    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL
        || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n)
        || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
    {
        *why = "out of memory";
        goto cleanup;
    }

    params = OSSL_PARAM_BLD_to_param(bld);
    pctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);

    if (params == NULL || pctx == NULL
        || EVP_PKEY_fromdata_init(pctx) != 1
        || EVP_PKEY_fromdata(pctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
    {
        *why = "OpenSSL rejected the key";
        pkey = NULL;
        goto cleanup;
    }

cleanup:

    EVP_PKEY_CTX_free(pctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    free(n_bytes);
    free(e_bytes);

    return pkey;
}


/* NULL when jwk is usable for RS256 verification, else why not */
static const char *
ngx_http_vidstream_jwk_unusable(json_t *jwk)
{
    json_t  *v;

    v = json_object_get(jwk, "kty");
    if (!json_is_string(v) || strcmp(json_string_value(v), "RSA") != 0) {
        return "kty is not RSA";
    }

    v = json_object_get(jwk, "use");
    if (v != NULL
        && (!json_is_string(v) || strcmp(json_string_value(v), "sig") != 0))
    {
        return "use is not sig";
    }

    v = json_object_get(jwk, "alg");
    if (v != NULL
        && (!json_is_string(v) || strcmp(json_string_value(v), "RS256") != 0))
    {
        return "alg is not RS256";
    }

    return NULL;
}


ngx_http_vidstream_jwks_t *
ngx_http_vidstream_jwks_parse(const char *text, size_t len,
    ngx_http_vidstream_jwks_skip_pt skip, void *data, const char **why)
{
    size_t                      i, n;
    json_t                     *doc, *keys, *jwk, *v;
    EVP_PKEY                   *pkey;
    const char                 *kid, *reason;
    json_error_t                error;
    ngx_http_vidstream_jwk_t   *key;
    ngx_http_vidstream_jwks_t  *jwks;

    if (len > NGX_HTTP_VIDSTREAM_JWKS_MAX_LEN) {
        *why = "JWKS too large";
        return NULL;
    }

    doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &error);
    if (doc == NULL || !json_is_object(doc)) {
        *why = "JWKS is not a JSON object";
        json_decref(doc);
        return NULL;
    }

    keys = json_object_get(doc, "keys");
    if (!json_is_array(keys)) {
        *why = "JWKS has no \"keys\" array";
        json_decref(doc);
        return NULL;
    }

    n = json_array_size(keys);
    if (n > NGX_HTTP_VIDSTREAM_JWKS_MAX_KEYS) {
        *why = "JWKS has too many keys";
        json_decref(doc);
        return NULL;
    }

    jwks = calloc(1, sizeof(ngx_http_vidstream_jwks_t));
    if (jwks == NULL) {
        *why = "out of memory";
        json_decref(doc);
        return NULL;
    }

    jwks->keys = calloc(n ? n : 1, sizeof(ngx_http_vidstream_jwk_t));
    if (jwks->keys == NULL) {
        *why = "out of memory";
        free(jwks);
        json_decref(doc);
        return NULL;
    }

    for (i = 0; i < n; i++) {
        jwk = json_array_get(keys, i);

        v = json_object_get(jwk, "kid");
        kid = json_is_string(v) ? json_string_value(v) : NULL;

        if (!json_is_object(jwk)) {
            reason = "not an object";

        } else if (kid == NULL || kid[0] == '\0') {
            reason = "no kid";

        } else if (ngx_http_vidstream_jwks_find(jwks, kid) != NULL) {
            reason = "duplicate kid";

        } else {
            reason = ngx_http_vidstream_jwk_unusable(jwk);
        }

        pkey = NULL;

        key = &jwks->keys[jwks->nkeys];

        if (reason == NULL) {
            pkey = ngx_http_vidstream_jwk_rsa(jwk, key->thumb, &reason);
        }

        if (pkey == NULL) {
            if (skip) {
                skip(data, kid ? kid : "", reason);
            }

            continue;
        }

        key->verify = ngx_http_vidstream_jwk_verify_ctx(pkey);
        key->kid = strdup(kid);

        if (key->kid == NULL || key->verify == NULL) {
            free(key->kid);
            EVP_PKEY_CTX_free(key->verify);
            EVP_PKEY_free(pkey);
            *why = "out of memory";
            ngx_http_vidstream_jwks_free(jwks);
            json_decref(doc);
            return NULL;
        }

        key->pkey = pkey;
        jwks->nkeys++;
    }

    json_decref(doc);

    return jwks;
}


void
ngx_http_vidstream_jwks_free(ngx_http_vidstream_jwks_t *jwks)
{
    size_t  i;

    if (jwks == NULL) {
        return;
    }

    for (i = 0; i < jwks->nkeys; i++) {
        free(jwks->keys[i].kid);
        EVP_PKEY_CTX_free(jwks->keys[i].verify);
        EVP_PKEY_free(jwks->keys[i].pkey);
    }

    free(jwks->keys);
    free(jwks);
}


const ngx_http_vidstream_jwk_t *
ngx_http_vidstream_jwks_find(const ngx_http_vidstream_jwks_t *jwks,
    const char *kid)
{
    size_t  i;

    if (jwks == NULL) {
        return NULL;
    }

    for (i = 0; i < jwks->nkeys; i++) {
        if (strcmp(jwks->keys[i].kid, kid) == 0) {
            return &jwks->keys[i];
        }
    }

    return NULL;
}
