/*
 * libvidstream: the part plan of a multipart upload (vs_multipart.h).
 */
#include "vs_multipart.h"

#include <string.h>

#define VS_BIT(map, n)   ((map)[((n) - 1) / 8] & (1u << (((n) - 1) % 8)))
#define VS_SET(map, n)   ((map)[((n) - 1) / 8] |= (1u << (((n) - 1) % 8)))
#define VS_CLR(map, n)   ((map)[((n) - 1) / 8] &= ~(1u << (((n) - 1) % 8)))


int
vs_multipart_plan(int64_t size, vs_multipart_plan_t *plan)
{
    int64_t  per_part, mib;

    if (size < 1 || size > VS_MULTIPART_SIZE_MAX) {
        return -1;
    }

    /* the fewest bytes a part must hold, rounded up to whole MiB */
    per_part = (size + VS_MULTIPART_PARTS_MAX - 1) / VS_MULTIPART_PARTS_MAX;
    mib = (per_part + VS_MULTIPART_MIB - 1) / VS_MULTIPART_MIB;

    plan->size = size;
    plan->part_size = mib * VS_MULTIPART_MIB;
    if (plan->part_size < VS_MULTIPART_PART_MIN) {
        plan->part_size = VS_MULTIPART_PART_MIN;
    }
    plan->part_count = (size + plan->part_size - 1) / plan->part_size;

    return 0;
}


int64_t
vs_multipart_part_size(const vs_multipart_plan_t *plan, int64_t part_number)
{
    if (part_number < 1 || part_number > plan->part_count) {
        return -1;
    }
    if (part_number < plan->part_count) {
        return plan->part_size;
    }
    return plan->size - (plan->part_count - 1) * plan->part_size;
}


int64_t
vs_multipart_part_offset(const vs_multipart_plan_t *plan,
    int64_t part_number)
{
    if (part_number < 1 || part_number > plan->part_count) {
        return -1;
    }
    return (part_number - 1) * plan->part_size;
}


void
vs_multipart_check_init(vs_multipart_check_t *check,
    const vs_multipart_plan_t *plan)
{
    memset(check, 0, sizeof(*check));
    check->plan = *plan;
}


int
vs_multipart_check_add(vs_multipart_check_t *check, int64_t part_number,
    int64_t size)
{
    int64_t  want;

    want = vs_multipart_part_size(&check->plan, part_number);
    if (want < 0) {
        return VS_MULTIPART_PART_OUTSIDE;
    }

    if (VS_BIT(check->seen, part_number)
        && !VS_BIT(check->wrong, part_number))
    {
        /* listed again: forget what it said before */
        check->uploaded_count--;
        check->uploaded_bytes -= want;
    }

    VS_SET(check->seen, part_number);

    if (size != want) {
        VS_SET(check->wrong, part_number);
        return VS_MULTIPART_PART_WRONG_SIZE;
    }

    VS_CLR(check->wrong, part_number);
    check->uploaded_count++;
    check->uploaded_bytes += size;
    return VS_MULTIPART_PART_OK;
}


/* Part numbers whose bit in map is want (0 or 1), ascending. */
static int64_t
vs_multipart_scan(const vs_multipart_check_t *check,
    const unsigned char *map, int want, int64_t *out, size_t max)
{
    int64_t  n, total = 0;

    for (n = 1; n <= check->plan.part_count; n++) {
        if ((VS_BIT(map, n) != 0) != want) {
            continue;
        }
        if ((size_t) total < max) {
            out[total] = n;
        }
        total++;
    }
    return total;
}


int64_t
vs_multipart_check_missing(const vs_multipart_check_t *check, int64_t *out,
    size_t max)
{
    return vs_multipart_scan(check, check->seen, 0, out, max);
}


int64_t
vs_multipart_check_wrong_size(const vs_multipart_check_t *check,
    int64_t *out, size_t max)
{
    return vs_multipart_scan(check, check->wrong, 1, out, max);
}
