/*
 * The part plan (lib/vs_multipart): the contract's rule (section 3.1) at
 * its boundaries, and as a property over sizes from just past the 64 MiB
 * multipart threshold to S3's 5 TiB; the check of listed parts against
 * it (missing, wrong size, uploaded bytes).
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


/* The check: what ListParts reports against the plan (section 3.1). */
static void
test_check(void)
{
    vs_multipart_plan_t   p;
    vs_multipart_check_t  c;
    int64_t               out[200], n;

    /* 64 MiB + 1: 8 parts of 8 MiB and a last of 1 byte */
    CHECK(vs_multipart_plan(64 * MiB + 1, &p) == 0 && p.part_count == 9);
    vs_multipart_check_init(&c, &p);
    CHECK(vs_multipart_check_missing(&c, out, 200) == 9);
    CHECK(out[0] == 1 && out[8] == 9);
    CHECK(vs_multipart_check_wrong_size(&c, out, 200) == 0);
    CHECK(c.uploaded_count == 0 && c.uploaded_bytes == 0);

    /* in any order, over pages; the last part is 1 byte */
    CHECK(vs_multipart_check_add(&c, 9, 1) == VS_MULTIPART_PART_OK);
    CHECK(vs_multipart_check_add(&c, 1, 8 * MiB) == VS_MULTIPART_PART_OK);
    CHECK(vs_multipart_check_add(&c, 3, 8 * MiB) == VS_MULTIPART_PART_OK);
    /* a short part in the middle, a last part of the full size */
    CHECK(vs_multipart_check_add(&c, 4, 5 * MiB)
          == VS_MULTIPART_PART_WRONG_SIZE);
    CHECK(vs_multipart_check_add(&c, 8, 8 * MiB + 1)
          == VS_MULTIPART_PART_WRONG_SIZE);
    /* outside the plan: ignored */
    CHECK(vs_multipart_check_add(&c, 10, 1) == VS_MULTIPART_PART_OUTSIDE);
    CHECK(vs_multipart_check_add(&c, 0, 1) == VS_MULTIPART_PART_OUTSIDE);
    CHECK(vs_multipart_check_add(&c, 10001, 1) == VS_MULTIPART_PART_OUTSIDE);

    n = vs_multipart_check_missing(&c, out, 200);
    CHECK(n == 4 && out[0] == 2 && out[1] == 5 && out[2] == 6
          && out[3] == 7);
    n = vs_multipart_check_wrong_size(&c, out, 200);
    CHECK(n == 2 && out[0] == 4 && out[1] == 8);
    CHECK(c.uploaded_count == 3 && c.uploaded_bytes == 16 * MiB + 1);
    /* counts without the numbers, and a cap on them */
    CHECK(vs_multipart_check_missing(&c, NULL, 0) == 4);
    out[1] = -7;
    CHECK(vs_multipart_check_missing(&c, out, 1) == 4 && out[0] == 2
          && out[1] == -7);

    /* a part uploaded again: the last listing counts */
    CHECK(vs_multipart_check_add(&c, 4, 8 * MiB) == VS_MULTIPART_PART_OK);
    CHECK(vs_multipart_check_add(&c, 1, 8 * MiB) == VS_MULTIPART_PART_OK);
    CHECK(c.uploaded_count == 4 && c.uploaded_bytes == 24 * MiB + 1);
    CHECK(vs_multipart_check_add(&c, 1, 3) == VS_MULTIPART_PART_WRONG_SIZE);
    CHECK(c.uploaded_count == 3 && c.uploaded_bytes == 16 * MiB + 1);
    CHECK(vs_multipart_check_add(&c, 1, 8 * MiB) == VS_MULTIPART_PART_OK);

    /* complete */
    for (n = 1; n <= 9; n++) {
        vs_multipart_check_add(&c, n, vs_multipart_part_size(&p, n));
    }
    CHECK(vs_multipart_check_missing(&c, out, 200) == 0);
    CHECK(vs_multipart_check_wrong_size(&c, out, 200) == 0);
    CHECK(c.uploaded_count == 9 && c.uploaded_bytes == 64 * MiB + 1);

    /* 10,000 parts: the map's last bit */
    CHECK(vs_multipart_plan(10000 * 8 * MiB, &p) == 0);
    vs_multipart_check_init(&c, &p);
    for (n = 1; n < 10000; n++) {
        vs_multipart_check_add(&c, n, 8 * MiB);
    }
    CHECK(vs_multipart_check_missing(&c, out, 200) == 1 && out[0] == 10000);
    CHECK(vs_multipart_check_add(&c, 10000, 8 * MiB) == VS_MULTIPART_PART_OK);
    CHECK(vs_multipart_check_missing(&c, out, 200) == 0);
    CHECK(c.uploaded_bytes == 10000 * 8 * MiB);
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

    test_check();

    return VS_TEST_DONE();
}
