
/*
 * ngx_http_vidstream_jwt: JWTs (JWS compact, RS256) and their keys, in three
 * layers, one file each:
 *
 *     ngx_http_vidstream_jwt_scan.c    the token scanner: base64url, the
 *                                      header and claims JSON, no checks
 *     ngx_http_vidstream_jwk.c         JWK/JWKS documents into OpenSSL keys
 *     ngx_http_vidstream_jwt_verify.c  the checks: SHA-256, the RS256
 *                                      signature, the contract's claim rules
 *
 * (Fetching JWKS documents is ngx_http_vidstream_jwks_fetch.c's.)
 *
 * Pure C on OpenSSL (and jansson for JWKS documents), no nginx types, so
 * that the fuzz target and the unit tests link them alone.  Nothing here
 * chooses an algorithm from its input: the caller pins RS256, keys are RSA
 * keys built from a JWKS once, and the only verification offered is
 * RSASSA-PKCS1-v1_5 with SHA-256.
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
/* moduli of 2048 to 8192 bits are accepted */
#define NGX_HTTP_VIDSTREAM_RSA_MIN_BITS  2048
#define NGX_HTTP_VIDSTREAM_RSA_MAX_BITS  8192
#define NGX_HTTP_VIDSTREAM_RSA_MAX_BYTES (NGX_HTTP_VIDSTREAM_RSA_MAX_BITS / 8)


/* at most this many strings of an "aud" array are kept (more: rejected) */
#define NGX_HTTP_VIDSTREAM_JWT_MAX_AUD   16
/* decoded header + payload + signature of the longest token accepted */
#define NGX_HTTP_VIDSTREAM_JWT_RAW_LEN   (NGX_HTTP_VIDSTREAM_JWT_MAX_LEN / 4 * 3 + 8)


/*
 * A parsed token.  Everything points into the two buffers inside the
 * structure, so parsing allocates nothing; the structure is ~12 KiB and
 * meant for the stack.
 */
typedef struct {
    const char     *alg;            /* header "alg" (NUL-terminated) */
    const char     *kid;            /* header "kid" */

    size_t          signed_len;     /* token[0..signed_len) is signed */
    unsigned char  *sig;            /* decoded signature */
    size_t          sig_len;

    char           *payload_text;   /* decoded payload JSON, NUL-terminated */
    size_t          payload_len;

    const char     *sub;            /* claims, NULL when absent */
    size_t          sub_len;
    const char     *iss;
    const char     *token_use;
    const char     *client_id;
    const char     *aud[NGX_HTTP_VIDSTREAM_JWT_MAX_AUD];  /* the strings */
    size_t          naud;

    int64_t         exp;
    int64_t         nbf;
    int64_t         iat;
    unsigned        has_exp:1;
    unsigned        has_nbf:1;
    unsigned        has_iat:1;
    unsigned        has_aud:1;

    /* header JSON, NUL, payload JSON, NUL, signature */
    unsigned char   raw[NGX_HTTP_VIDSTREAM_JWT_RAW_LEN];
    /* the decoded JSON strings (keys and values), NUL-terminated */
    unsigned char   strings[NGX_HTTP_VIDSTREAM_JWT_RAW_LEN];
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
    /*
     * the public key, and a verification context for it prepared once
     * (RSASSA-PKCS1-v1_5 with SHA-256) and reused by every token
     */
    EVP_PKEY       *pkey;
    EVP_PKEY_CTX   *verify;
    size_t          n_len;          /* bytes of n: the signature length */
} ngx_http_vidstream_jwk_t;


typedef struct {
    ngx_http_vidstream_jwk_t  *keys;
    size_t                     nkeys;
} ngx_http_vidstream_jwks_t;


/* called for every JWK that is ignored, with the reason */
typedef void (*ngx_http_vidstream_jwks_skip_pt)(void *data, const char *kid,
    const char *why);


/* the token scanner: ngx_http_vidstream_jwt_scan.c */

/*
 * Decodes base64url without padding, strictly: only the URL alphabet, no
 * "=", no length that cannot occur, no non-zero trailing bits.  out must
 * hold len * 3 / 4 + 1 bytes.  Returns the decoded length or -1.
 */
long ngx_http_vidstream_b64url_decode(unsigned char *out, const char *in,
    size_t len);

/*
 * Splits and decodes a compact JWS: three base64url segments, header and
 * payload JSON objects, the registered claims the module uses extracted
 * with their types checked.  Verifies nothing.  The JSON is read by a
 * strict RFC 8259 scanner of our own that accepts what jansson's
 * json_loadb(JSON_REJECT_DUPLICATES) accepts (the fuzz target checks the
 * two against each other), except values nested more than 32 levels below
 * the top-level object, objects of more than 128 members (512 across the
 * objects open at once), "aud" arrays of more than 16 strings and raw NUL
 * bytes, which it refuses.  Dates (exp, nbf, iat) must be within +-1e15.
 * Allocates nothing.
 * Returns 0, or -1 with *why set to a short static reason safe to quote.
 */
int ngx_http_vidstream_jwt_parse(ngx_http_vidstream_jwt_t *jwt,
    const char *token, size_t len, const char **why);

/* JWK/JWKS parsing: ngx_http_vidstream_jwk.c */

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


/* the checks: ngx_http_vidstream_jwt_verify.c */

/*
 * SHA-256 fetched once per process (NULL if OpenSSL has none); the keys'
 * verification contexts use it too.
 */
EVP_MD *ngx_http_vidstream_jwt_sha256_md(void);

/* SHA-256 of data into digest (lib's vs_sha256v()): 0 */
int ngx_http_vidstream_jwt_sha256(const void *data, size_t len,
    unsigned char digest[32]);

/*
 * Frees what the checks keep per process (the fetched SHA-256); call it
 * before the code is unloaded.  It is fetched again on next use.
 */
void ngx_http_vidstream_jwt_cleanup(void);

/*
 * RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 8.2.2) of the SHA-256 digest of
 * the signed data: 1 valid, 0 invalid (or out of memory).
 */
int ngx_http_vidstream_jwt_verify_rs256(const ngx_http_vidstream_jwk_t *key,
    const unsigned char digest[32], const unsigned char *sig, size_t sig_len);

/* The contract's claim rules (CONTRACT.md 2).  0 or -1 with *why set. */
int ngx_http_vidstream_jwt_check_claims(const ngx_http_vidstream_jwt_t *jwt,
    const ngx_http_vidstream_jwt_policy_t *policy, const char **why);


#endif /* _NGX_HTTP_VIDSTREAM_JWT_H_INCLUDED_ */
