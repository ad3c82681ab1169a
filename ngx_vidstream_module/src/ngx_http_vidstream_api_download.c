
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


static ngx_int_t ngx_http_vidstream_api_downloaded(
    ngx_http_vidstream_api_ctx_t *ctx, PGresult *res);
static u_char *ngx_http_vidstream_api_disposition(ngx_pool_t *pool,
    ngx_str_t *filename, size_t *len);


/*
 * The video's row (vs_download): for a download, or for the playback
 * URLs, which the play module signs (PLAYBACK shares the statement).
 */

ngx_int_t
ngx_http_vidstream_api_download_row(ngx_http_vidstream_api_ctx_t *ctx)
{
    ctx->state.download = (ctx->action == NGX_HTTP_VIDSTREAM_PLAYBACK)
                          ? NGX_HTTP_VIDSTREAM_DOWNLOAD_PLAYBACK
                          : NGX_HTTP_VIDSTREAM_DOWNLOAD_ROW;

    return ngx_http_vidstream_api_query(ctx, NGX_HTTP_VIDSTREAM_STMT_DOWNLOAD,
                                        2, ctx->id,
                                        (size_t) NGX_HTTP_VIDSTREAM_UUID_LEN,
                                        ctx->sub.data, ctx->sub.len);
}


/* PostgreSQL answered vs_download */

ngx_int_t
ngx_http_vidstream_api_download_result(ngx_http_vidstream_api_ctx_t *ctx,
    ngx_http_vidstream_pg_status_e status, PGresult *res)
{
    if (status != NGX_HTTP_VIDSTREAM_PG_OK) {
        return ngx_http_vidstream_api_unavailable(ctx->request);
    }

    switch (ctx->state.download) {

    case NGX_HTTP_VIDSTREAM_DOWNLOAD_ROW:
        return ngx_http_vidstream_api_downloaded(ctx, res);

    case NGX_HTTP_VIDSTREAM_DOWNLOAD_PLAYBACK:
        return ngx_http_vidstream_play_playback(ctx->request, ctx->id,
                   &ctx->sub,
                   PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : NULL,
                   PQntuples(res) == 1 && PQgetvalue(res, 0, 3)[0] == 't');

    default: /* NGX_HTTP_VIDSTREAM_DOWNLOAD_CREDS */
        return ngx_http_vidstream_api_lost(ctx, "a statement");
    }
}


static ngx_int_t
ngx_http_vidstream_api_downloaded(ngx_http_vidstream_api_ctx_t *ctx,
    PGresult *res)
{
    u_char              *body, *p, *disp;
    char                *status;
    size_t               len, disp_len, escape;
    ngx_str_t            key, url, filename;
    ngx_uint_t           ready, nquery;
    vs_sigv4_kv_t        query[1];
    ngx_table_elt_t     *h;
    ngx_http_request_t  *r;
    u_char               expires_at[VS_RFC3339_LEN + 1];

    static const char   *names[] = { "video.mp4", "thumbnail.jpg",
                                     "hls/index.m3u8" };
    static const char   *variants[] = { "mp4", "thumbnail", "hls" };

    r = ctx->request;

    if (PQntuples(res) != 1) {
        return ngx_http_vidstream_send_error(r, NGX_HTTP_NOT_FOUND,
                                             "not_found", "no such video");
    }

    status = PQgetvalue(res, 0, 0);
    ready = ngx_strcmp(status, "done") == 0
            && PQgetvalue(res, 0, 1 + ctx->variant)[0] == 't';

    if (!ready) {
        body = ngx_pnalloc(r->pool, 256);
        if (body == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        p = ngx_sprintf(body, "{\"error\":\"not_ready\",\"message\":\""
                        "the %s variant is not available\","
                        "\"status\":\"%s\"}\n",
                        variants[ctx->variant], status);

        return ngx_http_vidstream_api_send_json(r, NGX_HTTP_CONFLICT, body,
                                                p - body);
    }

    key.len = sizeof("output///") - 1 + ctx->sub.len
              + NGX_HTTP_VIDSTREAM_UUID_LEN
              + ngx_strlen(names[ctx->variant]);
    key.data = ngx_pnalloc(r->pool, key.len);
    if (key.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_sprintf(key.data, "output/%V/%s/%s", &ctx->sub, ctx->id,
                names[ctx->variant]);

    nquery = 0;

    if (ctx->variant != NGX_HTTP_VIDSTREAM_VARIANT_HLS) {
        filename.data = (u_char *) PQgetvalue(res, 0, 4);
        filename.len = PQgetlength(res, 0, 4);

        disp = ngx_http_vidstream_api_disposition(r->pool, &filename,
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
                                       NULL, 0, &url, expires_at)
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

    /* a presigned URL is percent-encoded: escaping is almost never due */

    escape = ngx_escape_json(NULL, url.data, url.len);

    len = sizeof("{\"url\":\"\",\"expires_at\":\"\",\"variant\":\"\"}\n")
          + url.len + escape + VS_RFC3339_LEN + sizeof("thumbnail");

    body = ngx_pnalloc(r->pool, len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(body, "{\"url\":\"", sizeof("{\"url\":\"") - 1);
    p = escape ? (u_char *) ngx_escape_json(p, url.data, url.len)
               : ngx_cpymem(p, url.data, url.len);
    p = ngx_sprintf(p, "\",\"expires_at\":\"%s\",\"variant\":\"%s\"}\n",
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

    /* attr-char of RFC 5987 */

    for (s = filename->data; s < last; s++) {
        c = *s;

        if (isalnum(c) || ngx_strchr("!#$&+-.^_`|~", c)) {
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


/* the API's presigning: into a URL buffer of its own (s3.c presigns) */

ngx_int_t
ngx_http_vidstream_api_presign(ngx_http_vidstream_api_ctx_t *ctx,
    const char *method, ngx_str_t *key, vs_sigv4_kv_t *query, size_t nquery,
    vs_sigv4_kv_t *headers, size_t nheaders, ngx_str_t *url,
    u_char *expires_at)
{
    ssize_t                       n;
    ngx_http_vidstream_s3_conf_t  s3;

    if (ngx_http_vidstream_api_s3_conf(ctx->request, &s3) != NGX_OK) {
        return NGX_ERROR;
    }

    url->data = ngx_pnalloc(ctx->request->pool, VS_SIGV4_URL_MAX);
    if (url->data == NULL) {
        return NGX_ERROR;
    }

    n = ngx_http_vidstream_s3_presign(ctx->request, &s3, method, key, query,
                                      nquery, headers, nheaders, url->data,
                                      VS_SIGV4_URL_MAX, expires_at);
    if (n < 0) {
        return NGX_ERROR;
    }

    url->len = n;

    return NGX_OK;
}
