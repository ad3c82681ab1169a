/*
 * libvidstream internals shared by vs_sigv4.c and vs_aws_endpoint.c (not
 * part of the library's API): a bounded output buffer and the AWS URI
 * encoding, and the S3 addressing pieces the signing code writes a URL
 * and a Host with.
 */
#ifndef VS_AWS_BUF_H
#define VS_AWS_BUF_H

#include <stddef.h>
#include <sys/types.h>

#include "vs_sigv4.h"


/* bit 0: A-Z a-z 0-9 - . _ ~, what AWS leaves unencoded; bit 1: '/' */
extern const unsigned char vs_unreserved[256];
extern const char vs_hex_upper[];

/* A bounded output buffer: writes past the end set overflow, never crash. */
typedef struct {
    char    *start;
    char    *p;
    char    *end;                     /* one before the last byte: NUL */
    int      overflow;
} vs_buf_t;

void vs_buf_init(vs_buf_t *b, char *out, size_t size);
void vs_buf_add(vs_buf_t *b, const char *s, size_t len);
void vs_buf_str(vs_buf_t *b, const char *s);
/* v in decimal (no snprintf: this is on nginx's request path) */
void vs_buf_uint(vs_buf_t *b, unsigned long v);
/* in, AWS-encoded ('/' kept when keep_slash) */
void vs_buf_encode(vs_buf_t *b, const char *in, size_t len, int keep_slash);
/* NUL-terminates; the length, or -1 when something did not fit */
ssize_t vs_buf_done(vs_buf_t *b);

/* scheme://[bucket.]host[:port] */
void vs_buf_origin(vs_buf_t *b, const vs_aws_endpoint_t *ep,
    const char *bucket, size_t bucket_len);
/* S3's Host for bucket, virtual-hosted or not */
void vs_buf_s3_host(vs_buf_t *b, const vs_aws_endpoint_t *ep, int virtual,
    const char *bucket, size_t bucket_len);
/* the encoded path of key in bucket */
void vs_buf_s3_path(vs_buf_t *b, const vs_aws_endpoint_t *ep, int virtual,
    const char *bucket, size_t bucket_len, const char *key, size_t key_len);

#endif /* VS_AWS_BUF_H */
