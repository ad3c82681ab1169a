/*
 * libvidstream: Standard Webhooks signatures (standardwebhooks.com).
 *
 * A secret is "whsec_" followed by the base64 of 24 to 64 random bytes;
 * the signature of a delivery is
 *
 *     webhook-signature: v1,<base64 of HMAC-SHA256(key, id "." ts "." body)>
 *
 * with id the event's webhook-id (the same for every attempt) and ts the
 * attempt's webhook-timestamp in seconds since the epoch. Pure functions
 * over OpenSSL: no allocation, thread-safe.
 */
#ifndef VS_WEBHOOK_H
#define VS_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#define VS_WEBHOOK_KEY_MAX   64
/* "v1," + base64 of 32 bytes + NUL */
#define VS_WEBHOOK_SIG_SIZE  (3 + 44 + 1)

typedef struct {
    unsigned char  bytes[VS_WEBHOOK_KEY_MAX];
    size_t         len;
} vs_webhook_key_t;

/*
 * Decodes a "whsec_<base64>" secret (the prefix is optional, as in the
 * reference libraries) into key: 0, or -1 when it is not base64 of 24 to
 * 64 bytes.
 */
int vs_webhook_key(const char *secret, vs_webhook_key_t *key);

/* Writes "v1,<signature>" and a NUL into sig: 0, or -1. */
int vs_webhook_sign(const vs_webhook_key_t *key, const char *id,
    int64_t timestamp, const void *body, size_t body_len,
    char sig[VS_WEBHOOK_SIG_SIZE]);

/*
 * 1 when header (a webhook-signature value: space-separated "v1,<sig>"
 * entries) holds a valid signature of the delivery, compared in constant
 * time; 0 otherwise. What a receiver does, for tests and tools.
 */
int vs_webhook_verify(const vs_webhook_key_t *key, const char *id,
    int64_t timestamp, const void *body, size_t body_len,
    const char *header);

#endif
