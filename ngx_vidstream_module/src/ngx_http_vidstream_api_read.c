
/*
 * ngx_http_vidstream_api_read.c
 *
 * GET /videos (list, newest first, by cursor) and GET /videos/<id>.
 */


#include "ngx_http_vidstream_api.h"


static ngx_int_t ngx_http_vidstream_api_listed(
    ngx_http_vidstream_api_ctx_t *ctx, PGresult *res);


/* PostgreSQL answered vs_list or vs_get */

ngx_int_t
ngx_http_vidstream_api_read_result(ngx_http_vidstream_api_ctx_t *ctx,
    ngx_http_vidstream_pg_status_e status, PGresult *res)
{
    u_char  *body;
    size_t   len;

    if (status != NGX_HTTP_VIDSTREAM_PG_OK) {
        return ngx_http_vidstream_api_unavailable(ctx->request);
    }

    switch (ctx->state.read) {

    case NGX_HTTP_VIDSTREAM_READ_LIST:
        return ngx_http_vidstream_api_listed(ctx, res);

    default: /* NGX_HTTP_VIDSTREAM_READ_GET */
        if (PQntuples(res) != 1) {
            return ngx_http_vidstream_send_error(ctx->request,
                                                 NGX_HTTP_NOT_FOUND,
                                                 "not_found",
                                                 "no such video");
        }

        /* the result is freed once this returns: the body is copied */

        len = PQgetlength(res, 0, 0);

        body = ngx_pnalloc(ctx->request->pool, len);
        if (body == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_memcpy(body, PQgetvalue(res, 0, 0), len);

        return ngx_http_vidstream_api_send_json(ctx->request, NGX_HTTP_OK,
                                                body, len);
    }
}


static ngx_int_t
ngx_http_vidstream_api_listed(ngx_http_vidstream_api_ctx_t *ctx,
    PGresult *res)
{
    u_char              *body, *p;
    size_t               len;
    ngx_int_t            i, n, items;
    ngx_str_t            cursor, raw;
    ngx_http_request_t  *r;

    r = ctx->request;
    n = PQntuples(res);
    items = ngx_min(n, (ngx_int_t) ctx->limit);

    len = sizeof("{\"items\":[],\"next_cursor\":null}\n") + 128;

    for (i = 0; i < items; i++) {
        len += PQgetlength(res, i, 0) + 1;
    }

    body = ngx_pnalloc(r->pool, len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(body, "{\"items\":[", sizeof("{\"items\":[") - 1);

    for (i = 0; i < items; i++) {
        if (i) {
            *p++ = ',';
        }

        p = ngx_cpymem(p, PQgetvalue(res, i, 0), PQgetlength(res, i, 0));
    }

    p = ngx_cpymem(p, "],\"next_cursor\":", sizeof("],\"next_cursor\":") - 1);

    if (n > (ngx_int_t) ctx->limit) {
        /* more follow: the cursor is the last item returned */
        i = items - 1;

        raw.len = PQgetlength(res, i, 1) + 1 + PQgetlength(res, i, 2);
        raw.data = ngx_pnalloc(r->pool, raw.len);
        if (raw.data == NULL || raw.len > 64) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_sprintf(raw.data, "%s|%s", PQgetvalue(res, i, 1),
                    PQgetvalue(res, i, 2));

        cursor.data = p + 1;
        ngx_encode_base64url(&cursor, &raw);

        *p = '"';
        p += 1 + cursor.len;
        *p++ = '"';

    } else {
        p = ngx_cpymem(p, "null", 4);
    }

    p = ngx_cpymem(p, "}\n", 2);

    return ngx_http_vidstream_api_send_json(r, NGX_HTTP_OK, body, p - body);
}
