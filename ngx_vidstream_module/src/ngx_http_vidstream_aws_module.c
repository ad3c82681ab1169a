
/*
 * ngx_http_vidstream_aws_module: signed S3/SQS calls as subrequests, and
 * the per-worker AWS credentials.  See ngx_http_vidstream_aws.h.  A module
 * of its own for its request context (the subrequest's call, read by the
 * $vidstream_aws_* variables) and the variables; it has no directives:
 * the API module configures it (vidstream_s3_*, vidstream_aws_*).
 *
 * The subrequest follows ngx_http_auth_request_module: it is created
 * NGX_HTTP_SUBREQUEST_IN_MEMORY|WAITED, its post_subrequest handler records
 * the outcome and points the parent's write_event_handler at the caller's
 * continuation, which nginx runs when it wakes the parent.  Its headers
 * are built from scratch: the client's (its bearer token above all) never
 * reach AWS.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_vidstream.h"
#include "ngx_http_vidstream_aws.h"
#include "ngx_http_vidstream_metrics.h"


static ngx_int_t ngx_http_vidstream_aws_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_http_vidstream_aws_post(ngx_http_request_t *sr,
    void *data, ngx_int_t rc);
static ngx_int_t ngx_http_vidstream_aws_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_vidstream_aws_push(ngx_http_request_t *sr,
    const char *name, size_t name_len, const char *value, size_t value_len);
static void ngx_http_vidstream_aws_deadline(ngx_event_t *ev);
static void ngx_http_vidstream_aws_cleanup(void *data);


static ngx_http_module_t  ngx_http_vidstream_aws_module_ctx = {
    ngx_http_vidstream_aws_add_variables,  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_vidstream_aws_module = {
    NGX_MODULE_V1,
    &ngx_http_vidstream_aws_module_ctx,    /* module context */
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


ngx_http_vidstream_aws_state_t  *ngx_http_vidstream_aws_state;


static ngx_http_variable_t  ngx_http_vidstream_aws_vars[] = {

    { ngx_string("vidstream_aws_uri"), NULL,
      ngx_http_vidstream_aws_variable,
      offsetof(ngx_http_vidstream_aws_call_t, uri),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("vidstream_aws_host"), NULL,
      ngx_http_vidstream_aws_variable,
      offsetof(ngx_http_vidstream_aws_call_t, host),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


static ngx_int_t
ngx_http_vidstream_aws_add_variables(ngx_conf_t *cf)
{
    return ngx_http_vidstream_add_variables(cf, ngx_http_vidstream_aws_vars);
}


/* the subrequest's call is in its context (the main request has none) */

static ngx_int_t
ngx_http_vidstream_aws_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t                      *s;
    ngx_http_vidstream_aws_call_t  *call;

    call = ngx_http_get_module_ctx(r, ngx_http_vidstream_aws_module);

    if (call == NULL || r == r->main) {
        v->not_found = 1;
        return NGX_OK;
    }

    s = (ngx_str_t *) ((char *) call + data);

    v->data = s->data;
    v->len = s->len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


ngx_int_t
ngx_http_vidstream_aws_init_process(ngx_cycle_t *cycle,
    vs_aws_provider_t *provider, ngx_msec_t timeout)
{
    ngx_http_vidstream_aws_state_t  *st;

    st = ngx_pcalloc(cycle->pool, sizeof(ngx_http_vidstream_aws_state_t));
    if (st == NULL) {
        return NGX_ERROR;
    }

    if (provider) {
        st->provider = *provider;
    }

    st->timeout = timeout;

    ngx_http_vidstream_aws_state = st;

    return NGX_OK;
}


ngx_int_t
ngx_http_vidstream_aws_call(ngx_http_request_t *r,
    ngx_http_vidstream_aws_call_t *call)
{
    ngx_buf_t                   *b;
    ngx_uint_t                   i;
    ngx_chain_t                 *cl;
    ngx_pool_cleanup_t          *cln;
    ngx_http_request_t          *sr;
    ngx_http_post_subrequest_t  *ps;

    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));
    if (ps == NULL) {
        return NGX_ERROR;
    }

    ps->handler = ngx_http_vidstream_aws_post;
    ps->data = call;

    call->finished = 0;
    call->timed_out = 0;
    call->status = 0;
    call->started = ngx_http_vidstream_metrics_now();
    ngx_str_null(&call->response);

    if (call->timeout == 0 && ngx_http_vidstream_aws_state) {
        call->timeout = ngx_http_vidstream_aws_state->timeout;
    }

    if (call->timeout) {
        /* the timer must not outlive the request, however it ends */

        cln = ngx_pool_cleanup_add(r->pool, 0);
        if (cln == NULL) {
            return NGX_ERROR;
        }

        cln->handler = ngx_http_vidstream_aws_cleanup;
        cln->data = call;

        ngx_memzero(&call->deadline, sizeof(ngx_event_t));
        call->deadline.handler = ngx_http_vidstream_aws_deadline;
        call->deadline.data = call;
        call->deadline.log = r->connection->log;

        ngx_add_timer(&call->deadline, call->timeout);
    }

    if (ngx_http_subrequest(r, &call->location, NULL, &sr, ps,
                            NGX_HTTP_SUBREQUEST_IN_MEMORY
                            |NGX_HTTP_SUBREQUEST_WAITED)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    call->sr = sr;
    ngx_http_set_ctx(sr, call, ngx_http_vidstream_aws_module);

    sr->method = call->method;
    sr->method_name = call->method_name;

    /* headers from scratch: nothing of the client's goes to AWS */

    ngx_memzero(&sr->headers_in, sizeof(ngx_http_headers_in_t));

    if (ngx_list_init(&sr->headers_in.headers, r->pool, 8,
                      sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    sr->headers_in.content_length_n = call->body.len;
    sr->headers_in.keep_alive_n = -1;

    for (i = 0; i < call->nheaders; i++) {
        if (ngx_http_vidstream_aws_push(sr, call->headers[i].name,
                                        call->headers[i].name_len,
                                        call->headers[i].value,
                                        call->headers[i].value_len)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    sr->request_body = ngx_pcalloc(r->pool, sizeof(ngx_http_request_body_t));
    if (sr->request_body == NULL) {
        return NGX_ERROR;
    }

    if (call->body.len) {
        b = ngx_calloc_buf(r->pool);
        cl = ngx_alloc_chain_link(r->pool);
        if (b == NULL || cl == NULL) {
            return NGX_ERROR;
        }

        b->pos = call->body.data;
        b->last = call->body.data + call->body.len;
        b->start = b->pos;
        b->end = b->last;
        b->memory = 1;
        b->last_buf = 1;

        cl->buf = b;
        cl->next = NULL;
        sr->request_body->bufs = cl;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_vidstream_aws_push(ngx_http_request_t *sr, const char *name,
    size_t name_len, const char *value, size_t value_len)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&sr->headers_in.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = name_len;
    h->value.data = (u_char *) value;
    h->value.len = value_len;
    h->lowcase_key = ngx_pnalloc(sr->pool, name_len);
    if (h->lowcase_key == NULL) {
        return NGX_ERROR;
    }

    ngx_strlow(h->lowcase_key, (u_char *) name, name_len);

    return NGX_OK;
}


static ngx_int_t
ngx_http_vidstream_aws_post(ngx_http_request_t *sr, void *data, ngx_int_t rc)
{
    ngx_buf_t                      *b;
    ngx_http_request_t             *pr;
    ngx_http_vidstream_aws_call_t  *call = data;

    if (call->finished) {
        return rc;
    }

    call->finished = 1;
    pr = sr->parent;

    if (call->deadline.timer_set) {
        ngx_del_timer(&call->deadline);
    }

    if (rc == NGX_OK || rc == NGX_DONE || rc == NGX_AGAIN) {
        call->status = sr->headers_out.status ? sr->headers_out.status
                                              : NGX_HTTP_BAD_GATEWAY;

    } else if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        call->status = rc;

    } else {
        call->status = NGX_HTTP_BAD_GATEWAY;
    }

    ngx_http_vidstream_metrics_aws_call(call->creds_refresh
                                        ? NGX_HTTP_VIDSTREAM_METRICS_CREDENTIALS
                                        : call->service,
                                        call->status, call->timed_out,
                                        call->started);

    if (sr->out && sr->out->buf) {
        b = sr->out->buf;
        call->response.data = b->pos;
        call->response.len = b->last - b->pos;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, sr->connection->log, 0,
                   "vidstream aws call done rc:%i status:%ui",
                   rc, call->status);

    pr->write_event_handler = call->done;

    /*
     * An error page for an in-memory subrequest serves nobody; and an
     * NGX_ERROR here would terminate the client's request without the
     * contract's 503.  The parent decides from call->status.
     */

    if (sr->connection->error) {
        return rc;
    }

    return NGX_OK;
}


/*
 * vidstream_aws_timeout is over and the service has not answered: the
 * upstream of the subrequest is made to time out now, through nginx's own
 * timeout path (the pending timer of its connection fired early), with no
 * other peer to try.  The subrequest then ends as 504 and the caller's done
 * handler runs as for any failure.  Before a connection exists (the host
 * is being resolved) the check comes back every 50 ms, so that the
 * connection is cut as soon as there is one.
 */

static void
ngx_http_vidstream_aws_deadline(ngx_event_t *ev)
{
    ngx_event_t                    *uev;
    ngx_connection_t               *c;
    ngx_http_upstream_t            *u;
    ngx_http_vidstream_aws_call_t  *call;

    call = ev->data;

    if (call->finished || call->sr == NULL) {
        return;
    }

    if (!call->timed_out) {
        ngx_log_error(NGX_LOG_ERR, ev->log, 0,
                      "vidstream: %V through %V to %V timed out after %M ms",
                      &call->method_name, &call->location, &call->host,
                      call->timeout);

        call->timed_out = 1;
    }

    u = call->sr->upstream;

    if (u == NULL || u->peer.connection == NULL) {
        ngx_add_timer(ev, 50);
        return;
    }

    c = u->peer.connection;

    uev = (c->write->timer_set && !c->read->timer_set) ? c->write : c->read;

    if (uev->timer_set) {
        ngx_del_timer(uev);
    }

    u->peer.tries = 1;
    uev->timedout = 1;
    uev->handler(uev);
}


static void
ngx_http_vidstream_aws_cleanup(void *data)
{
    ngx_http_vidstream_aws_call_t  *call = data;

    if (call->deadline.timer_set) {
        ngx_del_timer(&call->deadline);
    }
}


ngx_int_t
ngx_http_vidstream_aws_sign(ngx_http_request_t *r,
    const vs_aws_endpoint_t *ep, ngx_http_vidstream_aws_call_t *call,
    ngx_str_t *path, const vs_sigv4_kv_t *query, ngx_uint_t nquery)
{
    ngx_uint_t                       n;
    vs_sigv4_signed_t               *sig;
    vs_sigv4_request_t               req;
    const vs_aws_creds_t            *creds;

    creds = ngx_http_vidstream_aws_creds_current();
    if (creds == NULL) {
        return NGX_DECLINED;
    }

    if (call->nheaders + 4 > NGX_HTTP_VIDSTREAM_AWS_MAX_HEADERS) {
        return NGX_ERROR;
    }

    sig = ngx_palloc(r->pool, sizeof(vs_sigv4_signed_t));
    if (sig == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(&req, sizeof(vs_sigv4_request_t));

    req.method = (char *) call->method_name.data;
    req.method_len = call->method_name.len;
    req.host = (char *) call->host.data;
    req.host_len = call->host.len;
    req.path = (char *) path->data;
    req.path_len = path->len;
    req.query = query;
    req.nquery = nquery;
    req.headers = call->headers;
    req.nheaders = call->nheaders;
    req.payload = call->body.data;
    req.payload_len = call->body.len;
    req.now = ngx_time();

    call->service = ngx_http_vidstream_metrics_aws_service(ep->service,
                                                           ep->service_len);

    if (vs_sigv4_sign(ep, creds, &ngx_http_vidstream_aws_state->keys, &req,
                      sig)
        != 0)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vidstream: cannot sign the %V request",
                      &call->method_name);
        return NGX_ERROR;
    }

    n = call->nheaders;

    call->headers[n].name = "Authorization";
    call->headers[n].name_len = sizeof("Authorization") - 1;
    call->headers[n].value = sig->authorization;
    call->headers[n].value_len = sig->authorization_len;
    n++;

    call->headers[n].name = "X-Amz-Date";
    call->headers[n].name_len = sizeof("X-Amz-Date") - 1;
    call->headers[n].value = sig->amz_date;
    call->headers[n].value_len = VS_SIGV4_AMZ_DATE_LEN;
    n++;

    call->headers[n].name = "X-Amz-Content-SHA256";
    call->headers[n].name_len = sizeof("X-Amz-Content-SHA256") - 1;
    call->headers[n].value = sig->content_sha256;
    call->headers[n].value_len = VS_SIGV4_SHA256_HEX_LEN;
    n++;

    if (sig->security_token_len) {

        /* the token may rotate before the subrequest runs: copy it */

        call->headers[n].value = ngx_pnalloc(r->pool,
                                             sig->security_token_len);
        if (call->headers[n].value == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy((char *) call->headers[n].value, sig->security_token,
                   sig->security_token_len);
        call->headers[n].name = "X-Amz-Security-Token";
        call->headers[n].name_len = sizeof("X-Amz-Security-Token") - 1;
        call->headers[n].value_len = sig->security_token_len;
        n++;
    }

    call->nheaders = n;

    return NGX_OK;
}


const vs_aws_creds_t *
ngx_http_vidstream_aws_creds_current(void)
{
    if (ngx_http_vidstream_aws_state == NULL) {
        return NULL;
    }

    return vs_aws_provider_get(&ngx_http_vidstream_aws_state->provider,
                               ngx_time());
}


ngx_int_t
ngx_http_vidstream_aws_creds(ngx_http_request_t *r, ngx_str_t *location,
    ngx_http_vidstream_aws_call_t *call)
{
    u_char              *p, *token;
    size_t               len;
    vs_aws_provider_t   *pv;
    vs_aws_ecs_source_t *src;

    if (ngx_http_vidstream_aws_state == NULL) {
        return NGX_DECLINED;
    }

    pv = &ngx_http_vidstream_aws_state->provider;

    if (pv->kind != VS_AWS_CREDS_ECS
        || location->len == 0
        || !vs_aws_provider_should_refresh(pv, ngx_time()))
    {
        return ngx_http_vidstream_aws_creds_current() ? NGX_OK
                                                      : NGX_DECLINED;
    }

    /* an ECS refresh: GET the task role's credentials endpoint */

    src = &pv->ecs;

    ngx_memzero(call, sizeof(ngx_http_vidstream_aws_call_t));

    call->location = *location;
    call->method = NGX_HTTP_GET;
    ngx_str_set(&call->method_name, "GET");
    call->creds_refresh = 1;

    p = ngx_pnalloc(r->pool, src->host_len + sizeof(":65535"));
    if (p == NULL) {
        return NGX_ERROR;
    }

    call->host.data = p;
    call->host.len = ngx_sprintf(p, "%*s:%d", src->host_len, src->host,
                                 (int) src->port)
                     - p;

    call->uri.data = (u_char *) src->path;
    call->uri.len = src->path_len;

    if (src->token_file_len) {

        /*
         * AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE rotates (EKS Pod
         * Identity): read it again before every fetch.  A small local file
         * read, at most once per VS_AWS_CREDS_RETRY_AFTER seconds per
         * worker (should_refresh() above makes sure), never a network
         * wait; the token read at startup stays in use if it fails.
         */

        token = ngx_pnalloc(r->pool, sizeof(src->authorization));
        if (token == NULL) {
            return NGX_ERROR;
        }

        if (vs_aws_ecs_read_token_file(src->token_file, (char *) token,
                                       sizeof(src->authorization), &len)
            == 0
            && len > 0)
        {
            ngx_memcpy(src->authorization, token, len + 1);
            src->authorization_len = len;

        } else {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "vidstream: cannot read the container "
                          "authorization token file \"%s\"",
                          src->token_file);
        }
    }

    if (src->authorization_len) {
        call->headers[0].name = "Authorization";
        call->headers[0].name_len = sizeof("Authorization") - 1;
        call->headers[0].value = src->authorization;
        call->headers[0].value_len = src->authorization_len;
        call->nheaders = 1;
    }

    return ngx_http_vidstream_aws_call(r, call) == NGX_OK ? NGX_AGAIN
                                                          : NGX_ERROR;
}


ngx_int_t
ngx_http_vidstream_aws_creds_done(ngx_http_request_t *r,
    ngx_http_vidstream_aws_call_t *call)
{
    char  err[160];

    if (call->status != NGX_HTTP_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vidstream: ECS credentials endpoint answered %ui",
                      call->status);

    } else if (vs_aws_provider_update(&ngx_http_vidstream_aws_state->provider,
                                      (char *) call->response.data,
                                      call->response.len, err, sizeof(err))
               != 0)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vidstream: bad ECS credentials response: %s", err);
    }

    return ngx_http_vidstream_aws_creds_current() ? NGX_OK : NGX_DECLINED;
}
