
/*
 * ngx_http_vidstream_s3.c: one S3 request made from a request (see
 * ngx_http_vidstream_s3.h).
 */


#include "ngx_http_vidstream_s3.h"

#include "vs_util.h"


static void ngx_http_vidstream_s3_method(ngx_http_vidstream_aws_call_t *call,
    const ngx_http_vidstream_s3_conf_t *conf, ngx_uint_t method,
    const char *name);
static void ngx_http_vidstream_s3_kv(vs_sigv4_kv_t *kv, const char *name,
    u_char *value, size_t len);


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


/* what a presign signs, and with which credentials (NULL: none, logged) */

static const vs_aws_creds_t *
ngx_http_vidstream_s3_presign_req(ngx_http_request_t *r,
    const ngx_http_vidstream_s3_conf_t *conf, const char *method,
    ngx_str_t *key, const vs_sigv4_kv_t *query, ngx_uint_t nquery,
    const vs_sigv4_kv_t *headers, ngx_uint_t nheaders, time_t now,
    vs_sigv4_presign_t *req)
{
    const vs_aws_creds_t  *creds;

    /*
     * Logged as the API's: every URL presigned here is an answer of
     * /videos (the multipart routes included).
     */

    creds = ngx_http_vidstream_aws_creds_current();
    if (creds == NULL || conf->bucket.len == 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vidstream api: cannot presign: %s",
                      creds ? "no vidstream_s3_bucket"
                            : "no AWS credentials");
        return NULL;
    }

    ngx_memzero(req, sizeof(vs_sigv4_presign_t));
    req->method = method;
    req->method_len = ngx_strlen(method);
    req->bucket = (char *) conf->bucket.data;
    req->bucket_len = conf->bucket.len;
    req->key = (char *) key->data;
    req->key_len = key->len;
    req->query = query;
    req->nquery = nquery;
    req->headers = headers;
    req->nheaders = nheaders;
    req->now = now;
    req->expires = conf->presign_expires;

    return creds;
}


size_t
ngx_http_vidstream_s3_presign_size(ngx_http_request_t *r,
    const ngx_http_vidstream_s3_conf_t *conf, const char *method,
    ngx_str_t *key, const vs_sigv4_kv_t *query, ngx_uint_t nquery,
    const vs_sigv4_kv_t *headers, ngx_uint_t nheaders)
{
    vs_sigv4_presign_t     req;
    const vs_aws_creds_t  *creds;

    creds = ngx_http_vidstream_s3_presign_req(r, conf, method, key, query,
                                              nquery, headers, nheaders, 0,
                                              &req);

    return creds ? vs_sigv4_presign_size(conf->s3, creds, &req) : 0;
}


ssize_t
ngx_http_vidstream_s3_presign(ngx_http_request_t *r,
    const ngx_http_vidstream_s3_conf_t *conf, const char *method,
    ngx_str_t *key, const vs_sigv4_kv_t *query, ngx_uint_t nquery,
    const vs_sigv4_kv_t *headers, ngx_uint_t nheaders, u_char *out,
    size_t outlen, u_char *expires_at)
{
    time_t                 now;
    ssize_t                n;
    vs_sigv4_presign_t     req;
    const vs_aws_creds_t  *creds;

    now = ngx_time();

    creds = ngx_http_vidstream_s3_presign_req(r, conf, method, key, query,
                                              nquery, headers, nheaders, now,
                                              &req);
    if (creds == NULL) {
        return NGX_ERROR;
    }

    n = vs_sigv4_presign(conf->s3, creds, &ngx_http_vidstream_aws_state->keys,
                         &req, (char *) out, outlen);
    if (n < 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vidstream api: cannot presign %s %V", method, key);
        return NGX_ERROR;
    }

    if (expires_at
        && vs_rfc3339(now + vs_sigv4_presign_expires(conf->presign_expires),
                      (char *) expires_at)
           != 0)
    {
        return NGX_ERROR;
    }

    return n;
}


ngx_int_t
ngx_http_vidstream_s3_create_upload(ngx_http_request_t *r,
    const ngx_http_vidstream_s3_conf_t *conf, ngx_str_t *key,
    ngx_str_t *content_type, ngx_http_vidstream_aws_call_t *call)
{
    vs_sigv4_kv_t  query[1];

    ngx_http_vidstream_s3_method(call, conf, NGX_HTTP_POST, "POST");
    ngx_http_vidstream_s3_kv(&query[0], "uploads", (u_char *) "", 0);

    /* the object gets the video's type, as a single PUT gives it */
    call->headers[0].name = "Content-Type";
    call->headers[0].name_len = sizeof("Content-Type") - 1;
    call->headers[0].value = (char *) content_type->data;
    call->headers[0].value_len = content_type->len;
    call->nheaders = 1;

    return ngx_http_vidstream_s3_call(r, conf->s3, (ngx_str_t *) &conf->bucket,
                                      key, query, 1, call);
}


ngx_int_t
ngx_http_vidstream_s3_list_parts(ngx_http_request_t *r,
    const ngx_http_vidstream_s3_conf_t *conf, ngx_str_t *key,
    ngx_str_t *upload_id, int32_t max_parts, int32_t marker,
    ngx_http_vidstream_aws_call_t *call)
{
    ngx_uint_t     nquery;
    vs_sigv4_kv_t  query[3];
    u_char         page[NGX_INT32_LEN + 1];
    u_char         after[NGX_INT32_LEN + 1];

    ngx_http_vidstream_s3_method(call, conf, NGX_HTTP_GET, "GET");

    ngx_http_vidstream_s3_kv(&query[0], "max-parts", page,
                             ngx_sprintf(page, "%D", max_parts) - page);
    nquery = 1;

    if (marker) {
        ngx_http_vidstream_s3_kv(&query[nquery++], "part-number-marker", after,
                                 ngx_sprintf(after, "%D", marker) - after);
    }

    ngx_http_vidstream_s3_kv(&query[nquery++], "uploadId", upload_id->data,
                             upload_id->len);

    return ngx_http_vidstream_s3_call(r, conf->s3, (ngx_str_t *) &conf->bucket,
                                      key, query, nquery, call);
}


ngx_int_t
ngx_http_vidstream_s3_complete_upload(ngx_http_request_t *r,
    const ngx_http_vidstream_s3_conf_t *conf, ngx_str_t *key,
    ngx_str_t *upload_id, ngx_str_t *body, ngx_http_vidstream_aws_call_t *call)
{
    vs_sigv4_kv_t  query[1];

    ngx_http_vidstream_s3_method(call, conf, NGX_HTTP_POST, "POST");

    call->body = *body;
    call->headers[0].name = "Content-Type";
    call->headers[0].name_len = sizeof("Content-Type") - 1;
    call->headers[0].value = "application/xml";
    call->headers[0].value_len = sizeof("application/xml") - 1;
    call->nheaders = 1;

    ngx_http_vidstream_s3_kv(&query[0], "uploadId", upload_id->data,
                             upload_id->len);

    return ngx_http_vidstream_s3_call(r, conf->s3, (ngx_str_t *) &conf->bucket,
                                      key, query, 1, call);
}


ngx_int_t
ngx_http_vidstream_s3_abort_upload(ngx_http_request_t *r,
    const ngx_http_vidstream_s3_conf_t *conf, ngx_str_t *key,
    ngx_str_t *upload_id, ngx_http_vidstream_aws_call_t *call)
{
    vs_sigv4_kv_t  query[1];

    ngx_http_vidstream_s3_method(call, conf, NGX_HTTP_DELETE, "DELETE");
    ngx_http_vidstream_s3_kv(&query[0], "uploadId", upload_id->data,
                             upload_id->len);

    return ngx_http_vidstream_s3_call(r, conf->s3, (ngx_str_t *) &conf->bucket,
                                      key, query, 1, call);
}


ngx_int_t
ngx_http_vidstream_s3_head(ngx_http_request_t *r,
    const ngx_http_vidstream_s3_conf_t *conf, ngx_str_t *key,
    ngx_http_vidstream_aws_call_t *call)
{
    ngx_http_vidstream_s3_method(call, conf, NGX_HTTP_HEAD, "HEAD");

    return ngx_http_vidstream_s3_call(r, conf->s3, (ngx_str_t *) &conf->bucket,
                                      key, NULL, 0, call);
}


static void
ngx_http_vidstream_s3_method(ngx_http_vidstream_aws_call_t *call,
    const ngx_http_vidstream_s3_conf_t *conf, ngx_uint_t method,
    const char *name)
{
    call->location = conf->s3_location;
    call->method = method;
    call->method_name.data = (u_char *) name;
    call->method_name.len = ngx_strlen(name);
}


static void
ngx_http_vidstream_s3_kv(vs_sigv4_kv_t *kv, const char *name, u_char *value,
    size_t len)
{
    kv->name = name;
    kv->name_len = ngx_strlen(name);
    kv->value = (char *) value;
    kv->value_len = len;
}
