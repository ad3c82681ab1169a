/*
 * The Redis URL both binaries parse (lib/vs_redis_url.c).
 */
#include "vs_test.h"
#include "vs_redis_url.h"

#include <string.h>

static vs_redis_url_t  u;

static const char *
parse(const char *url)
{
    return vs_redis_url_parse(url, strlen(url), &u);
}


int
main(void)
{
    CHECK(parse("redis://127.0.0.1") == NULL);
    CHECK_STR(u.host, "127.0.0.1");
    CHECK(u.port == 6379 && u.db == 0 && u.user[0] == '\0'
          && u.password[0] == '\0');

    CHECK(parse("REDIS://cache.internal:6380/3") == NULL);
    CHECK_STR(u.host, "cache.internal");
    CHECK(u.port == 6380 && u.db == 3);

    /* a password alone, percent-encoded */
    CHECK(parse("redis://:s3cret%2Fx%40y@localhost:7000/0") == NULL);
    CHECK_STR(u.password, "s3cret/x@y");
    CHECK(u.user[0] == '\0' && u.port == 7000);

    /* a Redis 6 ACL user: the worker used to drop it */
    CHECK(parse("redis://worker:p%3Ass@10.0.0.5/1") == NULL);
    CHECK_STR(u.user, "worker");
    CHECK_STR(u.password, "p:ss");
    CHECK_STR(u.host, "10.0.0.5");
    CHECK(u.db == 1);

    /* the last '@' before the path ends the user information */
    CHECK(parse("redis://u:a@b@h") == NULL);
    CHECK_STR(u.password, "a@b");
    CHECK_STR(u.host, "h");

    CHECK(parse("redis://[::1]:6390/2") == NULL);
    CHECK_STR(u.host, "::1");
    CHECK(u.port == 6390 && u.db == 2);

    CHECK(parse("redis://h/") == NULL && u.db == 0);

    /* what is refused, and says why */
    CHECK(parse("rediss://h") != NULL);
    CHECK(parse("http://h") != NULL);
    CHECK(parse("redis://") != NULL);
    CHECK(parse("redis://:pw@") != NULL);
    CHECK(parse("redis://h:0") != NULL);
    CHECK(parse("redis://h:65536") != NULL);
    CHECK(parse("redis://h:x") != NULL);
    CHECK(parse("redis://h:") != NULL);
    CHECK(parse("redis://h/x") != NULL);
    CHECK(parse("redis://h/-1") != NULL);
    CHECK(parse("redis://h/1/2") != NULL);
    CHECK(parse("redis://[::1") != NULL);
    CHECK(parse("redis://user@h") != NULL);
    CHECK(parse("redis://:bad%zz@h") != NULL);
    CHECK(parse("redis://:nul%00@h") != NULL);
    CHECK(vs_redis_url_parse("redis://h\0x", 11, &u) != NULL);
    CHECK(parse("redis://h:6379junk") != NULL);

    /* a refused URL keeps no credentials */
    CHECK(parse("redis://u:secret@h:bad") != NULL);
    CHECK(u.password[0] == '\0' && u.user[0] == '\0');

    vs_redis_url_clear(&u);
    return VS_TEST_DONE();
}
