/*
 * Webhook delivery from the events outbox (webhook.h).
 *
 * A pass claims up to VS_WEBHOOK_BATCH due events by pushing their
 * next_attempt_at a lease ahead (so a worker that dies mid-delivery only
 * delays them), POSTs each, then records the outcome: delivered, a retry
 * after an exponential backoff, or given up once the event is older than
 * the retry window. Between passes the thread sleeps on LISTEN
 * vidstream_events, which the outbox trigger notifies, so an event usually
 * leaves within milliseconds of its commit.
 */
#include "webhook.h"

#include "db.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "vs_webhook.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#define VS_WEBHOOK_BATCH     16
#define VS_WEBHOOK_LEASE     120        /* s a claimed event stays claimed */
#define VS_WEBHOOK_BACKOFF   5          /* s before the first retry */
#define VS_WEBHOOK_BACKOFF_MAX  3600    /* s, the longest wait between tries */
#define VS_WEBHOOK_KEEP      (7 * 86400)  /* s an ended event is kept */
#define VS_WEBHOOK_PRUNE     3600       /* s between prunes */

struct vs_webhook_s {
    const vs_config_t  *cfg;
    vs_webhook_key_t    key;
    volatile int       *stop;
    PGconn             *db;
    pthread_t           thread;
};


/* Waits up to seconds for a notification or stop; 0, or -1 on a lost link */
static int
vs_webhook_wait(vs_webhook_t *wh, int seconds)
{
    int              fd, i, n;
    fd_set           rd;
    PGnotify        *note;
    struct timeval   tv;

    for (i = 0; i < seconds && !*wh->stop; i++) {
        fd = wh->db != NULL ? PQsocket(wh->db) : -1;
        if (fd < 0) {
            return -1;
        }

        FD_ZERO(&rd);
        FD_SET(fd, &rd);
        tv.tv_sec = 1;
        tv.tv_usec = 0;

        n = select(fd + 1, &rd, NULL, NULL, &tv);
        if (n < 0 && errno != EINTR) {
            return -1;
        }
        if (n <= 0) {
            continue;
        }

        if (PQconsumeInput(wh->db) != 1) {
            return -1;
        }

        n = 0;
        while ((note = PQnotifies(wh->db)) != NULL) {
            PQfreemem(note);
            n++;
        }
        if (n > 0) {
            return 0;
        }
    }

    return 0;
}


/* Seconds before try attempts + 1: 5, 10, 20, … up to an hour. */
static int
vs_webhook_backoff(int attempts)
{
    int  s = VS_WEBHOOK_BACKOFF;

    while (--attempts > 0 && s < VS_WEBHOOK_BACKOFF_MAX) {
        s *= 2;
    }
    return s < VS_WEBHOOK_BACKOFF_MAX ? s : VS_WEBHOOK_BACKOFF_MAX;
}


/* POSTs one event; 1 when the receiver took it (2xx), 0 otherwise. */
static int
vs_webhook_post(vs_webhook_t *wh, const char *id, const char *payload,
    char *err, size_t err_size)
{
    int              ok;
    char             sig[VS_WEBHOOK_SIG_SIZE];
    char             h_id[160], h_ts[64], h_sig[32 + VS_WEBHOOK_SIG_SIZE];
    int64_t          ts;
    const char      *headers[5];
    vs_http_req_t    req;
    vs_http_resp_t   resp;

    ts = (int64_t) time(NULL);

    if (vs_webhook_sign(&wh->key, id, ts, payload, strlen(payload), sig)
        != 0)
    {
        snprintf(err, err_size, "cannot sign the event");
        return 0;
    }

    snprintf(h_id, sizeof(h_id), "webhook-id: %s", id);
    snprintf(h_ts, sizeof(h_ts), "webhook-timestamp: %" PRId64, ts);
    snprintf(h_sig, sizeof(h_sig), "webhook-signature: %s", sig);
    headers[0] = "Content-Type: application/json";
    headers[1] = h_id;
    headers[2] = h_ts;
    headers[3] = h_sig;
    headers[4] = NULL;

    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.url = wh->cfg->webhook_url;
    req.headers = headers;
    req.body = payload;
    req.body_len = strlen(payload);
    req.timeout_ms = wh->cfg->webhook_timeout * 1000L;
    req.stop = wh->stop;

    memset(&resp, 0, sizeof(resp));

    if (vs_http_do(&req, &resp, err, err_size) != 0) {
        ok = 0;
    } else if (resp.status >= 200 && resp.status < 300) {
        ok = 1;
    } else {
        snprintf(err, err_size, "HTTP %ld", resp.status);
        ok = 0;
    }

    vs_http_resp_free(&resp);
    return ok;
}


/* Records one attempt's outcome. */
static void
vs_webhook_record(vs_webhook_t *wh, const char *id, const char *video_id,
    int delivered, int attempts, int64_t age, const char *error)
{
    static const char  done[] =
        "UPDATE video_events SET delivered_at = now(), last_error = NULL"
        " WHERE id = $1";
    static const char  retry[] =
        "UPDATE video_events SET last_error = $2,"
        " next_attempt_at = now() + make_interval(secs => $3::int)"
        " WHERE id = $1";
    static const char  give_up[] =
        "UPDATE video_events SET last_error = $2, gave_up_at = now()"
        " WHERE id = $1";

    int          rc, backoff;
    char         err[256], secs[16];
    const char  *params[3];

    params[0] = id;
    params[1] = error;
    params[2] = secs;

    if (delivered) {
        vs_metrics_webhook("delivered");
        vs_log(VS_LOG_INFO, video_id, "webhook",
               "delivered event %s (attempt %d)", id, attempts);
        rc = vs_db_update(&wh->db, wh->cfg->database_url, done, 1, params,
                           err, sizeof(err));

    } else if (age >= wh->cfg->webhook_max_age) {
        vs_metrics_webhook("gave_up");
        vs_log(VS_LOG_ERROR, video_id, "webhook", "gave up on event %s after "
               "%d attempts over %" PRId64 " s: %s", id, attempts, age,
               error);
        rc = vs_db_update(&wh->db, wh->cfg->database_url, give_up, 2,
                           params, err, sizeof(err));

    } else {
        vs_metrics_webhook("retry");
        backoff = vs_webhook_backoff(attempts);
        snprintf(secs, sizeof(secs), "%d", backoff);
        vs_log(VS_LOG_WARN, video_id, "webhook", "event %s not delivered "
               "(attempt %d): %s; next try in %d s", id, attempts, error,
               backoff);
        rc = vs_db_update(&wh->db, wh->cfg->database_url, retry, 3, params,
                           err, sizeof(err));
    }

    /* when this fails, the lease runs out and the event is tried again */
    if (rc == VS_DB_TRANSIENT) {
        vs_log(VS_LOG_WARN, video_id, "webhook", "%s", err);
    }
}


/* One pass: claims and delivers due events; how many, or -1. */
static int
vs_webhook_pass(vs_webhook_t *wh)
{
    static const char  claim[] =
        "UPDATE video_events SET attempts = attempts + 1,"
        " next_attempt_at = now() + make_interval(secs => $1::int)"
        " WHERE id IN (SELECT id FROM video_events"
        "   WHERE delivered_at IS NULL AND gave_up_at IS NULL"
        "     AND next_attempt_at <= now()"
        "   ORDER BY next_attempt_at LIMIT $2::int"
        "   FOR UPDATE SKIP LOCKED)"
        " RETURNING id, video_id::text, payload, attempts,"
        "   extract(epoch FROM now() - created_at)::bigint";

    int          i, n;
    char         err[256], lease[16], batch[16];
    const char  *params[2];
    PGresult    *res;

    snprintf(lease, sizeof(lease), "%d", VS_WEBHOOK_LEASE);
    snprintf(batch, sizeof(batch), "%d", VS_WEBHOOK_BATCH);
    params[0] = lease;
    params[1] = batch;

    if (vs_db_exec(&wh->db, wh->cfg->database_url, claim, 2, params, &res,
                    err, sizeof(err))
        != VS_DB_OK)
    {
        vs_log(VS_LOG_WARN, NULL, "webhook", "%s", err);
        return -1;
    }

    n = PQntuples(res);

    for (i = 0; i < n && !*wh->stop; i++) {
        err[0] = '\0';
        vs_webhook_record(wh, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
                          vs_webhook_post(wh, PQgetvalue(res, i, 0),
                                          PQgetvalue(res, i, 2), err,
                                          sizeof(err)),
                          atoi(PQgetvalue(res, i, 3)),
                          strtoll(PQgetvalue(res, i, 4), NULL, 10), err);
    }

    PQclear(res);
    return n;
}


/* Deletes ended events after a week, and undelivered ones past the window
 * and a week (a fleet without a webhook URL only accumulates them). */
static void
vs_webhook_prune(vs_webhook_t *wh)
{
    static const char  prune[] =
        "DELETE FROM video_events"
        " WHERE COALESCE(delivered_at, gave_up_at, created_at"
        "                + make_interval(secs => $1::int))"
        "       < now() - make_interval(secs => $2::int)";

    char         err[256], window[16], keep[16];
    const char  *params[2];

    snprintf(window, sizeof(window), "%d", wh->cfg->webhook_max_age);
    snprintf(keep, sizeof(keep), "%d", VS_WEBHOOK_KEEP);
    params[0] = window;
    params[1] = keep;

    if (vs_db_update(&wh->db, wh->cfg->database_url, prune, 2, params, err,
                      sizeof(err))
        == VS_DB_TRANSIENT)
    {
        vs_log(VS_LOG_WARN, NULL, "webhook", "prune: %s", err);
    }
}


static void *
vs_webhook_main(void *arg)
{
    int            n;
    char           err[256];
    time_t         pruned = 0;
    PGresult      *res;
    vs_webhook_t  *wh = arg;

    while (!*wh->stop) {
        if (wh->db == NULL || PQstatus(wh->db) != CONNECTION_OK) {
            if (vs_db_exec(&wh->db, wh->cfg->database_url,
                            "LISTEN vidstream_events", 0, NULL, &res, err,
                            sizeof(err))
                != VS_DB_OK)
            {
                vs_log(VS_LOG_WARN, NULL, "webhook", "%s", err);
                sleep(1);
                continue;
            }
            PQclear(res);
        }

        if (time(NULL) - pruned >= VS_WEBHOOK_PRUNE) {
            vs_webhook_prune(wh);
            pruned = time(NULL);
        }

        n = wh->cfg->webhook_url != NULL ? vs_webhook_pass(wh) : 0;

        /* a full batch: more are due now */
        if (n < VS_WEBHOOK_BATCH
            && vs_webhook_wait(wh, wh->cfg->webhook_poll) != 0)
        {
            vs_db_close(&wh->db);
        }
    }

    vs_db_close(&wh->db);
    return NULL;
}


int
vs_webhook_start(vs_webhook_t **whp, const vs_config_t *cfg,
    volatile int *stop)
{
    vs_webhook_t  *wh;

    *whp = NULL;

    wh = calloc(1, sizeof(*wh));
    if (wh == NULL) {
        vs_log(VS_LOG_ERROR, NULL, "webhook", "out of memory");
        return -1;
    }

    wh->cfg = cfg;
    wh->stop = stop;

    if (cfg->webhook_url != NULL
        && (cfg->webhook_secret == NULL
            || vs_webhook_key(cfg->webhook_secret, &wh->key) != 0))
    {
        vs_log(VS_LOG_ERROR, NULL, "webhook", "VIDSTREAM_WEBHOOK_SECRET must "
               "be whsec_ and the base64 of 24 to 64 bytes");
        free(wh);
        return -1;
    }

    if (pthread_create(&wh->thread, NULL, vs_webhook_main, wh) != 0) {
        vs_log(VS_LOG_ERROR, NULL, "webhook", "cannot start the thread");
        free(wh);
        return -1;
    }

    if (cfg->webhook_url != NULL) {
        vs_log(VS_LOG_INFO, NULL, "webhook", "delivering events (retry "
               "window %d s)", cfg->webhook_max_age);
    }

    *whp = wh;
    return 0;
}


void
vs_webhook_join(vs_webhook_t *wh)
{
    if (wh == NULL) {
        return;
    }

    pthread_join(wh->thread, NULL);
    OPENSSL_cleanse(wh->key.bytes, sizeof(wh->key.bytes));
    free(wh);
}
