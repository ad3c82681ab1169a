#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "vs_util.h"

#include <string.h>

#include <openssl/rand.h>
#include <openssl/sha.h>

/* what each of the 36 positions takes: 1 a lowercase hex digit, 0 '-' */
static const unsigned char  vs_uuid_form[36] = {
    1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 0,
    1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
};

/* 1 for '0'-'9' and 'a'-'f' */
static const unsigned char  vs_lower_hex[256] = {
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
    ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['a'] = 1, ['b'] = 1,
    ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1
};

int
vs_uuid_valid(const char *s, size_t len)
{
    size_t          i;
    unsigned char   c;
    unsigned        bad = 0;

    if (len != 36) {
        return 0;
    }

    /* no branch a byte: every position is checked, then the verdict */
    for (i = 0; i < 36; i++) {
        c = (unsigned char) s[i];
        bad |= vs_uuid_form[i] ? !vs_lower_hex[c] : (c != '-');
    }

    return !bad;
}


void
vs_sha256v(const void *const *data, const size_t *len, size_t n,
    unsigned char digest[32])
{
    SHA256_CTX  sha;
    size_t      i;

    SHA256_Init(&sha);
    for (i = 0; i < n; i++) {
        SHA256_Update(&sha, data[i], len[i]);
    }
    SHA256_Final(digest, &sha);
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

/*
 * Days since 1970-01-01 to a civil date: Howard Hinnant's days_from_civil
 * inverse (the proleptic Gregorian calendar in 400-year eras), as glibc's
 * __offtime computes it, without the lock gmtime_r() takes.
 */

int
vs_gmtime(time_t t, struct tm *tm)
{
    long long  days, secs, era, doe, yoe, doy, mp, y;

    /* 0000-01-01T00:00:00Z to 9999-12-31T23:59:59Z */
    if (t < -62167219200LL || t > 253402300799LL) {
        return -1;
    }

    days = t / 86400;
    secs = t % 86400;
    if (secs < 0) {
        secs += 86400;
        days--;
    }

    days += 719468;                          /* from 0000-03-01 */
    era = (days >= 0 ? days : days - 146096) / 146097;
    doe = days - era * 146097;               /* [0, 146096] */
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;                /* March = 0 */

    memset(tm, 0, sizeof(*tm));
    tm->tm_mday = (int) (doy - (153 * mp + 2) / 5 + 1);
    tm->tm_mon = (int) (mp < 10 ? mp + 2 : mp - 10);
    tm->tm_year = (int) (y + (tm->tm_mon <= 1) - 1900);
    tm->tm_hour = (int) (secs / 3600);
    tm->tm_min = (int) (secs / 60 % 60);
    tm->tm_sec = (int) (secs % 60);

    return 0;
}


int
vs_rfc3339(time_t t, char out[VS_RFC3339_LEN + 1])
{
    struct tm tm;

    if (vs_gmtime(t, &tm) != 0) {
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
