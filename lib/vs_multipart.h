/*
 * libvidstream: the part plan of a multipart upload (CONTRACT.md section
 * 3.1), the one rule both the edge (which presigns the parts and checks
 * them before CompleteMultipartUpload) and any client-side tooling follow.
 *
 * part_size is at least 8 MiB, a whole number of MiB, and the smallest
 * such size that keeps part_count within S3's 10,000 parts; every part but
 * the last is exactly part_size, the last holds the rest (1 byte to
 * part_size).  Up to S3's 5 TiB object limit the largest part_size is
 * 525 MiB, far below S3's 5 GiB per part.
 */
#ifndef VS_MULTIPART_H
#define VS_MULTIPART_H

#include <stddef.h>
#include <stdint.h>

#define VS_MULTIPART_MIB        (INT64_C(1) << 20)
#define VS_MULTIPART_PART_MIN   (8 * VS_MULTIPART_MIB)
#define VS_MULTIPART_PARTS_MAX  10000                 /* S3's limit */
#define VS_MULTIPART_SIZE_MAX   (INT64_C(5) << 40)    /* 5 TiB: S3's limit */
/* S3 refuses a part under 5 MiB unless it is the last one. */
#define VS_MULTIPART_S3_PART_MIN  (5 * VS_MULTIPART_MIB)

typedef struct {
    int64_t  size;            /* the object's size in bytes */
    int64_t  part_size;       /* bytes of every part but the last */
    int64_t  part_count;      /* 1 … VS_MULTIPART_PARTS_MAX */
} vs_multipart_plan_t;

/*
 * The plan for an object of size bytes (1 … VS_MULTIPART_SIZE_MAX).
 * Returns 0, or -1 (plan untouched) for a size out of range.
 */
int vs_multipart_plan(int64_t size, vs_multipart_plan_t *plan);

/*
 * The size of part part_number (1 … part_count) and where it starts in the
 * object; -1 for a part number out of range.
 */
int64_t vs_multipart_part_size(const vs_multipart_plan_t *plan,
    int64_t part_number);
int64_t vs_multipart_part_offset(const vs_multipart_plan_t *plan,
    int64_t part_number);


/*
 * What S3 holds against the plan, before CompleteMultipartUpload and for a
 * client that resumes: feed every part ListParts reports (in any order,
 * over any number of pages), then ask which parts are missing and which
 * have the wrong size.  Fixed size (~2.5 KiB), no allocation: it can live
 * in an nginx request pool.
 */
#define VS_MULTIPART_MAP_BYTES  ((VS_MULTIPART_PARTS_MAX + 7) / 8)

typedef struct {
    vs_multipart_plan_t  plan;
    /* bit n-1: part n was listed / was listed with the wrong size */
    unsigned char        seen[VS_MULTIPART_MAP_BYTES];
    unsigned char        wrong[VS_MULTIPART_MAP_BYTES];
    /* the parts of the plan listed with their right size, and their bytes
     * (what counts towards completion: "uploaded_bytes") */
    int64_t              uploaded_count;
    int64_t              uploaded_bytes;
} vs_multipart_check_t;

#define VS_MULTIPART_PART_OK          0
#define VS_MULTIPART_PART_WRONG_SIZE  1
#define VS_MULTIPART_PART_OUTSIDE    -1    /* not a part of the plan */

void vs_multipart_check_init(vs_multipart_check_t *check,
    const vs_multipart_plan_t *plan);

/*
 * Records a listed part; a number seen again replaces what it said (S3
 * keeps the last upload of a part).  Returns VS_MULTIPART_PART_OK,
 * _WRONG_SIZE (not the plan's size for that number: the client must
 * upload it again), or _OUTSIDE (a number past part_count: never part of
 * the object; Complete lists only 1 … part_count).
 */
int vs_multipart_check_add(vs_multipart_check_t *check, int64_t part_number,
    int64_t size);

/*
 * The first max missing (never listed) / wrong-sized part numbers,
 * ascending, into out (may be NULL when max is 0); returns how many there
 * are in all.  Both 0: CompleteMultipartUpload may be called.
 */
int64_t vs_multipart_check_missing(const vs_multipart_check_t *check,
    int64_t *out, size_t max);
int64_t vs_multipart_check_wrong_size(const vs_multipart_check_t *check,
    int64_t *out, size_t max);

#endif
