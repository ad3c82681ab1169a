
/*
 * ngx_http_vidstream_jwks_fetch: each worker's signing keys, per JWKS source.
 *
 * A source is a file (read at configuration time, re-read in the worker on
 * rotation) or a local URI fetched with an in-memory subrequest.  The key
 * sets live in memory the worker allocates from the cycle's pool on first
 * use, apart from the configuration, which is never written at request
 * time.  At most one fetch per source runs in a worker; requests that need
 * it meanwhile queue as waiters and are resumed when it ends.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_vidstream_jwks_fetch.h"
#include "ngx_http_vidstream_metrics.h"


static ngx_int_t ngx_http_vidstream_jwks_fetch_done(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static void ngx_http_vidstream_jwks_wake(
    ngx_http_vidstream_jwks_state_t *state);
static void ngx_http_vidstream_jwks_states_cleanup(void *data);
static void ngx_http_vidstream_jwks_skip_key(void *data, const char *kid,
    const char *why);
static ngx_int_t ngx_http_vidstream_jwks_load(ngx_log_t *log,
    ngx_http_vidstream_jwks_state_t *state, u_char *text, size_t len);


/* this worker's key sets, one per JWKS source of the cycle */
static ngx_http_vidstream_jwks_state_t  *ngx_http_vidstream_jwks_states;
static ngx_cycle_t                      *ngx_http_vidstream_jwks_states_cycle;


/*
 * Brings this worker's keys up to date for r.  A file is re-read on the
 * spot (a small local read) and NGX_OK returned.  A URI is fetched by a
 * subrequest: the first request to ask starts it, later ones queue behind
 * it, and all of them return NGX_AGAIN until it is done.
 */
ngx_int_t
ngx_http_vidstream_jwks_refetch(ngx_http_request_t *r,
    ngx_http_vidstream_jwks_waiter_t *w)
{
    ngx_int_t                           rc;
    ngx_str_t                           text, *args;
    ngx_list_t                          headers;
    ngx_uint_t                          i;
    ngx_list_part_t                    *part;
    ngx_table_elt_t                    *h, *ho;
    ngx_http_request_t                 *sr;
    ngx_http_post_subrequest_t         *ps;
    ngx_http_vidstream_jwks_state_t    *state;
    ngx_http_vidstream_jwks_source_t   *source;

    state = w->state;
    source = state->source;

    w->refetched = 1;

    if (state->fetcher != NULL) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "vidstream auth: waiting for the JWKS fetch");

        w->waiting = 1;
        w->queued = 1;
        ngx_queue_insert_tail(&state->waiters, &w->queue);

        return NGX_AGAIN;
    }

    state->attempted = ngx_time();

    if (source->type == NGX_HTTP_VIDSTREAM_JWKS_FILE) {

        rc = ngx_http_vidstream_jwks_read_file(r->connection->log, r->pool,
                                               &source->name, &text);
        if (rc == NGX_OK) {
            rc = ngx_http_vidstream_jwks_load(r->connection->log, state,
                                              text.data, text.len);
        }

        ngx_http_vidstream_metrics_jwks_fetch(rc == NGX_OK);

        return NGX_OK;
    }

    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));
    if (ps == NULL) {
        return NGX_ERROR;
    }

    ps->handler = ngx_http_vidstream_jwks_fetch_done;
    ps->data = w;

    args = source->args.len ? &source->args : NULL;

    if (ngx_http_subrequest(r, &source->name, args, &sr, ps,
                            NGX_HTTP_SUBREQUEST_IN_MEMORY
                            |NGX_HTTP_SUBREQUEST_WAITED)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* as auth_request does: never read or forward the client's body */

    sr->request_body = ngx_pcalloc(r->pool, sizeof(ngx_http_request_body_t));
    if (sr->request_body == NULL) {
        return NGX_ERROR;
    }

    /* the user's credentials are none of the key server's business */

    if (ngx_list_init(&headers, r->pool, 8, sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if ((h[i].key.len == sizeof("Authorization") - 1
             && ngx_strncasecmp(h[i].key.data, (u_char *) "Authorization",
                                h[i].key.len) == 0)
            || (h[i].key.len == sizeof("Cookie") - 1
                && ngx_strncasecmp(h[i].key.data, (u_char *) "Cookie",
                                   h[i].key.len) == 0))
        {
            continue;
        }

        ho = ngx_list_push(&headers);
        if (ho == NULL) {
            return NGX_ERROR;
        }

        *ho = h[i];
    }

    sr->headers_in.headers = headers;
    sr->headers_in.authorization = NULL;
#if (nginx_version >= 1023000)
    sr->headers_in.cookie = NULL;
#else
    sr->headers_in.cookies.nelts = 0;
#endif

    state->fetcher = w;
    w->waiting = 1;

    return NGX_AGAIN;
}


static ngx_int_t
ngx_http_vidstream_jwks_fetch_done(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_http_vidstream_jwks_waiter_t  *w = data;

    ngx_int_t                          status, loaded;
    ngx_buf_t                         *b;
    ngx_http_vidstream_jwks_state_t   *state;

    state = w->state;

    if (state->fetcher != w) {
        return rc;
    }

    /* called once more when an error page follows: state->fetcher is NULL */

    b = r->out ? r->out->buf : NULL;
    status = (rc >= NGX_HTTP_SPECIAL_RESPONSE)
             ? rc : (ngx_int_t) r->headers_out.status;

    if (rc == NGX_OK && status == NGX_HTTP_OK && b != NULL) {
        loaded = ngx_http_vidstream_jwks_load(r->connection->log, state,
                                              b->pos, b->last - b->pos);
        ngx_http_vidstream_metrics_jwks_fetch(loaded == NGX_OK);

    } else {
        ngx_http_vidstream_metrics_jwks_fetch(0);

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vidstream auth: fetching JWKS from \"%V\" failed "
                      "(status %i), keeping the current keys",
                      &state->source->name, status);
    }

    state->fetcher = NULL;
    w->waiting = 0;

    ngx_http_vidstream_jwks_wake(state);

    return rc;
}


/* resumes every request queued behind the fetch that just ended */
static void
ngx_http_vidstream_jwks_wake(ngx_http_vidstream_jwks_state_t *state)
{
    ngx_queue_t                       *q;
    ngx_connection_t                  *c;
    ngx_http_vidstream_jwks_waiter_t  *w;

    while (!ngx_queue_empty(&state->waiters)) {
        q = ngx_queue_head(&state->waiters);
        ngx_queue_remove(q);

        w = ngx_queue_data(q, ngx_http_vidstream_jwks_waiter_t, queue);
        w->queued = 0;
        w->waiting = 0;

        /* its write handler runs the phases again, as after a subrequest */
        c = w->request->connection;
        ngx_post_event(c->write, &ngx_posted_events);
    }
}


/*
 * This worker's state for JWKS source index, created on first use from the
 * current cycle: key sets are built from the configuration's file contents
 * here, in the worker, never in the master.
 */
ngx_http_vidstream_jwks_state_t *
ngx_http_vidstream_jwks_state(ngx_http_request_t *r, ngx_array_t *sources,
    ngx_uint_t index)
{
    ngx_uint_t                         i;
    ngx_pool_cleanup_t                *cln;
    ngx_http_vidstream_jwks_state_t   *states;
    ngx_http_vidstream_jwks_source_t  *source;

    if (ngx_http_vidstream_jwks_states != NULL
        && ngx_http_vidstream_jwks_states_cycle == ngx_cycle)
    {
        return &ngx_http_vidstream_jwks_states[index];
    }

    if (index >= sources->nelts) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(ngx_cycle->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    /* one more, without a source, ends the array */
    states = ngx_pcalloc(ngx_cycle->pool, (sources->nelts + 1)
                                          * sizeof(*states));
    if (states == NULL) {
        return NULL;
    }

    source = sources->elts;

    for (i = 0; i < sources->nelts; i++) {
        states[i].source = &source[i];
        ngx_queue_init(&states[i].waiters);

        if (source[i].type == NGX_HTTP_VIDSTREAM_JWKS_FILE) {
            ngx_http_vidstream_jwks_load(r->connection->log, &states[i],
                                         source[i].text.data,
                                         source[i].text.len);
        }
    }

    cln->handler = ngx_http_vidstream_jwks_states_cleanup;
    cln->data = states;

    ngx_http_vidstream_jwks_states = states;
    ngx_http_vidstream_jwks_states_cycle = (ngx_cycle_t *) ngx_cycle;

    return &states[index];
}


static void
ngx_http_vidstream_jwks_states_cleanup(void *data)
{
    ngx_http_vidstream_jwks_state_t  *states = data;

    ngx_uint_t  i;

    /* the array ends with an entry without a source */
    for (i = 0; states[i].source; i++) {
        ngx_http_vidstream_jwks_free(states[i].jwks);
        states[i].jwks = NULL;
    }

    if (ngx_http_vidstream_jwks_states == states) {
        ngx_http_vidstream_jwks_states = NULL;
        ngx_http_vidstream_jwks_states_cycle = NULL;
    }
}


static void
ngx_http_vidstream_jwks_skip_key(void *data, const char *kid, const char *why)
{
    ngx_log_t  *log = data;

    ngx_log_error(NGX_LOG_INFO, log, 0,
                  "vidstream auth: JWKS key \"%s\" ignored: %s", kid, why);
}


/* replaces state's keys with those of a JWKS text, unless it is invalid */
static ngx_int_t
ngx_http_vidstream_jwks_load(ngx_log_t *log,
    ngx_http_vidstream_jwks_state_t *state, u_char *text, size_t len)
{
    const char                 *why;
    ngx_http_vidstream_jwks_t  *jwks;

    jwks = ngx_http_vidstream_jwks_parse((const char *) text, len,
                                         ngx_http_vidstream_jwks_skip_key,
                                         log, &why);
    if (jwks == NULL) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "vidstream auth: invalid JWKS from \"%V\": %s, "
                      "keeping the current keys", &state->source->name, why);
        return NGX_ERROR;
    }

    ngx_log_error(NGX_LOG_INFO, log, 0,
                  "vidstream auth: loaded %uz keys from \"%V\"",
                  jwks->nkeys, &state->source->name);

    ngx_http_vidstream_jwks_free(state->jwks);

    state->jwks = jwks;
    state->loaded = ngx_time();

    return NGX_OK;
}


ngx_int_t
ngx_http_vidstream_jwks_read_file(ngx_log_t *log, ngx_pool_t *pool,
    ngx_str_t *path, ngx_str_t *text)
{
    off_t            size;
    ssize_t          n;
    ngx_fd_t         fd;
    ngx_int_t        rc;
    ngx_file_info_t  fi;

    fd = ngx_open_file(path->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                      ngx_open_file_n " \"%V\" failed", path);
        return NGX_ERROR;
    }

    rc = NGX_ERROR;

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                      ngx_fd_info_n " \"%V\" failed", path);
        goto done;
    }

    size = ngx_file_size(&fi);

    if (size > NGX_HTTP_VIDSTREAM_JWKS_MAX_LEN) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "JWKS file \"%V\" is larger than %d bytes", path,
                      NGX_HTTP_VIDSTREAM_JWKS_MAX_LEN);
        goto done;
    }

    text->data = ngx_pnalloc(pool, (size_t) size + 1);
    if (text->data == NULL) {
        goto done;
    }

    n = ngx_read_fd(fd, text->data, (size_t) size);

    if (n == -1) {
        ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                      ngx_read_fd_n " \"%V\" failed", path);
        goto done;
    }

    if ((off_t) n != size) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "JWKS file \"%V\" changed while being read", path);
        goto done;
    }

    text->len = (size_t) n;
    rc = NGX_OK;

done:

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      ngx_close_file_n " \"%V\" failed", path);
    }

    return rc;
}



/* the request is going away: leave the queue, or give up the fetch */
void
ngx_http_vidstream_jwks_waiter_cleanup(ngx_http_vidstream_jwks_waiter_t *w)
{
    if (w->queued) {
        ngx_queue_remove(&w->queue);
        w->queued = 0;
    }

    if (w->state && w->state->fetcher == w
        && ngx_http_vidstream_jwks_states != NULL)
    {
        w->state->fetcher = NULL;
        ngx_http_vidstream_jwks_wake(w->state);
    }
}


ngx_int_t
ngx_http_vidstream_jwks_add_source(ngx_conf_t *cf, ngx_array_t *sources,
    ngx_uint_t type, ngx_str_t *value, ngx_uint_t *index)
{
    u_char                            *q;
    ngx_str_t                          name, args, text;
    ngx_uint_t                         i;
    const char                        *why;
    ngx_http_vidstream_jwks_t         *jwks;
    ngx_http_vidstream_jwks_source_t  *source;

    name = *value;
    ngx_str_null(&args);
    ngx_str_null(&text);

    if (type == NGX_HTTP_VIDSTREAM_JWKS_FILE) {
        if (ngx_conf_full_name(cf->cycle, &name, 1) != NGX_OK) {
            return NGX_ERROR;
        }

    } else {
        if (name.len == 0 || name.data[0] != '/') {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "JWKS URI \"%V\" is not a local URI starting "
                               "with \"/\"", &name);
            return NGX_ERROR;
        }

        q = ngx_strlchr(name.data, name.data + name.len, '?');
        if (q) {
            args.data = q + 1;
            args.len = name.data + name.len - args.data;
            name.len = q - name.data;
        }
    }

    source = sources->elts;

    for (i = 0; i < sources->nelts; i++) {
        if (source[i].type == type
            && source[i].name.len == name.len
            && ngx_strncmp(source[i].name.data, name.data, name.len) == 0
            && source[i].args.len == args.len
            && ngx_strncmp(source[i].args.data, args.data, args.len) == 0)
        {
            *index = i;
            return NGX_OK;
        }
    }

    if (type == NGX_HTTP_VIDSTREAM_JWKS_FILE) {
        /* read once here, so that a broken file stops nginx from starting */
        if (ngx_http_vidstream_jwks_read_file(cf->log, cf->pool, &name, &text)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        jwks = ngx_http_vidstream_jwks_parse((const char *) text.data,
                                             text.len, NULL, NULL, &why);
        if (jwks == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid JWKS in \"%V\": %s", &name, why);
            return NGX_ERROR;
        }

        ngx_http_vidstream_jwks_free(jwks);
    }

    source = ngx_array_push(sources);
    if (source == NULL) {
        return NGX_ERROR;
    }

    source->type = type;
    source->name = name;
    source->args = args;
    source->text = text;

    *index = sources->nelts - 1;

    return NGX_OK;
}
