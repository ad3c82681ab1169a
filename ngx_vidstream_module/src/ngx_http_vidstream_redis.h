
/*
 * ngx_http_vidstream_redis: a Redis health check (PING) through hiredis'
 * asynchronous API, driven by nginx's event loop.
 *
 *     vidstream_redis redis://[[user]:password@]host[:port][/db] [timeout=1s];
 *
 * Each check opens its own connection (redisAsyncConnect() to an address
 * resolved at configuration time), sends AUTH when the URL has a password,
 * then PING, and reports whether "PONG" came back within the timeout.  The
 * hiredis socket is an ngx_connection_t from ngx_get_connection(); hiredis
 * asks for reading/writing through the adapter's hooks, which map onto
 * level-triggered nginx events.  Nothing blocks.
 */

#ifndef _NGX_HTTP_VIDSTREAM_REDIS_H_INCLUDED_
#define _NGX_HTTP_VIDSTREAM_REDIS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>


typedef struct {
    u_char                             *addr;      /* numeric, C string */
    ngx_int_t                           port;
    ngx_str_t                           user;
    ngx_str_t                           password;
    ngx_int_t                           db;
    ngx_msec_t                          timeout;
    ngx_str_t                           display;   /* host:port, no secret */
} ngx_http_vidstream_redis_conf_t;


typedef struct ngx_http_vidstream_redis_check_s
    ngx_http_vidstream_redis_check_t;

/* called exactly once per started check, never from inside _ping() */
typedef void (*ngx_http_vidstream_redis_handler_pt)(
    ngx_http_vidstream_redis_check_t *check, ngx_uint_t ok);


struct ngx_http_vidstream_redis_check_s {
    ngx_http_vidstream_redis_handler_pt  handler;
    void                               *data;
    ngx_log_t                          *log;

    /* private */
    ngx_http_vidstream_redis_conf_t    *conf;
    ngx_event_t                         timer;
    void                               *ac;        /* redisAsyncContext */
};


/*
 * Parses the directive's arguments (URL, timeout=T) at configuration time;
 * the host is resolved here, once (blocking is allowed only here).
 */
char *ngx_http_vidstream_redis_conf_set(ngx_conf_t *cf, ngx_str_t *args,
    ngx_uint_t nargs, ngx_http_vidstream_redis_conf_t *conf);

/*
 * Starts a check (check->handler, data and log set by the caller; its
 * memory stays valid until the handler ran or _cancel() was called).
 * NGX_OK: the handler will be called; NGX_ERROR: the check could not even
 * start (count it as failed; no handler call).
 */
ngx_int_t ngx_http_vidstream_redis_ping(ngx_http_vidstream_redis_conf_t *conf,
    ngx_http_vidstream_redis_check_t *check);

/* Abandons a started check without calling its handler. */
void ngx_http_vidstream_redis_cancel(ngx_http_vidstream_redis_check_t *check);


#endif /* _NGX_HTTP_VIDSTREAM_REDIS_H_INCLUDED_ */
