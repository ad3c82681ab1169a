
/*
 * ngx_http_vidstream_multipart_json.c
 *
 * Rendering: every answer of the multipart module, in the API's JSON
 * style (one line, no spaces, errors as the contract's
 * {"error","message"}); the part URLs are presigned straight into the
 * answer.
 */


#include "ngx_http_vidstream_multipart_int.h"


static size_t ngx_http_vidstream_mp_parts_len(
    ngx_http_vidstream_mp_ctx_t *ctx, int64_t first, int64_t count);
static ssize_t ngx_http_vidstream_mp_presign(ngx_http_vidstream_mp_ctx_t *ctx,
    int64_t number, u_char *out, size_t size, u_char *expires_at);
static u_char *ngx_http_vidstream_mp_write_parts(
    ngx_http_vidstream_mp_ctx_t *ctx, u_char *p, u_char *last,
    int64_t first, int64_t count, u_char *expires_at);
static ngx_int_t ngx_http_vidstream_mp_send_json(ngx_http_request_t *r,
    ngx_uint_t status, u_char *body, size_t len);


static ngx_str_t  ngx_http_vidstream_mp_json = ngx_string("application/json");


/* 201: the video object with the "upload" of CONTRACT.md section 3 */

ngx_int_t
ngx_http_vidstream_mp_answer_create(ngx_http_vidstream_mp_ctx_t *ctx)
{
    u_char              *body, *p, *last;
    size_t               len, n;
    int64_t              count;
    ngx_str_t            id;
    ngx_http_request_t  *r;
    u_char               expires_at[VS_RFC3339_LEN + 1];

    r = ctx->request;
    count = ngx_min(ctx->plan.part_count, NGX_HTTP_VIDSTREAM_MP_INLINE);

    n = ngx_http_vidstream_mp_parts_len(ctx, 1, count);
    if (n == 0) {
        return ngx_http_vidstream_mp_unavailable(r);
    }

    len = ctx->video.len + 6 * ctx->upload_id.len + 2 * NGX_INT64_LEN
          + sizeof(",\"upload\":{\"method\":\"multipart\",\"upload_id\":\"\","
                   "\"part_size\":,\"part_count\":,\"parts\":[],"
                   "\"expires_at\":\"\"}}\n") + VS_RFC3339_LEN + n;

    body = ngx_pnalloc(r->pool, len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    last = body + len;

    p = ngx_cpymem(body, ctx->video.data, ctx->video.len - 1);
    p = ngx_cpymem(p, ",\"upload\":{\"method\":\"multipart\",\"upload_id\":\"",
                   sizeof(",\"upload\":{\"method\":\"multipart\","
                          "\"upload_id\":\"") - 1);
    p = (u_char *) ngx_escape_json(p, ctx->upload_id.data,
                                   ctx->upload_id.len);
    p = ngx_sprintf(p, "\",\"part_size\":%L,\"part_count\":%L,\"parts\":",
                    ctx->plan.part_size, ctx->plan.part_count);

    p = ngx_http_vidstream_mp_write_parts(ctx, p, last, 1, count, expires_at);
    if (p == NULL) {
        return ngx_http_vidstream_mp_unavailable(r);
    }

    p = ngx_sprintf(p, ",\"expires_at\":\"%s\"}}\n", expires_at);

    id.data = ctx->id;
    id.len = NGX_HTTP_VIDSTREAM_MP_UUID_LEN;

    if (ngx_http_vidstream_api_location(r, &id) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_vidstream_mp_send_json(r, NGX_HTTP_CREATED, body,
                                           p - body);
}


/* GET …/upload/parts: the row says it is a pending multipart upload */

ngx_int_t
ngx_http_vidstream_mp_answer_parts(ngx_http_vidstream_mp_ctx_t *ctx)
{
    u_char              *body, *p, *last;
    size_t               len, n;
    int64_t              count;
    ngx_http_request_t  *r;
    u_char               expires_at[VS_RFC3339_LEN + 1];

    r = ctx->request;

    if (ctx->first > ctx->plan.part_count) {
        return ngx_http_vidstream_send_error(r, NGX_HTTP_BAD_REQUEST,
                                             "invalid_request",
                                             "first is past the upload's "
                                             "last part");
    }

    count = ngx_min(ctx->count, ctx->plan.part_count - ctx->first + 1);

    n = ngx_http_vidstream_mp_parts_len(ctx, ctx->first, count);
    if (n == 0) {
        return ngx_http_vidstream_mp_unavailable(r);
    }

    len = sizeof("{\"parts\":,\"expires_at\":\"\"}\n") + VS_RFC3339_LEN + n;

    body = ngx_pnalloc(r->pool, len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    last = body + len;

    p = ngx_cpymem(body, "{\"parts\":", sizeof("{\"parts\":") - 1);

    p = ngx_http_vidstream_mp_write_parts(ctx, p, last, ctx->first, count,
                                          expires_at);
    if (p == NULL) {
        return ngx_http_vidstream_mp_unavailable(r);
    }

    p = ngx_sprintf(p, ",\"expires_at\":\"%s\"}\n", expires_at);

    return ngx_http_vidstream_mp_send_json(r, NGX_HTTP_OK, body, p - body);
}


/*
 * An upper bound of what _write_parts() writes: every URL of one upload
 * is bounded by that of its largest part number (a presigned URL is
 * percent-encoded: JSON never needs to escape it).  0 when presigning
 * fails (no credentials).
 */

static size_t
ngx_http_vidstream_mp_parts_len(ngx_http_vidstream_mp_ctx_t *ctx,
    int64_t first, int64_t count)
{
    size_t         n;
    vs_sigv4_kv_t  query[2];
    u_char         digits[NGX_INT64_LEN + 1];

    query[0].name = "partNumber";
    query[0].name_len = sizeof("partNumber") - 1;
    query[0].value = (char *) digits;
    query[0].value_len = ngx_sprintf(digits, "%L", first + count - 1)
                         - digits;
    query[1].name = "uploadId";
    query[1].name_len = sizeof("uploadId") - 1;
    query[1].value = (char *) ctx->upload_id.data;
    query[1].value_len = ctx->upload_id.len;

    n = ngx_http_vidstream_s3_presign_size(ctx->request, &ctx->s3, "PUT",
                                           &ctx->key, query, 2, NULL, 0);
    if (n == 0) {
        return 0;
    }

    return 2 + count * (sizeof("{\"part_number\":,\"url\":\"\"},")
                        + 2 * NGX_INT64_LEN + n);
}


/* the presigned UploadPart URL of part number into out, or NGX_ERROR */

static ssize_t
ngx_http_vidstream_mp_presign(ngx_http_vidstream_mp_ctx_t *ctx,
    int64_t number, u_char *out, size_t size, u_char *expires_at)
{
    vs_sigv4_kv_t  query[2];
    u_char         digits[NGX_INT64_LEN + 1];

    query[0].name = "partNumber";
    query[0].name_len = sizeof("partNumber") - 1;
    query[0].value = (char *) digits;
    query[0].value_len = ngx_sprintf(digits, "%L", number) - digits;
    query[1].name = "uploadId";
    query[1].name_len = sizeof("uploadId") - 1;
    query[1].value = (char *) ctx->upload_id.data;
    query[1].value_len = ctx->upload_id.len;

    return ngx_http_vidstream_s3_presign(ctx->request, &ctx->s3, "PUT",
                                         &ctx->key, query, 2, NULL, 0, out,
                                         size, expires_at);
}


/*
 * [{"part_number":n,"url":"<presigned UploadPart>"},…] for parts first …
 * first + count - 1, presigned straight into the answer; expires_at gets
 * their expiry.  NULL when presigning failed.
 */

static u_char *
ngx_http_vidstream_mp_write_parts(ngx_http_vidstream_mp_ctx_t *ctx, u_char *p,
    u_char *last, int64_t first, int64_t count, u_char *expires_at)
{
    ssize_t  n;
    int64_t  i;

    *p++ = '[';

    for (i = first; i < first + count; i++) {
        p = ngx_sprintf(p, "%s{\"part_number\":%L,\"url\":\"",
                        i == first ? "" : ",", i);

        n = ngx_http_vidstream_mp_presign(ctx, i, p, last - p - 8,
                                          i == first ? expires_at : NULL);
        if (n < 0) {
            return NULL;
        }

        p += n;
        *p++ = '"';
        *p++ = '}';
    }

    *p++ = ']';

    return p;
}


/* GET …/upload: the listing is in out */

ngx_int_t
ngx_http_vidstream_mp_answer_status(ngx_http_vidstream_mp_ctx_t *ctx)
{
    u_char              *body, *p;
    size_t               len;
    ngx_http_request_t  *r;

    r = ctx->request;

    len = sizeof("{\"method\":\"multipart\",\"upload_id\":\"\","
                 "\"part_size\":,\"part_count\":,\"uploaded\":[],"
                 "\"uploaded_bytes\":}\n")
          + 6 * ctx->upload_id.len + 3 * NGX_INT64_LEN
          + (ctx->out.pos - ctx->out.start);

    body = ngx_pnalloc(r->pool, len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(body, "{\"method\":\"multipart\",\"upload_id\":\"",
                   sizeof("{\"method\":\"multipart\",\"upload_id\":\"") - 1);
    p = (u_char *) ngx_escape_json(p, ctx->upload_id.data,
                                   ctx->upload_id.len);
    p = ngx_sprintf(p, "\",\"part_size\":%L,\"part_count\":%L,\"uploaded\":[",
                    ctx->plan.part_size, ctx->plan.part_count);
    p = ngx_cpymem(p, ctx->out.start, ctx->out.pos - ctx->out.start);
    p = ngx_sprintf(p, "],\"uploaded_bytes\":%L}\n",
                    ctx->check->uploaded_bytes);

    return ngx_http_vidstream_mp_send_json(r, NGX_HTTP_OK, body, p - body);
}


/* a part of GET …/upload's "uploaded": {"part_number":n,"size":s} */

ngx_int_t
ngx_http_vidstream_mp_uploaded(ngx_http_vidstream_mp_ctx_t *ctx,
    const vs_s3xml_part_t *part)
{
    size_t  len;

    len = sizeof(",{\"part_number\":,\"size\":}") + 2 * NGX_INT64_LEN;

    if (ngx_http_vidstream_mp_reserve(ctx->request, &ctx->out, len)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ctx->out.pos = ngx_sprintf(ctx->out.pos,
                               "%s{\"part_number\":%D,\"size\":%L}",
                               ctx->listed ? "," : "",
                               part->part_number, part->size);

    return NGX_OK;
}


/* 400 upload_incomplete: what is missing and what has the wrong size */

ngx_int_t
ngx_http_vidstream_mp_incomplete(ngx_http_vidstream_mp_ctx_t *ctx)
{
    u_char   *body, *p;
    int64_t   nmissing, nwrong, i, n;
    int64_t   missing[NGX_HTTP_VIDSTREAM_MP_REPORT_MAX];
    int64_t   wrong[NGX_HTTP_VIDSTREAM_MP_REPORT_MAX];

    nmissing = vs_multipart_check_missing(ctx->check, missing,
                                          NGX_HTTP_VIDSTREAM_MP_REPORT_MAX);
    nwrong = vs_multipart_check_wrong_size(ctx->check, wrong,
                                           NGX_HTTP_VIDSTREAM_MP_REPORT_MAX);

    body = ngx_pnalloc(ctx->request->pool,
                       512 + 2 * NGX_HTTP_VIDSTREAM_MP_REPORT_MAX
                             * (NGX_INT64_LEN + 1));
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(body, "{\"error\":\"upload_incomplete\",\"message\":\""
                    "%L part(s) missing and %L of the wrong size: upload "
                    "them (again), then complete\",\"missing\":[",
                    nmissing, nwrong);

    n = ngx_min(nmissing, NGX_HTTP_VIDSTREAM_MP_REPORT_MAX);

    for (i = 0; i < n; i++) {
        p = ngx_sprintf(p, "%s%L", i ? "," : "", missing[i]);
    }

    p = ngx_cpymem(p, "],\"wrong_size\":[", sizeof("],\"wrong_size\":[") - 1);

    n = ngx_min(nwrong, NGX_HTTP_VIDSTREAM_MP_REPORT_MAX);

    for (i = 0; i < n; i++) {
        p = ngx_sprintf(p, "%s%L", i ? "," : "", wrong[i]);
    }

    p = ngx_cpymem(p, "]}\n", 3);

    return ngx_http_vidstream_mp_send_json(ctx->request, NGX_HTTP_BAD_REQUEST,
                                           body, p - body);
}


static ngx_int_t
ngx_http_vidstream_mp_send_json(ngx_http_request_t *r, ngx_uint_t status,
    u_char *body, size_t len)
{
    return ngx_http_vidstream_send_body(r, status, &ngx_http_vidstream_mp_json,
                                        body, len);
}


ngx_int_t
ngx_http_vidstream_mp_unavailable(ngx_http_request_t *r)
{
    return ngx_http_vidstream_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "unavailable",
                                         "the service is temporarily "
                                         "unavailable, try again");
}


ngx_int_t
ngx_http_vidstream_mp_conflict(ngx_http_request_t *r)
{
    return ngx_http_vidstream_send_error(r, NGX_HTTP_CONFLICT, "conflict",
                                         "the video is not a pending "
                                         "multipart upload");
}
