
/*
 * ngx_http_vidstream_api_delete.c
 *
 * DELETE /videos/<id>: the row marked, an unfinished multipart upload
 * aborted, the S3 objects listed and deleted, the row removed.
 */


#include "ngx_http_vidstream_api.h"
#include "ngx_http_vidstream_s3.h"

#include "vs_keys.h"
#include "vs_s3xml.h"


static ngx_int_t ngx_http_vidstream_api_delete_step(
    ngx_http_vidstream_api_ctx_t *ctx, PGresult *res);
static ngx_int_t ngx_http_vidstream_api_delete_next(ngx_http_request_t *r);
static ngx_int_t ngx_http_vidstream_api_s3_list(
    ngx_http_vidstream_api_ctx_t *ctx);
static ngx_int_t ngx_http_vidstream_api_s3_delete(
    ngx_http_vidstream_api_ctx_t *ctx, ngx_str_t *listing);
static int ngx_http_vidstream_api_listed_key(void *data, const char *name,
    size_t len);
static ngx_int_t ngx_http_vidstream_api_s3_failed(
    ngx_http_vidstream_api_ctx_t *ctx);


/* the bucket itself, for ListObjectsV2 and DeleteObjects */
static ngx_str_t  ngx_http_vidstream_api_no_key = ngx_string("");


/* PostgreSQL answered vs_delete_mark or vs_delete_row */

ngx_int_t
ngx_http_vidstream_api_delete_result(ngx_http_vidstream_api_ctx_t *ctx,
    ngx_http_vidstream_pg_status_e status, PGresult *res)
{
    return ngx_http_vidstream_api_delete_step(ctx,
                                   status == NGX_HTTP_VIDSTREAM_PG_OK ? res
                                                                      : NULL);
}


/*
 * The delete, one step per answer, top to bottom: PostgreSQL's (res,
 * NULL when the statement failed) in MARK and ROW, the multipart module's
 * hand-back in ABORT, S3's (ctx->call) in CREDS, LIST and OBJECTS.
 * NGX_DONE, or what to finalize with.
 */

static ngx_int_t
ngx_http_vidstream_api_delete_step(ngx_http_vidstream_api_ctx_t *ctx,
    PGresult *res)
{
    ngx_int_t                       rc;
    ngx_str_t                       upload_id;
    ngx_http_request_t             *r;
    ngx_http_vidstream_aws_call_t  *call;

    r = ctx->request;
    call = &ctx->call;

    switch (ctx->state.delete) {

    case NGX_HTTP_VIDSTREAM_DELETE_MARK:
        if (res == NULL) {
            return ngx_http_vidstream_api_unavailable(r);
        }

        if (PQntuples(res) != 1) {
            return ngx_http_vidstream_send_error(r, NGX_HTTP_NOT_FOUND,
                                                 "not_found",
                                                 "no such video");
        }

        ctx->input_key.len = PQgetlength(res, 0, 0);
        ctx->input_key.data = ngx_pnalloc(r->pool, ctx->input_key.len);
        if (ctx->input_key.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_memcpy(ctx->input_key.data, PQgetvalue(res, 0, 0),
                   ctx->input_key.len);

        if (!PQgetisnull(res, 0, 1)) {
            /* an unfinished multipart upload is aborted first */
            upload_id.data = (u_char *) PQgetvalue(res, 0, 1);
            upload_id.len = PQgetlength(res, 0, 1);

            ctx->state.delete = NGX_HTTP_VIDSTREAM_DELETE_ABORT;

            return ngx_http_vidstream_multipart_abort(r, &ctx->sub, ctx->id,
                                        &upload_id,
                                        ngx_http_vidstream_api_delete_next);
        }

        return ngx_http_vidstream_api_s3_list(ctx);

    case NGX_HTTP_VIDSTREAM_DELETE_ABORT:
        /* the multipart upload is aborted: the objects, then the row */
        return ngx_http_vidstream_api_s3_list(ctx);

    case NGX_HTTP_VIDSTREAM_DELETE_CREDS:
        (void) ngx_http_vidstream_aws_creds_done(r, call);
        ctx->rounds--;
        return ngx_http_vidstream_api_s3_list(ctx);

    case NGX_HTTP_VIDSTREAM_DELETE_LIST:
        if (call->status != NGX_HTTP_OK) {
            return ngx_http_vidstream_api_s3_failed(ctx);
        }

        rc = ngx_http_vidstream_api_s3_delete(ctx, &call->response);

        if (rc != NGX_AGAIN) {
            return rc;
        }

        /* S3 is clean: the row goes */

        ctx->state.delete = NGX_HTTP_VIDSTREAM_DELETE_ROW;

        rc = ngx_http_vidstream_api_query(ctx,
                                      NGX_HTTP_VIDSTREAM_STMT_DELETE_ROW, 2,
                                      ctx->id, NGX_HTTP_VIDSTREAM_API_CSTR,
                                      ctx->sub.data, ctx->sub.len);

        return rc == NGX_OK ? NGX_DONE : rc;

    case NGX_HTTP_VIDSTREAM_DELETE_OBJECTS:
        if (call->status != NGX_HTTP_OK
            || ngx_strlcasestrn(call->response.data,
                                call->response.data + call->response.len,
                                (u_char *) "<Error>", 7 - 1)
               != NULL)
        {
            return ngx_http_vidstream_api_s3_failed(ctx);
        }

        /* list again: more pages, or nothing left */
        return ngx_http_vidstream_api_s3_list(ctx);

    default: /* NGX_HTTP_VIDSTREAM_DELETE_ROW */
        if (res == NULL) {
            return ngx_http_vidstream_api_unavailable(r);
        }

        ngx_http_vidstream_api_cache_remove(ctx);

        r->headers_out.status = NGX_HTTP_NO_CONTENT;
        r->headers_out.content_length_n = 0;
        r->header_only = 1;
        return ngx_http_send_header(r);
    }
}


/* the multipart module is done with the upload: the next step */

static ngx_int_t
ngx_http_vidstream_api_delete_next(ngx_http_request_t *r)
{
    ngx_http_vidstream_api_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_vidstream_api_module);

    return ngx_http_vidstream_api_delete_step(ctx, NULL);
}


/* DELETE: list what the video has under output/, then delete it all */

static ngx_int_t
ngx_http_vidstream_api_s3_list(ngx_http_vidstream_api_ctx_t *ctx)
{
    long                                 n;
    ngx_int_t                            rc;
    ngx_str_t                            prefix;
    vs_sigv4_kv_t                        query[2];
    ngx_http_request_t                  *r;
    ngx_http_vidstream_aws_call_t       *call;
    ngx_http_vidstream_api_main_conf_t  *amcf;

    r = ctx->request;
    amcf = ctx->amcf;
    call = &ctx->call;

    if (amcf->s3_location.len == 0 || amcf->bucket.len == 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vidstream api: vidstream_s3_bucket and "
                      "vidstream_s3_location are required for delete");
        return ngx_http_vidstream_api_unavailable(r);
    }

    if (++ctx->rounds > NGX_HTTP_VIDSTREAM_DELETE_ROUNDS) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vidstream api: too many objects to delete");
        return ngx_http_vidstream_api_unavailable(r);
    }

    rc = ngx_http_vidstream_aws_creds(r, &amcf->credentials_location, call);

    if (rc == NGX_AGAIN) {
        call->done = ngx_http_vidstream_api_call_done;
        ctx->state.delete = NGX_HTTP_VIDSTREAM_DELETE_CREDS;
        return NGX_DONE;
    }

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vidstream api: no AWS credentials for S3");
        return ngx_http_vidstream_api_unavailable(r);
    }

    prefix.data = ngx_pnalloc(r->pool,
                              VS_KEYS_OUTPUT_PREFIX_LEN(ctx->sub.len) + 1);
    if (prefix.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = vs_keys_output_prefix((char *) prefix.data,
                              VS_KEYS_OUTPUT_PREFIX_LEN(ctx->sub.len) + 1,
                              (char *) ctx->sub.data, ctx->sub.len,
                              (char *) ctx->id);
    if (n < 0) {
        return ngx_http_vidstream_api_unavailable(r);
    }

    prefix.len = n;

    query[0].name = "list-type";
    query[0].name_len = sizeof("list-type") - 1;
    query[0].value = "2";
    query[0].value_len = 1;
    query[1].name = "prefix";
    query[1].name_len = sizeof("prefix") - 1;
    query[1].value = (char *) prefix.data;
    query[1].value_len = prefix.len;

    ngx_memzero(call, sizeof(ngx_http_vidstream_aws_call_t));

    call->location = amcf->s3_location;
    call->method = NGX_HTTP_GET;
    ngx_str_set(&call->method_name, "GET");
    call->done = ngx_http_vidstream_api_call_done;
    ctx->state.delete = NGX_HTTP_VIDSTREAM_DELETE_LIST;

    rc = ngx_http_vidstream_s3_call(r, amcf->s3, &amcf->bucket,
                                    &ngx_http_vidstream_api_no_key,
                                    query, 2, call);

    if (rc == NGX_OK) {
        return NGX_DONE;
    }

    return rc == NGX_ERROR ? ngx_http_vidstream_api_unavailable(r) : rc;
}


/*
 * DeleteObjects with the keys of a ListObjectsV2 answer (read with
 * libxml2, lib/vs_s3xml.h, and escaped again for the request's XML) and,
 * on the first round, the input object.  NGX_AGAIN: nothing to delete.
 */

static ngx_int_t
ngx_http_vidstream_api_s3_delete(ngx_http_vidstream_api_ctx_t *ctx,
    ngx_str_t *listing)
{
    u_char                              *p, *body;
    size_t                               len;
    ngx_int_t                            rc;
    ngx_str_t                           *key;
    ngx_uint_t                           i, nkeys;
    ngx_array_t                          keys;
    vs_sigv4_kv_t                        query[1];
    vs_s3xml_error_t                     err;
    ngx_http_request_t                  *r;
    vs_s3xml_list_objects_t             *list;
    ngx_http_vidstream_aws_call_t       *call;
    ngx_http_vidstream_api_main_conf_t  *amcf;
    char                                 md5[VS_AWS_CONTENT_MD5_LEN + 1];

    r = ctx->request;
    amcf = ctx->amcf;
    call = &ctx->call;

    /* the keys S3 listed (ListObjectsV2), XML-unescaped, into the pool */

    if (ngx_array_init(&keys, r->pool, 16, sizeof(ngx_str_t)) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    list = ngx_palloc(r->pool, sizeof(vs_s3xml_list_objects_t));
    if (list == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memzero(&err, sizeof(vs_s3xml_error_t));

    rc = vs_s3xml_list_objects((char *) listing->data, listing->len,
                               ngx_http_vidstream_api_listed_key, &keys,
                               list, &err);
    if (rc != VS_S3XML_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vidstream api: S3 ListObjectsV2 answer unreadable "
                      "(%s)%s%*s", vs_s3xml_strerror(rc),
                      err.code_len ? ": " : "", err.code_len, err.code);
        if (rc == VS_S3XML_NOMEM || rc == VS_S3XML_ABORTED) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_vidstream_api_unavailable(r);
    }

    /* <Delete><Quiet>true</Quiet><Object><Key>…</Key></Object>…</Delete> */

    len = sizeof("<Delete><Quiet>true</Quiet></Delete>") - 1
          + sizeof("<Object><Key></Key></Object>") - 1
          + 6 * ctx->input_key.len;

    key = keys.elts;

    for (i = 0; i < keys.nelts; i++) {
        len += sizeof("<Object><Key></Key></Object>") - 1 + key[i].len
               + ngx_escape_html(NULL, key[i].data, key[i].len);
    }

    body = ngx_pnalloc(r->pool, len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(body, "<Delete><Quiet>true</Quiet>",
                   sizeof("<Delete><Quiet>true</Quiet>") - 1);

    for (i = 0; i < keys.nelts; i++) {
        p = ngx_cpymem(p, "<Object><Key>", sizeof("<Object><Key>") - 1);
        p = (u_char *) ngx_escape_html(p, key[i].data, key[i].len);
        p = ngx_cpymem(p, "</Key></Object>", sizeof("</Key></Object>") - 1);
    }

    nkeys = keys.nelts;

    if (ctx->input_key.len) {
        p = ngx_cpymem(p, "<Object><Key>", sizeof("<Object><Key>") - 1);
        p = (u_char *) ngx_escape_html(p, ctx->input_key.data,
                                       ctx->input_key.len);
        p = ngx_cpymem(p, "</Key></Object>", sizeof("</Key></Object>") - 1);
        ngx_str_null(&ctx->input_key);
        nkeys++;
    }

    if (nkeys == 0) {
        /* S3 is clean: the row goes */
        return NGX_AGAIN;
    }

    p = ngx_cpymem(p, "</Delete>", sizeof("</Delete>") - 1);

    vs_aws_content_md5(body, p - body, md5);

    ngx_memzero(call, sizeof(ngx_http_vidstream_aws_call_t));

    call->body.data = body;
    call->body.len = p - body;
    call->location = amcf->s3_location;
    call->method = NGX_HTTP_POST;
    ngx_str_set(&call->method_name, "POST");

    p = ngx_pnalloc(r->pool, VS_AWS_CONTENT_MD5_LEN);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(p, md5, VS_AWS_CONTENT_MD5_LEN);

    call->headers[0].name = "Content-MD5";
    call->headers[0].name_len = sizeof("Content-MD5") - 1;
    call->headers[0].value = (char *) p;
    call->headers[0].value_len = VS_AWS_CONTENT_MD5_LEN;
    call->headers[1].name = "Content-Type";
    call->headers[1].name_len = sizeof("Content-Type") - 1;
    call->headers[1].value = "application/xml";
    call->headers[1].value_len = sizeof("application/xml") - 1;
    call->nheaders = 2;

    query[0].name = "delete";
    query[0].name_len = sizeof("delete") - 1;
    query[0].value = "";
    query[0].value_len = 0;

    call->done = ngx_http_vidstream_api_call_done;
    ctx->state.delete = NGX_HTTP_VIDSTREAM_DELETE_OBJECTS;

    rc = ngx_http_vidstream_s3_call(r, amcf->s3, &amcf->bucket,
                                    &ngx_http_vidstream_api_no_key,
                                    query, 1, call);

    if (rc == NGX_OK) {
        return NGX_DONE;
    }

    return rc == NGX_ERROR ? ngx_http_vidstream_api_unavailable(r) : rc;
}


/* one <Contents><Key> of a listing: copied, the parse's memory is not ours */

static int
ngx_http_vidstream_api_listed_key(void *data, const char *name, size_t len)
{
    ngx_str_t    *key;
    ngx_array_t  *keys;

    keys = data;

    key = ngx_array_push(keys);
    if (key == NULL) {
        return 1;
    }

    key->data = ngx_pnalloc(keys->pool, len);
    if (key->data == NULL) {
        return 1;
    }

    ngx_memcpy(key->data, name, len);
    key->len = len;

    return 0;
}


/* S3 refused a call of the delete: 503, the row stays deleted-marked */

static ngx_int_t
ngx_http_vidstream_api_s3_failed(ngx_http_vidstream_api_ctx_t *ctx)
{
    ngx_http_vidstream_aws_call_t  *call;

    call = &ctx->call;

    ngx_log_error(NGX_LOG_ERR, ctx->request->connection->log, 0,
                  "vidstream api: S3 answered %ui while deleting: %*s",
                  call->status, ngx_min(call->response.len, 512),
                  call->response.data);

    return ngx_http_vidstream_api_unavailable(ctx->request);
}
