/*
 * libvidstream: small pure helpers both binaries need.
 */
#ifndef VS_UTIL_H
#define VS_UTIL_H

#include <stddef.h>
#include <time.h>

/* 1 when s[0..len) is a lowercase canonical UUID (8-4-4-4-12 hex). */
int vs_uuid_valid(const char *s, size_t len);

/* SHA-256 of the n pieces data[i][0..len[i]) one after the other, into
 * digest.  OpenSSL's low-level SHA256_* API: unlike EVP in OpenSSL 3 it
 * neither allocates nor frees a provider context per digest (a malloc, a
 * free and an OPENSSL_cleanse on every request of nginx's hot path). */
void vs_sha256v(const void *const *data, const size_t *len, size_t n,
    unsigned char digest[32]);

/* A new random (version 4) UUID from OpenSSL's CSPRNG, lowercase, into
 * out[0..36] with a NUL after it. Returns 0, or -1 when RAND_bytes fails
 * (out is not written then). */
int vs_uuid_v4(char out[37]);

/* RFC 3339 UTC with second precision, "2026-11-21T10:00:00Z": writes
 * VS_RFC3339_LEN bytes plus a NUL into out (which must hold 21 bytes).
 * Returns 0, or -1 when t cannot be represented. */
#define VS_RFC3339_LEN 20
int vs_rfc3339(time_t t, char out[VS_RFC3339_LEN + 1]);

/* gmtime_r() for years 0 to 9999 without its lock and time zone work
 * (tm_year, tm_mon, tm_mday, tm_hour, tm_min, tm_sec; the rest zeroed):
 * 0, or -1 outside that range. */
int vs_gmtime(time_t t, struct tm *tm);

#endif
