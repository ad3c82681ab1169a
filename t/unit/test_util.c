#include "vs_test.h"
#include <time.h>
#include "vs_util.h"

/*
 * vs_uuid_v4: every draw a valid lowercase UUID with version 4 and the
 * RFC 9562 variant; the other 122 bits vary (each free hex digit takes
 * more than one value over the draws, two draws never repeat).
 */
static void
test_uuid_v4(void)
{
    char          id[37], first[37];
    unsigned int  seen[36];
    int           i, j, ok = 1, varies = 1, differ = 0;

    memset(seen, 0, sizeof(seen));
    memset(id, 'x', sizeof(id));

    CHECK(vs_uuid_v4(first) == 0);
    CHECK(first[36] == '\0' && strlen(first) == 36);

    for (i = 0; i < 512; i++) {
        if (vs_uuid_v4(id) != 0 || id[36] != '\0'
            || !vs_uuid_valid(id, 36) || id[14] != '4'
            || strchr("89ab", id[19]) == NULL)
        {
            ok = 0;
        }
        differ += strcmp(id, first) != 0;
        for (j = 0; j < 36 && ok; j++) {
            seen[j] |= id[j] == '-'
                       ? 0 : 1u << (id[j] <= '9' ? id[j] - '0'
                                                 : id[j] - 'a' + 10);
        }
    }

    for (j = 0; j < 36; j++) {
        if (j == 8 || j == 13 || j == 14 || j == 18 || j == 23) {
            continue;
        }
        /* the variant digit holds 2 random bits, every other one 4 */
        if (__builtin_popcount(seen[j]) < (j == 19 ? 4 : 16)) {
            varies = 0;
        }
    }

    CHECK(ok);
    CHECK(varies);
    CHECK(differ == 512);
}


/*
 * vs_uuid_valid against a plain reference, every position of a valid id
 * replaced by each of the 256 byte values: only lowercase hex where a
 * digit goes, only '-' where a dash goes.
 */
static void
test_uuid_valid_bytes(void)
{
    const char  *good = "0b0e7c56-3a5f-4f5e-9a3c-1d2e3f405162";
    char         id[37];
    int          pos, c, dash, want, bad = 0;

    for (pos = 0; pos < 36; pos++) {
        dash = pos == 8 || pos == 13 || pos == 18 || pos == 23;
        for (c = 0; c < 256; c++) {
            memcpy(id, good, sizeof(id));
            id[pos] = (char) c;
            want = dash ? c == '-'
                        : (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
            bad += vs_uuid_valid(id, 36) != want;
        }
    }
    CHECK(bad == 0);
}


/* vs_sha256v: FIPS 180-2's "abc" and two-block vectors, in one piece and
 * cut anywhere (empty pieces included) */
static void
test_sha256v(void)
{
    static const char  *msg = "abcdbcdecdefdefgefghfghighijhijk"
                              "ijkljklmklmnlmnomnopnopq";
    static const unsigned char  abc[32] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
        0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
        0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad
    };
    static const unsigned char  two[32] = {
        0x24, 0x8d, 0x6a, 0x61, 0xd2, 0x06, 0x38, 0xb8, 0xe5, 0xc0, 0x26,
        0x93, 0x0c, 0x3e, 0x60, 0x39, 0xa3, 0x3c, 0xe4, 0x59, 0x64, 0xff,
        0x21, 0x67, 0xf6, 0xec, 0xed, 0xd4, 0x19, 0xdb, 0x06, 0xc1
    };
    unsigned char  d[32];
    const void    *data[3];
    size_t         len[3], n = strlen(msg), a, b;
    int            bad = 0;

    data[0] = "abc";
    len[0] = 3;
    vs_sha256v(data, len, 1, d);
    CHECK(memcmp(d, abc, 32) == 0);

    for (a = 0; a <= n; a++) {
        for (b = a; b <= n; b++) {
            data[0] = msg;
            len[0] = a;
            data[1] = msg + a;
            len[1] = b - a;
            data[2] = msg + b;
            len[2] = n - b;
            vs_sha256v(data, len, 3, d);
            bad += memcmp(d, two, 32) != 0;
        }
    }
    CHECK(bad == 0);
}


int
main(void)
{
    char buf[VS_RFC3339_LEN + 1];

    test_uuid_v4();
    test_uuid_valid_bytes();
    test_sha256v();

    CHECK(vs_uuid_valid("0b0e7c56-3a5f-4f5e-9a3c-1d2e3f405162", 36));
    CHECK(!vs_uuid_valid("0B0E7C56-3A5F-4F5E-9A3C-1D2E3F405162", 36));
    CHECK(!vs_uuid_valid("0b0e7c56-3a5f-4f5e-9a3c-1d2e3f40516", 35));
    CHECK(!vs_uuid_valid("0b0e7c56x3a5f-4f5e-9a3c-1d2e3f405162", 36));
    CHECK(!vs_uuid_valid("0b0e7c56-3a5f-4f5e-9a3c-1d2e3f40516g", 36));
    CHECK(!vs_uuid_valid("", 0));

    CHECK(vs_rfc3339(0, buf) == 0);
    CHECK_STR(buf, "1970-01-01T00:00:00Z");
    CHECK(vs_rfc3339(1795255200, buf) == 0);
    CHECK_STR(buf, "2026-11-21T10:00:00Z");
    /* every field, against strftime, across a span of years */
    {
        time_t     t;
        struct tm  tm;
        char       want[VS_RFC3339_LEN + 1];
        int        bad = 0;

        for (t = -86400L * 365 * 60; t < 86400L * 365 * 300; t += 7919 * 37) {
            if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 < 0) {
                continue;
            }
            strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%SZ", &tm);
            if (vs_rfc3339(t, buf) != 0 || strcmp(buf, want) != 0) {
                bad++;
            }
        }
        CHECK(bad == 0);
    }

    /* vs_gmtime() against gmtime_r(), second by second around leap days
     * and across the whole range in large strides */
    {
        static const time_t  starts[] = { -62167219200LL, -2208988800LL,
                                           -86400, 0, 951782400,
                                           4107542400LL, 253402041600LL };
        time_t     t;
        struct tm  a, b;
        size_t     i;
        int        bad = 0, n = 0;

        for (i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
            for (t = starts[i]; t < starts[i] + 86400 * 3; t += 13) {
                if (gmtime_r(&t, &a) == NULL || vs_gmtime(t, &b) != 0
                    || a.tm_year != b.tm_year || a.tm_mon != b.tm_mon
                    || a.tm_mday != b.tm_mday || a.tm_hour != b.tm_hour
                    || a.tm_min != b.tm_min || a.tm_sec != b.tm_sec)
                {
                    bad++;
                }
                n++;
            }
        }
        for (t = -62167219200LL; t <= 253402300799LL; t += 86400 * 7 + 4111) {
            if (gmtime_r(&t, &a) == NULL || vs_gmtime(t, &b) != 0
                || a.tm_year != b.tm_year || a.tm_mon != b.tm_mon
                || a.tm_mday != b.tm_mday || a.tm_hour != b.tm_hour
                || a.tm_min != b.tm_min || a.tm_sec != b.tm_sec)
            {
                bad++;
            }
            n++;
        }
        CHECK(n > 500000);
        CHECK(bad == 0);
        CHECK(vs_gmtime(-62167219201LL, &b) == -1);
        CHECK(vs_gmtime(253402300800LL, &b) == -1);
    }

    return VS_TEST_DONE();
}
