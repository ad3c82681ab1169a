
/*
 * ngx_http_vidstream_api_json.c
 *
 * Rendering: every answer and every error of the API in one JSON style.
 */


#include "ngx_http_vidstream_api.h"


static ngx_str_t  ngx_http_vidstream_api_json = ngx_string("application/json");


/*
 * Validation helpers answer through this: the response is sent, its rc
 * kept in the ctx, and NGX_DECLINED tells the caller to stop there.
 */

ngx_int_t
ngx_http_vidstream_api_reject(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *message)
{
    ngx_http_vidstream_api_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_vidstream_api_module);
    ctx->rc = ngx_http_vidstream_send_error(r, status, code, message);

    return NGX_DECLINED;
}


ngx_int_t
ngx_http_vidstream_api_bad(ngx_http_request_t *r, const char *message)
{
    return ngx_http_vidstream_api_reject(r, NGX_HTTP_BAD_REQUEST,
                                         "invalid_request", message);
}


ngx_int_t
ngx_http_vidstream_api_send_json(ngx_http_request_t *r, ngx_uint_t status,
    u_char *body, size_t len)
{
    return ngx_http_vidstream_send_body(r, status,
                                        &ngx_http_vidstream_api_json,
                                        body, len);
}


ngx_int_t
ngx_http_vidstream_api_unavailable(ngx_http_request_t *r)
{
    return ngx_http_vidstream_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "unavailable",
                                         "the service is temporarily "
                                         "unavailable, try again");
}


void
ngx_http_vidstream_api_finish(ngx_http_vidstream_api_ctx_t *ctx,
    ngx_int_t rc)
{
    ngx_http_finalize_request(ctx->request, rc);
}
