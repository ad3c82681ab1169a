
/*
 * ngx_http_vidstream_pg: a per-worker pool of non-blocking libpq
 * connections driven by nginx's event loop.
 *
 * Connections are made with PQconnectStartParams()/PQconnectPoll(), their
 * sockets are registered with nginx, every statement of the pool is
 * prepared once per connection (PQsendPrepare), then the connection enters
 * libpq's pipeline mode: up to "pipeline" queries (PQsendQueryPrepared) are
 * in flight on it at once.  Queries submitted during one turn of the event
 * loop are written together by a posted event, so N requests cost one
 * write and one wakeup of the server instead of N; read-only statements of
 * one such batch share a Sync, a writing statement always has a Sync of
 * its own (so that no error elsewhere can roll it back after its success
 * was reported).  A query waits in a FIFO when every connection is full;
 * it always completes, with a result or an error, within the pool's
 * timeout.  A dead connection is dropped and replaced with exponential
 * backoff, so the pool heals by itself when PostgreSQL comes back.
 *
 * Nothing here blocks: host names are resolved at configuration time (see
 * ngx_http_vidstream_pg_conf_set()).
 */

#ifndef _NGX_HTTP_VIDSTREAM_PG_H_INCLUDED_
#define _NGX_HTTP_VIDSTREAM_PG_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <libpq-fe.h>


#define NGX_HTTP_VIDSTREAM_PG_MAX_PARAMS  8


/* how a query ended, as given to its handler */
typedef enum {
    NGX_HTTP_VIDSTREAM_PG_OK = 0,        /* res holds the result */
    NGX_HTTP_VIDSTREAM_PG_SQL_ERROR,     /* res holds the error result */
    NGX_HTTP_VIDSTREAM_PG_UNAVAILABLE,   /* no connection could be had */
    NGX_HTTP_VIDSTREAM_PG_TIMEOUT        /* past the pool's timeout */
} ngx_http_vidstream_pg_status_e;


typedef struct ngx_http_vidstream_pg_query_s  ngx_http_vidstream_pg_query_t;
typedef struct ngx_http_vidstream_pg_conn_s   ngx_http_vidstream_pg_conn_t;

/*
 * Called exactly once per submitted query (never from inside
 * ngx_http_vidstream_pg_send()).  res is NULL unless status is OK or
 * SQL_ERROR; the pool PQclear()s it after the handler returns.
 */
typedef void (*ngx_http_vidstream_pg_handler_pt)(
    ngx_http_vidstream_pg_query_t *q, ngx_http_vidstream_pg_status_e status,
    PGresult *res);


/*
 * A statement of the pool: prepared on every connection under its name.
 * A read-only statement may share a pipeline Sync with others (and is sent
 * again should an error of another abort it); one that writes never does.
 */
typedef struct {
    const char                       *name;
    const char                       *sql;
    ngx_uint_t                        readonly;
} ngx_http_vidstream_pg_stmt_t;


/*
 * configuration: vidstream_postgres "<conninfo>" [pool=N] [pipeline=N]
 * [timeout=T]
 */
typedef struct {
    const char                      **keywords;   /* NULL-terminated */
    const char                      **values;
    ngx_uint_t                        size;
    ngx_uint_t                        depth;     /* queries per connection */
    ngx_msec_t                        timeout;
    ngx_str_t                         display;   /* without password */
} ngx_http_vidstream_pg_conf_t;


struct ngx_http_vidstream_pg_query_s {
    ngx_uint_t                        stmt;      /* index in the stmts */
    int                               nparams;
    const char                       *values[NGX_HTTP_VIDSTREAM_PG_MAX_PARAMS];
    int                               lengths[NGX_HTTP_VIDSTREAM_PG_MAX_PARAMS];

    ngx_http_vidstream_pg_handler_pt  handler;
    void                             *data;
    ngx_log_t                        *log;

    /* the pool's own */
    ngx_event_t                       timer;
    ngx_queue_t                       queue;     /* waiting or failed */
    void                             *slot;      /* on a connection */
    ngx_uint_t                        state;
    ngx_uint_t                        retried;
    uint64_t                          started;   /* for the metrics */
};


/* what a worker's pool is doing now (the metrics' gauges) */
typedef struct {
    ngx_uint_t                        idle;      /* ready, nothing in flight */
    ngx_uint_t                        busy;      /* ready, queries in flight */
    ngx_uint_t                        connecting; /* or preparing */
    ngx_uint_t                        down;
    ngx_uint_t                        in_flight;
    ngx_uint_t                        waiting;
} ngx_http_vidstream_pg_stats_t;


/*
 * Parses the directive's arguments (conninfo, pool=N, pipeline=N,
 * timeout=T) into conf
 * at configuration time.  A host name in "host" is resolved here, once,
 * into "hostaddr" (blocking is allowed only at configuration time).
 */
char *ngx_http_vidstream_pg_conf_set(ngx_conf_t *cf, ngx_str_t *args,
    ngx_uint_t nargs, ngx_http_vidstream_pg_conf_t *conf);

/* Creates this worker's pool and starts connecting (init_process). */
ngx_int_t ngx_http_vidstream_pg_init(ngx_cycle_t *cycle,
    ngx_http_vidstream_pg_conf_t *conf, ngx_http_vidstream_pg_stmt_t *stmts,
    ngx_uint_t nstmts);

/* Closes every connection (exit_process). */
void ngx_http_vidstream_pg_done(ngx_cycle_t *cycle);

/*
 * Submits q (memory owned by the caller until the handler ran or
 * ngx_http_vidstream_pg_cancel() was called).  Returns NGX_OK when the
 * handler will be called later, NGX_DECLINED when PostgreSQL is known to
 * be unreachable right now (no handler call; answer 503 at once), NGX_ERROR
 * on no memory / no pool.
 */
ngx_int_t ngx_http_vidstream_pg_send(ngx_http_vidstream_pg_query_t *q);

/*
 * Forgets q without calling its handler (its request is going away).  A
 * query already on a connection is abandoned: the connection discards its
 * result.
 */
void ngx_http_vidstream_pg_cancel(ngx_http_vidstream_pg_query_t *q);

/* This worker's pool now: all zeros when it has none. */
void ngx_http_vidstream_pg_stats(ngx_http_vidstream_pg_stats_t *st);


#endif /* _NGX_HTTP_VIDSTREAM_PG_H_INCLUDED_ */
