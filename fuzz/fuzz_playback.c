/*
 * libFuzzer target: the playback token parser and the playable file names
 * (lib/vs_playback.c), the two things /play reads from the request line.
 * Properties: no crash or UB on any input; a token that verifies is the one
 * the same key mints for its claims (one encoding per token); a file name
 * that is accepted has no dot segment, '%' or empty segment.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Ilib \
 *       fuzz/fuzz_playback.c lib/vs_playback.c lib/vs_util.c -lcrypto
 */
#define _GNU_SOURCE 1      /* memmem */

#include "vs_playback.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static vs_play_key_t  key;
    static int            ready;
    vs_play_claims_t      c;
    vs_play_status_t      st;
    char                  again[VS_PLAY_TOKEN_SIZE];
    ssize_t               n;
    const char           *type;

    if (!ready) {
        vs_play_key_init(&key, "0123456789abcdef0123456789abcdef", 32);
        ready = 1;
    }

    st = vs_play_verify(&key, 1, (const char *) data, size, 1800000000, &c);

    if (st == VS_PLAY_OK || st == VS_PLAY_EXPIRED) {
        n = vs_play_token(&key, c.video_id, VS_PLAY_UUID_LEN, c.sub, c.sub_len,
                          c.expires, again, sizeof(again));
        if (n != (ssize_t) size || memcmp(again, data, size) != 0) {
            abort();
        }
    }

    type = vs_play_file_type((const char *) data, size);

    if (type != NULL
        && (memmem(data, size, "..", 2) || memmem(data, size, "//", 2)
            || memchr(data, '%', size) || memchr(data, '\0', size)
            || data[0] == '/' || data[size - 1] == '/'))
    {
        abort();
    }

    return 0;
}
