/*
 * The worker's AWS client: endpoints and credentials (lib/vs_sigv4,
 * lib/vs_creds) shared by every thread, and one function that signs and
 * sends a request. sqs.c and s3.c build on it.
 */
#ifndef VS_AWS_H
#define VS_AWS_H

#include "config.h"
#include "http.h"
#include "vs_sigv4.h"

#include <pthread.h>

typedef struct {
    vs_aws_endpoint_t   s3;
    vs_aws_endpoint_t   sqs;
    vs_aws_provider_t   provider;      /* guarded by lock */
    pthread_mutex_t     lock;
    volatile int       *stop;          /* aborts requests in flight */
} vs_aws_t;

int vs_aws_init(vs_aws_t *aws, const vs_config_t *cfg, char *err,
    size_t err_size);

/* A copy of the current credentials (refreshing ECS ones). 0 or -1. */
int vs_aws_creds(vs_aws_t *aws, vs_aws_creds_t *out, char *err,
    size_t err_size);

typedef struct {
    const vs_aws_endpoint_t  *ep;
    const char               *method;
    const char               *host;     /* Host header */
    const char               *path;     /* URI-encoded */
    const vs_sigv4_kv_t      *query;    /* raw */
    size_t                    nquery;
    const vs_sigv4_kv_t      *headers;  /* signed and sent */
    size_t                    nheaders;
    const void               *body;
    size_t                    body_len;
    FILE                     *upload;   /* or body_len bytes from a file */
    int64_t                   upload_offset;
    long                      timeout_ms;
    volatile int             *stop;     /* overrides aws->stop if set */
} vs_aws_req_t;

/* Signs and performs req. Same return convention as vs_http_do(). */
int vs_aws_send(vs_aws_t *aws, const vs_aws_req_t *req,
    vs_http_resp_t *resp, char *err, size_t err_size);

/* A retryable HTTP status: 5xx, 429, 408; or a transport error (0). */
#define vs_aws_transient(status)                                            \
    ((status) == 0 || (status) >= 500 || (status) == 429 || (status) == 408)

#endif
