/*
 * libvidstream: the part plan of a multipart upload (vs_multipart.h).
 */
#include "vs_multipart.h"


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
