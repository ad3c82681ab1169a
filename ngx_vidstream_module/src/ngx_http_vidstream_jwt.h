
/*
 * ngx_http_vidstream_jwt: JWT (JWS compact, RS256) parsing, JWKS parsing
 * and RS256 verification.
 *
 * Pure C on jansson and OpenSSL, no nginx types, so that the fuzz target
 * (fuzz/fuzz_jwt.c) links it alone.  Nothing here chooses an algorithm from
 * its input: the caller pins RS256, keys are RSA keys built from a JWKS once,
 * and the only verification offered is RSASSA-PKCS1-v1_5 with SHA-256.
 */

#ifndef _NGX_HTTP_VIDSTREAM_JWT_H_INCLUDED_
#define _NGX_HTTP_VIDSTREAM_JWT_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <jansson.h>
#include <openssl/evp.h>


/* longer tokens are rejected before any decoding (Cognito's are ~1 KiB) */
#define NGX_HTTP_VIDSTREAM_JWT_MAX_LEN   8192
/* a JWKS with more keys than this is rejected (Cognito publishes two) */
#define NGX_HTTP_VIDSTREAM_JWKS_MAX_KEYS 64
#define NGX_HTTP_VIDSTREAM_JWKS_MAX_LEN  (1024 * 1024)
#define NGX_HTTP_VIDSTREAM_SUB_MAX_LEN   255


typedef struct {
    const char     *alg;            /* header "alg" (NUL-terminated) */
    const char     *kid;            /* header "kid" */

    size_t          signed_len;     /* token[0..signed_len) is signed */
    unsigned char  *sig;            /* decoded signature */
    size_t          sig_len;

    char           *payload_text;   /* decoded payload JSON */
    size_t          payload_len;

    const char     *sub;            /* claims, NULL when absent */
    size_t          sub_len;
    const char     *iss;
    const char     *token_use;
    const char     *client_id;
    json_t         *aud;            /* string or array, borrowed */

    int64_t         exp;
    int64_t         nbf;
    int64_t         iat;
    unsigned        has_exp:1;
    unsigned        has_nbf:1;
    unsigned        has_iat:1;

    json_t         *header;         /* owned */
    json_t         *payload;        /* owned */
} ngx_http_vidstream_jwt_t;


typedef struct {
    const char     *issuer;
    const char    **client_ids;     /* n_client_ids NUL-terminated strings */
    size_t          n_client_ids;
    int             id_token;       /* 0: token_use "access", 1: "id" */
    int64_t         leeway;
    int64_t         now;
} ngx_http_vidstream_jwt_policy_t;


#define NGX_HTTP_VIDSTREAM_JWK_THUMB_LEN  32


typedef struct {
    char           *kid;
    /* SHA-256 of n and e: tells a re-published kid with a new key apart */
    unsigned char   thumb[NGX_HTTP_VIDSTREAM_JWK_THUMB_LEN];
    EVP_PKEY       *pkey;
    /* initialised once for RS256 verification: PKCS#1 v1.5, SHA-256 */
    EVP_PKEY_CTX   *verify;
} ngx_http_vidstream_jwk_t;


typedef struct {
    ngx_http_vidstream_jwk_t  *keys;
    size_t                     nkeys;
} ngx_http_vidstream_jwks_t;


/* called for every JWK that is ignored, with the reason */
typedef void (*ngx_http_vidstream_jwks_skip_pt)(void *data, const char *kid,
    const char *why);


/*
 * Decodes base64url without padding, strictly: only the URL alphabet, no
 * "=", no length that cannot occur, no non-zero trailing bits.  out must
 * hold len * 3 / 4 + 1 bytes.  Returns the decoded length or -1.
 */
long ngx_http_vidstream_b64url_decode(unsigned char *out, const char *in,
    size_t len);

/*
 * Splits and decodes a compact JWS: three base64url segments, header and
 * payload JSON objects (duplicate keys rejected), the registered claims the
 * module uses extracted with their types checked.  Verifies nothing.
 * Returns 0, or -1 with *why set to a short static reason safe to quote.
 * jwt must be released with ngx_http_vidstream_jwt_free() either way.
 */
int ngx_http_vidstream_jwt_parse(ngx_http_vidstream_jwt_t *jwt,
    const char *token, size_t len, const char **why);

void ngx_http_vidstream_jwt_free(ngx_http_vidstream_jwt_t *jwt);

/* The contract's claim rules (CONTRACT.md 2).  0 or -1 with *why set. */
int ngx_http_vidstream_jwt_check_claims(const ngx_http_vidstream_jwt_t *jwt,
    const ngx_http_vidstream_jwt_policy_t *policy, const char **why);

/* RSASSA-PKCS1-v1_5 SHA-256 over msg with key: 1 valid, 0 invalid. */
int ngx_http_vidstream_jwt_verify_rs256(const ngx_http_vidstream_jwk_t *key,
    const unsigned char *msg, size_t msg_len, const unsigned char *sig,
    size_t sig_len);

/*
 * Parses a JWKS document into RSA public keys.  Keys that are not usable
 * for RS256 signatures (kty other than RSA, "use" other than "sig", "alg"
 * other than RS256, a missing kid, a malformed or weak modulus, a duplicate
 * kid) are skipped and reported through skip.  Returns NULL with *why set
 * when the document itself is not a JWKS.  An empty key set is valid.
 */
ngx_http_vidstream_jwks_t *ngx_http_vidstream_jwks_parse(const char *text,
    size_t len, ngx_http_vidstream_jwks_skip_pt skip, void *data,
    const char **why);

void ngx_http_vidstream_jwks_free(ngx_http_vidstream_jwks_t *jwks);

const ngx_http_vidstream_jwk_t *ngx_http_vidstream_jwks_find(
    const ngx_http_vidstream_jwks_t *jwks, const char *kid);

/*
 * Frees what this file keeps per process (the fetched SHA-256); call it
 * before the code is unloaded.  Everything is fetched again on next use.
 */
void ngx_http_vidstream_jwt_cleanup(void);


#endif /* _NGX_HTTP_VIDSTREAM_JWT_H_INCLUDED_ */
