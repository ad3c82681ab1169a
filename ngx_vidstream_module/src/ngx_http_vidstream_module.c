
/*
 * ngx_http_vidstream_module: the core of ngx_vidstream_module.
 *
 * Health endpoints for the load balancer and the contract's JSON error
 * responses, which the other vidstream modules share.
 *
 *     location = /upload/health   { vidstream_health upload; }
 *     location = /download/health { vidstream_health download; }
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_vidstream.h"


#define NGX_HTTP_VIDSTREAM_HEALTH_OFF       0
#define NGX_HTTP_VIDSTREAM_HEALTH_UPLOAD    1
#define NGX_HTTP_VIDSTREAM_HEALTH_DOWNLOAD  2


typedef struct {
    ngx_uint_t  health;
} ngx_http_vidstream_loc_conf_t;


static ngx_int_t ngx_http_vidstream_health_handler(ngx_http_request_t *r);
static char *ngx_http_vidstream_health(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void *ngx_http_vidstream_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_vidstream_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);


static ngx_conf_enum_t  ngx_http_vidstream_health_kinds[] = {
    { ngx_string("upload"), NGX_HTTP_VIDSTREAM_HEALTH_UPLOAD },
    { ngx_string("download"), NGX_HTTP_VIDSTREAM_HEALTH_DOWNLOAD },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_vidstream_commands[] = {

    { ngx_string("vidstream_health"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_vidstream_health,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_vidstream_loc_conf_t, health),
      &ngx_http_vidstream_health_kinds },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_vidstream_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_vidstream_create_loc_conf,    /* create location configuration */
    ngx_http_vidstream_merge_loc_conf      /* merge location configuration */
};


ngx_module_t  ngx_http_vidstream_module = {
    NGX_MODULE_V1,
    &ngx_http_vidstream_module_ctx,        /* module context */
    ngx_http_vidstream_commands,           /* module directives */
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


static ngx_str_t  ngx_http_vidstream_text_plain = ngx_string("text/plain");
static ngx_str_t  ngx_http_vidstream_json = ngx_string("application/json");


static ngx_int_t
ngx_http_vidstream_health_handler(ngx_http_request_t *r)
{
    ngx_int_t                       rc;
    ngx_str_t                       body;
    ngx_http_vidstream_loc_conf_t  *vlcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_vidstream_send_error(r, NGX_HTTP_NOT_ALLOWED,
                                             "method_not_allowed",
                                             "use GET or HEAD");
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    vlcf = ngx_http_get_module_loc_conf(r, ngx_http_vidstream_module);

    if (vlcf->health == NGX_HTTP_VIDSTREAM_HEALTH_UPLOAD) {
        ngx_str_set(&body, "upload ok\n");

    } else {
        ngx_str_set(&body, "download ok\n");
    }

    return ngx_http_vidstream_send_body(r, NGX_HTTP_OK,
                                        &ngx_http_vidstream_text_plain,
                                        body.data, body.len);
}


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


static char *
ngx_http_vidstream_health(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char                      *rv;
    ngx_http_core_loc_conf_t  *clcf;

    rv = ngx_conf_set_enum_slot(cf, cmd, conf);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_vidstream_health_handler;

    return NGX_CONF_OK;
}


static void *
ngx_http_vidstream_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_vidstream_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_vidstream_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->health = NGX_CONF_UNSET_UINT;

    return conf;
}


static char *
ngx_http_vidstream_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_vidstream_loc_conf_t  *prev = parent;
    ngx_http_vidstream_loc_conf_t  *conf = child;

    ngx_conf_merge_uint_value(conf->health, prev->health,
                              NGX_HTTP_VIDSTREAM_HEALTH_OFF);

    return NGX_CONF_OK;
}
