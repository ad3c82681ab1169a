
/*
 * ngx_http_vidstream_s3.c: one S3 request made from a request (see
 * ngx_http_vidstream_s3.h).
 */


#include "ngx_http_vidstream_s3.h"


ngx_int_t
ngx_http_vidstream_s3_call(ngx_http_request_t *r, const vs_aws_endpoint_t *ep,
    ngx_str_t *bucket, ngx_str_t *key, const vs_sigv4_kv_t *query,
    ngx_uint_t nquery, ngx_http_vidstream_aws_call_t *call)
{
    u_char      *p, *last;
    size_t       len, qlen;
    ssize_t      n;
    ngx_str_t    path;
    ngx_uint_t   i;

    /* Host */

    len = VS_AWS_HOST_MAX + 8 + bucket->len;
    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = vs_aws_s3_host(ep, (char *) bucket->data, bucket->len, (char *) p,
                       len);
    if (n < 0) {
        goto too_long;
    }

    call->host.data = p;
    call->host.len = n;

    /* path?query, in one buffer: every byte may be percent-encoded */

    qlen = 64;

    for (i = 0; i < nquery; i++) {
        qlen += 3 * (query[i].name_len + query[i].value_len) + 2;
    }

    len = VS_AWS_BASE_PATH_MAX + 3 * (bucket->len + key->len) + 3;
    path.data = ngx_pnalloc(r->pool, len + qlen);
    if (path.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = vs_aws_s3_path(ep, (char *) bucket->data, bucket->len,
                       (char *) key->data, key->len, (char *) path.data,
                       len);
    if (n < 0) {
        goto too_long;
    }

    path.len = n;

    if (ngx_http_vidstream_aws_sign(r, ep, call, &path, query, nquery)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    p = path.data + path.len;
    last = path.data + len + qlen;
    *p++ = '?';

    n = vs_sigv4_query(query, nquery, (char *) p, last - p);
    if (n < 0) {
        goto too_long;
    }

    call->uri.data = path.data;
    call->uri.len = p + n - path.data;

    if (ngx_http_vidstream_aws_call(r, call) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_OK;

too_long:

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "vidstream s3: host or path too long for the buffer");

    return NGX_ERROR;
}
