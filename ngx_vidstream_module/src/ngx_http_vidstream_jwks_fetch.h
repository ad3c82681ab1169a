
/*
 * ngx_http_vidstream_jwks_fetch: each worker's signing keys, per JWKS
 * source, and fetching them again (file re-read or subrequest) without
 * blocking.  Parsing the documents is ngx_http_vidstream_jwk.c's.
 */

#ifndef _NGX_HTTP_VIDSTREAM_JWKS_FETCH_H_INCLUDED_
#define _NGX_HTTP_VIDSTREAM_JWKS_FETCH_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_vidstream_jwt.h"


#define NGX_HTTP_VIDSTREAM_JWKS_FILE  1
#define NGX_HTTP_VIDSTREAM_JWKS_URI   2


/* where a JWKS comes from; immutable once configuration is read */
typedef struct {
    ngx_uint_t                         type;
    ngx_str_t                          name;       /* file path or URI */
    ngx_str_t                          args;       /* URI arguments */
    ngx_str_t                          text;       /* file, at startup */
} ngx_http_vidstream_jwks_source_t;


typedef struct ngx_http_vidstream_jwks_state_s  ngx_http_vidstream_jwks_state_t;


/* a request's part in fetching keys; lives in the request's module ctx */
typedef struct {
    ngx_http_request_t                *request;
    ngx_http_vidstream_jwks_state_t   *state;
    ngx_queue_t                        queue;      /* in state->waiters */
    unsigned                           waiting:1;  /* for a fetch to end */
    unsigned                           queued:1;
    unsigned                           refetched:1; /* at most once */
} ngx_http_vidstream_jwks_waiter_t;


/* a worker's view of one source */
struct ngx_http_vidstream_jwks_state_s {
    ngx_http_vidstream_jwks_source_t  *source;
    ngx_http_vidstream_jwks_t         *jwks;       /* NULL until loaded */
    time_t                             loaded;
    time_t                             attempted;  /* last refetch */
    ngx_queue_t                        waiters;
    ngx_http_vidstream_jwks_waiter_t  *fetcher;    /* NULL: no fetch runs */
};


/*
 * Configuration time: the index in sources of the file or URI value
 * (type NGX_HTTP_VIDSTREAM_JWKS_FILE or _URI), added unless already there.
 * A file is read and validated now.  NGX_OK or NGX_ERROR (logged).
 */
ngx_int_t ngx_http_vidstream_jwks_add_source(ngx_conf_t *cf,
    ngx_array_t *sources, ngx_uint_t type, ngx_str_t *value,
    ngx_uint_t *index);

/* This worker's state for source index (created on first use), or NULL. */
ngx_http_vidstream_jwks_state_t *ngx_http_vidstream_jwks_state(
    ngx_http_request_t *r, ngx_array_t *sources, ngx_uint_t index);

/*
 * Brings w->state's keys up to date for r, once per waiter: NGX_OK when a
 * file was re-read on the spot; NGX_AGAIN when r must wait for a fetch
 * (its write event is posted when the fetch ends and w->waiting is 0);
 * NGX_ERROR.
 */
ngx_int_t ngx_http_vidstream_jwks_refetch(ngx_http_request_t *r,
    ngx_http_vidstream_jwks_waiter_t *w);

/* For r's pool cleanup: leaves the queue, or abandons r's fetch. */
void ngx_http_vidstream_jwks_waiter_cleanup(
    ngx_http_vidstream_jwks_waiter_t *w);

/* Reads a JWKS file of at most NGX_HTTP_VIDSTREAM_JWKS_MAX_LEN bytes. */
ngx_int_t ngx_http_vidstream_jwks_read_file(ngx_log_t *log, ngx_pool_t *pool,
    ngx_str_t *path, ngx_str_t *text);


#endif /* _NGX_HTTP_VIDSTREAM_JWKS_FETCH_H_INCLUDED_ */
