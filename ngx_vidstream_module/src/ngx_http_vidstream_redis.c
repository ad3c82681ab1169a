
/*
 * ngx_http_vidstream_redis: the Redis health check.  See
 * ngx_http_vidstream_redis.h.
 *
 * Ownership.  A check (the caller's memory, usually a request's) points at
 * a redisAsyncContext while it runs; the context points back through
 * ac->data.  The nginx side of the socket, the adapter, is heap memory
 * owned by the context: hiredis frees it through the cleanup hook, which
 * may run after the check is gone (a disconnect hiredis finishes later),
 * so the adapter never points at the check.  Whoever ends a check first
 * (the PING reply, the timer, the caller's cancel) clears ac->data, and
 * every hiredis callback that finds ac->data NULL does nothing.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <netdb.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "ngx_http_vidstream_redis.h"

#include "vs_redis_url.h"


/* the nginx side of a hiredis socket */
typedef struct {
    redisAsyncContext                  *ac;
    ngx_connection_t                   *c;
} ngx_http_vidstream_redis_adapter_t;


static ngx_int_t ngx_http_vidstream_redis_attach(redisAsyncContext *ac,
    ngx_log_t *log);
static void ngx_http_vidstream_redis_add_read(void *data);
static void ngx_http_vidstream_redis_del_read(void *data);
static void ngx_http_vidstream_redis_add_write(void *data);
static void ngx_http_vidstream_redis_del_write(void *data);
static void ngx_http_vidstream_redis_cleanup(void *data);
static void ngx_http_vidstream_redis_read_handler(ngx_event_t *ev);
static void ngx_http_vidstream_redis_write_handler(ngx_event_t *ev);
static void ngx_http_vidstream_redis_connected(const redisAsyncContext *ac,
    int status);
static void ngx_http_vidstream_redis_disconnected(
    const redisAsyncContext *ac, int status);
static void ngx_http_vidstream_redis_pong(redisAsyncContext *ac, void *reply,
    void *privdata);
static void ngx_http_vidstream_redis_timeout(ngx_event_t *ev);
static void ngx_http_vidstream_redis_end(
    ngx_http_vidstream_redis_check_t *check, ngx_uint_t ok);


char *
ngx_http_vidstream_redis_conf_set(ngx_conf_t *cf, ngx_str_t *args,
    ngx_uint_t nargs, ngx_http_vidstream_redis_conf_t *conf)
{
    size_t            len;
    ngx_str_t         v, url;
    const char       *why;
    vs_redis_url_t    u;
    ngx_uint_t        i;
    ngx_msec_t        timeout;
    struct addrinfo   hints, *ai;
    char              name[NI_MAXHOST], ip[NI_MAXHOST];

    conf->timeout = 1000;
    conf->port = 6379;
    conf->db = 0;

    for (i = 1; i < nargs; i++) {

        if (ngx_strncmp(args[i].data, "timeout=", 8) == 0) {
            v.data = args[i].data + 8;
            v.len = args[i].len - 8;

            timeout = ngx_parse_time(&v, 0);
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

    url = args[0];

    /* the one parser both binaries use (lib/vs_redis_url.c) */
    why = vs_redis_url_parse((const char *) url.data, url.len, &u);
    if (why != NULL) {
        return (char *) why;
    }

    if (u.password[0] != '\0') {
        conf->user.len = ngx_strlen(u.user);
        conf->user.data = ngx_pnalloc(cf->pool, conf->user.len + 1);
        conf->password.len = ngx_strlen(u.password);
        conf->password.data = ngx_pnalloc(cf->pool,
                                          conf->password.len + 1);
        if (conf->user.data == NULL || conf->password.data == NULL) {
            vs_redis_url_clear(&u);
            return NGX_CONF_ERROR;
        }
        ngx_memcpy(conf->user.data, u.user, conf->user.len + 1);
        ngx_memcpy(conf->password.data, u.password, conf->password.len + 1);
    }

    vs_redis_url_clear(&u);
    conf->port = u.port;
    conf->db = u.db;

    /*
     * resolve now, at configuration time (blocking is fine here): hiredis
     * would call getaddrinfo() when connecting, on the request path
     */

    ngx_memcpy(name, u.host, sizeof(u.host) < sizeof(name)
                             ? sizeof(u.host) : sizeof(name));
    name[sizeof(name) - 1] = '\0';

    ngx_memzero(&hints, sizeof(struct addrinfo));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;

    /* blocking, but at configuration time only */
    if (getaddrinfo(name, NULL, &hints, &ai) != 0 || ai == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "cannot resolve Redis host \"%s\"", name);
        return NGX_CONF_ERROR;
    }

    if (getnameinfo(ai->ai_addr, ai->ai_addrlen, ip, sizeof(ip), NULL, 0,
                    NI_NUMERICHOST)
        != 0)
    {
        freeaddrinfo(ai);
        return "cannot format the Redis host address";
    }

    freeaddrinfo(ai);

    len = ngx_strlen(ip);
    conf->addr = ngx_pnalloc(cf->pool, len + 1);
    if (conf->addr == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(conf->addr, ip, len + 1);

    conf->display.data = ngx_pnalloc(cf->pool, sizeof(name) + 8);
    if (conf->display.data == NULL) {
        return NGX_CONF_ERROR;
    }

    conf->display.len = ngx_sprintf(conf->display.data, "%s:%i", name,
                                    conf->port)
                        - conf->display.data;

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_vidstream_redis_ping(ngx_http_vidstream_redis_conf_t *conf,
    ngx_http_vidstream_redis_check_t *check)
{
    int                 rc;
    redisAsyncContext  *ac;

    check->conf = conf;
    check->ac = NULL;

    ac = redisAsyncConnect((char *) conf->addr, (int) conf->port);

    if (ac == NULL) {
        ngx_log_error(NGX_LOG_ERR, check->log, 0,
                      "vidstream redis: cannot connect to %V: out of memory",
                      &conf->display);
        return NGX_ERROR;
    }

    if (ac->err) {
        ngx_log_error(NGX_LOG_ERR, check->log, 0,
                      "vidstream redis: cannot connect to %V: %s",
                      &conf->display, ac->errstr);
        redisAsyncFree(ac);
        return NGX_ERROR;
    }

    /*
     * The socket may outlive the check (hiredis finishes a disconnect after
     * the request is gone): its connection logs to the cycle's log, never
     * to the request's.
     */

    if (ngx_http_vidstream_redis_attach(ac, ngx_cycle->log) != NGX_OK) {
        redisAsyncFree(ac);
        return NGX_ERROR;
    }

    ac->data = check;

    redisAsyncSetConnectCallback(ac, ngx_http_vidstream_redis_connected);
    redisAsyncSetDisconnectCallback(ac,
                                    ngx_http_vidstream_redis_disconnected);

    rc = REDIS_OK;

    if (conf->password.len) {
        /* its answer shows in PING's: NOAUTH when it failed */

        if (conf->user.len) {
            rc = redisAsyncCommand(ac, NULL, NULL, "AUTH %b %b",
                                   conf->user.data, conf->user.len,
                                   conf->password.data, conf->password.len);
        } else {
            rc = redisAsyncCommand(ac, NULL, NULL, "AUTH %b",
                                   conf->password.data, conf->password.len);
        }
    }

    if (rc == REDIS_OK) {
        rc = redisAsyncCommand(ac, ngx_http_vidstream_redis_pong, NULL,
                               "PING");
    }

    if (rc != REDIS_OK) {
        ac->data = NULL;
        redisAsyncFree(ac);
        return NGX_ERROR;
    }

    check->ac = ac;

    ngx_memzero(&check->timer, sizeof(ngx_event_t));
    check->timer.handler = ngx_http_vidstream_redis_timeout;
    check->timer.data = check;
    check->timer.log = check->log;

    ngx_add_timer(&check->timer, conf->timeout);

    return NGX_OK;
}


void
ngx_http_vidstream_redis_cancel(ngx_http_vidstream_redis_check_t *check)
{
    redisAsyncContext  *ac;

    if (check->timer.timer_set) {
        ngx_del_timer(&check->timer);
    }

    ac = check->ac;

    if (ac) {
        check->ac = NULL;
        ac->data = NULL;
        redisAsyncFree(ac);
    }
}


/* The adapter: hiredis' event hooks on an nginx connection. */

static ngx_int_t
ngx_http_vidstream_redis_attach(redisAsyncContext *ac, ngx_log_t *log)
{
    ngx_connection_t                    *c;
    ngx_http_vidstream_redis_adapter_t  *ad;

    ad = ngx_alloc(sizeof(ngx_http_vidstream_redis_adapter_t), log);
    if (ad == NULL) {
        return NGX_ERROR;
    }

    c = ngx_get_connection(ac->c.fd, log);
    if (c == NULL) {
        ngx_free(ad);
        return NGX_ERROR;
    }

    c->data = ad;
    c->read->handler = ngx_http_vidstream_redis_read_handler;
    c->write->handler = ngx_http_vidstream_redis_write_handler;
    c->read->log = log;
    c->write->log = log;

    ad->ac = ac;
    ad->c = c;

    ac->ev.data = ad;
    ac->ev.addRead = ngx_http_vidstream_redis_add_read;
    ac->ev.delRead = ngx_http_vidstream_redis_del_read;
    ac->ev.addWrite = ngx_http_vidstream_redis_add_write;
    ac->ev.delWrite = ngx_http_vidstream_redis_del_write;
    ac->ev.cleanup = ngx_http_vidstream_redis_cleanup;

    return NGX_OK;
}


/*
 * Level-triggered: hiredis reads once per call (redisBufferRead()), so a
 * level event brings us back for what it left in the kernel.
 */

static void
ngx_http_vidstream_redis_add_read(void *data)
{
    ngx_http_vidstream_redis_adapter_t  *ad = data;

    if (!ad->c->read->active) {
        (void) ngx_add_event(ad->c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT);
    }
}


static void
ngx_http_vidstream_redis_del_read(void *data)
{
    ngx_http_vidstream_redis_adapter_t  *ad = data;

    if (ad->c->read->active) {
        (void) ngx_del_event(ad->c->read, NGX_READ_EVENT, 0);
    }
}


static void
ngx_http_vidstream_redis_add_write(void *data)
{
    ngx_http_vidstream_redis_adapter_t  *ad = data;

    if (!ad->c->write->active) {
        (void) ngx_add_event(ad->c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT);
    }
}


static void
ngx_http_vidstream_redis_del_write(void *data)
{
    ngx_http_vidstream_redis_adapter_t  *ad = data;

    if (ad->c->write->active) {
        (void) ngx_del_event(ad->c->write, NGX_WRITE_EVENT, 0);
    }
}


/* hiredis frees the context: the socket is still open, hiredis closes it */

static void
ngx_http_vidstream_redis_cleanup(void *data)
{
    ngx_connection_t                    *c;
    ngx_http_vidstream_redis_adapter_t  *ad = data;

    c = ad->c;

    if (c->read->active) {
        (void) ngx_del_event(c->read, NGX_READ_EVENT, 0);
    }

    if (c->write->active) {
        (void) ngx_del_event(c->write, NGX_WRITE_EVENT, 0);
    }

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    c->fd = (ngx_socket_t) -1;
    ngx_free_connection(c);

    ad->ac->ev.data = NULL;
    ngx_free(ad);
}


static void
ngx_http_vidstream_redis_read_handler(ngx_event_t *ev)
{
    ngx_connection_t                    *c;
    ngx_http_vidstream_redis_adapter_t  *ad;

    c = ev->data;
    ad = c->data;

    redisAsyncHandleRead(ad->ac);      /* may free ad */
}


static void
ngx_http_vidstream_redis_write_handler(ngx_event_t *ev)
{
    ngx_connection_t                    *c;
    ngx_http_vidstream_redis_adapter_t  *ad;

    c = ev->data;
    ad = c->data;

    redisAsyncHandleWrite(ad->ac);     /* may free ad */
}


/*
 * A failed connect: hiredis frees the context right after this, calling
 * the PING callback with a NULL reply, which ends the check.
 */

static void
ngx_http_vidstream_redis_connected(const redisAsyncContext *ac, int status)
{
    ngx_http_vidstream_redis_check_t  *check = ac->data;

    if (status != REDIS_OK && check) {
        ngx_log_error(NGX_LOG_ERR, check->log, 0,
                      "vidstream redis: cannot connect to %V: %s",
                      &check->conf->display,
                      ac->errstr ? ac->errstr : "unknown error");
    }
}


static void
ngx_http_vidstream_redis_disconnected(const redisAsyncContext *ac,
    int status)
{
    ngx_http_vidstream_redis_check_t  *check = ac->data;

    /* still running: the server went away before answering */

    if (check) {
        ngx_log_error(NGX_LOG_ERR, check->log, 0,
                      "vidstream redis: %V closed the connection: %s",
                      &check->conf->display,
                      ac->errstr ? ac->errstr : "no reason");
        check->ac = NULL;
        ((redisAsyncContext *) ac)->data = NULL;
        ngx_http_vidstream_redis_end(check, 0);
    }
}


static void
ngx_http_vidstream_redis_pong(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    ngx_uint_t                         ok;
    redisReply                        *rr = reply;
    ngx_http_vidstream_redis_check_t  *check = ac->data;

    if (check == NULL) {
        return;                        /* ended already */
    }

    check->ac = NULL;
    ac->data = NULL;

    if (rr == NULL) {
        /* hiredis is freeing the context (connection failed or lost) */
        ngx_http_vidstream_redis_end(check, 0);
        return;
    }

    ok = rr->type == REDIS_REPLY_STATUS && rr->len == 4
         && ngx_strncmp(rr->str, "PONG", 4) == 0;

    if (!ok) {
        ngx_log_error(NGX_LOG_ERR, check->log, 0,
                      "vidstream redis: PING to %V answered %*s",
                      &check->conf->display,
                      (size_t) ((rr->type == REDIS_REPLY_ERROR
                                 || rr->type == REDIS_REPLY_STATUS)
                                ? ngx_min(rr->len, 128) : 0),
                      rr->str);
    }

    /* hiredis closes it once this callback returns */
    redisAsyncDisconnect(ac);

    ngx_http_vidstream_redis_end(check, ok);
}


static void
ngx_http_vidstream_redis_timeout(ngx_event_t *ev)
{
    redisAsyncContext                 *ac;
    ngx_http_vidstream_redis_check_t  *check = ev->data;

    ngx_log_error(NGX_LOG_ERR, check->log, 0,
                  "vidstream redis: no answer from %V within %M ms",
                  &check->conf->display, check->conf->timeout);

    ac = check->ac;
    check->ac = NULL;

    if (ac) {
        ac->data = NULL;
        redisAsyncFree(ac);
    }

    ngx_http_vidstream_redis_end(check, 0);
}


static void
ngx_http_vidstream_redis_end(ngx_http_vidstream_redis_check_t *check,
    ngx_uint_t ok)
{
    if (check->timer.timer_set) {
        ngx_del_timer(&check->timer);
    }

    check->handler(check, ok);
}
