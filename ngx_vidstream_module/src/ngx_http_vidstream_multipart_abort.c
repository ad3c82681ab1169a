
/*
 * ngx_http_vidstream_multipart_abort.c
 *
 * DELETE /videos/<id> of an unfinished multipart upload:
 * AbortMultipartUpload, then the api module goes on deleting (next).
 * NoSuchUpload is fine: the upload was aborted or completed already.
 */


#include "ngx_http_vidstream_multipart_int.h"


static ngx_int_t ngx_http_vidstream_mp_abort_step(
    ngx_http_vidstream_mp_ctx_t *ctx, PGresult *res);
static ngx_int_t ngx_http_vidstream_mp_abort_s3(
    ngx_http_vidstream_mp_ctx_t *ctx);


ngx_int_t
ngx_http_vidstream_multipart_abort(ngx_http_request_t *r, ngx_str_t *sub,
    u_char *id, ngx_str_t *upload_id,
    ngx_http_vidstream_multipart_next_pt next)
{
    ngx_http_vidstream_mp_ctx_t  *ctx;

    ctx = ngx_http_vidstream_mp_ctx(r, ngx_http_vidstream_mp_abort_step,
                                    sub, id, upload_id);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->next = next;

    return ngx_http_vidstream_mp_abort_s3(ctx);
}


/* S3 answered AbortMultipartUpload */

static ngx_int_t
ngx_http_vidstream_mp_abort_step(ngx_http_vidstream_mp_ctx_t *ctx,
    PGresult *res)
{
    vs_s3xml_error_t  err;

    /* NGX_HTTP_VIDSTREAM_MP_ABORT_S3, the one state */

    if (ngx_http_vidstream_mp_s3_status(ctx, &err, 1) == NGX_ERROR) {
        return ngx_http_vidstream_mp_unavailable(ctx->request);
    }

    /* aborted, or nothing left to abort */

    return ctx->next(ctx->request);
}


static ngx_int_t
ngx_http_vidstream_mp_abort_s3(ngx_http_vidstream_mp_ctx_t *ctx)
{
    ngx_int_t  rc;

    ctx->state.abort = NGX_HTTP_VIDSTREAM_MP_ABORT_S3;

    rc = ngx_http_vidstream_mp_s3_ready(ctx, ngx_http_vidstream_mp_abort_s3);
    if (rc != NGX_OK) {
        return ngx_http_vidstream_mp_s3_started(ctx, rc);
    }

    rc = ngx_http_vidstream_s3_abort_upload(ctx->request, &ctx->s3,
                                            &ctx->key, &ctx->upload_id,
                                            &ctx->call);

    return ngx_http_vidstream_mp_s3_started(ctx, rc);
}
