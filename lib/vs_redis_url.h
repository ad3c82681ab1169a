/*
 * libvidstream: the Redis URL both binaries take (nginx's vidstream_redis,
 * the worker's VIDSTREAM_REDIS_URL), parsed one way:
 *
 *     redis://[[user]:password@]host[:port][/db]
 *
 * The scheme is case-insensitive; user and password may be
 * percent-encoded (a password with '@' or ':' must be); host may be an
 * IPv6 address in brackets; port defaults to 6379, db to 0. rediss:// is
 * refused: hiredis 0.14 has no TLS. With a user, AUTH sends both (Redis 6
 * ACLs); with a password only, AUTH sends the password.
 */
#ifndef VS_REDIS_URL_H
#define VS_REDIS_URL_H

#include <stddef.h>

typedef struct {
    char   user[256];
    char   password[512];
    char   host[256];       /* without the brackets of an IPv6 address */
    int    port;
    int    db;
} vs_redis_url_t;

/*
 * Parses url[0..len) into u: NULL, or a static string saying what is
 * wrong ("has no host", …), to follow the name of the setting.
 */
const char *vs_redis_url_parse(const char *url, size_t len,
    vs_redis_url_t *u);

/* Wipes the credentials a parsed URL holds. */
void vs_redis_url_clear(vs_redis_url_t *u);

#endif
