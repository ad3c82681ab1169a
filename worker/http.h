/*
 * Blocking HTTP over libcurl for the worker's AWS calls. One request, one
 * easy handle; the caller's stop flag aborts a transfer in flight (SIGTERM
 * during a 20 s long poll).
 */
#ifndef VS_HTTP_H
#define VS_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
    const char          *method;
    const char          *url;
    const char * const  *headers;      /* "Name: value", NULL-terminated */
    const void          *body;         /* in memory… */
    size_t               body_len;
    FILE                *upload;       /* …or body_len bytes of this file
                                          from upload_offset */
    int64_t              upload_offset;
    long                 timeout_ms;   /* whole request; 0: none */
    long                 connect_timeout_ms;  /* 0: 10 s */
    size_t               max_response; /* body bytes at most; 0: 8 MiB */
    int                  no_proxy;     /* 1: never through a proxy */
    volatile int        *stop;         /* non-zero aborts; may be NULL */
} vs_http_req_t;

typedef struct {
    long     status;                   /* 0 when no response */
    char    *body;                     /* malloc'd, NUL-terminated */
    size_t   body_len;
    char     etag[128];                /* ETag response header, if any */
    int64_t  content_length;           /* -1 unless given */
} vs_http_resp_t;

/*
 * Performs the request. Returns 0 when an HTTP response arrived (any
 * status), -1 on a transport error or abort (reason in err). The caller
 * frees resp with vs_http_resp_free() in both cases.
 */
int vs_http_do(const vs_http_req_t *req, vs_http_resp_t *resp, char *err,
    size_t err_size);
void vs_http_resp_free(vs_http_resp_t *resp);

#endif
