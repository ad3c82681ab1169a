
/*
 * ngx_http_vidstream_jwk: JWK and JWKS parsing; see ngx_http_vidstream_jwt.h.
 * A JWKS document is read with jansson (documents arrive rarely: at
 * configuration time, on rotation); each usable RSA key becomes an OpenSSL
 * public key with a verification context prepared once.  Fetching the
 * documents is ngx_http_vidstream_jwks_fetch.c's.
 */

#include <string.h>
#include <stdlib.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "ngx_http_vidstream_jwt.h"
#include "vs_util.h"


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
    unsigned char  len[4];
    const void    *data[3];
    size_t         sizes[3];

    len[0] = (unsigned char) (n_len >> 24);
    len[1] = (unsigned char) (n_len >> 16);
    len[2] = (unsigned char) (n_len >> 8);
    len[3] = (unsigned char) n_len;

    data[0] = len;
    sizes[0] = sizeof(len);
    data[1] = n;
    sizes[1] = n_len;
    data[2] = e;
    sizes[2] = e_len;

    vs_sha256v(data, sizes, 3, thumb);

    return 0;
}


/* n and e of an RSA JWK into key (pkey, verify, n_len, thumb): 0 or -1 */
static int
ngx_http_vidstream_jwk_rsa(json_t *jwk, ngx_http_vidstream_jwk_t *key,
    const char **why)
{
    int              bits, rc, n_min, e_min;
    size_t           n_len, e_len;
    BIGNUM          *n, *e;
    OSSL_PARAM      *params;
    EVP_PKEY_CTX    *from;
    OSSL_PARAM_BLD  *bld;
    unsigned char   *n_bytes, *e_bytes;
    unsigned char    n_canon[NGX_HTTP_VIDSTREAM_RSA_MAX_BYTES], e_canon[4];

    rc = -1;
    n = NULL;
    e = NULL;
    bld = NULL;
    from = NULL;
    params = NULL;

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

    bits = BN_num_bits(n);

    if (bits < NGX_HTTP_VIDSTREAM_RSA_MIN_BITS
        || bits > NGX_HTTP_VIDSTREAM_RSA_MAX_BITS)
    {
        *why = "modulus not between 2048 and 8192 bits";
        goto cleanup;
    }

    /* no RSA modulus is even */
    if (!BN_is_odd(n)) {
        *why = "even modulus";
        goto cleanup;
    }

    if (BN_num_bits(e) > 32 || !BN_is_odd(e) || BN_is_one(e)) {
        *why = "bad public exponent";
        goto cleanup;
    }

    /*
     * the thumbprint is taken over the minimal big-endian bytes, so that a
     * key republished with a leading zero byte is still the same key
     */
    n_min = BN_bn2bin(n, n_canon);
    e_min = BN_bn2bin(e, e_canon);

    if (ngx_http_vidstream_jwk_thumb(n_canon, (size_t) n_min, e_canon,
                                     (size_t) e_min, key->thumb)
        != 0)
    {
        *why = "out of memory";
        goto cleanup;
    }

    key->n_len = (size_t) BN_num_bytes(n);

    /* the public key, then its verification context, once per key */

    bld = OSSL_PARAM_BLD_new();

    if (bld == NULL
        || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n)
        || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e)
        || (params = OSSL_PARAM_BLD_to_param(bld)) == NULL
        || (from = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL
        || EVP_PKEY_fromdata_init(from) != 1
        || EVP_PKEY_fromdata(from, &key->pkey, EVP_PKEY_PUBLIC_KEY, params)
           != 1)
    {
        *why = "OpenSSL refused the key";
        goto cleanup;
    }

    key->verify = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL);

    if (key->verify == NULL
        || ngx_http_vidstream_jwt_sha256_md() == NULL
        || EVP_PKEY_verify_init(key->verify) != 1
        || EVP_PKEY_CTX_set_rsa_padding(key->verify, RSA_PKCS1_PADDING) != 1
        || EVP_PKEY_CTX_set_signature_md(key->verify,
                                         ngx_http_vidstream_jwt_sha256_md())
           != 1)
    {
        *why = "OpenSSL refused the key";
        goto cleanup;
    }

    rc = 0;

cleanup:

    if (rc != 0) {
        EVP_PKEY_CTX_free(key->verify);
        EVP_PKEY_free(key->pkey);
        key->verify = NULL;
        key->pkey = NULL;
    }

    EVP_PKEY_CTX_free(from);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    free(n_bytes);
    free(e_bytes);

    return rc;
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

        key = &jwks->keys[jwks->nkeys];

        if (reason == NULL) {
            (void) ngx_http_vidstream_jwk_rsa(jwk, key, &reason);
        }

        if (reason != NULL) {
            if (skip) {
                skip(data, kid ? kid : "", reason);
            }

            continue;
        }

        /* counted now, so that jwks_free() releases it whatever follows */
        jwks->nkeys++;

        key->kid = strdup(kid);

        if (key->kid == NULL) {
            *why = "out of memory";
            ngx_http_vidstream_jwks_free(jwks);
            json_decref(doc);
            return NULL;
        }
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
