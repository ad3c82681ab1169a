/*
 * A minimal harness for the C unit tests in t/unit/: each test_*.c is one
 * program; CHECK records a failure with its location and goes on; the program
 * ends with VS_TEST_DONE(), which prints "N passed, N failed" and returns
 * non-zero when anything failed.
 */
#ifndef VS_TEST_H
#define VS_TEST_H

#include <stdio.h>
#include <string.h>

static int vs_test_passed, vs_test_failed;

#define CHECK(cond)                                                         \
    do {                                                                    \
        if (cond) {                                                         \
            vs_test_passed++;                                               \
        } else {                                                            \
            vs_test_failed++;                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,          \
                    __LINE__, #cond);                                       \
        }                                                                   \
    } while (0)

#define CHECK_STR(got, want)                                                \
    do {                                                                    \
        const char *g_ = (got), *w_ = (want);                               \
        if (g_ != NULL && w_ != NULL && strcmp(g_, w_) == 0) {              \
            vs_test_passed++;                                               \
        } else {                                                            \
            vs_test_failed++;                                               \
            fprintf(stderr, "%s:%d: %s\n  got:  %s\n  want: %s\n",          \
                    __FILE__, __LINE__, #got, g_ ? g_ : "(null)",           \
                    w_ ? w_ : "(null)");                                    \
        }                                                                   \
    } while (0)

#define VS_TEST_DONE()                                                      \
    (printf("%s: %d passed, %d failed\n", __FILE__, vs_test_passed,         \
            vs_test_failed), vs_test_failed != 0)

#endif
