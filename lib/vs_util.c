#include "vs_util.h"

#include <string.h>

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
vs_rfc3339(time_t t, char out[VS_RFC3339_LEN + 1])
{
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999
        || tm.tm_year + 1900 < 0)
    {
        return -1;
    }

    /* strftime cannot overflow here: every field is bounded by gmtime */
    if (strftime(out, VS_RFC3339_LEN + 1, "%Y-%m-%dT%H:%M:%SZ", &tm)
        != VS_RFC3339_LEN)
    {
        return -1;
    }

    return 0;
}
