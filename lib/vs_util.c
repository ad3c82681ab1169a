#include "vs_util.h"

#include <string.h>

#include <openssl/rand.h>

int
vs_uuid_valid(const char *s, size_t len)
{
    size_t i;

    if (len != 36) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        char c = s[i];

        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') {
                return 0;
            }
            continue;
        }

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return 0;
        }
    }

    return 1;
}

int
vs_uuid_v4(char out[37])
{
    static const char  hex[] = "0123456789abcdef";
    unsigned char      b[16];
    size_t             i;
    char              *p;

    if (RAND_bytes(b, sizeof(b)) != 1) {
        return -1;
    }

    /* RFC 9562 section 5.4: version 4, variant 10 */
    b[6] = (unsigned char) ((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char) ((b[8] & 0x3f) | 0x80);

    p = out;
    for (i = 0; i < sizeof(b); i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            *p++ = '-';
        }
        *p++ = hex[b[i] >> 4];
        *p++ = hex[b[i] & 0x0f];
    }
    *p = '\0';

    return 0;
}

int
vs_rfc3339(time_t t, char out[VS_RFC3339_LEN + 1])
{
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999
        || tm.tm_year + 1900 < 0)
    {
        return -1;
    }

    /* YYYY-MM-DDTHH:MM:SSZ digit by digit: strftime shows on the hot path */
    {
        int   v[6], i;
        char *p = out;

        v[0] = tm.tm_year + 1900;
        v[1] = tm.tm_mon + 1;
        v[2] = tm.tm_mday;
        v[3] = tm.tm_hour;
        v[4] = tm.tm_min;
        v[5] = tm.tm_sec;

        *p++ = (char) ('0' + v[0] / 1000);
        *p++ = (char) ('0' + v[0] / 100 % 10);
        *p++ = (char) ('0' + v[0] / 10 % 10);
        *p++ = (char) ('0' + v[0] % 10);

        for (i = 1; i < 6; i++) {
            *p++ = "--T::"[i - 1];
            *p++ = (char) ('0' + v[i] / 10);
            *p++ = (char) ('0' + v[i] % 10);
        }

        *p++ = 'Z';
        *p = '\0';
    }

    return 0;
}
