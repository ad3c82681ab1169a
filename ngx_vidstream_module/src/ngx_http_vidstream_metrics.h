
/*
 * ngx_http_vidstream_metrics: the edge's Prometheus metrics.
 *
 * Counters live in one shared memory zone that the metrics module creates
 * (vidstream_metrics_collect on, the default), so every worker adds to the
 * same numbers and a scrape answered by any worker sees them all; the zone
 * is reused across "nginx -s reload", so counters are never reset by one.
 * The hooks below are what the other files call on their hot paths: an
 * ngx_atomic_fetch_add() on the zone, no lock, no allocation, and nothing
 * at all when collection is off.
 *
 *     location = /metrics {
 *         allow 127.0.0.1;
 *         deny all;
 *         vidstream_metrics;
 *     }
 */

#ifndef _NGX_HTTP_VIDSTREAM_METRICS_H_INCLUDED_
#define _NGX_HTTP_VIDSTREAM_METRICS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/*
 * The request's action: the api module's NGX_HTTP_VIDSTREAM_LIST (1) …
 * HEALTHZ (7) in that order, then playback and play; 0 is every other
 * request.  Named by ngx_http_vidstream_metrics_action_names[].
 */
#define NGX_HTTP_VIDSTREAM_METRICS_OTHER      0
#define NGX_HTTP_VIDSTREAM_METRICS_PLAYBACK   8
#define NGX_HTTP_VIDSTREAM_METRICS_PLAY       9
#define NGX_HTTP_VIDSTREAM_METRICS_ACTIONS    10


/* how an authentication ended besides a rejection (see _auth_rejected) */
#define NGX_HTTP_VIDSTREAM_METRICS_AUTH_OK            0
#define NGX_HTTP_VIDSTREAM_METRICS_AUTH_SCOPE         1   /* 403 */
#define NGX_HTTP_VIDSTREAM_METRICS_AUTH_NO_KEYS       2   /* 503 */


/* which service an AWS call went to */
#define NGX_HTTP_VIDSTREAM_METRICS_S3                 0
#define NGX_HTTP_VIDSTREAM_METRICS_SQS                1
#define NGX_HTTP_VIDSTREAM_METRICS_CREDENTIALS        2   /* ECS task role */
#define NGX_HTTP_VIDSTREAM_METRICS_SERVICES           3


/* the latency buckets (upper bounds, microseconds), +Inf excluded */
#define NGX_HTTP_VIDSTREAM_METRICS_BUCKETS            14


typedef struct {
    ngx_atomic_t    bucket[NGX_HTTP_VIDSTREAM_METRICS_BUCKETS + 1];
    ngx_atomic_t    sum_us;
} ngx_http_vidstream_metrics_hist_t;


/*
 * /play answers by the edge cache's status of their first slice: none (no
 * upstream: refused, or an error page), then nginx's NGX_HTTP_CACHE_MISS
 * (1) … NGX_HTTP_CACHE_SCARCE (8)
 */
#define NGX_HTTP_VIDSTREAM_METRICS_CACHE      9


/* the zone's counters; indices are the #defines above */
typedef struct {
    ngx_atomic_t    requests[NGX_HTTP_VIDSTREAM_METRICS_ACTIONS][4]; /* 2xx-5xx */
    ngx_atomic_t    auth[16];
    ngx_atomic_t    jwks_fetches[2];          /* ok, error */
    ngx_atomic_t    token_cache[2];           /* hit, miss */
    ngx_atomic_t    pg_queries[4];            /* pg status: OK, SQL_ERROR… */
    ngx_atomic_t    pg_connection_errors;
    ngx_http_vidstream_metrics_hist_t  pg_latency;
    ngx_atomic_t    aws_calls[NGX_HTTP_VIDSTREAM_METRICS_SERVICES][3];
    ngx_http_vidstream_metrics_hist_t
                    aws_latency[NGX_HTTP_VIDSTREAM_METRICS_SERVICES];
    ngx_atomic_t    play_bytes;               /* bodies sent by /play */
    ngx_atomic_t    play_cache[NGX_HTTP_VIDSTREAM_METRICS_CACHE];
} ngx_http_vidstream_metrics_counters_t;


/* this process's view of the zone; NULL when collection is off */
extern ngx_http_vidstream_metrics_counters_t
    *ngx_http_vidstream_metrics_counters;


/* field is evaluated only when collecting: no side effects in it */
#define ngx_http_vidstream_metrics_add(field)                                 \
    do {                                                                      \
        if (ngx_http_vidstream_metrics_counters) {                            \
            (void) ngx_atomic_fetch_add(                                      \
                &ngx_http_vidstream_metrics_counters->field, 1);              \
        }                                                                     \
    } while (0)


/*
 * Labels r (the main request) with its action; the request is counted by
 * action and status class when it is logged.  No allocation: the module
 * ctx slot holds a pointer into a static table.
 */
void ngx_http_vidstream_metrics_action(ngx_http_request_t *r,
    ngx_uint_t action);

/* microseconds on the monotonic clock; 0 when collection is off */
uint64_t ngx_http_vidstream_metrics_now(void);

void ngx_http_vidstream_metrics_observe(ngx_http_vidstream_metrics_hist_t *h,
    uint64_t started);

/* a token refused with the auth module's reason (NULL: no token at all) */
void ngx_http_vidstream_metrics_auth_rejected(const char *why);

#define ngx_http_vidstream_metrics_auth(result)                               \
    ngx_http_vidstream_metrics_add(auth[result])

/* hit: 1 for a token accepted from the cache, 0 for a lookup that missed */
#define ngx_http_vidstream_metrics_token_cache(hit)                           \
    ngx_http_vidstream_metrics_add(token_cache[(hit) ? 0 : 1])

#define ngx_http_vidstream_metrics_jwks_fetch(ok)                             \
    ngx_http_vidstream_metrics_add(jwks_fetches[(ok) ? 0 : 1])

#define ngx_http_vidstream_metrics_pg_connection_error()                      \
    ngx_http_vidstream_metrics_add(pg_connection_errors)

/* status: an ngx_http_vidstream_pg_status_e; started: _metrics_now() */
void ngx_http_vidstream_metrics_pg_query(ngx_uint_t status,
    uint64_t started);

/* the service of a SigV4 endpoint ("s3", "sqs") */
ngx_uint_t ngx_http_vidstream_metrics_aws_service(const char *name,
    size_t len);

/* an S3/SQS/credentials subrequest ended with the service's HTTP status */
void ngx_http_vidstream_metrics_aws_call(ngx_uint_t service,
    ngx_uint_t status, ngx_uint_t timed_out, uint64_t started);

/*
 * Playback (GET /play/…) labels its requests with
 * NGX_HTTP_VIDSTREAM_METRICS_PLAY.  Bytes served and the edge cache's
 * status are not counted yet: they belong here as two more counter
 * arrays, added to from the playback file's log or body filter.
 */


#endif /* _NGX_HTTP_VIDSTREAM_METRICS_H_INCLUDED_ */
