
/*
 * ngx_http_vidstream_pg: the per-worker non-blocking PostgreSQL pool.
 * See ngx_http_vidstream_pg.h for what it promises.
 *
 * A connection goes DOWN -> CONNECTING -> PREPARING -> READY and back to
 * DOWN on any error.  A READY connection is in libpq's pipeline mode and
 * keeps, in a ring of slots, what it waits for, in order: the queries it
 * sent and the Syncs that end their segments.  Results are matched to the
 * slots as they come (a query's results end with a NULL from
 * PQgetResult(), a Sync gives PGRES_PIPELINE_SYNC).
 *
 * Writes are batched: ngx_http_vidstream_pg_send() only appends to libpq's
 * output buffer and posts the pool's flush event, which runs once the
 * event loop has handled everything that was ready, and ends every open
 * segment with PQpipelineSync() (which writes the lot).
 *
 * Handlers are never called from inside ngx_http_vidstream_pg_send(): a
 * query that fails because its connection died is put on a list whose
 * delivery is a posted event.
 *
 * The socket is registered level-triggered: libpq may leave bytes in the
 * kernel after PQconsumeInput(), and a level event makes sure we come back
 * for them.  The write event is registered only while libpq has output to
 * flush.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <netdb.h>

#include "ngx_http_vidstream_pg.h"
#include "ngx_http_vidstream_metrics.h"


#define NGX_HTTP_VIDSTREAM_PG_DOWN        0
#define NGX_HTTP_VIDSTREAM_PG_CONNECTING  1
#define NGX_HTTP_VIDSTREAM_PG_PREPARING   2
#define NGX_HTTP_VIDSTREAM_PG_READY       3

/* where a query is (q->state) */
#define NGX_HTTP_VIDSTREAM_PG_Q_IDLE      0
#define NGX_HTTP_VIDSTREAM_PG_Q_WAITING   1     /* in pool->waiting */
#define NGX_HTTP_VIDSTREAM_PG_Q_ACTIVE    2     /* in a connection's slot */
#define NGX_HTTP_VIDSTREAM_PG_Q_FAILED    3     /* in pool->failed */

#define NGX_HTTP_VIDSTREAM_PG_BACKOFF_MIN  100     /* ms */
#define NGX_HTTP_VIDSTREAM_PG_BACKOFF_MAX  1000
/* when every connection is down, a request may force one connection
 * attempt at most this often; otherwise it fails fast with 503 */
#define NGX_HTTP_VIDSTREAM_PG_KICK_EVERY   100


typedef struct {
    ngx_http_vidstream_pg_conf_t     *conf;
    ngx_http_vidstream_pg_stmt_t     *stmts;
    ngx_uint_t                        nstmts;
    ngx_http_vidstream_pg_conn_t     *conns;
    ngx_queue_t                       waiting;
    ngx_queue_t                       failed;
    ngx_event_t                       flush;     /* posted: write batches */
    ngx_event_t                       fail;      /* posted: deliver failed */
    ngx_msec_t                        last_kick;
    ngx_log_t                        *log;
} ngx_http_vidstream_pg_pool_t;


/* what a connection waits for: a query's results, or a Sync */
typedef struct {
    ngx_http_vidstream_pg_query_t    *query;     /* NULL: abandoned, Sync */
    ngx_uint_t                        stmt;
    unsigned                          sync:1;
} ngx_http_vidstream_pg_slot_t;


struct ngx_http_vidstream_pg_conn_s {
    PGconn                           *pgconn;
    ngx_connection_t                 *c;
    ngx_uint_t                        state;
    ngx_uint_t                        prepared;
    PGresult                         *res;       /* of the front query */

    ngx_http_vidstream_pg_slot_t     *slots;     /* a ring */
    ngx_uint_t                        nslots;
    ngx_uint_t                        head;
    ngx_uint_t                        count;
    ngx_uint_t                        inflight;  /* queries in the ring */
    ngx_uint_t                        unsynced;  /* sent since last Sync */
    unsigned                          segment_writes:1;

    ngx_event_t                       reconnect;
    ngx_msec_t                        backoff;
    ngx_http_vidstream_pg_pool_t     *pool;
};


static void ngx_http_vidstream_pg_connect(ngx_http_vidstream_pg_conn_t *pc);
static void ngx_http_vidstream_pg_connect_poll(
    ngx_http_vidstream_pg_conn_t *pc);
static void ngx_http_vidstream_pg_event_handler(ngx_event_t *ev);
static void ngx_http_vidstream_pg_reconnect_handler(ngx_event_t *ev);
static void ngx_http_vidstream_pg_flush_handler(ngx_event_t *ev);
static void ngx_http_vidstream_pg_fail_handler(ngx_event_t *ev);
static void ngx_http_vidstream_pg_query_timeout(ngx_event_t *ev);
static ngx_int_t ngx_http_vidstream_pg_want_write(
    ngx_http_vidstream_pg_conn_t *pc, ngx_uint_t on);
static ngx_int_t ngx_http_vidstream_pg_flush(ngx_http_vidstream_pg_conn_t *pc);
static void ngx_http_vidstream_pg_prepare_next(
    ngx_http_vidstream_pg_conn_t *pc);
static void ngx_http_vidstream_pg_prepared(ngx_http_vidstream_pg_conn_t *pc);
static ngx_http_vidstream_pg_conn_t *ngx_http_vidstream_pg_pick(
    ngx_http_vidstream_pg_pool_t *pool);
static void ngx_http_vidstream_pg_dispatch(ngx_http_vidstream_pg_pool_t *pool);
static ngx_int_t ngx_http_vidstream_pg_run(ngx_http_vidstream_pg_conn_t *pc,
    ngx_http_vidstream_pg_query_t *q);
static ngx_int_t ngx_http_vidstream_pg_sync(ngx_http_vidstream_pg_conn_t *pc);
static void ngx_http_vidstream_pg_read(ngx_http_vidstream_pg_conn_t *pc);
static void ngx_http_vidstream_pg_deliver(ngx_http_vidstream_pg_conn_t *pc,
    ngx_http_vidstream_pg_query_t *q, ngx_uint_t stmt, PGresult *res);
static void ngx_http_vidstream_pg_drop(ngx_http_vidstream_pg_conn_t *pc,
    const char *why, ngx_uint_t backoff);
static void ngx_http_vidstream_pg_close(ngx_http_vidstream_pg_conn_t *pc);
static ngx_uint_t ngx_http_vidstream_pg_alive(
    ngx_http_vidstream_pg_pool_t *pool);
static void ngx_http_vidstream_pg_detach(ngx_http_vidstream_pg_query_t *q);
static ngx_http_vidstream_pg_conn_t *ngx_http_vidstream_pg_find(
    ngx_http_vidstream_pg_query_t *q);
static void ngx_http_vidstream_pg_fail(ngx_http_vidstream_pg_pool_t *pool,
    ngx_http_vidstream_pg_query_t *q);
static void ngx_http_vidstream_pg_finish(ngx_http_vidstream_pg_query_t *q,
    ngx_http_vidstream_pg_status_e status, PGresult *res);
static void ngx_http_vidstream_pg_notice(void *arg, const char *message);


/* per worker process: created in init_process, never shared */
static ngx_http_vidstream_pg_pool_t  *ngx_http_vidstream_pg_pool;


char *
ngx_http_vidstream_pg_conf_set(ngx_conf_t *cf, ngx_str_t *args,
    ngx_uint_t nargs, ngx_http_vidstream_pg_conf_t *conf)
{
    char                *errmsg, *host, *hp, *comma;
    u_char              *p, *addrs, *last;
    size_t               n, len;
    ngx_int_t            size;
    ngx_str_t            s;
    ngx_uint_t           i, k, hostaddr, dbname, port;
    const char          *v;
    ngx_msec_t           timeout;
    struct addrinfo      hints, *ai;
    PQconninfoOption    *opts, *o;
    char                 ip[NI_MAXHOST];

    conf->size = 4;
    conf->depth = 32;
    conf->timeout = 2000;

    for (i = 1; i < nargs; i++) {

        if (ngx_strncmp(args[i].data, "pool=", 5) == 0) {
            size = ngx_atoi(args[i].data + 5, args[i].len - 5);
            if (size < 1 || size > 1024) {
                return "has an invalid pool size (1..1024)";
            }

            conf->size = size;
            continue;
        }

        if (ngx_strncmp(args[i].data, "pipeline=", 9) == 0) {
            size = ngx_atoi(args[i].data + 9, args[i].len - 9);
            if (size < 1 || size > 1024) {
                return "has an invalid pipeline depth (1..1024)";
            }

            conf->depth = size;
            continue;
        }

        if (ngx_strncmp(args[i].data, "timeout=", 8) == 0) {
            s.data = args[i].data + 8;
            s.len = args[i].len - 8;

            timeout = ngx_parse_time(&s, 0);
            if (timeout == (ngx_msec_t) NGX_ERROR || timeout == 0) {
                return "has an invalid timeout";
            }

            conf->timeout = timeout;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &args[i]);
        return NGX_CONF_ERROR;
    }

    /* libpq wants a C string */

    p = ngx_pnalloc(cf->pool, args[0].len + 1);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    (void) ngx_cpystrn(p, args[0].data, args[0].len + 1);

    errmsg = NULL;
    opts = PQconninfoParse((char *) p, &errmsg);
    if (opts == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid PostgreSQL conninfo: %s",
                           errmsg ? errmsg : "out of memory");
        PQfreemem(errmsg);
        return NGX_CONF_ERROR;
    }

    n = 0;
    for (o = opts; o->keyword; o++) {
        n++;
    }

    conf->keywords = ngx_pcalloc(cf->pool, (n + 2) * sizeof(char *));
    conf->values = ngx_pcalloc(cf->pool, (n + 2) * sizeof(char *));
    if (conf->keywords == NULL || conf->values == NULL) {
        PQconninfoFree(opts);
        return NGX_CONF_ERROR;
    }

    k = 0;
    host = NULL;
    hostaddr = 0;
    dbname = 0;
    port = 0;

    for (o = opts; o->keyword; o++) {
        if (o->val == NULL || o->val[0] == '\0') {
            continue;
        }

        len = ngx_strlen(o->val);
        p = ngx_pnalloc(cf->pool, len + 1);
        if (p == NULL) {
            PQconninfoFree(opts);
            return NGX_CONF_ERROR;
        }

        ngx_memcpy(p, o->val, len + 1);

        conf->keywords[k] = o->keyword;   /* static strings in libpq */
        conf->values[k] = (char *) p;

        if (ngx_strcmp(o->keyword, "host") == 0) {
            host = (char *) p;
        } else if (ngx_strcmp(o->keyword, "hostaddr") == 0) {
            hostaddr = 1;
        } else if (ngx_strcmp(o->keyword, "dbname") == 0) {
            dbname = k + 1;
        } else if (ngx_strcmp(o->keyword, "port") == 0) {
            port = k + 1;
        }

        k++;
    }

    PQconninfoFree(opts);

    /*
     * Resolve host names now: libpq would call getaddrinfo() from
     * PQconnectPoll(), which blocks.  Numeric addresses and unix socket
     * directories never resolve; a list "a,b" is resolved element-wise.
     */

    if (host != NULL && !hostaddr) {
        len = ngx_strlen(host);
        addrs = ngx_pnalloc(cf->pool, (len + 1) * NI_MAXHOST);
        if (addrs == NULL) {
            return NGX_CONF_ERROR;
        }

        last = addrs;
        hostaddr = 1;

        for (hp = host; hp; hp = comma ? comma + 1 : NULL) {
            comma = strchr(hp, ',');
            if (comma) {
                *comma = '\0';
            }

            if (hp[0] == '/' || hp[0] == '@' || hp[0] == '\0') {
                hostaddr = 0;            /* a unix socket: nothing to do */
                v = NULL;

            } else {
                ngx_memzero(&hints, sizeof(struct addrinfo));
                hints.ai_family = AF_UNSPEC;
                hints.ai_socktype = SOCK_STREAM;

                /* blocking, but at configuration time only */
                if (getaddrinfo(hp, NULL, &hints, &ai) != 0 || ai == NULL) {
                    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "cannot resolve PostgreSQL host \"%s\"",
                                   hp);
                    if (comma) {
                        *comma = ',';
                    }
                    return NGX_CONF_ERROR;
                }

                if (getnameinfo(ai->ai_addr, ai->ai_addrlen, ip, sizeof(ip),
                                NULL, 0, NI_NUMERICHOST)
                    != 0)
                {
                    freeaddrinfo(ai);
                    return "cannot format a PostgreSQL host address";
                }

                freeaddrinfo(ai);
                v = ip;
            }

            if (comma) {
                *comma = ',';
            }

            if (last != addrs) {
                *last++ = ',';
            }

            if (v) {
                last = ngx_cpymem(last, v, ngx_strlen(v));
            }
        }

        *last = '\0';

        if (hostaddr) {
            conf->keywords[k] = "hostaddr";
            conf->values[k] = (char *) addrs;
            k++;
        }
    }

    conf->keywords[k] = NULL;
    conf->values[k] = NULL;

    /* what the logs may say about the database: never the password */

    p = ngx_pnalloc(cf->pool, 1024);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    conf->display.data = p;
    conf->display.len = ngx_snprintf(p, 1024, "\"%s\" on %s:%s",
                             dbname ? conf->values[dbname - 1] : "(default)",
                             host ? host : "(default)",
                             port ? conf->values[port - 1] : "(default)")
                        - p;

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_vidstream_pg_init(ngx_cycle_t *cycle,
    ngx_http_vidstream_pg_conf_t *conf, ngx_http_vidstream_pg_stmt_t *stmts,
    ngx_uint_t nstmts)
{
    ngx_uint_t                     i;
    ngx_http_vidstream_pg_conn_t  *pc;
    ngx_http_vidstream_pg_pool_t  *pool;

    pool = ngx_pcalloc(cycle->pool, sizeof(ngx_http_vidstream_pg_pool_t));
    if (pool == NULL) {
        return NGX_ERROR;
    }

    pool->conns = ngx_pcalloc(cycle->pool,
                              conf->size
                              * sizeof(ngx_http_vidstream_pg_conn_t));
    if (pool->conns == NULL) {
        return NGX_ERROR;
    }

    pool->conf = conf;
    pool->stmts = stmts;
    pool->nstmts = nstmts;
    pool->log = cycle->log;
    ngx_queue_init(&pool->waiting);
    ngx_queue_init(&pool->failed);

    pool->flush.handler = ngx_http_vidstream_pg_flush_handler;
    pool->flush.data = pool;
    pool->flush.log = cycle->log;

    pool->fail.handler = ngx_http_vidstream_pg_fail_handler;
    pool->fail.data = pool;
    pool->fail.log = cycle->log;

    ngx_http_vidstream_pg_pool = pool;

    for (i = 0; i < conf->size; i++) {
        pc = &pool->conns[i];
        pc->pool = pool;
        pc->backoff = NGX_HTTP_VIDSTREAM_PG_BACKOFF_MIN;

        /* every query may be followed by its Sync, plus one older Sync */
        pc->nslots = 2 * conf->depth + 2;
        pc->slots = ngx_pcalloc(cycle->pool,
                                pc->nslots
                                * sizeof(ngx_http_vidstream_pg_slot_t));
        if (pc->slots == NULL) {
            return NGX_ERROR;
        }

        pc->reconnect.handler = ngx_http_vidstream_pg_reconnect_handler;
        pc->reconnect.data = pc;
        pc->reconnect.log = cycle->log;
        pc->reconnect.cancelable = 1;

        ngx_http_vidstream_pg_connect(pc);
    }

    return NGX_OK;
}


void
ngx_http_vidstream_pg_done(ngx_cycle_t *cycle)
{
    ngx_uint_t                     i;
    ngx_http_vidstream_pg_conn_t  *pc;
    ngx_http_vidstream_pg_pool_t  *pool;

    pool = ngx_http_vidstream_pg_pool;
    if (pool == NULL) {
        return;
    }

    if (pool->flush.posted) {
        ngx_delete_posted_event(&pool->flush);
    }

    if (pool->fail.posted) {
        ngx_delete_posted_event(&pool->fail);
    }

    for (i = 0; i < pool->conf->size; i++) {
        pc = &pool->conns[i];

        if (pc->reconnect.timer_set) {
            ngx_del_timer(&pc->reconnect);
        }

        ngx_http_vidstream_pg_close(pc);
    }

    ngx_http_vidstream_pg_pool = NULL;
}


ngx_int_t
ngx_http_vidstream_pg_send(ngx_http_vidstream_pg_query_t *q)
{
    ngx_uint_t                     i;
    ngx_msec_t                     now;
    ngx_http_vidstream_pg_conn_t  *pc;
    ngx_http_vidstream_pg_pool_t  *pool;

    pool = ngx_http_vidstream_pg_pool;
    if (pool == NULL || q->nparams > NGX_HTTP_VIDSTREAM_PG_MAX_PARAMS) {
        return NGX_ERROR;
    }

    q->state = NGX_HTTP_VIDSTREAM_PG_Q_IDLE;
    q->slot = NULL;
    q->retried = 0;
    q->started = ngx_http_vidstream_metrics_now();

    ngx_memzero(&q->timer, sizeof(ngx_event_t));
    q->timer.handler = ngx_http_vidstream_pg_query_timeout;
    q->timer.data = q;
    q->timer.log = q->log;

    /* FIFO: nobody overtakes a waiting query */

    while (ngx_queue_empty(&pool->waiting)) {

        pc = ngx_http_vidstream_pg_pick(pool);
        if (pc == NULL) {
            break;
        }

        if (ngx_http_vidstream_pg_run(pc, q) == NGX_OK) {
            ngx_add_timer(&q->timer, pool->conf->timeout);
            return NGX_OK;
        }

        /* the connection died under us: it was dropped, try another */
    }

    if (!ngx_http_vidstream_pg_alive(pool)) {

        /*
         * Every connection is down and waits for its backoff timer.  Try one
         * now (PostgreSQL may be back), at most once per KICK_EVERY ms;
         * otherwise fail fast rather than wait for the timeout.
         */

        now = ngx_current_msec;

        if (now - pool->last_kick < NGX_HTTP_VIDSTREAM_PG_KICK_EVERY) {
            ngx_http_vidstream_metrics_pg_query(
                              NGX_HTTP_VIDSTREAM_PG_UNAVAILABLE, q->started);
            return NGX_DECLINED;
        }

        pool->last_kick = now;

        for (i = 0; i < pool->conf->size; i++) {
            pc = &pool->conns[i];

            if (pc->state == NGX_HTTP_VIDSTREAM_PG_DOWN) {
                if (pc->reconnect.timer_set) {
                    ngx_del_timer(&pc->reconnect);
                }

                ngx_http_vidstream_pg_connect(pc);
                break;
            }
        }

        if (!ngx_http_vidstream_pg_alive(pool)) {
            ngx_http_vidstream_metrics_pg_query(
                              NGX_HTTP_VIDSTREAM_PG_UNAVAILABLE, q->started);
            return NGX_DECLINED;
        }
    }

    ngx_queue_insert_tail(&pool->waiting, &q->queue);
    q->state = NGX_HTTP_VIDSTREAM_PG_Q_WAITING;
    ngx_add_timer(&q->timer, pool->conf->timeout);

    return NGX_OK;
}


void
ngx_http_vidstream_pg_cancel(ngx_http_vidstream_pg_query_t *q)
{
    if (q->timer.timer_set) {
        ngx_del_timer(&q->timer);
    }

    ngx_http_vidstream_pg_detach(q);
}


void
ngx_http_vidstream_pg_stats(ngx_http_vidstream_pg_stats_t *st)
{
    ngx_uint_t                     i;
    ngx_queue_t                   *qe;
    ngx_http_vidstream_pg_conn_t  *pc;
    ngx_http_vidstream_pg_pool_t  *pool;

    ngx_memzero(st, sizeof(ngx_http_vidstream_pg_stats_t));

    pool = ngx_http_vidstream_pg_pool;
    if (pool == NULL) {
        return;
    }

    for (i = 0; i < pool->conf->size; i++) {
        pc = &pool->conns[i];

        switch (pc->state) {

        case NGX_HTTP_VIDSTREAM_PG_READY:
            if (pc->inflight) {
                st->busy++;

            } else {
                st->idle++;
            }

            break;

        case NGX_HTTP_VIDSTREAM_PG_DOWN:
            st->down++;
            break;

        default:
            st->connecting++;
            break;
        }

        st->in_flight += pc->inflight;
    }

    for (qe = ngx_queue_head(&pool->waiting);
         qe != ngx_queue_sentinel(&pool->waiting);
         qe = ngx_queue_next(qe))
    {
        st->waiting++;
    }
}


/*
 * Takes q out of wherever it is.  A query on a connection leaves its slot
 * behind, abandoned: the connection still reads and discards its result.
 */

static void
ngx_http_vidstream_pg_detach(ngx_http_vidstream_pg_query_t *q)
{
    ngx_http_vidstream_pg_slot_t  *slot;

    switch (q->state) {

    case NGX_HTTP_VIDSTREAM_PG_Q_WAITING:
    case NGX_HTTP_VIDSTREAM_PG_Q_FAILED:
        ngx_queue_remove(&q->queue);
        break;

    case NGX_HTTP_VIDSTREAM_PG_Q_ACTIVE:
        slot = q->slot;
        slot->query = NULL;
        q->slot = NULL;
        break;

    default:
        break;
    }

    q->state = NGX_HTTP_VIDSTREAM_PG_Q_IDLE;
}


/* q failed with its connection: delivered from a posted event */

static void
ngx_http_vidstream_pg_fail(ngx_http_vidstream_pg_pool_t *pool,
    ngx_http_vidstream_pg_query_t *q)
{
    ngx_http_vidstream_pg_detach(q);

    ngx_queue_insert_tail(&pool->failed, &q->queue);
    q->state = NGX_HTTP_VIDSTREAM_PG_Q_FAILED;

    if (!pool->fail.posted) {
        ngx_post_event(&pool->fail, &ngx_posted_events);
    }
}


static void
ngx_http_vidstream_pg_fail_handler(ngx_event_t *ev)
{
    ngx_queue_t                    *qe;
    ngx_http_vidstream_pg_pool_t   *pool;
    ngx_http_vidstream_pg_query_t  *q;

    pool = ev->data;

    while (!ngx_queue_empty(&pool->failed)) {
        qe = ngx_queue_head(&pool->failed);
        q = ngx_queue_data(qe, ngx_http_vidstream_pg_query_t, queue);

        ngx_queue_remove(qe);
        q->state = NGX_HTTP_VIDSTREAM_PG_Q_IDLE;

        ngx_http_vidstream_pg_finish(q, NGX_HTTP_VIDSTREAM_PG_UNAVAILABLE,
                                     NULL);
    }
}


static void
ngx_http_vidstream_pg_connect(ngx_http_vidstream_pg_conn_t *pc)
{
    ngx_socket_t                   fd;
    ngx_connection_t              *c;
    ngx_http_vidstream_pg_pool_t  *pool;

    pool = pc->pool;

    pc->pgconn = PQconnectStartParams(pool->conf->keywords,
                                      pool->conf->values, 0);

    if (pc->pgconn == NULL || PQstatus(pc->pgconn) == CONNECTION_BAD) {
        ngx_http_vidstream_pg_drop(pc, pc->pgconn
                                       ? PQerrorMessage(pc->pgconn)
                                       : "out of memory", 1);
        return;
    }

    PQsetNoticeProcessor(pc->pgconn, ngx_http_vidstream_pg_notice, pool);

    fd = PQsocket(pc->pgconn);

    c = ngx_get_connection(fd, pool->log);
    if (c == NULL) {
        ngx_http_vidstream_pg_drop(pc, "no free nginx connection", 1);
        return;
    }

    c->data = pc;
    c->read->handler = ngx_http_vidstream_pg_event_handler;
    c->write->handler = ngx_http_vidstream_pg_event_handler;
    c->read->log = pool->log;
    c->write->log = pool->log;
    c->read->cancelable = 1;

    pc->c = c;
    pc->state = NGX_HTTP_VIDSTREAM_PG_CONNECTING;
    pc->prepared = 0;

    if (ngx_add_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT) != NGX_OK) {
        ngx_http_vidstream_pg_drop(pc, "cannot add read event", 1);
        return;
    }

    /* PQconnectStart(): "as if PQconnectPoll had returned WRITING" */

    if (ngx_http_vidstream_pg_want_write(pc, 1) != NGX_OK) {
        ngx_http_vidstream_pg_drop(pc, "cannot add write event", 1);
        return;
    }

    ngx_add_timer(c->read, pool->conf->timeout);
}


static void
ngx_http_vidstream_pg_connect_poll(ngx_http_vidstream_pg_conn_t *pc)
{
    ngx_socket_t                   fd;
    ngx_connection_t              *c;
    PostgresPollingStatusType      st;

    st = PQconnectPoll(pc->pgconn);

    fd = PQsocket(pc->pgconn);

    if (st != PGRES_POLLING_FAILED && fd != pc->c->fd) {

        /*
         * libpq moved to a new socket (next host, SSL retry): the old one
         * is closed already, so its events only need to be forgotten.
         */

        c = pc->c;

        if (c->read->active) {
            ngx_del_event(c->read, NGX_READ_EVENT, NGX_CLOSE_EVENT);
        }

        if (c->write->active) {
            ngx_del_event(c->write, NGX_WRITE_EVENT, NGX_CLOSE_EVENT);
        }

        c->fd = fd;

        if (ngx_add_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT)
            != NGX_OK)
        {
            ngx_http_vidstream_pg_drop(pc, "cannot add read event", 1);
            return;
        }
    }

    switch (st) {

    case PGRES_POLLING_READING:
        if (ngx_http_vidstream_pg_want_write(pc, 0) != NGX_OK) {
            ngx_http_vidstream_pg_drop(pc, "cannot delete write event", 1);
        }
        return;

    case PGRES_POLLING_WRITING:
        if (ngx_http_vidstream_pg_want_write(pc, 1) != NGX_OK) {
            ngx_http_vidstream_pg_drop(pc, "cannot add write event", 1);
        }
        return;

    case PGRES_POLLING_OK:
        if (ngx_http_vidstream_pg_want_write(pc, 0) != NGX_OK
            || PQsetnonblocking(pc->pgconn, 1) != 0)
        {
            ngx_http_vidstream_pg_drop(pc, "cannot switch to non-blocking", 1);
            return;
        }

        ngx_log_debug1(NGX_LOG_DEBUG_EVENT, pc->pool->log, 0,
                       "vidstream pg: connected to %V",
                       &pc->pool->conf->display);

        pc->state = NGX_HTTP_VIDSTREAM_PG_PREPARING;
        ngx_http_vidstream_pg_prepare_next(pc);
        return;

    default: /* PGRES_POLLING_FAILED */
        ngx_http_vidstream_pg_drop(pc, PQerrorMessage(pc->pgconn), 1);
        return;
    }
}


static void
ngx_http_vidstream_pg_event_handler(ngx_event_t *ev)
{
    ngx_connection_t              *c;
    ngx_http_vidstream_pg_conn_t  *pc;

    c = ev->data;
    pc = c->data;

    if (ev->timedout) {
        ev->timedout = 0;
        ngx_http_vidstream_pg_drop(pc, "connect timed out", 1);
        return;
    }

    switch (pc->state) {

    case NGX_HTTP_VIDSTREAM_PG_CONNECTING:
        ngx_http_vidstream_pg_connect_poll(pc);
        return;

    case NGX_HTTP_VIDSTREAM_PG_PREPARING:
    case NGX_HTTP_VIDSTREAM_PG_READY:
        if (ev->write) {
            if (ngx_http_vidstream_pg_flush(pc) != NGX_OK) {
                ngx_http_vidstream_pg_drop(pc, PQerrorMessage(pc->pgconn),
                                           1);
            }
            return;
        }

        ngx_http_vidstream_pg_read(pc);
        return;

    default:
        return;
    }
}


static void
ngx_http_vidstream_pg_reconnect_handler(ngx_event_t *ev)
{
    ngx_http_vidstream_pg_conn_t  *pc;

    pc = ev->data;

    if (pc->state == NGX_HTTP_VIDSTREAM_PG_DOWN && !ngx_exiting) {
        ngx_http_vidstream_pg_connect(pc);
    }
}


static void
ngx_http_vidstream_pg_query_timeout(ngx_event_t *ev)
{
    ngx_http_vidstream_pg_conn_t   *pc;
    ngx_http_vidstream_pg_query_t  *q;

    q = ev->data;

    ngx_log_error(NGX_LOG_ERR, q->log, 0,
                  "vidstream pg: query %s timed out",
                  ngx_http_vidstream_pg_pool->stmts[q->stmt].name);

    pc = NULL;

    if (q->state == NGX_HTTP_VIDSTREAM_PG_Q_ACTIVE) {
        pc = ngx_http_vidstream_pg_find(q);
    }

    ngx_http_vidstream_pg_detach(q);

    if (pc) {

        /*
         * The query is on a connection: PQcancel() would block, so the
         * connection is closed (the server aborts the query) and replaced;
         * what else was in flight on it fails with it.
         */

        pc->backoff = NGX_HTTP_VIDSTREAM_PG_BACKOFF_MIN;
        ngx_http_vidstream_pg_drop(pc, "query timed out", 0);
    }

    ngx_http_vidstream_pg_finish(q, NGX_HTTP_VIDSTREAM_PG_TIMEOUT, NULL);
}


static ngx_int_t
ngx_http_vidstream_pg_want_write(ngx_http_vidstream_pg_conn_t *pc,
    ngx_uint_t on)
{
    ngx_event_t  *wev;

    wev = pc->c->write;

    if (on && !wev->active) {
        return ngx_add_event(wev, NGX_WRITE_EVENT, NGX_LEVEL_EVENT);
    }

    if (!on && wev->active) {
        return ngx_del_event(wev, NGX_WRITE_EVENT, 0);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_vidstream_pg_flush(ngx_http_vidstream_pg_conn_t *pc)
{
    int  rc;

    rc = PQflush(pc->pgconn);

    if (rc < 0) {
        return NGX_ERROR;
    }

    return ngx_http_vidstream_pg_want_write(pc, rc == 1);
}


static void
ngx_http_vidstream_pg_prepare_next(ngx_http_vidstream_pg_conn_t *pc)
{
    ngx_http_vidstream_pg_stmt_t  *stmt;

    if (pc->prepared == pc->pool->nstmts) {
        ngx_http_vidstream_pg_prepared(pc);
        return;
    }

    stmt = &pc->pool->stmts[pc->prepared];

    if (PQsendPrepare(pc->pgconn, stmt->name, stmt->sql, 0, NULL) == 0
        || ngx_http_vidstream_pg_flush(pc) != NGX_OK)
    {
        ngx_http_vidstream_pg_drop(pc, PQerrorMessage(pc->pgconn), 1);
    }
}


/* Every statement is prepared: into pipeline mode, and to work. */

static void
ngx_http_vidstream_pg_prepared(ngx_http_vidstream_pg_conn_t *pc)
{
    if (PQenterPipelineMode(pc->pgconn) == 0) {
        ngx_http_vidstream_pg_drop(pc, "cannot enter pipeline mode", 1);
        return;
    }

    if (pc->c->read->timer_set) {
        ngx_del_timer(pc->c->read);
    }

    pc->state = NGX_HTTP_VIDSTREAM_PG_READY;
    pc->backoff = NGX_HTTP_VIDSTREAM_PG_BACKOFF_MIN;
    pc->head = 0;
    pc->count = 0;
    pc->inflight = 0;
    pc->unsynced = 0;
    pc->segment_writes = 0;

    ngx_http_vidstream_pg_dispatch(pc->pool);
}


/* the READY connection with the most room, NULL when all are full */

static ngx_http_vidstream_pg_conn_t *
ngx_http_vidstream_pg_pick(ngx_http_vidstream_pg_pool_t *pool)
{
    ngx_uint_t                     i;
    ngx_http_vidstream_pg_conn_t  *pc, *best;

    best = NULL;

    for (i = 0; i < pool->conf->size; i++) {
        pc = &pool->conns[i];

        if (pc->state != NGX_HTTP_VIDSTREAM_PG_READY
            || pc->inflight >= pool->conf->depth)
        {
            continue;
        }

        if (best == NULL || pc->inflight < best->inflight) {
            best = pc;
        }
    }

    return best;
}


/* Room on a connection: waiting queries go, oldest first. */

static void
ngx_http_vidstream_pg_dispatch(ngx_http_vidstream_pg_pool_t *pool)
{
    ngx_queue_t                    *qe;
    ngx_http_vidstream_pg_conn_t   *pc;
    ngx_http_vidstream_pg_query_t  *q;

    while (!ngx_queue_empty(&pool->waiting)) {

        pc = ngx_http_vidstream_pg_pick(pool);
        if (pc == NULL) {
            return;
        }

        qe = ngx_queue_head(&pool->waiting);
        q = ngx_queue_data(qe, ngx_http_vidstream_pg_query_t, queue);

        ngx_queue_remove(qe);
        q->state = NGX_HTTP_VIDSTREAM_PG_Q_IDLE;

        if (ngx_http_vidstream_pg_run(pc, q) != NGX_OK) {

            /* pc was dropped; q goes back to the head of the line */

            if (ngx_http_vidstream_pg_alive(pool)) {
                ngx_queue_insert_head(&pool->waiting, &q->queue);
                q->state = NGX_HTTP_VIDSTREAM_PG_Q_WAITING;

            } else {
                ngx_http_vidstream_pg_fail(pool, q);
            }
        }
    }
}


/*
 * Appends q to pc's pipeline; the pool's flush event writes it.  A
 * writing statement is alone in its segment: whatever is open is synced
 * before it, and nothing joins it after.
 */

static ngx_int_t
ngx_http_vidstream_pg_run(ngx_http_vidstream_pg_conn_t *pc,
    ngx_http_vidstream_pg_query_t *q)
{
    ngx_uint_t                      readonly;
    ngx_http_vidstream_pg_slot_t   *slot;
    ngx_http_vidstream_pg_pool_t   *pool;

    pool = pc->pool;
    readonly = pool->stmts[q->stmt].readonly;

    if (pc->unsynced && (!readonly || pc->segment_writes)) {
        if (ngx_http_vidstream_pg_sync(pc) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (PQsendQueryPrepared(pc->pgconn, pool->stmts[q->stmt].name,
                            q->nparams, q->values, q->lengths, NULL, 0)
        == 0)
    {
        ngx_http_vidstream_pg_drop(pc, PQerrorMessage(pc->pgconn), 1);
        return NGX_ERROR;
    }

    slot = &pc->slots[(pc->head + pc->count) % pc->nslots];
    slot->query = q;
    slot->stmt = q->stmt;
    slot->sync = 0;

    pc->count++;
    pc->inflight++;
    pc->unsynced++;
    pc->segment_writes = !readonly;

    q->slot = slot;
    q->state = NGX_HTTP_VIDSTREAM_PG_Q_ACTIVE;

    if (!pool->flush.posted) {
        ngx_post_event(&pool->flush, &ngx_posted_events);
    }

    return NGX_OK;
}


/* Ends the open segment: PQpipelineSync() also writes what is buffered. */

static ngx_int_t
ngx_http_vidstream_pg_sync(ngx_http_vidstream_pg_conn_t *pc)
{
    ngx_http_vidstream_pg_slot_t  *slot;

    if (PQpipelineSync(pc->pgconn) == 0
        || ngx_http_vidstream_pg_flush(pc) != NGX_OK)
    {
        ngx_http_vidstream_pg_drop(pc, PQerrorMessage(pc->pgconn), 1);
        return NGX_ERROR;
    }

    slot = &pc->slots[(pc->head + pc->count) % pc->nslots];
    slot->query = NULL;
    slot->sync = 1;

    pc->count++;
    pc->unsynced = 0;
    pc->segment_writes = 0;

    return NGX_OK;
}


static void
ngx_http_vidstream_pg_flush_handler(ngx_event_t *ev)
{
    ngx_uint_t                     i;
    ngx_http_vidstream_pg_conn_t  *pc;
    ngx_http_vidstream_pg_pool_t  *pool;

    pool = ev->data;

    for (i = 0; i < pool->conf->size; i++) {
        pc = &pool->conns[i];

        if (pc->state == NGX_HTTP_VIDSTREAM_PG_READY && pc->unsynced) {
            (void) ngx_http_vidstream_pg_sync(pc);
        }
    }
}


static void
ngx_http_vidstream_pg_read(ngx_http_vidstream_pg_conn_t *pc)
{
    PGresult                       *res;
    ExecStatusType                  st;
    ngx_uint_t                      stmt;
    ngx_http_vidstream_pg_slot_t   *slot;
    ngx_http_vidstream_pg_query_t  *q;

    if (PQconsumeInput(pc->pgconn) == 0) {
        ngx_http_vidstream_pg_drop(pc, PQerrorMessage(pc->pgconn), 1);
        return;
    }

    if (pc->state == NGX_HTTP_VIDSTREAM_PG_PREPARING) {

        while (!PQisBusy(pc->pgconn)) {
            res = PQgetResult(pc->pgconn);

            if (res != NULL) {
                if (pc->res) {
                    PQclear(pc->res);
                }

                pc->res = res;
                continue;
            }

            res = pc->res;
            pc->res = NULL;

            if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
                ngx_log_error(NGX_LOG_ERR, pc->pool->log, 0,
                              "vidstream pg: cannot prepare %s: %s",
                              pc->pool->stmts[pc->prepared].name,
                              res ? PQresultErrorMessage(res) : "no result");
                PQclear(res);
                ngx_http_vidstream_pg_drop(pc, "prepare failed", 1);
                return;
            }

            PQclear(res);
            pc->prepared++;
            ngx_http_vidstream_pg_prepare_next(pc);
            return;
        }

        return;
    }

    /* READY: match results to slots, in order */

    while (pc->count && !PQisBusy(pc->pgconn)) {

        slot = &pc->slots[pc->head];
        res = PQgetResult(pc->pgconn);

        if (slot->sync) {
            st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
            PQclear(res);

            if (st != PGRES_PIPELINE_SYNC) {
                ngx_http_vidstream_pg_drop(pc, "pipeline out of step", 1);
                return;
            }

            pc->head = (pc->head + 1) % pc->nslots;
            pc->count--;
            continue;
        }

        if (res != NULL) {
            /* one statement, one result: keep the last should more come */
            if (pc->res) {
                PQclear(pc->res);
            }

            pc->res = res;
            continue;
        }

        /* the front query is complete */

        q = slot->query;
        stmt = slot->stmt;
        res = pc->res;
        pc->res = NULL;

        pc->head = (pc->head + 1) % pc->nslots;
        pc->count--;
        pc->inflight--;

        if (q) {
            q->slot = NULL;
            q->state = NGX_HTTP_VIDSTREAM_PG_Q_IDLE;
        }

        ngx_http_vidstream_pg_deliver(pc, q, stmt, res);

        PQclear(res);

        /* a handler may have dropped pc (a new query failed on it) */

        if (pc->state != NGX_HTTP_VIDSTREAM_PG_READY) {
            return;
        }
    }

    if (PQstatus(pc->pgconn) == CONNECTION_BAD) {
        ngx_http_vidstream_pg_drop(pc, PQerrorMessage(pc->pgconn), 1);
        return;
    }

    ngx_http_vidstream_pg_dispatch(pc->pool);
}


static void
ngx_http_vidstream_pg_deliver(ngx_http_vidstream_pg_conn_t *pc,
    ngx_http_vidstream_pg_query_t *q, ngx_uint_t stmt, PGresult *res)
{
    ExecStatusType                 st;
    ngx_http_vidstream_pg_pool_t  *pool;

    pool = pc->pool;
    st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

    if (q == NULL) {
        return;      /* abandoned: its request went away */
    }

    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        ngx_http_vidstream_pg_finish(q, NGX_HTTP_VIDSTREAM_PG_OK, res);
        return;
    }

    if (st == PGRES_PIPELINE_ABORTED && pool->stmts[stmt].readonly
        && !q->retried)
    {
        /* another statement of its segment failed: this one goes again */

        q->retried = 1;
        ngx_queue_insert_head(&pool->waiting, &q->queue);
        q->state = NGX_HTTP_VIDSTREAM_PG_Q_WAITING;
        return;
    }

    ngx_log_error(NGX_LOG_ERR, q->log, 0,
                  "vidstream pg: %s failed: %s", pool->stmts[stmt].name,
                  st == PGRES_PIPELINE_ABORTED
                  ? "aborted by an earlier error in its pipeline"
                  : res ? PQresultErrorMessage(res) : "no result");

    ngx_http_vidstream_pg_finish(q, NGX_HTTP_VIDSTREAM_PG_SQL_ERROR, res);
}


/*
 * Closes pc, fails what was in flight on it, schedules a reconnection,
 * and when no connection is left alive fails every waiting query:
 * PostgreSQL is down, and they would only wait for their timeout.  The
 * handlers run from a posted event, never from here.
 */

static void
ngx_http_vidstream_pg_drop(ngx_http_vidstream_pg_conn_t *pc, const char *why,
    ngx_uint_t backoff)
{
    size_t                          len;
    ngx_queue_t                    *qe;
    ngx_http_vidstream_pg_slot_t   *slot;
    ngx_http_vidstream_pg_query_t  *q;
    ngx_http_vidstream_pg_pool_t   *pool;

    pool = pc->pool;

    len = ngx_strlen(why);
    while (len && (why[len - 1] == '\n' || why[len - 1] == ' ')) {
        len--;
    }

    ngx_log_error(NGX_LOG_ERR, pool->log, 0,
                  "vidstream pg: connection to %V lost: %*s",
                  &pool->conf->display, len, why);

    ngx_http_vidstream_metrics_pg_connection_error();

    while (pc->count) {
        slot = &pc->slots[pc->head];
        q = slot->query;

        if (q) {
            ngx_http_vidstream_pg_fail(pool, q);
        }

        pc->head = (pc->head + 1) % pc->nslots;
        pc->count--;
    }

    pc->head = 0;
    pc->inflight = 0;
    pc->unsynced = 0;
    pc->segment_writes = 0;

    ngx_http_vidstream_pg_close(pc);

    if (!ngx_exiting) {
        ngx_add_timer(&pc->reconnect, backoff ? pc->backoff : 1);

        if (backoff) {
            pc->backoff = ngx_min(pc->backoff * 2,
                                  NGX_HTTP_VIDSTREAM_PG_BACKOFF_MAX);
        }
    }

    if (!ngx_http_vidstream_pg_alive(pool)) {
        while (!ngx_queue_empty(&pool->waiting)) {
            qe = ngx_queue_head(&pool->waiting);
            q = ngx_queue_data(qe, ngx_http_vidstream_pg_query_t, queue);
            ngx_http_vidstream_pg_fail(pool, q);
        }
    }
}


static void
ngx_http_vidstream_pg_close(ngx_http_vidstream_pg_conn_t *pc)
{
    ngx_connection_t  *c;
    ngx_uint_t         flags;

    c = pc->c;

    if (c) {
        /* a socket libpq has closed already needs no epoll_ctl() */
        flags = (pc->pgconn && PQsocket(pc->pgconn) == c->fd)
                ? 0 : NGX_CLOSE_EVENT;

        if (c->read->timer_set) {
            ngx_del_timer(c->read);
        }

        if (c->read->active) {
            ngx_del_event(c->read, NGX_READ_EVENT, flags);
        }

        if (c->write->active) {
            ngx_del_event(c->write, NGX_WRITE_EVENT, flags);
        }

        if (c->read->posted) {
            ngx_delete_posted_event(c->read);
        }

        if (c->write->posted) {
            ngx_delete_posted_event(c->write);
        }

        c->fd = (ngx_socket_t) -1;
        ngx_free_connection(c);
        pc->c = NULL;
    }

    if (pc->res) {
        PQclear(pc->res);
        pc->res = NULL;
    }

    if (pc->pgconn) {
        PQfinish(pc->pgconn);
        pc->pgconn = NULL;
    }

    pc->state = NGX_HTTP_VIDSTREAM_PG_DOWN;
}


static ngx_uint_t
ngx_http_vidstream_pg_alive(ngx_http_vidstream_pg_pool_t *pool)
{
    ngx_uint_t  i;

    for (i = 0; i < pool->conf->size; i++) {
        if (pool->conns[i].state != NGX_HTTP_VIDSTREAM_PG_DOWN) {
            return 1;
        }
    }

    return 0;
}


static void
ngx_http_vidstream_pg_finish(ngx_http_vidstream_pg_query_t *q,
    ngx_http_vidstream_pg_status_e status, PGresult *res)
{
    if (q->timer.timer_set) {
        ngx_del_timer(&q->timer);
    }

    ngx_http_vidstream_metrics_pg_query(status, q->started);

    q->handler(q, status, res);
}


static void
ngx_http_vidstream_pg_notice(void *arg, const char *message)
{
    ngx_http_vidstream_pg_pool_t  *pool = arg;

    ngx_log_error(NGX_LOG_INFO, pool->log, 0, "vidstream pg: %s", message);
}


/* the connection whose ring holds q's slot */

static ngx_http_vidstream_pg_conn_t *
ngx_http_vidstream_pg_find(ngx_http_vidstream_pg_query_t *q)
{
    ngx_uint_t                      i;
    ngx_http_vidstream_pg_conn_t   *pc;
    ngx_http_vidstream_pg_pool_t   *pool;
    ngx_http_vidstream_pg_slot_t   *slot;

    pool = ngx_http_vidstream_pg_pool;
    slot = q->slot;

    for (i = 0; i < pool->conf->size; i++) {
        pc = &pool->conns[i];

        if (slot >= pc->slots && slot < pc->slots + pc->nslots) {
            return pc;
        }
    }

    return NULL;
}
