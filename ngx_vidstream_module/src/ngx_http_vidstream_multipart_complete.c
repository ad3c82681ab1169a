
/*
 * ngx_http_vidstream_multipart_complete.c
 *
 * POST /videos/<id>/complete of an unfinished multipart upload: ListParts
 * (paginated), every part checked against the plan the row recorded, then
 * CompleteMultipartUpload under vidstream_multipart_complete_timeout, and
 * the row told; the api module then queues the video (next).
 *
 * S3 may answer CompleteMultipartUpload 200 with an <Error> body: nothing
 * was completed then.  NoSuchUpload from ListParts or the complete means
 * the upload was completed (by a complete whose answer was lost, or a
 * concurrent one) or aborted: HeadObject tells which.
 */


#include "ngx_http_vidstream_multipart_int.h"


static ngx_int_t ngx_http_vidstream_mp_complete_step(
    ngx_http_vidstream_mp_ctx_t *ctx, PGresult *res);
static ngx_int_t ngx_http_vidstream_mp_complete_s3(
    ngx_http_vidstream_mp_ctx_t *ctx);
static ngx_int_t ngx_http_vidstream_mp_complete_head(
    ngx_http_vidstream_mp_ctx_t *ctx);
static ngx_int_t ngx_http_vidstream_mp_complete_save(
    ngx_http_vidstream_mp_ctx_t *ctx);
static ngx_int_t ngx_http_vidstream_mp_complete_part(
    ngx_http_vidstream_mp_ctx_t *ctx, const vs_s3xml_part_t *part);


ngx_int_t
ngx_http_vidstream_multipart_complete(ngx_http_request_t *r, u_char *id,
    ngx_str_t *sub, ngx_str_t *upload_id, int64_t size, int64_t part_size,
    int64_t part_count, ngx_http_vidstream_multipart_next_pt next)
{
    ngx_http_vidstream_mp_ctx_t  *ctx;

    ctx = ngx_http_vidstream_mp_ctx(r, ngx_http_vidstream_mp_complete_step,
                                    sub, id, upload_id);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->next = next;

    /* the plan as the row recorded it, not as it would be chosen today */

    ctx->plan.size = size;
    ctx->plan.part_size = part_size;
    ctx->plan.part_count = part_count;

    if (part_size < VS_MULTIPART_S3_PART_MIN || part_count < 1
        || part_count > VS_MULTIPART_PARTS_MAX
        || (part_count - 1) * part_size >= size
        || part_count * part_size < size)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vidstream multipart: video %s has an invalid part "
                      "plan", ctx->id);
        return ngx_http_vidstream_mp_unavailable(r);
    }

    ctx->check = ngx_palloc(r->pool, sizeof(vs_multipart_check_t));
    if (ctx->check == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    vs_multipart_check_init(ctx->check, &ctx->plan);

    /* the body of CompleteMultipartUpload, written as ListParts reads */

    if (ngx_http_vidstream_mp_reserve(r, &ctx->out, 64 * 1024) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->out.pos = ngx_cpymem(ctx->out.pos, "<CompleteMultipartUpload>",
                              sizeof("<CompleteMultipartUpload>") - 1);

    ctx->on_part = ngx_http_vidstream_mp_complete_part;
    ctx->state.complete = NGX_HTTP_VIDSTREAM_MP_COMPLETE_LIST;

    return ngx_http_vidstream_mp_list(ctx);
}


/* S3 or PostgreSQL answered the complete */

static ngx_int_t
ngx_http_vidstream_mp_complete_step(ngx_http_vidstream_mp_ctx_t *ctx,
    PGresult *res)
{
    int                          rc;
    ngx_str_t                   *body;
    ngx_http_request_t          *r;
    vs_s3xml_error_t             err;
    vs_s3xml_complete_upload_t   completed;

    r = ctx->request;

    switch (ctx->state.complete) {

    case NGX_HTTP_VIDSTREAM_MP_COMPLETE_LIST:
        rc = ngx_http_vidstream_mp_listed(ctx);

        if (rc == NGX_AGAIN) {
            return ngx_http_vidstream_mp_list(ctx);
        }

        if (rc == NGX_DECLINED) {
            return ngx_http_vidstream_mp_complete_head(ctx);
        }

        if (rc != NGX_OK) {
            return ngx_http_vidstream_mp_unavailable(r);
        }

        /* every part of the plan, each of its size, or 400 */

        if (vs_multipart_check_missing(ctx->check, NULL, 0)
            || vs_multipart_check_wrong_size(ctx->check, NULL, 0))
        {
            return ngx_http_vidstream_mp_incomplete(ctx);
        }

        if (ngx_http_vidstream_mp_reserve(r, &ctx->out, 64) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->out.pos = ngx_cpymem(ctx->out.pos, "</CompleteMultipartUpload>",
                                  sizeof("</CompleteMultipartUpload>") - 1);

        return ngx_http_vidstream_mp_complete_s3(ctx);

    case NGX_HTTP_VIDSTREAM_MP_COMPLETE_S3:
        rc = ngx_http_vidstream_mp_s3_status(ctx, &err, 1);

        if (rc == NGX_DECLINED) {
            return ngx_http_vidstream_mp_complete_head(ctx);
        }

        if (rc != NGX_OK) {
            return ngx_http_vidstream_mp_unavailable(r);
        }

        /* S3's 200 may carry an <Error>: then nothing was completed */

        body = &ctx->call.response;

        rc = vs_s3xml_complete_upload((char *) body->data, body->len,
                                      &completed, &err);
        if (rc != VS_S3XML_OK) {
            return ngx_http_vidstream_mp_s3_invalid(ctx, rc, &err);
        }

        return ngx_http_vidstream_mp_complete_save(ctx);

    case NGX_HTTP_VIDSTREAM_MP_COMPLETE_HEAD:
        if (ctx->call.status == NGX_HTTP_NOT_FOUND) {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "vidstream multipart: the upload of %V is gone "
                          "and no object was made of it", &ctx->key);

            return ngx_http_vidstream_send_error(r, NGX_HTTP_CONFLICT,
                                                 "conflict",
                                                 "the upload was aborted or "
                                                 "has expired: delete the "
                                                 "video and upload it "
                                                 "again");
        }

        if (ngx_http_vidstream_mp_s3_status(ctx, &err, 0) != NGX_OK) {
            return ngx_http_vidstream_mp_unavailable(r);
        }

        /* the object is there: the upload was completed */

        return ngx_http_vidstream_mp_complete_save(ctx);

    default: /* NGX_HTTP_VIDSTREAM_MP_COMPLETE_SAVE */
        return ctx->next(r);
    }
}


/* CompleteMultipartUpload with the parts ListParts gave, in out */

static ngx_int_t
ngx_http_vidstream_mp_complete_s3(ngx_http_vidstream_mp_ctx_t *ctx)
{
    ngx_int_t  rc;
    ngx_str_t  body;

    ctx->state.complete = NGX_HTTP_VIDSTREAM_MP_COMPLETE_S3;

    rc = ngx_http_vidstream_mp_s3_ready(ctx,
                                        ngx_http_vidstream_mp_complete_s3);
    if (rc != NGX_OK) {
        return ngx_http_vidstream_mp_s3_started(ctx, rc);
    }

    ctx->call.timeout = ctx->mcf->complete_timeout;

    body.data = ctx->out.start;
    body.len = ctx->out.pos - ctx->out.start;

    rc = ngx_http_vidstream_s3_complete_upload(ctx->request, &ctx->s3,
                                               &ctx->key, &ctx->upload_id,
                                               &body, &ctx->call);

    return ngx_http_vidstream_mp_s3_started(ctx, rc);
}


/* NoSuchUpload: HeadObject says whether the upload became the object */

static ngx_int_t
ngx_http_vidstream_mp_complete_head(ngx_http_vidstream_mp_ctx_t *ctx)
{
    ngx_int_t  rc;

    ctx->state.complete = NGX_HTTP_VIDSTREAM_MP_COMPLETE_HEAD;

    rc = ngx_http_vidstream_mp_s3_ready(ctx,
                                        ngx_http_vidstream_mp_complete_head);
    if (rc != NGX_OK) {
        return ngx_http_vidstream_mp_s3_started(ctx, rc);
    }

    rc = ngx_http_vidstream_s3_head(ctx->request, &ctx->s3, &ctx->key,
                                    &ctx->call);

    return ngx_http_vidstream_mp_s3_started(ctx, rc);
}


/* S3 holds the object: vs_mp_completed */

static ngx_int_t
ngx_http_vidstream_mp_complete_save(ngx_http_vidstream_mp_ctx_t *ctx)
{
    ctx->state.complete = NGX_HTTP_VIDSTREAM_MP_COMPLETE_SAVE;

    return ngx_http_vidstream_mp_query(ctx,
                                       NGX_HTTP_VIDSTREAM_MP_STMT_COMPLETED, 1,
                                       ctx->upload_id.data,
                                       ctx->upload_id.len);
}


/*
 * A part of the plan into the body of CompleteMultipartUpload, which
 * takes the ETags as S3 gave them.  A part of the wrong size goes in too:
 * the body is sent only when there is none.
 */

static ngx_int_t
ngx_http_vidstream_mp_complete_part(ngx_http_vidstream_mp_ctx_t *ctx,
    const vs_s3xml_part_t *part)
{
    size_t  len;

    len = sizeof("<Part><PartNumber></PartNumber><ETag></ETag></Part>")
          + NGX_INT32_LEN + 6 * part->etag_len;

    if (ngx_http_vidstream_mp_reserve(ctx->request, &ctx->out, len)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ctx->out.pos = ngx_sprintf(ctx->out.pos,
                               "<Part><PartNumber>%D</PartNumber><ETag>",
                               part->part_number);
    ctx->out.pos = (u_char *) ngx_escape_html(ctx->out.pos,
                                              (u_char *) part->etag,
                                              part->etag_len);
    ctx->out.pos = ngx_cpymem(ctx->out.pos, "</ETag></Part>",
                              sizeof("</ETag></Part>") - 1);

    return NGX_OK;
}
