
/*
 * ngx_http_vidstream_module: the core of ngx_vidstream_module: how every
 * vidstream module answers, a complete body and the contract's JSON error
 * (ngx_http_vidstream.h).  It has no directives; the health endpoints live
 * with /healthz in ngx_http_vidstream_api_health.c.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_vidstream.h"


static ngx_http_module_t  ngx_http_vidstream_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_vidstream_module = {
    NGX_MODULE_V1,
    &ngx_http_vidstream_module_ctx,        /* module context */
    NULL,                                  /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_str_t  ngx_http_vidstream_json = ngx_string("application/json");


ngx_int_t
ngx_http_vidstream_send_body(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *content_type, u_char *body, size_t len)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    r->headers_out.status = status;
    r->headers_out.content_type = *content_type;
    r->headers_out.content_type_len = content_type->len;
    r->headers_out.content_length_n = len;

    if (r->method == NGX_HTTP_HEAD || len == 0) {
        r->header_only = 1;
        return ngx_http_send_header(r);
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = body;
    b->last = body + len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


ngx_int_t
ngx_http_vidstream_send_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *message)
{
    size_t      len, code_len, msg_len;
    u_char     *body, *p;
    uintptr_t   escape;

    code_len = ngx_strlen(code);
    msg_len = ngx_strlen(message);
    escape = ngx_escape_json(NULL, (u_char *) message, msg_len);

    len = sizeof("{\"error\":\"\",\"message\":\"\"}\n") - 1
          + code_len + msg_len + escape;

    body = ngx_pnalloc(r->pool, len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(body, "{\"error\":\"", sizeof("{\"error\":\"") - 1);
    p = ngx_cpymem(p, code, code_len);
    p = ngx_cpymem(p, "\",\"message\":\"", sizeof("\",\"message\":\"") - 1);
    p = (u_char *) ngx_escape_json(p, (u_char *) message, msg_len);
    p = ngx_cpymem(p, "\"}\n", sizeof("\"}\n") - 1);

    r->keepalive = r->keepalive && status < NGX_HTTP_INTERNAL_SERVER_ERROR;

    return ngx_http_vidstream_send_body(r, status, &ngx_http_vidstream_json,
                                        body, p - body);
}


/*
 * Sends the contract's JSON error from the access phase and finalizes the
 * request: NGX_DONE tells the phase engine that it is taken care of.
 */

ngx_int_t
ngx_http_vidstream_refuse(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *message)
{
    ngx_int_t  rc;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_vidstream_send_error(r, status, code, message);

    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}


ngx_int_t
ngx_http_vidstream_add_variables(ngx_conf_t *cf, ngx_http_variable_t *vars)
{
    ngx_http_variable_t  *var, *v;

    for (v = vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}
