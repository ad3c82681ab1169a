/*
 * The consumer: the main thread long-polls SQS for as many messages as
 * there are free job slots; each message runs on its own thread; one
 * heartbeat thread keeps every running message invisible
 * (ChangeMessageVisibility every VIDSTREAM_HEARTBEAT seconds), so a
 * two-hour transcode is never handed to a second worker. One lease
 * thread, on its own PostgreSQL connection, renews the lease of every
 * running job's video (db.h) every third of VIDSTREAM_LEASE_SECONDS; the
 * reconciler (reconcile.h) runs on a thread of its own.
 *
 * SIGTERM/SIGINT: stop receiving, let running jobs finish for
 * VIDSTREAM_SHUTDOWN_GRACE seconds (counted from the signal), then
 * interrupt the rest and set their visibility to 0 so another worker takes
 * them at once; exit 0. A long poll in flight is NOT aborted: SQS would
 * keep it alive after we hang up and could hand the next message to the
 * dead connection, invisible for the whole visibility timeout. It ends
 * within VIDSTREAM_WAIT_TIME s, and whatever it brings is released
 * (visibility 0). A second signal aborts it and ends the grace at once.
 */
#include "consumer.h"

#include "aws.h"
#include "db.h"
#include "job.h"
#include "log.h"
#include "metrics.h"
#include "reconcile.h"
#include "webhook.h"
#include "sqs.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define VS_MAX_SLOTS  64

typedef struct vs_consumer_s  vs_consumer_t;

typedef struct {
    vs_consumer_t     *consumer;
    pthread_t          thread;
    int                busy;        /* a message is assigned */
    int                finished;    /* its thread is done: reap it */
    vs_sqs_msg_t       msg;
    time_t             extended;    /* last visibility extension */
    volatile int       abort;
    vs_job_outcome_t   outcome;
    PGconn            *db;          /* kept across jobs of this slot */
    vs_events_t        events;      /* its Redis connection, likewise */
    vs_lease_t         lease;       /* the running job's, renewed by the
                                       lease thread */
} vs_slot_t;

struct vs_consumer_s {
    const vs_config_t  *cfg;
    vs_aws_t            aws;
    vs_slot_t           slots[VS_MAX_SLOTS];
    int                 nslots;
    pthread_mutex_t     lock;
    pthread_cond_t      changed;
    volatile int        heartbeat_stop;
    PGconn             *lease_db;       /* the lease thread's */
    int                 touch_failed;   /* logged once */
    int                 max_receive;    /* the queue's, 0 unknown */
};

static volatile sig_atomic_t  vs_stop;        /* first signal */
static volatile sig_atomic_t  vs_stop_now;    /* second signal */
static volatile time_t        vs_stop_at;     /* when the first came */


static void
vs_on_signal(int sig)
{
    if (vs_stop) {
        vs_stop_now = 1;
        return;
    }

    vs_stop_at = time(NULL);    /* async-signal-safe */
    vs_stop = 1;
}


static void *
vs_slot_main(void *arg)
{
    vs_slot_t      *slot = arg;
    vs_consumer_t  *c = slot->consumer;
    vs_job_ctx_t    ctx;

    memset(&ctx, 0, sizeof(ctx));
    ctx.cfg = c->cfg;
    ctx.aws = &c->aws;
    ctx.db = slot->db;
    ctx.events = &slot->events;
    ctx.abort = &slot->abort;
    ctx.message_id = slot->msg.message_id;
    ctx.receive_count = slot->msg.receive_count;
    ctx.max_receive = c->max_receive;
    ctx.lease = &slot->lease;

    slot->outcome = vs_job_handle(&ctx, slot->msg.body, slot->msg.body_len);
    slot->db = ctx.db;

    pthread_mutex_lock(&c->lock);
    slot->finished = 1;
    pthread_cond_broadcast(&c->changed);
    pthread_mutex_unlock(&c->lock);

    return NULL;
}


/* Joins finished slots and does what their outcome says to the message. */
static void
vs_reap(vs_consumer_t *c)
{
    vs_slot_t  *slot;
    char        err[256];
    int         i, rc;

    for (i = 0; i < c->nslots; i++) {
        slot = &c->slots[i];

        pthread_mutex_lock(&c->lock);
        rc = slot->busy && slot->finished;
        pthread_mutex_unlock(&c->lock);
        if (!rc) {
            continue;
        }

        pthread_join(slot->thread, NULL);

        switch (slot->outcome) {
        case VS_JOB_DELETE:
            rc = vs_sqs_delete(&c->aws, c->cfg->queue_url, slot->msg.receipt,
                               err, sizeof(err));
            break;
        case VS_JOB_RELEASE:
            rc = vs_sqs_change_visibility(&c->aws, c->cfg->queue_url,
                                          slot->msg.receipt, 0, err,
                                          sizeof(err));
            break;
        default:
            rc = 0;     /* comes back after its visibility timeout */
            break;
        }

        if (rc != 0) {
            vs_log(VS_LOG_ERROR, NULL, "queue", "message %s: %s",
                   slot->msg.message_id, err);
        } else {
            vs_log(VS_LOG_INFO, NULL, "queue", "message %s %s",
                   slot->msg.message_id,
                   slot->outcome == VS_JOB_DELETE ? "deleted"
                   : slot->outcome == VS_JOB_RELEASE ? "released"
                   : "left to come back");
        }

        pthread_mutex_lock(&c->lock);
        vs_sqs_msg_free(&slot->msg);
        slot->busy = 0;
        slot->finished = 0;
        slot->abort = 0;
        pthread_mutex_unlock(&c->lock);
    }
}


/*
 * The liveness file the container health check reads (config/docker/
 * healthcheck-worker): its mtime is "now". Called from the receive loop
 * and from the heartbeat thread; a failure is logged once, never fatal.
 */
static void
vs_touch(vs_consumer_t *c)
{
    int  fd, e;

    fd = open(c->cfg->heartbeat_file,
              O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
    if (fd >= 0) {
        e = futimens(fd, NULL) == 0 ? 0 : errno;
        close(fd);
    } else {
        e = errno;
    }

    /* two threads call this: the flag flips atomically, logged once */
    if (e != 0
        && !__atomic_exchange_n(&c->touch_failed, 1, __ATOMIC_RELAXED))
    {
        vs_log(VS_LOG_ERROR, NULL, "health", "cannot touch %s: %s (the "
               "health check will call this worker dead)",
               c->cfg->heartbeat_file, strerror(e));
    } else if (e == 0) {
        __atomic_store_n(&c->touch_failed, 0, __ATOMIC_RELAXED);
    }
}


static void *
vs_heartbeat_main(void *arg)
{
    vs_consumer_t  *c = arg;
    char           *receipt, err[256];
    time_t          now, touched = 0;
    int             i, busy;

    while (!c->heartbeat_stop) {
        busy = 0;

        for (i = 0; i < c->nslots; i++) {
            now = time(NULL);
            receipt = NULL;

            pthread_mutex_lock(&c->lock);
            busy |= c->slots[i].busy && !c->slots[i].finished;
            if (c->slots[i].busy && !c->slots[i].finished
                && now - c->slots[i].extended >= c->cfg->heartbeat)
            {
                receipt = strdup(c->slots[i].msg.receipt);
                c->slots[i].extended = now;
            }
            pthread_mutex_unlock(&c->lock);

            if (receipt == NULL) {
                continue;
            }

            if (vs_sqs_change_visibility(&c->aws, c->cfg->queue_url, receipt,
                                         c->cfg->visibility_timeout, err,
                                         sizeof(err)) != 0)
            {
                vs_log(VS_LOG_WARN, NULL, "heartbeat", "%s", err);
            } else {
                vs_log(VS_LOG_DEBUG, NULL, "heartbeat", "extended by %d s",
                       c->cfg->visibility_timeout);
            }
            free(receipt);
        }

        /* a job is running: alive even if the receive loop is not turning */
        now = time(NULL);
        if (busy && now != touched) {
            vs_touch(c);
            touched = now;
        }

        usleep(200 * 1000);
    }

    return NULL;
}


/*
 * Renews the lease of every running job's video every third of the lease,
 * from a timer rather than from the job's progress: an upload or a slow
 * first frame reports no progress but is no dead worker. A renewal that
 * fails is tried again a second later; a lost lease (the reconciler took
 * the video back after a long database outage, or failed it past its
 * maximum age) stops the job: nothing it produces could be committed.
 */
static void *
vs_lease_main(void *arg)
{
    vs_consumer_t  *c = arg;
    vs_lease_t     *lease;
    char            video_id[VS_MSG_ID_LEN + 1], err[256];
    time_t          now, every;
    int             i, attempt = 0, rc;

    every = c->cfg->lease_seconds / 3 > 0 ? c->cfg->lease_seconds / 3 : 1;

    while (!c->heartbeat_stop) {
        for (i = 0; i < c->nslots; i++) {
            lease = &c->slots[i].lease;
            now = time(NULL);
            video_id[0] = '\0';

            pthread_mutex_lock(&lease->lock);
            if (lease->video_id[0] != '\0' && now - lease->renewed >= every) {
                memcpy(video_id, lease->video_id, sizeof(video_id));
                attempt = lease->attempt;
            }
            pthread_mutex_unlock(&lease->lock);

            if (video_id[0] == '\0') {
                continue;
            }

            rc = vs_db_renew(&c->lease_db, c->cfg->database_url, video_id,
                             attempt, c->cfg->lease_seconds, err,
                             sizeof(err));
            if (rc == VS_DB_NO_ROW) {
                vs_log(VS_LOG_WARN, video_id, "lease", "lease of attempt %d "
                       "lost: the video is not ours any more, the job "
                       "stops", attempt);
            } else if (rc != VS_DB_OK) {
                vs_log(VS_LOG_WARN, video_id, "lease", "cannot renew: %s",
                       err);
            } else {
                vs_log(VS_LOG_DEBUG, video_id, "lease", "renewed for %d s",
                       c->cfg->lease_seconds);
            }

            pthread_mutex_lock(&lease->lock);
            if (strcmp(lease->video_id, video_id) == 0
                && lease->attempt == attempt)
            {
                /* a failed renewal is tried again in a second */
                lease->renewed = rc == VS_DB_TRANSIENT
                                 ? now - every + 1 : time(NULL);
                lease->lost = rc == VS_DB_NO_ROW;
            }
            pthread_mutex_unlock(&lease->lock);
        }

        usleep(200 * 1000);
    }

    vs_db_close(&c->lease_db);
    return NULL;
}


static int
vs_busy_slots(vs_consumer_t *c)
{
    int  i, n = 0;

    pthread_mutex_lock(&c->lock);
    for (i = 0; i < c->nslots; i++) {
        n += c->slots[i].busy;
    }
    pthread_mutex_unlock(&c->lock);
    return n;
}


/* Waits up to ms for a slot to change. */
static void
vs_wait_change(vs_consumer_t *c, long ms)
{
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }

    pthread_mutex_lock(&c->lock);
    pthread_cond_timedwait(&c->changed, &c->lock, &ts);
    pthread_mutex_unlock(&c->lock);
}


static int
vs_start(vs_consumer_t *c, vs_sqs_msg_t *msg)
{
    vs_slot_t  *slot = NULL;
    int         i;

    for (i = 0; i < c->nslots; i++) {
        if (!c->slots[i].busy) {
            slot = &c->slots[i];
            break;
        }
    }

    if (slot == NULL) {
        return -1;      /* cannot happen: we never receive more than free */
    }

    pthread_mutex_lock(&c->lock);
    slot->msg = *msg;
    slot->busy = 1;
    slot->finished = 0;
    slot->abort = 0;
    slot->extended = time(NULL);
    pthread_mutex_unlock(&c->lock);

    vs_log(VS_LOG_INFO, NULL, "queue", "message %s received (receive count "
           "%d)", msg->message_id, msg->receive_count);

    if (pthread_create(&slot->thread, NULL, vs_slot_main, slot) != 0) {
        vs_log(VS_LOG_ERROR, NULL, "queue", "pthread_create failed: "
               "message left to come back");
        pthread_mutex_lock(&c->lock);
        vs_sqs_msg_free(&slot->msg);
        slot->busy = 0;
        pthread_mutex_unlock(&c->lock);
        return -1;
    }

    return 0;
}


int
vs_consumer_run(const vs_config_t *cfg, int once)
{
    static vs_consumer_t  c;
    static vs_reconciler_t  reconciler;
    vs_webhook_t         *webhook = NULL;
    struct sigaction      sa;
    pthread_t             heartbeat, lease;
    vs_sqs_msg_t          msgs[10];
    char                  err[512];
    time_t                deadline;
    int                   i, n, free_slots, received = 0, aborted = 0;
    int                   errors = 0;

    memset(&c, 0, sizeof(c));
    c.cfg = cfg;
    c.nslots = cfg->concurrency < VS_MAX_SLOTS ? cfg->concurrency
                                               : VS_MAX_SLOTS;
    for (i = 0; i < c.nslots; i++) {
        c.slots[i].consumer = &c;
        c.slots[i].events.url = cfg->redis_url;
        if (pthread_mutex_init(&c.slots[i].lease.lock, NULL) != 0) {
            vs_log(VS_LOG_ERROR, NULL, "start", "pthread_mutex_init failed");
            return 1;
        }
    }

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = vs_on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) != 0
        || sigaction(SIGINT, &sa, NULL) != 0)
    {
        vs_log(VS_LOG_ERROR, NULL, "start", "sigaction failed");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        vs_log(VS_LOG_ERROR, NULL, "start", "curl_global_init failed");
        return 1;
    }

    err[0] = '\0';
    if (vs_aws_init(&c.aws, cfg, err, sizeof(err)) != 0) {
        vs_log(VS_LOG_ERROR, NULL, "start", "%s", err);
        return 2;
    }
    /* startup requests (credentials, the queue's attributes) */
    c.aws.stop = (volatile int *) &vs_stop;

    if (pthread_mutex_init(&c.lock, NULL) != 0
        || pthread_cond_init(&c.changed, NULL) != 0
        || pthread_create(&heartbeat, NULL, vs_heartbeat_main, &c) != 0)
    {
        vs_log(VS_LOG_ERROR, NULL, "start", "cannot start threads");
        return 1;
    }
    if (pthread_create(&lease, NULL, vs_lease_main, &c) != 0) {
        vs_log(VS_LOG_ERROR, NULL, "start", "cannot start the lease thread");
        c.heartbeat_stop = 1;
        pthread_join(heartbeat, NULL);
        return 1;
    }

    /* --once handles one message: no fleet duties */
    memset(&reconciler, 0, sizeof(reconciler));
    if (!once
        && vs_reconcile_start(&reconciler, cfg, &c.aws,
                              (volatile int *) &vs_stop) != 0)
    {
        c.heartbeat_stop = 1;
        pthread_join(heartbeat, NULL);
        pthread_join(lease, NULL);
        return 1;
    }

    /* events and metrics, also fleet duties; failing to start them is a
     * configuration error worth stopping for */
    if (!once
        && (vs_webhook_start(&webhook, cfg, (volatile int *) &vs_stop) != 0
            || (cfg->metrics_addr != NULL
                && vs_metrics_serve(cfg->metrics_addr,
                                    (volatile int *) &vs_stop) != 0)))
    {
        vs_stop = 1;
        vs_webhook_join(webhook);
        vs_reconcile_join(&reconciler);
        c.heartbeat_stop = 1;
        pthread_join(heartbeat, NULL);
        pthread_join(lease, NULL);
        return 1;
    }

    /* the last delivery before the DLQ: from the queue unless configured */
    c.max_receive = cfg->max_receive;
    if (c.max_receive < 0) {
        if (vs_sqs_max_receive(&c.aws, cfg->queue_url, &c.max_receive, err,
                               sizeof(err)) != 0)
        {
            vs_log(VS_LOG_WARN, NULL, "start", "cannot read the queue's "
                   "RedrivePolicy (%s): set VIDSTREAM_MAX_RECEIVE to record "
                   "why a video went to the dead-letter queue", err);
            c.max_receive = 0;
        }
    }

    vs_log(VS_LOG_INFO, NULL, "start", "consuming %s with %d job slot(s), "
           "visibility %d s, heartbeat %d s, lease %d s, max receive count "
           "%d%s", cfg->queue_url, c.nslots, cfg->visibility_timeout,
           cfg->heartbeat, cfg->lease_seconds, c.max_receive,
           c.max_receive ? "" : " (no dead-letter queue known)");

    while (!vs_stop) {
        vs_touch(&c);
        vs_reap(&c);

        if (once && received > 0) {
            if (vs_busy_slots(&c) == 0) {
                break;
            }
            vs_wait_change(&c, 200);
            continue;
        }

        free_slots = c.nslots - vs_busy_slots(&c);
        if (free_slots <= 0) {
            vs_wait_change(&c, 1000);
            continue;
        }
        if (once) {
            free_slots = 1;
        }

        err[0] = '\0';
        n = vs_sqs_receive(&c.aws, cfg->queue_url,
                           free_slots > 10 ? 10 : free_slots,
                           cfg->wait_time, cfg->visibility_timeout,
                           (volatile int *) &vs_stop_now, msgs, err,
                           sizeof(err));
        if (n < 0) {
            if (vs_stop) {
                break;
            }
            /* back off on a failing queue, 1 s .. 30 s */
            errors++;
            vs_log(VS_LOG_ERROR, NULL, "receive", "%s", err);
            for (i = 0; i < (errors < 5 ? 1 << errors : 30) * 10
                        && !vs_stop; i++)
            {
                if (i % 50 == 0) {
                    vs_touch(&c);
                }
                usleep(100 * 1000);
            }
            continue;
        }
        errors = 0;

        for (i = 0; i < n; i++) {
            if (vs_stop) {
                /* received during shutdown: hand it straight back */
                if (vs_sqs_change_visibility(&c.aws, cfg->queue_url,
                                             msgs[i].receipt, 0, err,
                                             sizeof(err))
                    != 0)
                {
                    vs_log(VS_LOG_ERROR, NULL, "shutdown", "message %s "
                           "received during shutdown, cannot release it: "
                           "%s", msgs[i].message_id, err);
                } else {
                    vs_log(VS_LOG_INFO, NULL, "shutdown", "message %s "
                           "received during shutdown: released",
                           msgs[i].message_id);
                }
                vs_sqs_msg_free(&msgs[i]);
                continue;
            }
            if (vs_start(&c, &msgs[i]) != 0) {
                vs_sqs_msg_free(&msgs[i]);
            }
            received++;
        }

        if (once && n == 0) {
            vs_log(VS_LOG_INFO, NULL, "receive", "--once: no message");
            break;
        }
    }

    /* shutdown (or --once done): let running jobs finish within the grace */
    deadline = (vs_stop && vs_stop_at != 0 ? vs_stop_at : time(NULL))
               + cfg->shutdown_grace;
    if (vs_stop) {
        vs_log(VS_LOG_INFO, NULL, "shutdown", "signal received: %d job(s) "
               "running, grace %d s (%lld s left)", vs_busy_slots(&c),
               cfg->shutdown_grace,
               (long long) (deadline > time(NULL) ? deadline - time(NULL)
                                                  : 0));
    }

    while (vs_busy_slots(&c) > 0) {
        vs_reap(&c);
        if (vs_stop && !aborted
            && (time(NULL) >= deadline || vs_stop_now))
        {
            pthread_mutex_lock(&c.lock);
            for (i = 0; i < c.nslots; i++) {
                c.slots[i].abort = 1;
            }
            pthread_mutex_unlock(&c.lock);
            aborted = 1;
            vs_log(VS_LOG_WARN, NULL, "shutdown",
                   "grace over: interrupting the running jobs");
        }
        vs_wait_change(&c, 200);
    }

    /* --once: nothing stops the reconciler but this (it is not running) */
    vs_reconcile_join(&reconciler);
    vs_webhook_join(webhook);
    vs_metrics_stop();

    c.heartbeat_stop = 1;
    pthread_join(heartbeat, NULL);
    pthread_join(lease, NULL);

    for (i = 0; i < c.nslots; i++) {
        vs_db_close(&c.slots[i].db);
        vs_events_close(&c.slots[i].events);
    }
    curl_global_cleanup();

    vs_log(VS_LOG_INFO, NULL, "shutdown", "stopped");
    return 0;
}
