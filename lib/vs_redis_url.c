/*
 * libvidstream: the Redis URL (vs_redis_url.h).
 */
#include "vs_redis_url.h"

#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>


static int
vs_hex(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}


/* Percent-decodes [p, end) into out (size bytes, NUL-terminated): 0/-1. */
static int
vs_unescape(const char *p, const char *end, char *out, size_t size)
{
    size_t  n = 0;
    int     hi, lo;

    while (p < end) {
        if (n + 1 >= size) {
            return -1;
        }
        if (*p == '%') {
            if (end - p < 3 || (hi = vs_hex(p[1])) < 0
                || (lo = vs_hex(p[2])) < 0 || (hi == 0 && lo == 0))
            {
                return -1;
            }
            out[n++] = (char) (hi << 4 | lo);
            p += 3;
        } else {
            out[n++] = *p++;
        }
    }

    out[n] = '\0';
    return 0;
}


/* A decimal number in [p, end) from min to max, else -1. */
static long
vs_number(const char *p, const char *end, long min, long max)
{
    long  n = 0;

    if (p == end || end - p > 9) {
        return -1;
    }
    for ( /* void */ ; p < end; p++) {
        if (*p < '0' || *p > '9') {
            return -1;
        }
        n = n * 10 + (*p - '0');
    }
    return n >= min && n <= max ? n : -1;
}


const char *
vs_redis_url_parse(const char *url, size_t len, vs_redis_url_t *u)
{
    long         n;
    const char  *p, *last, *at, *colon, *s, *host, *host_end;

    memset(u, 0, sizeof(*u));
    u->port = 6379;

    if (len < 8 || strncasecmp(url, "redis://", 8) != 0) {
        return "needs a redis://host[:port][/db] URL (no TLS)";
    }

    p = url + 8;
    last = url + len;

    if (memchr(url, '\0', len) != NULL) {
        return "has an invalid URL";
    }

    /* [user[:password]@]: the last '@' before the path */

    at = NULL;
    for (s = p; s < last && *s != '/'; s++) {
        if (*s == '@') {
            at = s;
        }
    }

    if (at != NULL) {
        colon = memchr(p, ':', (size_t) (at - p));
        if (colon == NULL) {
            return "has a user without a password (user:password@)";
        }
        if (vs_unescape(p, colon, u->user, sizeof(u->user)) != 0
            || vs_unescape(colon + 1, at, u->password, sizeof(u->password))
               != 0)
        {
            vs_redis_url_clear(u);
            return "has an invalid user or password";
        }
        p = at + 1;
    }

    /* host, [v6], :port */

    if (p < last && *p == '[') {
        host = p + 1;
        host_end = memchr(host, ']', (size_t) (last - host));
        if (host_end == NULL) {
            vs_redis_url_clear(u);
            return "has an invalid IPv6 address";
        }
        p = host_end + 1;

    } else {
        host = p;
        while (p < last && *p != ':' && *p != '/') {
            p++;
        }
        host_end = p;
    }

    if (host_end == host || (size_t) (host_end - host) >= sizeof(u->host)) {
        vs_redis_url_clear(u);
        return "has no host";
    }
    memcpy(u->host, host, (size_t) (host_end - host));

    if (p < last && *p == ':') {
        s = ++p;
        while (p < last && *p != '/') {
            p++;
        }
        n = vs_number(s, p, 1, 65535);
        if (n < 0) {
            vs_redis_url_clear(u);
            return "has an invalid port";
        }
        u->port = (int) n;
    }

    if (p < last && *p == '/') {
        p++;
        if (p < last) {
            n = vs_number(p, last, 0, 1000000);
            if (n < 0) {
                vs_redis_url_clear(u);
                return "has an invalid database number";
            }
            u->db = (int) n;
            p = last;
        }
    }

    if (p != last) {
        vs_redis_url_clear(u);
        return "has an invalid URL";
    }

    return NULL;
}


void
vs_redis_url_clear(vs_redis_url_t *u)
{
    OPENSSL_cleanse(u->user, sizeof(u->user));
    OPENSSL_cleanse(u->password, sizeof(u->password));
}
