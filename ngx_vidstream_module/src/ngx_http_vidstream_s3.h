
/*
 * ngx_http_vidstream_s3: S3 from a request, as the worker's s3.c does it:
 * presigned URLs for the client, and signed requests sent as subrequests
 * through ngx_http_vidstream_aws.c (the Host and the path?query of an
 * object, or of the bucket, addressed as the endpoint wants), among them
 * the multipart upload calls.  Used by the API (create, download, delete)
 * and by the multipart module.
 */

#ifndef _NGX_HTTP_VIDSTREAM_S3_H_INCLUDED_
#define _NGX_HTTP_VIDSTREAM_S3_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_vidstream_aws.h"


/*
 * The S3 endpoint, bucket and ECS credentials location of the api module's
 * configuration (vidstream_s3_endpoint, vidstream_s3_bucket,
 * vidstream_aws_credentials_location): /play reads the same objects with
 * the same credentials; multipart uploads also sign S3 calls through the
 * same location and presign with the same lifetime.  Implemented by the
 * api module.
 */
typedef struct {
    const vs_aws_endpoint_t  *s3;
    ngx_str_t                 bucket;
    ngx_str_t                 credentials_location;
    ngx_str_t                 s3_location;      /* vidstream_s3_location */
    time_t                    presign_expires;  /* vidstream_presign_expires */
} ngx_http_vidstream_s3_conf_t;


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


/*
 * Presigns method on key with conf's bucket and lifetime, the current
 * credentials and the current time, straight into out (outlen bytes, the
 * URL NUL-terminated).  query: extra query parameters, headers: headers
 * the client must send as signed (both may be empty).  When expires_at is
 * not NULL it gets the URL's expiry (RFC 3339, VS_RFC3339_LEN + 1 bytes).
 * The caller has refreshed ECS credentials when due
 * (ngx_http_vidstream_aws_creds()).  Returns the URL's length, or
 * NGX_ERROR (logged) when there are no credentials or no bucket, or out is
 * too small.  Allocates nothing.
 */
ssize_t ngx_http_vidstream_s3_presign(ngx_http_request_t *r,
    const ngx_http_vidstream_s3_conf_t *conf, const char *method,
    ngx_str_t *key, const vs_sigv4_kv_t *query, ngx_uint_t nquery,
    const vs_sigv4_kv_t *headers, ngx_uint_t nheaders, u_char *out,
    size_t outlen, u_char *expires_at);

/*
 * A size of out that always suffices for that presign (a few hundred bytes
 * over the URL), so that a caller presigns straight into its answer; 0 when
 * there are no credentials or no bucket (logged).
 */
size_t ngx_http_vidstream_s3_presign_size(ngx_http_request_t *r,
    const ngx_http_vidstream_s3_conf_t *conf, const char *method,
    ngx_str_t *key, const vs_sigv4_kv_t *query, ngx_uint_t nquery,
    const vs_sigv4_kv_t *headers, ngx_uint_t nheaders);


/*
 * The multipart upload calls on key in conf's bucket, made as
 * ngx_http_vidstream_s3_call() makes them: the caller has zeroed call and
 * set its done (and timeout); these set its location, method, headers and
 * body.  Same returns as ngx_http_vidstream_s3_call().
 */

/* CreateMultipartUpload: the object gets content_type */
ngx_int_t ngx_http_vidstream_s3_create_upload(ngx_http_request_t *r,
    const ngx_http_vidstream_s3_conf_t *conf, ngx_str_t *key,
    ngx_str_t *content_type, ngx_http_vidstream_aws_call_t *call);

/* ListParts: max_parts parts after part number marker (0: from the first) */
ngx_int_t ngx_http_vidstream_s3_list_parts(ngx_http_request_t *r,
    const ngx_http_vidstream_s3_conf_t *conf, ngx_str_t *key,
    ngx_str_t *upload_id, int32_t max_parts, int32_t marker,
    ngx_http_vidstream_aws_call_t *call);

/* CompleteMultipartUpload with body, the <CompleteMultipartUpload> XML */
ngx_int_t ngx_http_vidstream_s3_complete_upload(ngx_http_request_t *r,
    const ngx_http_vidstream_s3_conf_t *conf, ngx_str_t *key,
    ngx_str_t *upload_id, ngx_str_t *body,
    ngx_http_vidstream_aws_call_t *call);

/* AbortMultipartUpload */
ngx_int_t ngx_http_vidstream_s3_abort_upload(ngx_http_request_t *r,
    const ngx_http_vidstream_s3_conf_t *conf, ngx_str_t *key,
    ngx_str_t *upload_id, ngx_http_vidstream_aws_call_t *call);

/* HeadObject */
ngx_int_t ngx_http_vidstream_s3_head(ngx_http_request_t *r,
    const ngx_http_vidstream_s3_conf_t *conf, ngx_str_t *key,
    ngx_http_vidstream_aws_call_t *call);


#endif /* _NGX_HTTP_VIDSTREAM_S3_H_INCLUDED_ */
