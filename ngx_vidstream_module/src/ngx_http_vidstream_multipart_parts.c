
/*
 * ngx_http_vidstream_multipart_parts.c
 *
 * GET /videos/<id>/upload/parts?first=&count=: presigned UploadPart URLs
 * of a pending multipart upload.  GET /videos/<id>/upload: what S3 holds
 * of it (ListParts, paginated), checked against the plan.
 */


#include "ngx_http_vidstream_multipart_int.h"


static const char *ngx_http_vidstream_mp_parts_args(ngx_http_request_t *r,
    ngx_http_vidstream_mp_ctx_t *ctx);
static ngx_int_t ngx_http_vidstream_mp_arg(ngx_http_request_t *r,
    const char *name, size_t len, ngx_int_t max, int64_t *value);
static ngx_int_t ngx_http_vidstream_mp_parts_step(
    ngx_http_vidstream_mp_ctx_t *ctx, PGresult *res);


ngx_int_t
ngx_http_vidstream_multipart_handler(ngx_http_request_t *r,
    ngx_uint_t action, u_char *id, ngx_str_t *sub)
{
    const char                   *error;
    ngx_http_vidstream_mp_ctx_t  *ctx;

    ctx = ngx_http_vidstream_mp_ctx(r, ngx_http_vidstream_mp_parts_step, sub,
                                    id, NULL);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (action != NGX_HTTP_VIDSTREAM_MULTIPART_PARTS) {
        ctx->state.parts = NGX_HTTP_VIDSTREAM_MP_STATUS_ROW;
        return ngx_http_vidstream_mp_row(ctx);
    }

    ctx->state.parts = NGX_HTTP_VIDSTREAM_MP_PARTS_ROW;

    error = ngx_http_vidstream_mp_parts_args(r, ctx);
    if (error) {
        return ngx_http_vidstream_send_error(r, NGX_HTTP_BAD_REQUEST,
                                             "invalid_request", error);
    }

    /* presigning needs current credentials: an ECS refresh first */

    if (ngx_http_vidstream_mp_creds(ctx, ngx_http_vidstream_mp_row)
        == NGX_DONE)
    {
        return NGX_DONE;
    }

    /* none at all: the presign answers 503 after the owner check */

    return ngx_http_vidstream_mp_row(ctx);
}


/*
 * first (1 by default) and count (100 by default, at most 1000): NULL,
 * or what is wrong with them
 */

static const char *
ngx_http_vidstream_mp_parts_args(ngx_http_request_t *r,
    ngx_http_vidstream_mp_ctx_t *ctx)
{
    ctx->first = 1;
    ctx->count = NGX_HTTP_VIDSTREAM_MP_INLINE;

    if (ngx_http_vidstream_mp_arg(r, "first", 5, VS_MULTIPART_PARTS_MAX,
                                  &ctx->first)
        != NGX_OK)
    {
        return "first must be a part number of the upload";
    }

    if (ngx_http_vidstream_mp_arg(r, "count", 4,
                                  NGX_HTTP_VIDSTREAM_MP_COUNT_MAX,
                                  &ctx->count)
        != NGX_OK)
    {
        return "count must be an integer from 1 to 1000";
    }

    return NULL;
}


/*
 * The query argument name, when there is one, into *value: NGX_OK, or
 * NGX_ERROR when it is not an integer from 1 to max of at most len digits
 */

static ngx_int_t
ngx_http_vidstream_mp_arg(ngx_http_request_t *r, const char *name,
    size_t len, ngx_int_t max, int64_t *value)
{
    ngx_int_t  n;
    ngx_str_t  arg;

    if (ngx_http_arg(r, (u_char *) name, ngx_strlen(name), &arg) != NGX_OK) {
        return NGX_OK;
    }

    n = (arg.len && arg.len <= len) ? ngx_atoi(arg.data, arg.len) : NGX_ERROR;

    if (n < 1 || n > max) {
        return NGX_ERROR;
    }

    *value = n;

    return NGX_OK;
}


/* PostgreSQL or S3 answered …/upload or …/upload/parts */

static ngx_int_t
ngx_http_vidstream_mp_parts_step(ngx_http_vidstream_mp_ctx_t *ctx,
    PGresult *res)
{
    ngx_int_t            rc;
    ngx_http_request_t  *r;

    r = ctx->request;

    switch (ctx->state.parts) {

    case NGX_HTTP_VIDSTREAM_MP_PARTS_ROW:
    case NGX_HTTP_VIDSTREAM_MP_STATUS_ROW:
        if (PQntuples(res) != 1) {
            return ngx_http_vidstream_send_error(r, NGX_HTTP_NOT_FOUND,
                                                 "not_found",
                                                 "no such video");
        }

        if (ngx_strcmp(PQgetvalue(res, 0, 0), "pending_upload") != 0
            || PQgetisnull(res, 0, 1))
        {
            return ngx_http_vidstream_mp_conflict(r);
        }

        rc = ngx_http_vidstream_mp_plan(ctx, res);
        if (rc != NGX_OK) {
            return rc == NGX_ERROR ? NGX_HTTP_INTERNAL_SERVER_ERROR
                                   : ngx_http_vidstream_mp_unavailable(r);
        }

        if (ctx->state.parts == NGX_HTTP_VIDSTREAM_MP_PARTS_ROW) {
            return ngx_http_vidstream_mp_answer_parts(ctx);
        }

        /* what S3 holds: the parts of the plan, as JSON into out */

        ctx->check = ngx_palloc(r->pool, sizeof(vs_multipart_check_t));
        if (ctx->check == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        vs_multipart_check_init(ctx->check, &ctx->plan);

        if (ngx_http_vidstream_mp_reserve(r, &ctx->out, 64 * 1024)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->on_part = ngx_http_vidstream_mp_uploaded;
        ctx->state.parts = NGX_HTTP_VIDSTREAM_MP_STATUS_LIST;

        return ngx_http_vidstream_mp_list(ctx);

    default: /* NGX_HTTP_VIDSTREAM_MP_STATUS_LIST */
        rc = ngx_http_vidstream_mp_listed(ctx);

        if (rc == NGX_OK) {
            return ngx_http_vidstream_mp_answer_status(ctx);
        }

        if (rc == NGX_AGAIN) {
            return ngx_http_vidstream_mp_list(ctx);
        }

        /* NoSuchUpload: completed or aborted since the row was read */

        return rc == NGX_DECLINED ? ngx_http_vidstream_mp_conflict(r)
                                  : ngx_http_vidstream_mp_unavailable(r);
    }
}
