
/*
 * ngx_http_vidstream_multipart_create.c
 *
 * POST /videos of a multipart upload: whether the source goes to S3 in
 * parts, then, once the api module has the row, CreateMultipartUpload
 * (or, for a repeat under the same Idempotency-Key, the upload the first
 * create recorded) and the 201 with the first part URLs.
 */


#include "ngx_http_vidstream_multipart_int.h"


static ngx_int_t ngx_http_vidstream_mp_create_step(
    ngx_http_vidstream_mp_ctx_t *ctx, PGresult *res);
static ngx_int_t ngx_http_vidstream_mp_create_s3(
    ngx_http_vidstream_mp_ctx_t *ctx);


ngx_int_t
ngx_http_vidstream_multipart_wanted(ngx_http_request_t *r,
    ngx_str_t *upload, int64_t size, ngx_uint_t *multipart,
    const char **error)
{
    ngx_http_vidstream_multipart_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r,
                                        ngx_http_vidstream_multipart_module);

    if (upload->data == NULL) {
        *multipart = size > (int64_t) mcf->threshold;
        return NGX_OK;
    }

    if (upload->len == sizeof("multipart") - 1
        && ngx_strncmp(upload->data, "multipart", upload->len) == 0)
    {
        *multipart = 1;
        return NGX_OK;
    }

    if (upload->len == sizeof("single") - 1
        && ngx_strncmp(upload->data, "single", upload->len) == 0)
    {
        if (size > NGX_HTTP_VIDSTREAM_MP_SINGLE_MAX) {
            *error = "a single upload is at most 5 GiB (one S3 PUT): "
                     "use \"upload\":\"multipart\"";
            return NGX_DECLINED;
        }

        *multipart = 0;
        return NGX_OK;
    }

    *error = "upload must be \"single\" or \"multipart\"";

    return NGX_DECLINED;
}


ngx_int_t
ngx_http_vidstream_multipart_created(ngx_http_request_t *r, ngx_str_t *sub,
    ngx_str_t *id, ngx_str_t *video, ngx_str_t *content_type, int64_t size,
    ngx_uint_t repeat)
{
    ngx_http_vidstream_mp_ctx_t  *ctx;

    if (id->len != NGX_HTTP_VIDSTREAM_MP_UUID_LEN || video->len < 2
        || video->data[video->len - 1] != '}')
    {
        return ngx_http_vidstream_mp_unavailable(r);
    }

    ctx = ngx_http_vidstream_mp_ctx(r, ngx_http_vidstream_mp_create_step, sub,
                                    id->data, NULL);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (vs_multipart_plan(size, &ctx->plan) != 0) {
        return ngx_http_vidstream_mp_unavailable(r);
    }

    /* the row's video object outlives its PGresult */

    ctx->video.len = video->len;
    ctx->video.data = ngx_pnalloc(r->pool, video->len);
    if (ctx->video.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(ctx->video.data, video->data, video->len);

    ctx->content_type = *content_type;
    ctx->repeat = repeat;

    *ngx_sprintf(ctx->part_size, "%L", ctx->plan.part_size) = '\0';
    *ngx_sprintf(ctx->part_count, "%L", ctx->plan.part_count) = '\0';

    if (repeat) {
        /* the same upload as the first answer's, once it has one */
        ctx->state.create = NGX_HTTP_VIDSTREAM_MP_CREATE_ROW;
        return ngx_http_vidstream_mp_row(ctx);
    }

    return ngx_http_vidstream_mp_create_s3(ctx);
}


/* PostgreSQL or S3 answered the create */

static ngx_int_t
ngx_http_vidstream_mp_create_step(ngx_http_vidstream_mp_ctx_t *ctx,
    PGresult *res)
{
    int                        rc;
    ngx_str_t                 *body;
    ngx_http_request_t        *r;
    vs_s3xml_error_t           err;
    vs_s3xml_create_upload_t  *created;

    r = ctx->request;

    switch (ctx->state.create) {

    case NGX_HTTP_VIDSTREAM_MP_CREATE_ROW:
        if (PQntuples(res) != 1) {
            return ngx_http_vidstream_send_error(r, NGX_HTTP_NOT_FOUND,
                                                 "not_found",
                                                 "no such video");
        }

        if (PQgetisnull(res, 0, 1)) {
            /* the first create failed before S3 answered: create now */
            return ngx_http_vidstream_mp_create_s3(ctx);
        }

        rc = ngx_http_vidstream_mp_plan(ctx, res);
        if (rc != NGX_OK) {
            return rc == NGX_ERROR ? NGX_HTTP_INTERNAL_SERVER_ERROR
                                   : ngx_http_vidstream_mp_unavailable(r);
        }

        return ngx_http_vidstream_mp_answer_create(ctx);

    case NGX_HTTP_VIDSTREAM_MP_CREATE_S3:
        if (ngx_http_vidstream_mp_s3_status(ctx, &err, 0) != NGX_OK) {
            return ngx_http_vidstream_mp_unavailable(r);
        }

        body = &ctx->call.response;

        created = ngx_palloc(r->pool, sizeof(vs_s3xml_create_upload_t));
        if (created == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        rc = vs_s3xml_create_upload((char *) body->data, body->len, created,
                                    &err);
        if (rc != VS_S3XML_OK) {
            return ngx_http_vidstream_mp_s3_invalid(ctx, rc, &err);
        }

        ctx->state.create = NGX_HTTP_VIDSTREAM_MP_CREATE_SAVE;

        return ngx_http_vidstream_mp_query(ctx,
                                    NGX_HTTP_VIDSTREAM_MP_STMT_START, 3,
                                    created->upload_id,
                                    created->upload_id_len,
                                    ctx->part_size,
                                    ngx_strlen(ctx->part_size),
                                    ctx->part_count,
                                    ngx_strlen(ctx->part_count));

    default: /* NGX_HTTP_VIDSTREAM_MP_CREATE_SAVE */
        if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
            /* deleted (or completed) since it was created */
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "vidstream multipart: video %s changed while its "
                          "upload was created", ctx->id);
            return ngx_http_vidstream_mp_unavailable(r);
        }

        /* the upload recorded: this one's, or a concurrent repeat's */

        if (ngx_http_vidstream_mp_copy_upload_id(ctx,
                                             (u_char *) PQgetvalue(res, 0, 0),
                                             PQgetlength(res, 0, 0))
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->plan.part_size = ngx_atoof((u_char *) PQgetvalue(res, 0, 1),
                                        PQgetlength(res, 0, 1));
        ctx->plan.part_count = ngx_atoof((u_char *) PQgetvalue(res, 0, 2),
                                         PQgetlength(res, 0, 2));

        return ngx_http_vidstream_mp_answer_create(ctx);
    }
}


/* CreateMultipartUpload */

static ngx_int_t
ngx_http_vidstream_mp_create_s3(ngx_http_vidstream_mp_ctx_t *ctx)
{
    ngx_int_t  rc;

    ctx->state.create = NGX_HTTP_VIDSTREAM_MP_CREATE_S3;

    rc = ngx_http_vidstream_mp_s3_ready(ctx, ngx_http_vidstream_mp_create_s3);
    if (rc != NGX_OK) {
        return ngx_http_vidstream_mp_s3_started(ctx, rc);
    }

    rc = ngx_http_vidstream_s3_create_upload(ctx->request, &ctx->s3,
                                             &ctx->key, &ctx->content_type,
                                             &ctx->call);

    return ngx_http_vidstream_mp_s3_started(ctx, rc);
}
