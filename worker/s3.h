/*
 * The S3 calls the worker makes: HEAD the input, presign a GET for
 * libavformat, upload outputs (multipart above a threshold), delete.
 */
#ifndef VS_S3_H
#define VS_S3_H

#include "aws.h"

/* Results: 0 ok, VS_S3_NOT_FOUND, VS_S3_TRANSIENT, VS_S3_PERMANENT. */
#define VS_S3_NOT_FOUND   -2
#define VS_S3_TRANSIENT   -3
#define VS_S3_PERMANENT   -4

/* The size of bucket/key (HEAD). */
int vs_s3_head(vs_aws_t *aws, const char *bucket, const char *key,
    int64_t *size, char *err, size_t err_size);

/* A presigned GET URL valid for `expires` seconds into out. */
int vs_s3_presign_get(vs_aws_t *aws, const char *bucket, const char *key,
    long expires, char *out, size_t out_size, char *err, size_t err_size);

/*
 * Uploads the local file at path to bucket/key with content_type: one PUT
 * up to threshold bytes, else a multipart upload of part_size parts
 * (aborted on failure, so no orphan parts are billed).
 */
int vs_s3_upload(vs_aws_t *aws, const char *bucket, const char *key,
    const char *path, const char *content_type, int64_t threshold,
    int64_t part_size, char *err, size_t err_size);

int vs_s3_delete(vs_aws_t *aws, const char *bucket, const char *key,
    char *err, size_t err_size);

/* AbortMultipartUpload of upload_id on bucket/key; NoSuchUpload is 0. */
int vs_s3_abort_upload(vs_aws_t *aws, const char *bucket, const char *key,
    const char *upload_id, char *err, size_t err_size);

#endif
