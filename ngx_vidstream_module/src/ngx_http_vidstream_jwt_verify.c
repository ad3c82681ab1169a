
/*
 * ngx_http_vidstream_jwt_verify: the checks of a scanned token; see
 * ngx_http_vidstream_jwt.h.  The contract's claim rules, SHA-256 digests
 * (the signed part, cache keys, key thumbprints) and RSASSA-PKCS1-v1_5
 * verification, both through OpenSSL's EVP API.  The caller pins the
 * algorithm to RS256 before a key is looked up.
 */

#include <string.h>
#include <openssl/evp.h>

#include "ngx_http_vidstream_jwt.h"
#include "vs_util.h"


/*
 * SHA-256, fetched once per process: an implicit fetch per token shows on
 * the cold path (and OpenSSL 3.0 loses one such fetch per process when it is
 * left to EVP_PKEY_CTX_set_signature_md() with EVP_sha256())
 */
static EVP_MD      *ngx_http_vidstream_jwt_md;


EVP_MD *
ngx_http_vidstream_jwt_sha256_md(void)
{
    if (ngx_http_vidstream_jwt_md == NULL) {
        ngx_http_vidstream_jwt_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    }

    return ngx_http_vidstream_jwt_md;
}


int
ngx_http_vidstream_jwt_sha256(const void *data, size_t len,
    unsigned char digest[32])
{
    vs_sha256v(&data, &len, 1, digest);

    return 0;
}


void
ngx_http_vidstream_jwt_cleanup(void)
{
    EVP_MD_free(ngx_http_vidstream_jwt_md);
    ngx_http_vidstream_jwt_md = NULL;
}


/*
 * RSASSA-PKCS1-v1_5-VERIFY (RFC 8017 8.2.2) of a SHA-256 digest through
 * OpenSSL's verification API, on the context the key's loading prepared:
 * OpenSSL checks the length, the representative's range and the whole
 * encoding.  t/unit/test_jwt.c checks it against EVP_DigestVerify() on
 * random keys, signatures and corruptions of them.
 */
int
ngx_http_vidstream_jwt_verify_rs256(const ngx_http_vidstream_jwk_t *key,
    const unsigned char digest[32], const unsigned char *sig, size_t sig_len)
{
    /* a signature is exactly as long as the modulus (8.2.2 step 1) */
    if (sig_len != key->n_len || key->verify == NULL) {
        return 0;
    }

    return EVP_PKEY_verify(key->verify, sig, sig_len, digest, 32) == 1;
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
        for (i = 0; i < jwt->naud; i++) {
            if (ngx_http_vidstream_jwt_client_ok(policy, jwt->aud[i])) {
                break;
            }
        }

        if (i == jwt->naud) {
            *why = "wrong audience";
            return -1;
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
