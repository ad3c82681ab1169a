/*
 * The part plan (lib/vs_multipart): the contract's rule (section 3.1) at
 * its boundaries, and as a property over sizes from just past the 64 MiB
 * multipart threshold to S3's 5 TiB.
 */
#include "vs_test.h"
#include "vs_multipart.h"

#include <stdint.h>

#define MiB  VS_MULTIPART_MIB
#define GiB  (INT64_C(1) << 30)
#define TiB  (INT64_C(1) << 40)


/* Every property the contract states, and that no smaller size fits. */
static int
plan_ok(int64_t size)
{
    vs_multipart_plan_t  p;
    int64_t              n, sum, smaller;

    if (vs_multipart_plan(size, &p) != 0) {
        return 0;
    }
    if (p.size != size || p.part_size < 8 * MiB || p.part_size % MiB != 0
        || p.part_count < 1 || p.part_count > 10000
        || p.part_count != (size + p.part_size - 1) / p.part_size)
    {
        return 0;
    }

    smaller = p.part_size - MiB;
    if (smaller >= 8 * MiB && (size + smaller - 1) / smaller <= 10000) {
        return 0;
    }

    /* parts tile the object: full ones, then a last of 1…part_size */
    n = vs_multipart_part_size(&p, p.part_count);
    if (n < 1 || n > p.part_size) {
        return 0;
    }
    sum = vs_multipart_part_offset(&p, p.part_count) + n;
    if (sum != size) {
        return 0;
    }
    if (p.part_count > 1 && vs_multipart_part_size(&p, 1) != p.part_size) {
        return 0;
    }
    return 1;
}


int
main(void)
{
    vs_multipart_plan_t  p;
    int64_t              size, step;
    int                  bad;

    /* out of range */
    CHECK(vs_multipart_plan(0, &p) == -1);
    CHECK(vs_multipart_plan(-1, &p) == -1);
    CHECK(vs_multipart_plan(5 * TiB + 1, &p) == -1);
    CHECK(vs_multipart_plan(INT64_MAX, &p) == -1);

    /* one byte: one part of the minimum size */
    CHECK(vs_multipart_plan(1, &p) == 0);
    CHECK(p.part_size == 8 * MiB && p.part_count == 1);
    CHECK(vs_multipart_part_size(&p, 1) == 1);
    CHECK(vs_multipart_part_size(&p, 0) == -1);
    CHECK(vs_multipart_part_size(&p, 2) == -1);
    CHECK(vs_multipart_part_offset(&p, 1) == 0);
    CHECK(vs_multipart_part_offset(&p, 2) == -1);

    /* one byte past the default 64 MiB threshold: 9 parts, the last 1 B */
    CHECK(vs_multipart_plan(64 * MiB + 1, &p) == 0);
    CHECK(p.part_size == 8 * MiB && p.part_count == 9);
    CHECK(vs_multipart_part_size(&p, 8) == 8 * MiB);
    CHECK(vs_multipart_part_size(&p, 9) == 1);
    CHECK(vs_multipart_part_offset(&p, 9) == 64 * MiB);

    /* exactly 10,000 parts of 8 MiB: the largest object at 8 MiB */
    CHECK(vs_multipart_plan(10000 * 8 * MiB, &p) == 0);
    CHECK(p.part_size == 8 * MiB && p.part_count == 10000);
    CHECK(vs_multipart_part_size(&p, 10000) == 8 * MiB);
    CHECK(vs_multipart_part_size(&p, 10001) == -1);

    /* one byte more: 9 MiB parts */
    CHECK(vs_multipart_plan(10000 * 8 * MiB + 1, &p) == 0);
    CHECK(p.part_size == 9 * MiB);
    CHECK(p.part_count == (10000 * 8 * MiB + 1 + 9 * MiB - 1) / (9 * MiB));
    CHECK(p.part_count == 8889);
    CHECK(vs_multipart_part_size(&p, 8889)
          == 10000 * 8 * MiB + 1 - 8888 * 9 * MiB);

    /* 10,000 × 9 MiB exactly, and one byte more */
    CHECK(vs_multipart_plan(10000 * 9 * MiB, &p) == 0);
    CHECK(p.part_size == 9 * MiB && p.part_count == 10000);
    CHECK(vs_multipart_plan(10000 * 9 * MiB + 1, &p) == 0);
    CHECK(p.part_size == 10 * MiB && p.part_count == 9001);

    /* 5 GiB (the single-PUT limit) */
    CHECK(vs_multipart_plan(5 * GiB, &p) == 0);
    CHECK(p.part_size == 8 * MiB && p.part_count == 640);

    /* 5 TiB: 525 MiB parts (5 TiB / 10,000 = 524.288 MiB) */
    CHECK(vs_multipart_plan(5 * TiB, &p) == 0);
    CHECK(p.part_size == 525 * MiB);
    CHECK(p.part_count == 9987);
    CHECK(vs_multipart_part_size(&p, 9987)
          == 5 * TiB - 9986 * 525 * MiB);
    CHECK(vs_multipart_part_offset(&p, 9987) == 9986 * 525 * MiB);
    CHECK(p.part_size <= 5 * GiB);
    CHECK(vs_multipart_plan(5 * TiB - 1, &p) == 0);
    CHECK(p.part_size == 525 * MiB && p.part_count == 9987);

    /* the property, from 64 MiB + 1 to 5 TiB: every boundary of whole
     * MiB part sizes (k × 10,000 MiB, ±1 byte) and a geometric sweep */
    bad = 0;
    for (int64_t k = 8; k <= 525; k++) {
        size = k * 10000 * MiB;
        for (int64_t d = -1; d <= 1; d++) {
            if (size + d <= 5 * TiB && !plan_ok(size + d)) {
                fprintf(stderr, "plan wrong for %lld\n",
                        (long long) (size + d));
                bad++;
            }
        }
    }
    for (size = 64 * MiB + 1, step = 1; size <= 5 * TiB;
         size += step, step += step / 7 + 12345)
    {
        if (!plan_ok(size)) {
            fprintf(stderr, "plan wrong for %lld\n", (long long) size);
            bad++;
        }
    }
    CHECK(plan_ok(5 * TiB));
    CHECK(bad == 0);

    return VS_TEST_DONE();
}
