/*
 * libvidstream: Standard Webhooks signatures (vs_webhook.h).
 */
#include "vs_webhook.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>


int
vs_webhook_key(const char *secret, vs_webhook_key_t *key)
{
    int            n;
    size_t         len, pad;
    unsigned char  out[(VS_WEBHOOK_KEY_MAX + 2) / 3 * 3 + 3];

    if (strncmp(secret, "whsec_", 6) == 0) {
        secret += 6;
    }

    len = strlen(secret);

    /* base64 with padding: 24..64 bytes are 32..88 characters */
    if (len % 4 != 0 || len < 32 || len > 88) {
        return -1;
    }

    n = EVP_DecodeBlock(out, (const unsigned char *) secret, (int) len);
    if (n < 0) {
        return -1;
    }

    /* EVP_DecodeBlock counts the padding's zero bytes: take them off */
    pad = (secret[len - 1] == '=') + (secret[len - 2] == '=');
    if ((size_t) n < pad) {
        return -1;
    }

    key->len = (size_t) n - pad;
    if (key->len < 24 || key->len > VS_WEBHOOK_KEY_MAX) {
        OPENSSL_cleanse(out, sizeof(out));
        return -1;
    }

    memcpy(key->bytes, out, key->len);
    OPENSSL_cleanse(out, sizeof(out));
    return 0;
}


/* the raw HMAC of the delivery into mac (32 bytes): 0 or -1 */
static int
vs_webhook_mac(const vs_webhook_key_t *key, const char *id, int64_t ts,
    const void *body, size_t body_len, unsigned char mac[32])
{
    int            rc = -1, n;
    char           prefix[32];
    size_t         mac_len;
    EVP_MAC       *hmac;
    EVP_MAC_CTX   *ctx = NULL;
    OSSL_PARAM     params[2];

    n = snprintf(prefix, sizeof(prefix), ".%" PRId64 ".", ts);
    if (n < 0 || (size_t) n >= sizeof(prefix)) {
        return -1;
    }

    hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (hmac == NULL || (ctx = EVP_MAC_CTX_new(hmac)) == NULL) {
        goto cleanup;
    }

    params[0] = OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();

    if (EVP_MAC_init(ctx, key->bytes, key->len, params) != 1
        || EVP_MAC_update(ctx, (const unsigned char *) id, strlen(id)) != 1
        || EVP_MAC_update(ctx, (const unsigned char *) prefix, (size_t) n)
           != 1
        || EVP_MAC_update(ctx, body, body_len) != 1
        || EVP_MAC_final(ctx, mac, &mac_len, 32) != 1
        || mac_len != 32)
    {
        goto cleanup;
    }

    rc = 0;

cleanup:

    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(hmac);
    return rc;
}


int
vs_webhook_sign(const vs_webhook_key_t *key, const char *id,
    int64_t timestamp, const void *body, size_t body_len,
    char sig[VS_WEBHOOK_SIG_SIZE])
{
    unsigned char  mac[32];

    if (vs_webhook_mac(key, id, timestamp, body, body_len, mac) != 0) {
        return -1;
    }

    memcpy(sig, "v1,", 3);
    EVP_EncodeBlock((unsigned char *) sig + 3, mac, 32);  /* 44 + NUL */
    return 0;
}


int
vs_webhook_verify(const vs_webhook_key_t *key, const char *id,
    int64_t timestamp, const void *body, size_t body_len,
    const char *header)
{
    int          ok = 0;
    size_t       len;
    const char  *p, *end;
    char         want[VS_WEBHOOK_SIG_SIZE];

    if (vs_webhook_sign(key, id, timestamp, body, body_len, want) != 0) {
        return 0;
    }

    /* every entry is compared, so the time does not tell which matched */
    for (p = header; *p != '\0'; p = end) {
        while (*p == ' ') {
            p++;
        }
        end = strchr(p, ' ');
        if (end == NULL) {
            end = p + strlen(p);
        }
        len = (size_t) (end - p);
        if (len == VS_WEBHOOK_SIG_SIZE - 1
            && CRYPTO_memcmp(p, want, len) == 0)
        {
            ok = 1;
        }
    }

    return ok;
}
