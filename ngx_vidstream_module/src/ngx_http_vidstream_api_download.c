
/*
 * ngx_http_vidstream_api_download.c
 *
 * GET /videos/<id>/download: the video's row read, a presigned GET URL
 * answered (or redirected to).  GET /videos/<id>/playback reads the same
 * statement and hands its row to ngx_http_vidstream_play_module.c.
 * The API's presign (the URL into a buffer of its own, signed by
 * ngx_http_vidstream_s3_presign()) lives here too.
 */


#include "ngx_http_vidstream_api.h"
#include "ngx_http_vidstream_s3.h"

#include "vs_keys.h"


static ngx_int_t ngx_http_vidstream_api_downloaded(
    ngx_http_vidstream_api_ctx_t *ctx, ngx_http_vidstream_api_video_t *video);
static ngx_int_t ngx_http_vidstream_api_video(
    ngx_http_vidstream_api_ctx_t *ctx, ngx_http_vidstream_api_video_t *video);
static u_char *ngx_http_vidstream_api_disposition(ngx_pool_t *pool,
    ngx_str_t *filename, size_t *len);


/*
 * The video's row (vs_download): for a download, or for the playback
 * URLs, which the play module signs (PLAYBACK shares the statement).  A
 * done video may come from the cache (ngx_http_vidstream_api_cache.c)
 * instead, and then no statement runs at all.  NGX_OK: a statement is
 * running; anything else: the request's answer (or error) now.
 */

ngx_int_t
ngx_http_vidstream_api_download_row(ngx_http_vidstream_api_ctx_t *ctx)
{
    ngx_int_t                        rc;
    ngx_http_vidstream_api_video_t   video;

    ctx->state.download = (ctx->action == NGX_HTTP_VIDSTREAM_PLAYBACK)
                          ? NGX_HTTP_VIDSTREAM_DOWNLOAD_PLAYBACK
                          : NGX_HTTP_VIDSTREAM_DOWNLOAD_ROW;

    rc = ngx_http_vidstream_api_cache_get(ctx, &video);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_OK) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, ctx->request->connection->log, 0,
                       "vidstream api: video from cache");

        /*
         * answered now; NGX_OK is what the callers read as "a statement
         * is running", and nginx finalizes NGX_AGAIN ("the answer is on
         * its way") as it does NGX_OK
         */

        rc = ngx_http_vidstream_api_video(ctx, &video);

        return (rc == NGX_OK) ? NGX_AGAIN : rc;
    }

    return ngx_http_vidstream_api_query(ctx, NGX_HTTP_VIDSTREAM_STMT_DOWNLOAD,
                                        2, ctx->id, NGX_HTTP_VIDSTREAM_API_CSTR,
                                        ctx->sub.data, ctx->sub.len);
}


/* PostgreSQL answered vs_download: status, mp4, thumbnail, hls, filename */

ngx_int_t
ngx_http_vidstream_api_download_result(ngx_http_vidstream_api_ctx_t *ctx,
    ngx_http_vidstream_pg_status_e status, PGresult *res)
{
    ngx_http_vidstream_api_video_t  video;

    if (status != NGX_HTTP_VIDSTREAM_PG_OK) {
        return ngx_http_vidstream_api_unavailable(ctx->request);
    }

    if (ctx->state.download == NGX_HTTP_VIDSTREAM_DOWNLOAD_CREDS) {
        return ngx_http_vidstream_api_lost(ctx, "a statement");
    }

    if (PQntuples(res) != 1) {
        return ngx_http_vidstream_send_error(ctx->request, NGX_HTTP_NOT_FOUND,
                                             "not_found", "no such video");
    }

    /* the result is freed once this returns: nothing below keeps it */

    video.status = PQgetvalue(res, 0, 0);
    video.mp4 = PQgetvalue(res, 0, 1)[0] == 't';
    video.thumbnail = PQgetvalue(res, 0, 2)[0] == 't';
    video.hls = PQgetvalue(res, 0, 3)[0] == 't';
    video.filename.data = (u_char *) PQgetvalue(res, 0, 4);
    video.filename.len = PQgetlength(res, 0, 4);

    ngx_http_vidstream_api_cache_put(ctx, &video);

    return ngx_http_vidstream_api_video(ctx, &video);
}


static ngx_int_t
ngx_http_vidstream_api_video(ngx_http_vidstream_api_ctx_t *ctx,
    ngx_http_vidstream_api_video_t *video)
{
    if (ctx->state.download == NGX_HTTP_VIDSTREAM_DOWNLOAD_PLAYBACK) {
        return ngx_http_vidstream_play_playback(ctx->request, ctx->id,
                                                &ctx->sub, video->status,
                                                video->hls);
    }

    return ngx_http_vidstream_api_downloaded(ctx, video);
}


/*
 * {"url":…,"expires_at":…,"variant":…}, the URL presigned straight into
 * the answer (it needs no JSON escaping: vs_sigv4.h), or a redirect to it.
 */

static ngx_int_t
ngx_http_vidstream_api_downloaded(ngx_http_vidstream_api_ctx_t *ctx,
    ngx_http_vidstream_api_video_t *video)
{
    u_char              *body, *p, *disp;
    long                 n;
    size_t               len, disp_len;
    ngx_str_t            key, url;
    ngx_uint_t           ready, nquery;
    vs_sigv4_kv_t        query[1];
    ngx_table_elt_t     *h;
    ngx_http_request_t  *r;
    u_char               expires_at[VS_RFC3339_LEN + 1];

    static const char   *names[] = { VS_KEYS_MP4, VS_KEYS_THUMBNAIL,
                                     VS_KEYS_HLS_MASTER };
    static const char   *variants[] = { "mp4", "thumbnail", "hls" };

    r = ctx->request;

    switch (ctx->variant) {
    case NGX_HTTP_VIDSTREAM_VARIANT_MP4:
        ready = video->mp4;
        break;
    case NGX_HTTP_VIDSTREAM_VARIANT_THUMBNAIL:
        ready = video->thumbnail;
        break;
    default: /* NGX_HTTP_VIDSTREAM_VARIANT_HLS */
        ready = video->hls;
        break;
    }

    if (!ready || ngx_strcmp(video->status, "done") != 0) {
        body = ngx_pnalloc(r->pool, 256);
        if (body == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        p = ngx_sprintf(body, "{\"error\":\"not_ready\",\"message\":\""
                        "the %s variant is not available\","
                        "\"status\":\"%s\"}\n",
                        variants[ctx->variant], video->status);

        return ngx_http_vidstream_api_send_json(r, NGX_HTTP_CONFLICT, body,
                                                p - body);
    }

    len = VS_KEYS_OUTPUT_LEN(ctx->sub.len, ngx_strlen(names[ctx->variant]))
          + 1;
    key.data = ngx_pnalloc(r->pool, len);
    if (key.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = vs_keys_output((char *) key.data, len, (char *) ctx->sub.data,
                       ctx->sub.len, (char *) ctx->id, names[ctx->variant],
                       ngx_strlen(names[ctx->variant]));
    if (n < 0) {
        return ngx_http_vidstream_api_unavailable(r);
    }

    key.len = n;

    nquery = 0;

    if (ctx->variant != NGX_HTTP_VIDSTREAM_VARIANT_HLS) {
        disp = ngx_http_vidstream_api_disposition(r->pool, &video->filename,
                                                  &disp_len);
        if (disp == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        query[0].name = "response-content-disposition";
        query[0].name_len = sizeof("response-content-disposition") - 1;
        query[0].value = (char *) disp;
        query[0].value_len = disp_len;
        nquery = 1;
    }

    if (ngx_http_vidstream_api_presign(ctx, "GET", &key, query, nquery,
                                       NULL, 0,
                                       sizeof("{\"url\":\"") - 1,
                                       sizeof("\",\"expires_at\":\"\","
                                              "\"variant\":\"\"}\n")
                                       + VS_RFC3339_LEN + sizeof("thumbnail"),
                                       &url, expires_at)
        != NGX_OK)
    {
        return ngx_http_vidstream_api_unavailable(r);
    }

    if (ctx->redirect) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Location");
        h->value = url;
        r->headers_out.location = h;

        return ngx_http_vidstream_api_send_json(r, NGX_HTTP_MOVED_TEMPORARILY,
                                                NULL, 0);
    }

    body = url.data - (sizeof("{\"url\":\"") - 1);
    ngx_memcpy(body, "{\"url\":\"", sizeof("{\"url\":\"") - 1);

    p = ngx_sprintf(url.data + url.len,
                    "\",\"expires_at\":\"%s\",\"variant\":\"%s\"}\n",
                    expires_at, variants[ctx->variant]);

    return ngx_http_vidstream_api_send_json(r, NGX_HTTP_OK, body, p - body);
}


/*
 * RFC 6266: attachment; filename="<ASCII fallback>";
 * filename*=UTF-8''<RFC 5987 percent-encoding>.  The fallback replaces
 * every byte outside printable ASCII, '"', '\\' and '%' with '_'.
 */

static u_char *
ngx_http_vidstream_api_disposition(ngx_pool_t *pool, ngx_str_t *filename,
    size_t *len)
{
    u_char  *out, *p, *s, *last, c;

    static u_char  hex[] = "0123456789ABCDEF";

    /* attr-char of RFC 5987: ALPHA DIGIT ! # $ & + - . ^ _ ` | ~ */
    static uint32_t  attr_char[] = {
        0x00000000, 0x03ff685a, 0xc7fffffe, 0x57ffffff,
        0x00000000, 0x00000000, 0x00000000, 0x00000000
    };

    out = ngx_pnalloc(pool, sizeof("attachment; filename=\"\"; "
                                   "filename*=UTF-8''")
                            + 4 * filename->len);
    if (out == NULL) {
        return NULL;
    }

    p = ngx_cpymem(out, "attachment; filename=\"",
                   sizeof("attachment; filename=\"") - 1);

    last = filename->data + filename->len;

    for (s = filename->data; s < last; s++) {
        c = *s;
        *p++ = (c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '%')
               ? '_' : c;
    }

    p = ngx_cpymem(p, "\"; filename*=UTF-8''",
                   sizeof("\"; filename*=UTF-8''") - 1);

    for (s = filename->data; s < last; s++) {
        c = *s;

        if (attr_char[c >> 5] & (1U << (c & 0x1f))) {
            *p++ = c;

        } else {
            *p++ = '%';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 0xf];
        }
    }

    *len = p - out;

    return out;
}


/*
 * Presigns method on key into a buffer of the request's pool with room for
 * before bytes ahead of the URL and after bytes behind it, so that the
 * caller writes its answer around the URL instead of copying it; url
 * points at the URL within that buffer.
 */

ngx_int_t
ngx_http_vidstream_api_presign(ngx_http_vidstream_api_ctx_t *ctx,
    const char *method, ngx_str_t *key, vs_sigv4_kv_t *query, size_t nquery,
    vs_sigv4_kv_t *headers, size_t nheaders, size_t before, size_t after,
    ngx_str_t *url, u_char *expires_at)
{
    u_char                        *buf;
    size_t                         size;
    ssize_t                        n;
    ngx_http_vidstream_s3_conf_t   s3;

    if (ngx_http_vidstream_api_s3_conf(ctx->request, &s3) != NGX_OK) {
        return NGX_ERROR;
    }

    size = ngx_http_vidstream_s3_presign_size(ctx->request, &s3, method, key,
                                              query, nquery, headers,
                                              nheaders);
    if (size == 0) {
        return NGX_ERROR;
    }

    buf = ngx_pnalloc(ctx->request->pool, before + size + after);
    if (buf == NULL) {
        return NGX_ERROR;
    }

    url->data = buf + before;

    n = ngx_http_vidstream_s3_presign(ctx->request, &s3, method, key, query,
                                      nquery, headers, nheaders, url->data,
                                      size, expires_at);
    if (n < 0) {
        return NGX_ERROR;
    }

    url->len = n;

    return NGX_OK;
}
