/*
 * The S3 key layout (lib/vs_keys.c): the keys of CONTRACT.md section 4
 * byte for byte, the lengths the _LEN macros promise, buffers one byte
 * short, and hostile subs and ids (a '/', empty, control characters, too
 * long, an id that is not a lowercase UUID); the input key parser and
 * check against every near miss.
 */
#include "vs_keys.h"
#include "vs_test.h"

#include <stdlib.h>


#define SUB  "us-east-1:a1b2c3d4-0000-4000-8000-00000000cafe"
#define ID   "0f8e6d4c-2b1a-4987-8654-3210fedcba98"
#define ID2  "11111111-2222-4333-8444-555555555555"

#define INPUT   "input/" SUB "/" ID "/source"
#define PREFIX  "output/" SUB "/" ID "/"


static long
input(char *buf, size_t size, const char *sub)
{
    return vs_keys_input(buf, size, sub, strlen(sub), ID);
}


static void
test_build(void)
{
    char  buf[VS_KEYS_MAX + 1];
    long  n;

    n = vs_keys_input(buf, sizeof(buf), SUB, strlen(SUB), ID);
    CHECK(n == (long) strlen(INPUT));
    CHECK(n == (long) VS_KEYS_INPUT_LEN(strlen(SUB)));
    CHECK_STR(buf, INPUT);

    n = vs_keys_output_prefix(buf, sizeof(buf), SUB, strlen(SUB), ID);
    CHECK(n == (long) strlen(PREFIX));
    CHECK(n == (long) VS_KEYS_OUTPUT_PREFIX_LEN(strlen(SUB)));
    CHECK_STR(buf, PREFIX);

    n = vs_keys_output(buf, sizeof(buf), SUB, strlen(SUB), ID, VS_KEYS_MP4,
                       strlen(VS_KEYS_MP4));
    CHECK(n == (long) VS_KEYS_OUTPUT_LEN(strlen(SUB), strlen(VS_KEYS_MP4)));
    CHECK_STR(buf, PREFIX "video.mp4");

    n = vs_keys_output(buf, sizeof(buf), SUB, strlen(SUB), ID,
                       VS_KEYS_THUMBNAIL, strlen(VS_KEYS_THUMBNAIL));
    CHECK(n > 0);
    CHECK_STR(buf, PREFIX "thumbnail.jpg");

    n = vs_keys_output(buf, sizeof(buf), SUB, strlen(SUB), ID,
                       VS_KEYS_HLS_MASTER, strlen(VS_KEYS_HLS_MASTER));
    CHECK(n > 0);
    CHECK_STR(buf, PREFIX "hls/index.m3u8");

    n = vs_keys_output(buf, sizeof(buf), SUB, strlen(SUB), ID,
                       VS_KEYS_HLS_DIR, strlen(VS_KEYS_HLS_DIR));
    CHECK(n > 0);
    CHECK_STR(buf, PREFIX "hls");

    /* sub and file need not be NUL-terminated: only their bytes count */
    n = vs_keys_output(buf, sizeof(buf), "ab/cd", 2, ID, "video.mp4xyz", 9);
    CHECK(n > 0);
    CHECK_STR(buf, "output/ab/" ID "/video.mp4");

    /* the smallest sub */
    CHECK(input(buf, sizeof(buf), "x") == (long) VS_KEYS_INPUT_LEN(1));
    CHECK_STR(buf, "input/x/" ID "/source");

    /* UTF-8 and spaces are bytes like any other */
    CHECK(input(buf, sizeof(buf), "caf\xc3\xa9 user") > 0);
    CHECK_STR(buf, "input/caf\xc3\xa9 user/" ID "/source");
}


static void
test_buffer_size(void)
{
    char  buf[VS_KEYS_INPUT_LEN(sizeof(SUB) - 1) + 1];
    long  need = (long) VS_KEYS_INPUT_LEN(strlen(SUB));

    /* exactly the length + the NUL fits; one byte less writes nothing */
    memset(buf, '#', sizeof(buf));
    CHECK(vs_keys_input(buf, need + 1, SUB, strlen(SUB), ID) == need);
    CHECK(buf[need] == '\0');

    memset(buf, '#', sizeof(buf));
    CHECK(vs_keys_input(buf, need, SUB, strlen(SUB), ID) == -1);
    CHECK(buf[0] == '#' && buf[need - 1] == '#');

    CHECK(vs_keys_input(buf, 0, SUB, strlen(SUB), ID) == -1);
    CHECK(vs_keys_input(NULL, 4096, SUB, strlen(SUB), ID) == -1);
    CHECK(vs_keys_output_prefix(buf, VS_KEYS_OUTPUT_PREFIX_LEN(strlen(SUB)),
                                SUB, strlen(SUB), ID) == -1);
    CHECK(vs_keys_output(buf, VS_KEYS_OUTPUT_LEN(strlen(SUB), 9), SUB,
                         strlen(SUB), ID, "video.mp4", 9) == -1);
}


static void
test_hostile(void)
{
    char   buf[4 * VS_KEYS_MAX], *sub;
    long   n;
    size_t max_sub;

    memset(buf, '#', sizeof(buf));

    /* a '/' would move the key under another owner's prefix */
    CHECK(input(buf, sizeof(buf), "a/b") == -1);
    CHECK(input(buf, sizeof(buf), "/") == -1);
    CHECK(input(buf, sizeof(buf), "victim/" ID) == -1);
    CHECK(input(buf, sizeof(buf), "a/") == -1);
    CHECK(vs_keys_output_prefix(buf, sizeof(buf), "a/b", 3, ID) == -1);
    CHECK(vs_keys_output(buf, sizeof(buf), "a/b", 3, ID, "video.mp4", 9)
          == -1);
    CHECK(buf[0] == '#');

    /* empty, NULL, control characters, a NUL inside the length */
    CHECK(input(buf, sizeof(buf), "") == -1);
    CHECK(vs_keys_input(buf, sizeof(buf), NULL, 0, ID) == -1);
    CHECK(vs_keys_input(buf, sizeof(buf), NULL, 5, ID) == -1);
    CHECK(input(buf, sizeof(buf), "a\nb") == -1);
    CHECK(input(buf, sizeof(buf), "a\rb") == -1);
    CHECK(input(buf, sizeof(buf), "\x7f") == -1);
    CHECK(vs_keys_input(buf, sizeof(buf), "a\0b", 3, ID) == -1);
    CHECK(buf[0] == '#');

    /* the id: a lowercase UUID, nothing else, and never read past a NUL */
    CHECK(vs_keys_input(buf, sizeof(buf), "a", 1,
                        "0F8E6D4C-2B1A-4987-8654-3210FEDCBA98") == -1);
    CHECK(vs_keys_input(buf, sizeof(buf), "a", 1, "0f8e6d4c") == -1);
    CHECK(vs_keys_input(buf, sizeof(buf), "a", 1, "") == -1);
    CHECK(vs_keys_input(buf, sizeof(buf), "a", 1, NULL) == -1);
    CHECK(vs_keys_input(buf, sizeof(buf), "a", 1,
                        "../../../etc/passwd-0000-000000000000") == -1);
    CHECK(vs_keys_input(buf, sizeof(buf), "a", 1,
                        "0f8e6d4c/2b1a-4987-8654-3210fedcba98") == -1);

    /* the file: not empty, not absolute, no control character */
    CHECK(vs_keys_output(buf, sizeof(buf), "a", 1, ID, "", 0) == -1);
    CHECK(vs_keys_output(buf, sizeof(buf), "a", 1, ID, NULL, 3) == -1);
    CHECK(vs_keys_output(buf, sizeof(buf), "a", 1, ID, "/etc", 4) == -1);
    CHECK(vs_keys_output(buf, sizeof(buf), "a", 1, ID, "a\nb", 3) == -1);
    CHECK(vs_keys_output(buf, sizeof(buf), "a", 1, ID, "a\0b", 3) == -1);
    CHECK(buf[0] == '#');

    /* very long: the longest sub whose key S3 takes, and one byte more */
    max_sub = VS_KEYS_MAX - VS_KEYS_INPUT_LEN(0);
    sub = malloc(3 * VS_KEYS_MAX);
    CHECK(sub != NULL);
    if (sub == NULL) {
        return;
    }
    memset(sub, 's', 3 * VS_KEYS_MAX);

    n = vs_keys_input(buf, sizeof(buf), sub, max_sub, ID);
    CHECK(n == VS_KEYS_MAX);
    CHECK(strlen(buf) == VS_KEYS_MAX);
    CHECK(vs_keys_input(buf, sizeof(buf), sub, max_sub + 1, ID) == -1);
    CHECK(vs_keys_input(buf, sizeof(buf), sub, 3 * VS_KEYS_MAX, ID) == -1);
    CHECK(vs_keys_output(buf, sizeof(buf), sub,
                         VS_KEYS_MAX - VS_KEYS_OUTPUT_LEN(0, 9) + 1, ID,
                         "video.mp4", 9) == -1);
    CHECK(vs_keys_output(buf, sizeof(buf), "a", 1, ID, sub, 3 * VS_KEYS_MAX)
          == -1);
    CHECK(!vs_keys_sub_valid(sub, VS_KEYS_MAX + 1));

    /* SIZE_MAX lengths do not wrap around the arithmetic */
    CHECK(vs_keys_input(buf, sizeof(buf), sub, (size_t) -1, ID) == -1);

    free(sub);
}


static void
test_parse(void)
{
    vs_keys_input_t  parts;
    char             key[VS_KEYS_MAX + 64];

    CHECK(vs_keys_input_parse(INPUT, strlen(INPUT), &parts) == 0);
    CHECK(parts.sub_len == strlen(SUB)
          && memcmp(parts.sub, SUB, parts.sub_len) == 0);
    CHECK(memcmp(parts.id, ID, VS_KEYS_ID_LEN) == 0);

    /* what the builder writes, the parser reads back */
    CHECK(vs_keys_input(key, sizeof(key), "x", 1, ID2) > 0);
    CHECK(vs_keys_input_parse(key, strlen(key), &parts) == 0);
    CHECK(parts.sub_len == 1 && parts.sub[0] == 'x');
    CHECK(memcmp(parts.id, ID2, VS_KEYS_ID_LEN) == 0);

#define BAD(k)  CHECK(vs_keys_input_parse(k, strlen(k), &parts) == -1)
    BAD("");
    BAD("input/");
    BAD("input//" ID "/source");            /* empty sub */
    BAD("input/" ID "/source");             /* no sub */
    BAD("input/a/b/" ID "/source");         /* '/' in the sub */
    BAD("input/a\n/" ID "/source");         /* control character */
    BAD("input/a/" ID "/sourcex");
    BAD("input/a/" ID "/source/");
    BAD("input/a/" ID "/Source");
    BAD("input/a/" ID "xsource");
    BAD("input/a/" ID "/");
    BAD("input/a/not-a-uuid/source");
    BAD("input/a/0F8E6D4C-2B1A-4987-8654-3210FEDCBA98/source");
    BAD("Input/a/" ID "/source");
    BAD("output/a/" ID "/source");
    BAD("output/a/" ID "/video.mp4");
    BAD("/input/a/" ID "/source");
    BAD("input/a/" ID "/source\n");
#undef BAD

    /* the length counts, not a NUL: an embedded NUL is refused */
    CHECK(vs_keys_input_parse("input/a\0b/" ID "/source",
                              sizeof("input/a\0b/" ID "/source") - 1, &parts)
          == -1);
    /* one byte short of the key: refused */
    CHECK(vs_keys_input_parse(INPUT, strlen(INPUT) - 1, &parts) == -1);
    CHECK(vs_keys_input_parse(NULL, 0, &parts) == -1);

    /* longer than S3 allows */
    memcpy(key, "input/", 6);
    memset(key + 6, 's', VS_KEYS_MAX);
    memcpy(key + 6 + VS_KEYS_MAX, "/" ID "/source",
           sizeof("/" ID "/source"));
    CHECK(vs_keys_input_parse(key, strlen(key), &parts) == -1);
}


static void
test_is_input(void)
{
    CHECK(vs_keys_is_input(INPUT, strlen(INPUT), SUB, strlen(SUB), ID));

    /* another owner, another video, a prefix of the owner */
    CHECK(!vs_keys_is_input(INPUT, strlen(INPUT), "someoneelse", 11, ID));
    CHECK(!vs_keys_is_input(INPUT, strlen(INPUT), SUB, strlen(SUB), ID2));
    CHECK(!vs_keys_is_input(INPUT, strlen(INPUT), SUB, strlen(SUB) - 1,
                            ID));
    CHECK(!vs_keys_is_input(INPUT, strlen(INPUT), "", 0, ID));
    CHECK(!vs_keys_is_input(INPUT, strlen(INPUT), SUB, strlen(SUB), ""));
    CHECK(!vs_keys_is_input(INPUT, strlen(INPUT), SUB, strlen(SUB), NULL));

    /* an owner "a/b" and the key input/a/b/<id>/source: not a match */
    CHECK(!vs_keys_is_input("input/a/b/" ID "/source",
                            strlen("input/a/b/" ID "/source"), "a/b", 3, ID));

    /* the output key of the same video is not its input */
    CHECK(!vs_keys_is_input(PREFIX "video.mp4", strlen(PREFIX "video.mp4"),
                            SUB, strlen(SUB), ID));
}


int
main(void)
{
    test_build();
    test_buffer_size();
    test_hostile();
    test_parse();
    test_is_input();

    return VS_TEST_DONE();
}
