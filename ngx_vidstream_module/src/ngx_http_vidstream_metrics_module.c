
/*
 * ngx_http_vidstream_metrics_module: the edge's Prometheus exposition.
 *
 *     vidstream_metrics_collect on;           (http; the default)
 *
 *     location = /metrics {
 *         allow 127.0.0.1;
 *         deny all;
 *         vidstream_metrics;
 *     }
 *
 * Counters are kept in one shared memory zone, "vidstream_metrics", the
 * way ngx_http_limit_req_module keeps its states: created at configuration
 * time, its contents found again through the init handler's data argument
 * when nginx is reloaded, so a reload resets nothing.  Workers add to the
 * counters with ngx_atomic_fetch_add() (see ngx_http_vidstream_metrics.h).
 *
 * Gauges (the PostgreSQL pool) describe each worker's own pool, so each
 * worker publishes them into a slot of its own in the zone, once a second
 * and when it answers a scrape; a scrape sums the slots of the workers
 * alive, old workers finishing after a reload included.
 *
 * Requests are counted by action and status class in the log phase: the
 * api module names a request's action with
 * ngx_http_vidstream_metrics_action().
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_vidstream_metrics.h"
#include "ngx_http_vidstream_pg.h"


/* worker processes that can publish gauges at once (reloads included) */
#define NGX_HTTP_VIDSTREAM_METRICS_WORKERS   256

/* gauges each worker publishes, in its slot */
#define NGX_HTTP_VIDSTREAM_METRICS_PG_IDLE        0
#define NGX_HTTP_VIDSTREAM_METRICS_PG_BUSY        1
#define NGX_HTTP_VIDSTREAM_METRICS_PG_CONNECTING  2
#define NGX_HTTP_VIDSTREAM_METRICS_PG_DOWN        3
#define NGX_HTTP_VIDSTREAM_METRICS_PG_IN_FLIGHT   4
#define NGX_HTTP_VIDSTREAM_METRICS_PG_WAITING     5
#define NGX_HTTP_VIDSTREAM_METRICS_GAUGES         6

#define NGX_HTTP_VIDSTREAM_METRICS_PUBLISH_EVERY  1000    /* ms */

/* the exposition is smaller than this (about 12 KiB today) */
#define NGX_HTTP_VIDSTREAM_METRICS_TEXT_MAX       65536

/* the auth results after the three of ngx_http_vidstream_metrics.h */
#define NGX_HTTP_VIDSTREAM_METRICS_AUTH_MISSING   3
#define NGX_HTTP_VIDSTREAM_METRICS_AUTH_MALFORMED 4
#define NGX_HTTP_VIDSTREAM_METRICS_AUTH_RESULTS   14


typedef struct {
    ngx_atomic_t                           pid;       /* 0: free */
    ngx_atomic_t                           gauge[
                                           NGX_HTTP_VIDSTREAM_METRICS_GAUGES];
} ngx_http_vidstream_metrics_worker_t;


typedef struct {
    ngx_http_vidstream_metrics_counters_t  counters;
    ngx_http_vidstream_metrics_worker_t    workers[
                                           NGX_HTTP_VIDSTREAM_METRICS_WORKERS];
} ngx_http_vidstream_metrics_sh_t;


typedef struct {
    ngx_flag_t                             collect;
    ngx_shm_zone_t                        *zone;
} ngx_http_vidstream_metrics_main_conf_t;


typedef struct {
    const char                            *why;      /* the auth reason */
    ngx_uint_t                             result;
} ngx_http_vidstream_metrics_reason_t;


static ngx_int_t ngx_http_vidstream_metrics_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_vidstream_metrics_log_handler(
    ngx_http_request_t *r);
static u_char *ngx_http_vidstream_metrics_render(u_char *p, u_char *last,
    ngx_http_vidstream_metrics_sh_t *sh);
static u_char *ngx_http_vidstream_metrics_head(u_char *p, u_char *last,
    const char *name, const char *type, const char *help);
static u_char *ngx_http_vidstream_metrics_hist(u_char *p, u_char *last,
    const char *name, const char *labels, ngx_http_vidstream_metrics_hist_t *h);
static void ngx_http_vidstream_metrics_publish(void);
static void ngx_http_vidstream_metrics_clear(
    ngx_http_vidstream_metrics_worker_t *w);
static void ngx_http_vidstream_metrics_publish_handler(ngx_event_t *ev);
static ngx_int_t ngx_http_vidstream_metrics_init_zone(
    ngx_shm_zone_t *shm_zone, void *data);
static char *ngx_http_vidstream_metrics(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_vidstream_metrics_postconfiguration(
    ngx_conf_t *cf);
static void *ngx_http_vidstream_metrics_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_vidstream_metrics_init_main_conf(ngx_conf_t *cf,
    void *conf);
static ngx_int_t ngx_http_vidstream_metrics_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_vidstream_metrics_init_process(ngx_cycle_t *cycle);
static void ngx_http_vidstream_metrics_exit_process(ngx_cycle_t *cycle);


static ngx_command_t  ngx_http_vidstream_metrics_commands[] = {

    { ngx_string("vidstream_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_vidstream_metrics,
      0,
      0,
      NULL },

    { ngx_string("vidstream_metrics_collect"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vidstream_metrics_main_conf_t, collect),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_vidstream_metrics_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_vidstream_metrics_postconfiguration, /* postconfiguration */

    ngx_http_vidstream_metrics_create_main_conf, /* create main configuration */
    ngx_http_vidstream_metrics_init_main_conf, /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_vidstream_metrics_module = {
    NGX_MODULE_V1,
    &ngx_http_vidstream_metrics_module_ctx, /* module context */
    ngx_http_vidstream_metrics_commands,   /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_vidstream_metrics_init_module, /* init module */
    ngx_http_vidstream_metrics_init_process, /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_vidstream_metrics_exit_process, /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


ngx_http_vidstream_metrics_counters_t  *ngx_http_vidstream_metrics_counters;

static ngx_http_vidstream_metrics_sh_t      *ngx_http_vidstream_metrics_sh;
static ngx_http_vidstream_metrics_worker_t  *ngx_http_vidstream_metrics_slot;
static ngx_event_t                           ngx_http_vidstream_metrics_timer;
/* the timer's data: nginx's debug log reads an fd from it */
static ngx_connection_t                      ngx_http_vidstream_metrics_dummy;


/*
 * A request's action is the address of its entry here, kept in the
 * module's ctx slot: labelling a request allocates nothing.
 */
static u_char  ngx_http_vidstream_metrics_tags[
                   NGX_HTTP_VIDSTREAM_METRICS_ACTIONS];

/* $upstream_cache_status's words, in nginx's order, after "none" */
static const char  *ngx_http_vidstream_metrics_cache_names[] = {
    "none", "miss", "bypass", "expired", "stale", "updating", "revalidated",
    "hit", "scarce"
};


static const char  *ngx_http_vidstream_metrics_action_names[] = {
    "other", "list", "create", "get", "delete", "complete", "download",
    "healthz", "playback", "play"
};

static const char  *ngx_http_vidstream_metrics_auth_names[] = {
    "ok", "insufficient_scope", "keys_unavailable", "missing", "malformed",
    "unsupported_alg", "unknown_kid", "bad_signature", "expired",
    "not_yet_valid", "wrong_issuer", "wrong_client", "wrong_token_use",
    "invalid_claims"
};

/*
 * The reasons of the auth module and ngx_http_vidstream_jwt_*.c that have
 * a result of their own; any other reason is a malformed token.
 * t/300-metrics.t pins the ones it provokes.
 */
static ngx_http_vidstream_metrics_reason_t  ngx_http_vidstream_metrics_reasons[]
    = {
    { "unsupported alg", 5 },
    { "unknown kid", 6 },
    { "bad signature", 7 },
    { "token expired", 8 },
    { "token not yet valid (nbf)", 9 },
    { "token issued in the future (iat)", 9 },
    { "wrong issuer", 10 },
    { "wrong audience", 11 },
    { "wrong client_id", 11 },
    { "wrong token_use", 12 },
    { "token has no exp", 13 },
    { "token has no sub", 13 },
    { "sub too long", 13 },
    { "sub has invalid characters", 13 },
    { NULL, 0 }
};

/* in the order of ngx_http_vidstream_pg_status_e */
static const char  *ngx_http_vidstream_metrics_pg_results[] = {
    "ok", "sql_error", "unavailable", "timeout"
};

static const char  *ngx_http_vidstream_metrics_services[] = {
    "s3", "sqs", "credentials"
};

static const char  *ngx_http_vidstream_metrics_aws_results[] = {
    "ok", "error", "timeout"
};

static uint64_t  ngx_http_vidstream_metrics_bounds_us[] = {
    500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
    1000000, 2500000, 5000000, 10000000
};

static const char  *ngx_http_vidstream_metrics_bounds[] = {
    "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
    "0.25", "0.5", "1", "2.5", "5", "10"
};

static ngx_str_t  ngx_http_vidstream_metrics_type =
    ngx_string("text/plain; version=0.0.4; charset=utf-8");


/* hooks (ngx_http_vidstream_metrics.h) */

void
ngx_http_vidstream_metrics_action(ngx_http_request_t *r, ngx_uint_t action)
{
    if (action >= NGX_HTTP_VIDSTREAM_METRICS_ACTIONS) {
        action = NGX_HTTP_VIDSTREAM_METRICS_OTHER;
    }

    ngx_http_set_ctx(r->main, &ngx_http_vidstream_metrics_tags[action],
                     ngx_http_vidstream_metrics_module);
}


uint64_t
ngx_http_vidstream_metrics_now(void)
{
    struct timespec  ts;

    if (ngx_http_vidstream_metrics_counters == NULL) {
        return 0;
    }

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}


void
ngx_http_vidstream_metrics_observe(ngx_http_vidstream_metrics_hist_t *h,
    uint64_t started)
{
    uint64_t    us, now;
    ngx_uint_t  i;

    if (started == 0) {
        return;      /* collection was off when it started */
    }

    now = ngx_http_vidstream_metrics_now();
    us = now > started ? now - started : 0;

    for (i = 0; i < NGX_HTTP_VIDSTREAM_METRICS_BUCKETS; i++) {
        if (us <= ngx_http_vidstream_metrics_bounds_us[i]) {
            break;
        }
    }

    (void) ngx_atomic_fetch_add(&h->bucket[i], 1);
    (void) ngx_atomic_fetch_add(&h->sum_us, (ngx_atomic_int_t) us);
}


void
ngx_http_vidstream_metrics_auth_rejected(const char *why)
{
    ngx_uint_t                              result;
    ngx_http_vidstream_metrics_reason_t    *reason;
    ngx_http_vidstream_metrics_counters_t  *m;

    m = ngx_http_vidstream_metrics_counters;
    if (m == NULL) {
        return;
    }

    result = NGX_HTTP_VIDSTREAM_METRICS_AUTH_MISSING;

    if (why) {
        result = NGX_HTTP_VIDSTREAM_METRICS_AUTH_MALFORMED;

        for (reason = ngx_http_vidstream_metrics_reasons; reason->why;
             reason++)
        {
            if (ngx_strcmp(why, reason->why) == 0) {
                result = reason->result;
                break;
            }
        }
    }

    (void) ngx_atomic_fetch_add(&m->auth[result], 1);
}


void
ngx_http_vidstream_metrics_pg_query(ngx_uint_t status, uint64_t started)
{
    ngx_http_vidstream_metrics_counters_t  *m;

    m = ngx_http_vidstream_metrics_counters;
    if (m == NULL || status > 3) {
        return;
    }

    (void) ngx_atomic_fetch_add(&m->pg_queries[status], 1);

    ngx_http_vidstream_metrics_observe(&m->pg_latency, started);
}


ngx_uint_t
ngx_http_vidstream_metrics_aws_service(const char *name, size_t len)
{
    if (len == 3 && ngx_strncmp(name, "sqs", 3) == 0) {
        return NGX_HTTP_VIDSTREAM_METRICS_SQS;
    }

    return NGX_HTTP_VIDSTREAM_METRICS_S3;
}


void
ngx_http_vidstream_metrics_aws_call(ngx_uint_t service, ngx_uint_t status,
    ngx_uint_t timed_out, uint64_t started)
{
    ngx_uint_t                              result;
    ngx_http_vidstream_metrics_counters_t  *m;

    m = ngx_http_vidstream_metrics_counters;
    if (m == NULL || service >= NGX_HTTP_VIDSTREAM_METRICS_SERVICES) {
        return;
    }

    result = timed_out ? 2 : (status >= 200 && status < 300) ? 0 : 1;

    (void) ngx_atomic_fetch_add(&m->aws_calls[service][result], 1);

    ngx_http_vidstream_metrics_observe(&m->aws_latency[service], started);
}


/* the content handler of vidstream_metrics */

static ngx_int_t
ngx_http_vidstream_metrics_handler(ngx_http_request_t *r)
{
    u_char     *text, *p;
    ngx_int_t   rc;
    ngx_buf_t  *b;
    ngx_chain_t out;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_vidstream_metrics_sh == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vidstream metrics: nothing collected "
                      "(vidstream_metrics_collect is off)");
        return NGX_HTTP_NOT_FOUND;
    }

    ngx_http_vidstream_metrics_publish();

    text = ngx_pnalloc(r->pool, NGX_HTTP_VIDSTREAM_METRICS_TEXT_MAX);
    if (text == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_http_vidstream_metrics_render(text,
                                     text + NGX_HTTP_VIDSTREAM_METRICS_TEXT_MAX,
                                     ngx_http_vidstream_metrics_sh);

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_type = ngx_http_vidstream_metrics_type;
    r->headers_out.content_type_len = ngx_http_vidstream_metrics_type.len;
    r->headers_out.content_length_n = p - text;

    if (r->method == NGX_HTTP_HEAD) {
        r->header_only = 1;
        return ngx_http_send_header(r);
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = text;
    b->last = p;
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


/* the log phase: every request, by action and status class */

static ngx_int_t
ngx_http_vidstream_metrics_log_handler(ngx_http_request_t *r)
{
    u_char                                 *tag;
    ngx_uint_t                              action, status, cache;
    ngx_http_vidstream_metrics_counters_t  *m;

    m = ngx_http_vidstream_metrics_counters;

    /* subrequests (S3, SQS, JWKS: "log_subrequest on") are not requests */
    if (m == NULL || r != r->main) {
        return NGX_OK;
    }

    tag = ngx_http_get_module_ctx(r, ngx_http_vidstream_metrics_module);
    action = tag ? (ngx_uint_t) (tag - ngx_http_vidstream_metrics_tags)
                 : NGX_HTTP_VIDSTREAM_METRICS_OTHER;

    /* as $status */
    status = r->err_status ? r->err_status : r->headers_out.status;

    if (status < 200 || status > 599) {
        return NGX_OK;      /* nothing was answered (or a 101, never ours) */
    }

    (void) ngx_atomic_fetch_add(&m->requests[action][status / 100 - 2], 1);

    if (action == NGX_HTTP_VIDSTREAM_METRICS_PLAY) {
        /* c->sent is this request's: nginx resets it for keepalive */
        if (r->connection->sent > (off_t) r->header_size) {
            (void) ngx_atomic_fetch_add(&m->play_bytes,
                       (ngx_atomic_int_t) (r->connection->sent
                                           - r->header_size));
        }

        cache = 0;
#if (NGX_HTTP_CACHE)
        if (r->upstream && r->upstream->cache_status > 0
            && r->upstream->cache_status < NGX_HTTP_VIDSTREAM_METRICS_CACHE)
        {
            cache = r->upstream->cache_status;
        }
#endif
        (void) ngx_atomic_fetch_add(&m->play_cache[cache], 1);
    }

    return NGX_OK;
}


static u_char *
ngx_http_vidstream_metrics_render(u_char *p, u_char *last,
    ngx_http_vidstream_metrics_sh_t *sh)
{
    char                                    labels[64];
    ngx_uint_t                              i, j, k;
    ngx_atomic_uint_t                       gauge[
                                           NGX_HTTP_VIDSTREAM_METRICS_GAUGES],
                                            workers;
    ngx_http_vidstream_metrics_worker_t    *w;
    ngx_http_vidstream_metrics_counters_t  *m;

    static const char  *pg_states[] = { "idle", "busy", "connecting", "down" };

    m = &sh->counters;

    p = ngx_http_vidstream_metrics_head(p, last,
            "vidstream_http_requests_total", "counter",
            "Requests answered by the edge, by API action and status class.");

    for (i = 0; i < NGX_HTTP_VIDSTREAM_METRICS_ACTIONS; i++) {
        for (j = 0; j < 4; j++) {
            p = ngx_slprintf(p, last,
                        "vidstream_http_requests_total{action=\"%s\","
                        "status=\"%uixx\"} %uA\n",
                        ngx_http_vidstream_metrics_action_names[i], j + 2,
                        m->requests[i][j]);
        }
    }

    p = ngx_http_vidstream_metrics_head(p, last,
            "vidstream_auth_results_total", "counter",
            "Bearer token checks, by result (ok or why it was refused).");

    for (i = 0; i < NGX_HTTP_VIDSTREAM_METRICS_AUTH_RESULTS; i++) {
        p = ngx_slprintf(p, last,
                         "vidstream_auth_results_total{result=\"%s\"} %uA\n",
                         ngx_http_vidstream_metrics_auth_names[i],
                         m->auth[i]);
    }

    p = ngx_http_vidstream_metrics_head(p, last,
            "vidstream_play_sent_bytes_total", "counter",
            "Body bytes /play sent to players.");
    p = ngx_slprintf(p, last, "vidstream_play_sent_bytes_total %uA\n",
                     m->play_bytes);

    p = ngx_http_vidstream_metrics_head(p, last,
            "vidstream_play_responses_total", "counter",
            "/play answers by the edge cache's status of their first slice "
            "(none: no cache lookup, refused or an error page).");

    for (i = 0; i < NGX_HTTP_VIDSTREAM_METRICS_CACHE; i++) {
        p = ngx_slprintf(p, last,
                         "vidstream_play_responses_total{cache=\"%s\"} "
                         "%uA\n", ngx_http_vidstream_metrics_cache_names[i],
                         m->play_cache[i]);
    }

    p = ngx_http_vidstream_metrics_head(p, last,
            "vidstream_token_cache_lookups_total", "counter",
            "Verified-token cache lookups, by result.");
    p = ngx_slprintf(p, last,
                     "vidstream_token_cache_lookups_total{result=\"hit\"} %uA\n"
                     "vidstream_token_cache_lookups_total{result=\"miss\"} "
                     "%uA\n", m->token_cache[0], m->token_cache[1]);

    p = ngx_http_vidstream_metrics_head(p, last,
            "vidstream_jwks_fetches_total", "counter",
            "JWKS fetches (URI) and re-reads (file), by result.");
    p = ngx_slprintf(p, last,
                     "vidstream_jwks_fetches_total{result=\"ok\"} %uA\n"
                     "vidstream_jwks_fetches_total{result=\"error\"} %uA\n",
                     m->jwks_fetches[0], m->jwks_fetches[1]);

    p = ngx_http_vidstream_metrics_head(p, last,
            "vidstream_pg_queries_total", "counter",
            "PostgreSQL queries, by how they ended.");

    for (i = 0; i < 4; i++) {
        p = ngx_slprintf(p, last,
                         "vidstream_pg_queries_total{result=\"%s\"} %uA\n",
                         ngx_http_vidstream_metrics_pg_results[i],
                         m->pg_queries[i]);
    }

    p = ngx_http_vidstream_metrics_head(p, last,
            "vidstream_pg_connection_errors_total", "counter",
            "PostgreSQL connections that failed or were lost.");
    p = ngx_slprintf(p, last, "vidstream_pg_connection_errors_total %uA\n",
                     m->pg_connection_errors);

    p = ngx_http_vidstream_metrics_head(p, last,
            "vidstream_pg_query_duration_seconds", "histogram",
            "PostgreSQL query latency, from submission (waiting included) "
            "to result.");
    p = ngx_http_vidstream_metrics_hist(p, last,
                                        "vidstream_pg_query_duration_seconds",
                                        "", &m->pg_latency);

    /* the gauges: the sum over the slots of live workers */

    ngx_memzero(gauge, sizeof(gauge));
    workers = 0;

    for (i = 0; i < NGX_HTTP_VIDSTREAM_METRICS_WORKERS; i++) {
        w = &sh->workers[i];

        if (w->pid == 0
            || (kill((ngx_pid_t) w->pid, 0) == -1 && ngx_errno == NGX_ESRCH))
        {
            continue;
        }

        workers++;

        for (k = 0; k < NGX_HTTP_VIDSTREAM_METRICS_GAUGES; k++) {
            gauge[k] += w->gauge[k];
        }
    }

    p = ngx_http_vidstream_metrics_head(p, last,
            "vidstream_pg_connections", "gauge",
            "PostgreSQL connections of the workers' pools, by state.");

    for (i = 0; i < 4; i++) {
        p = ngx_slprintf(p, last,
                         "vidstream_pg_connections{state=\"%s\"} %uA\n",
                         pg_states[i], gauge[i]);
    }

    p = ngx_http_vidstream_metrics_head(p, last,
            "vidstream_pg_queries_in_flight", "gauge",
            "PostgreSQL queries sent and not answered yet.");
    p = ngx_slprintf(p, last, "vidstream_pg_queries_in_flight %uA\n",
                     gauge[NGX_HTTP_VIDSTREAM_METRICS_PG_IN_FLIGHT]);

    p = ngx_http_vidstream_metrics_head(p, last,
            "vidstream_pg_queries_waiting", "gauge",
            "PostgreSQL queries waiting for a connection.");
    p = ngx_slprintf(p, last, "vidstream_pg_queries_waiting %uA\n",
                     gauge[NGX_HTTP_VIDSTREAM_METRICS_PG_WAITING]);

    p = ngx_http_vidstream_metrics_head(p, last,
            "vidstream_aws_requests_total", "counter",
            "S3, SQS and credential subrequests, by service and result.");

    for (i = 0; i < NGX_HTTP_VIDSTREAM_METRICS_SERVICES; i++) {
        for (j = 0; j < 3; j++) {
            p = ngx_slprintf(p, last,
                             "vidstream_aws_requests_total{service=\"%s\","
                             "result=\"%s\"} %uA\n",
                             ngx_http_vidstream_metrics_services[i],
                             ngx_http_vidstream_metrics_aws_results[j],
                             m->aws_calls[i][j]);
        }
    }

    p = ngx_http_vidstream_metrics_head(p, last,
            "vidstream_aws_request_duration_seconds", "histogram",
            "S3, SQS and credential subrequest latency, by service.");

    for (i = 0; i < NGX_HTTP_VIDSTREAM_METRICS_SERVICES; i++) {
        (void) ngx_snprintf((u_char *) labels, sizeof(labels),
                            "service=\"%s\",%Z",
                            ngx_http_vidstream_metrics_services[i]);

        p = ngx_http_vidstream_metrics_hist(p, last,
                                    "vidstream_aws_request_duration_seconds",
                                    labels, &m->aws_latency[i]);
    }

    p = ngx_http_vidstream_metrics_head(p, last,
            "vidstream_edge_worker_processes", "gauge",
            "nginx worker processes publishing metrics (old ones still "
            "finishing after a reload included).");
    p = ngx_slprintf(p, last, "vidstream_edge_worker_processes %uA\n",
                     workers);

    return p;
}


static u_char *
ngx_http_vidstream_metrics_head(u_char *p, u_char *last, const char *name,
    const char *type, const char *help)
{
    return ngx_slprintf(p, last, "# HELP %s %s\n# TYPE %s %s\n",
                        name, help, name, type);
}


/*
 * labels: "" or the series' labels followed by a comma, as they go before
 * le in the buckets.  The buckets are kept one by one and summed here.
 */

static u_char *
ngx_http_vidstream_metrics_hist(u_char *p, u_char *last, const char *name,
    const char *labels, ngx_http_vidstream_metrics_hist_t *h)
{
    size_t             len;
    ngx_uint_t         i;
    ngx_atomic_uint_t  total, sum;

    total = 0;

    for (i = 0; i < NGX_HTTP_VIDSTREAM_METRICS_BUCKETS; i++) {
        total += h->bucket[i];
        p = ngx_slprintf(p, last, "%s_bucket{%sle=\"%s\"} %uA\n",
                         name, labels, ngx_http_vidstream_metrics_bounds[i],
                         total);
    }

    total += h->bucket[NGX_HTTP_VIDSTREAM_METRICS_BUCKETS];
    sum = h->sum_us;

    p = ngx_slprintf(p, last, "%s_bucket{%sle=\"+Inf\"} %uA\n",
                     name, labels, total);

    /* the labels without their trailing comma */
    len = ngx_strlen(labels);
    len = len ? len - 1 : 0;

    if (len) {
        p = ngx_slprintf(p, last, "%s_sum{%*s} %uA.%06uA\n"
                         "%s_count{%*s} %uA\n",
                         name, len, labels, sum / 1000000, sum % 1000000,
                         name, len, labels, total);

    } else {
        p = ngx_slprintf(p, last, "%s_sum %uA.%06uA\n%s_count %uA\n",
                         name, sum / 1000000, sum % 1000000, name, total);
    }

    return p;
}


/* this worker's gauges into its slot */

static void
ngx_http_vidstream_metrics_publish(void)
{
    ngx_http_vidstream_pg_stats_t         st;
    ngx_http_vidstream_metrics_worker_t  *w;

    w = ngx_http_vidstream_metrics_slot;
    if (w == NULL) {
        return;
    }

    ngx_http_vidstream_pg_stats(&st);

    /* plain stores: each slot has one writer */

    w->gauge[NGX_HTTP_VIDSTREAM_METRICS_PG_IDLE] = st.idle;
    w->gauge[NGX_HTTP_VIDSTREAM_METRICS_PG_BUSY] = st.busy;
    w->gauge[NGX_HTTP_VIDSTREAM_METRICS_PG_CONNECTING] = st.connecting;
    w->gauge[NGX_HTTP_VIDSTREAM_METRICS_PG_DOWN] = st.down;
    w->gauge[NGX_HTTP_VIDSTREAM_METRICS_PG_IN_FLIGHT] = st.in_flight;
    w->gauge[NGX_HTTP_VIDSTREAM_METRICS_PG_WAITING] = st.waiting;
}


static void
ngx_http_vidstream_metrics_clear(ngx_http_vidstream_metrics_worker_t *w)
{
    ngx_uint_t  k;

    for (k = 0; k < NGX_HTTP_VIDSTREAM_METRICS_GAUGES; k++) {
        w->gauge[k] = 0;
    }
}


static void
ngx_http_vidstream_metrics_publish_handler(ngx_event_t *ev)
{
    ngx_http_vidstream_metrics_publish();

    if (!ngx_exiting && !ngx_terminate && !ngx_quit) {
        ngx_add_timer(ev, NGX_HTTP_VIDSTREAM_METRICS_PUBLISH_EVERY);
    }
}


/*
 * A new zone is zeroed; on reload nginx hands the old zone's data (same
 * name, size and tag) and it is kept as it is, as limit_req does.
 */

static ngx_int_t
ngx_http_vidstream_metrics_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_slab_pool_t                  *shpool;
    ngx_http_vidstream_metrics_sh_t  *sh;

    if (data) {
        shm_zone->data = data;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        shm_zone->data = shpool->data;
        return NGX_OK;
    }

    sh = ngx_slab_calloc(shpool, sizeof(ngx_http_vidstream_metrics_sh_t));
    if (sh == NULL) {
        return NGX_ERROR;
    }

    shpool->data = sh;
    shm_zone->data = sh;

    return NGX_OK;
}


static char *
ngx_http_vidstream_metrics(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_vidstream_metrics_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_vidstream_metrics_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_vidstream_metrics_log_handler;

    return NGX_OK;
}


static void *
ngx_http_vidstream_metrics_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_vidstream_metrics_main_conf_t  *mmcf;

    mmcf = ngx_pcalloc(cf->pool,
                       sizeof(ngx_http_vidstream_metrics_main_conf_t));
    if (mmcf == NULL) {
        return NULL;
    }

    mmcf->collect = NGX_CONF_UNSET;

    return mmcf;
}


static char *
ngx_http_vidstream_metrics_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_vidstream_metrics_main_conf_t  *mmcf = conf;

    size_t      size;
    ngx_str_t   name = ngx_string("vidstream_metrics");

    ngx_conf_init_value(mmcf->collect, 1);

    if (!mmcf->collect) {
        return NGX_CONF_OK;
    }

    /* the counters and the slab pool's own pages */
    size = ngx_align(sizeof(ngx_http_vidstream_metrics_sh_t), ngx_pagesize)
           + 8 * ngx_pagesize;

    mmcf->zone = ngx_shared_memory_add(cf, &name, size,
                                       &ngx_http_vidstream_metrics_module);
    if (mmcf->zone == NULL) {
        return NGX_CONF_ERROR;
    }

    mmcf->zone->init = ngx_http_vidstream_metrics_init_zone;

    return NGX_CONF_OK;
}


/*
 * The cycle is complete (its zones exist): the processes forked from now
 * on count into this zone, or nowhere when collection is off.
 */

static ngx_int_t
ngx_http_vidstream_metrics_init_module(ngx_cycle_t *cycle)
{
    ngx_http_vidstream_metrics_main_conf_t  *mmcf;

    ngx_http_vidstream_metrics_counters = NULL;
    ngx_http_vidstream_metrics_sh = NULL;

    if (ngx_http_cycle_get_module_main_conf(cycle, ngx_http_core_module)
        == NULL)
    {
        return NGX_OK;      /* no http{} */
    }

    mmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                            ngx_http_vidstream_metrics_module);

    if (mmcf == NULL || mmcf->zone == NULL || mmcf->zone->data == NULL) {
        return NGX_OK;
    }

    ngx_http_vidstream_metrics_sh = mmcf->zone->data;
    ngx_http_vidstream_metrics_counters =
                                       &ngx_http_vidstream_metrics_sh->counters;

    return NGX_OK;
}


/* a slot for this worker's gauges: a free one, or a dead worker's */

static ngx_int_t
ngx_http_vidstream_metrics_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                            i;
    ngx_atomic_uint_t                     pid;
    ngx_http_vidstream_metrics_worker_t  *w;

    ngx_http_vidstream_metrics_slot = NULL;

    if (ngx_http_vidstream_metrics_sh == NULL
        || (ngx_process != NGX_PROCESS_WORKER
            && ngx_process != NGX_PROCESS_SINGLE))
    {
        return NGX_OK;
    }

    for (i = 0; i < NGX_HTTP_VIDSTREAM_METRICS_WORKERS; i++) {
        w = &ngx_http_vidstream_metrics_sh->workers[i];
        pid = w->pid;

        /* taken by a live process other than this one (a recycled pid) */

        if (pid != 0 && pid != (ngx_atomic_uint_t) ngx_pid
            && (kill((ngx_pid_t) pid, 0) == 0 || ngx_errno != NGX_ESRCH))
        {
            continue;
        }

        if (ngx_atomic_cmp_set(&w->pid, pid, (ngx_atomic_uint_t) ngx_pid)) {
            ngx_http_vidstream_metrics_slot = w;
            ngx_http_vidstream_metrics_clear(w);
            break;
        }
    }

    if (ngx_http_vidstream_metrics_slot == NULL) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "vidstream metrics: no free slot for this worker's "
                      "gauges (more than %d workers)",
                      NGX_HTTP_VIDSTREAM_METRICS_WORKERS);
        return NGX_OK;
    }

    ngx_memzero(&ngx_http_vidstream_metrics_timer, sizeof(ngx_event_t));
    ngx_http_vidstream_metrics_timer.handler =
                                  ngx_http_vidstream_metrics_publish_handler;
    ngx_http_vidstream_metrics_timer.log = cycle->log;
    ngx_http_vidstream_metrics_dummy.fd = (ngx_socket_t) -1;
    ngx_http_vidstream_metrics_timer.data = &ngx_http_vidstream_metrics_dummy;
    ngx_http_vidstream_metrics_timer.cancelable = 1;

    ngx_add_timer(&ngx_http_vidstream_metrics_timer, 1);

    return NGX_OK;
}


static void
ngx_http_vidstream_metrics_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_vidstream_metrics_worker_t  *w;

    w = ngx_http_vidstream_metrics_slot;
    if (w == NULL) {
        return;
    }

    if (ngx_http_vidstream_metrics_timer.timer_set) {
        ngx_del_timer(&ngx_http_vidstream_metrics_timer);
    }

    ngx_http_vidstream_metrics_clear(w);
    (void) ngx_atomic_cmp_set(&w->pid, (ngx_atomic_uint_t) ngx_pid, 0);

    ngx_http_vidstream_metrics_slot = NULL;
}
