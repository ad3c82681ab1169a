
/*
 * ngx_http_vidstream_api_health.c: the health endpoints.
 *
 *     location = /upload/health   { vidstream_health upload; }
 *     location = /download/health { vidstream_health download; }
 *     location = /healthz         { vidstream_healthz; }
 *
 * vidstream_health is the load balancer's liveness check: a fixed text,
 * no backend asked.  /healthz checks PostgreSQL and Redis at once and
 * answers once both have reported.
 */


#include "ngx_http_vidstream_api.h"


static ngx_int_t ngx_http_vidstream_health_upload(ngx_http_request_t *r);
static ngx_int_t ngx_http_vidstream_health_download(ngx_http_request_t *r);
static ngx_int_t ngx_http_vidstream_health_send(ngx_http_request_t *r,
    ngx_str_t *body);
static void ngx_http_vidstream_healthz_redis_done(
    ngx_http_vidstream_redis_check_t *check, ngx_uint_t ok);


static ngx_str_t  ngx_http_vidstream_text_plain = ngx_string("text/plain");


/* vidstream_health upload | download */

char *
ngx_http_vidstream_health(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_str_t                 *value;
    ngx_http_core_loc_conf_t  *clcf;

    value = cf->args->elts;
    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (ngx_strcmp(value[1].data, "upload") == 0) {
        clcf->handler = ngx_http_vidstream_health_upload;

    } else if (ngx_strcmp(value[1].data, "download") == 0) {
        clcf->handler = ngx_http_vidstream_health_download;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid value \"%V\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* vidstream_healthz */

char *
ngx_http_vidstream_healthz(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_vidstream_healthz_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_vidstream_health_upload(ngx_http_request_t *r)
{
    static ngx_str_t  body = ngx_string("upload ok\n");

    return ngx_http_vidstream_health_send(r, &body);
}


static ngx_int_t
ngx_http_vidstream_health_download(ngx_http_request_t *r)
{
    static ngx_str_t  body = ngx_string("download ok\n");

    return ngx_http_vidstream_health_send(r, &body);
}


static ngx_int_t
ngx_http_vidstream_health_send(ngx_http_request_t *r, ngx_str_t *body)
{
    ngx_int_t  rc;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_vidstream_send_error(r, NGX_HTTP_NOT_ALLOWED,
                                             "method_not_allowed",
                                             "use GET or HEAD");
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_http_vidstream_send_body(r, NGX_HTTP_OK,
                                        &ngx_http_vidstream_text_plain,
                                        body->data, body->len);
}


/*
 * GET /healthz: PostgreSQL (SELECT 1 through the pool) and Redis (PING)
 * are checked at once; the answer goes when both are known.
 */

ngx_int_t
ngx_http_vidstream_healthz_handler(ngx_http_request_t *r)
{
    ngx_int_t                            rc;
    ngx_http_vidstream_api_ctx_t        *ctx;
    ngx_http_vidstream_api_main_conf_t  *amcf;

    ctx = ngx_http_vidstream_api_ctx(r, NGX_HTTP_VIDSTREAM_HEALTHZ);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_vidstream_metrics_action(r, ctx->action);

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        (void) ngx_http_vidstream_api_not_allowed(r, "GET, HEAD");
        return ctx->rc;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    amcf = ctx->amcf;
    ctx->parts = 1;    /* ours, released below */

    if (amcf->pg.keywords) {
        ctx->query.stmt = NGX_HTTP_VIDSTREAM_STMT_HEALTH;
        ctx->query.nparams = 0;
        ctx->query.handler = ngx_http_vidstream_api_pg_done;
        ctx->query.data = ctx;
        ctx->query.log = r->connection->log;

        rc = ngx_http_vidstream_pg_send(&ctx->query);

        if (rc == NGX_OK) {
            ctx->pg_pending = 1;
            ctx->parts++;

        } else if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        /* NGX_DECLINED: PostgreSQL is known to be down, pg_ok stays 0 */
    }

    if (amcf->redis.addr) {
        ctx->redis.handler = ngx_http_vidstream_healthz_redis_done;
        ctx->redis.data = ctx;
        ctx->redis.log = r->connection->log;

        if (ngx_http_vidstream_redis_ping(&amcf->redis, &ctx->redis)
            == NGX_OK)
        {
            ctx->redis_pending = 1;
            ctx->parts++;
        }
    }

    if (ctx->parts > 1) {
        ctx->parts--;
        r->main->count++;
        return NGX_DONE;
    }

    return ngx_http_vidstream_healthz_part_done(ctx);
}


static void
ngx_http_vidstream_healthz_redis_done(ngx_http_vidstream_redis_check_t *check,
    ngx_uint_t ok)
{
    ngx_int_t                      rc;
    ngx_connection_t              *c;
    ngx_http_vidstream_api_ctx_t  *ctx;

    ctx = check->data;
    ctx->redis_pending = 0;
    ctx->redis_ok = ok;

    c = ctx->request->connection;

    rc = ngx_http_vidstream_healthz_part_done(ctx);

    if (rc != NGX_DONE) {
        ngx_http_vidstream_api_finish(ctx, rc);
    }

    ngx_http_run_posted_requests(c);
}


/*
 * One check of /healthz is over: NGX_DONE while another still runs, else
 * the answer is sent and its rc returned.
 */

ngx_int_t
ngx_http_vidstream_healthz_part_done(ngx_http_vidstream_api_ctx_t *ctx)
{
    u_char                              *body, *p;
    ngx_uint_t                           ok;
    ngx_http_vidstream_api_main_conf_t  *amcf;

    if (--ctx->parts) {
        return NGX_DONE;
    }

    amcf = ctx->amcf;

    ok = (amcf->pg.keywords == NULL || ctx->pg_ok)
         && (amcf->redis.addr == NULL || ctx->redis_ok);

    body = ngx_pnalloc(ctx->request->pool, 128);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(body, "{\"status\":\"%s\",\"postgres\":\"%s\","
                    "\"redis\":\"%s\"}\n",
                    ok ? "ok" : "unavailable",
                    amcf->pg.keywords == NULL ? "disabled"
                    : ctx->pg_ok ? "ok" : "unavailable",
                    amcf->redis.addr == NULL ? "disabled"
                    : ctx->redis_ok ? "ok" : "unavailable");

    return ngx_http_vidstream_api_send_json(ctx->request,
                                            ok ? NGX_HTTP_OK
                                               : NGX_HTTP_SERVICE_UNAVAILABLE,
                                            body, p - body);
}
