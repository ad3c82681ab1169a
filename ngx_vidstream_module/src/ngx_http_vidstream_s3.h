
/*
 * ngx_http_vidstream_s3: one S3 request made from a request, as the
 * worker's s3.c makes it: the Host and the path?query of an object (or of
 * the bucket) addressed as the endpoint wants, signed, and sent as a
 * subrequest through ngx_http_vidstream_aws.c.  Used by the API (delete)
 * and by the multipart module.
 */

#ifndef _NGX_HTTP_VIDSTREAM_S3_H_INCLUDED_
#define _NGX_HTTP_VIDSTREAM_S3_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_vidstream_aws.h"


/*
 * Fills call's host and uri for key in bucket (an empty key: the bucket
 * itself) with the query parameters, signs it and starts the subrequest.
 * The caller has set call's location, method, body, its own headers,
 * timeout and done.  Returns NGX_OK (call->done comes later),
 * NGX_HTTP_INTERNAL_SERVER_ERROR when out of memory, or NGX_ERROR when
 * the request could not be made (logged; the caller answers 503).
 */
ngx_int_t ngx_http_vidstream_s3_call(ngx_http_request_t *r,
    const vs_aws_endpoint_t *ep, ngx_str_t *bucket, ngx_str_t *key,
    const vs_sigv4_kv_t *query, ngx_uint_t nquery,
    ngx_http_vidstream_aws_call_t *call);


#endif /* _NGX_HTTP_VIDSTREAM_S3_H_INCLUDED_ */
