
/*
 * ngx_http_vidstream_idempotency: the Idempotency-Key of POST /videos
 * (CONTRACT.md section 3): the header's validation and the fingerprint of
 * a create request that tells a repeat from a different body.  The keys
 * themselves live in PostgreSQL (idempotency_keys, sql/002_lifecycle.sql),
 * written in the same statement as the video (the api module's
 * vs_create_idem).
 */

#ifndef _NGX_HTTP_VIDSTREAM_IDEMPOTENCY_H_INCLUDED_
#define _NGX_HTTP_VIDSTREAM_IDEMPOTENCY_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


#define NGX_HTTP_VIDSTREAM_IDEMPOTENCY_KEY_MAX   255
#define NGX_HTTP_VIDSTREAM_REQUEST_HASH_LEN      64    /* SHA-256, hex */


/*
 * The request's Idempotency-Key: NGX_OK with key set (key->len is 0 when
 * there is none), NGX_DECLINED when it is not 1 to 255 printable ASCII
 * characters or given more than once.
 */
ngx_int_t ngx_http_vidstream_idempotency_key(ngx_http_request_t *r,
    ngx_str_t *key);

/*
 * The fingerprint of a create: lowercase hex SHA-256 over the canonical
 * fields (never the body's bytes: the same request with other spacing,
 * key order or unknown fields is the same request), NUL-separated (none of
 * them can hold a NUL).  hex gets NGX_HTTP_VIDSTREAM_REQUEST_HASH_LEN
 * characters and a NUL.  NGX_OK or NGX_ERROR.
 */
ngx_int_t ngx_http_vidstream_idempotency_hash(ngx_str_t *filename,
    ngx_str_t *content_type, u_char *size, ngx_str_t *upload, u_char *hex);


#endif /* _NGX_HTTP_VIDSTREAM_IDEMPOTENCY_H_INCLUDED_ */
