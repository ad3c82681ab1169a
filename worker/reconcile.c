/*
 * The reconciler (reconcile.h). Every transition is a guarded UPDATE, so
 * it races safely with the workers and the edge: a row that moved since
 * it was selected simply does not match any more. At most VS_RC_BATCH rows
 * per action per pass, so a backlog is worked off over a few passes and a
 * pass never holds locks for long.
 */
#include "reconcile.h"

#include "metrics.h"

#include "db.h"
#include "log.h"
#include "s3.h"
#include "sqs.h"
#include "vs_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define VS_RC_BATCH  "100"

/* pg_advisory_lock(int, int) keys: "vids", 1 */
#define VS_RC_LOCK   "1986618483, 1"

/* a lease runs out at lease_until; rows claimed before leases existed
   (lease_until NULL) when untouched for a lease ($1 seconds) */
#define VS_RC_LEASE_EXPIRED                                                 \
    "(lease_until < now() OR (lease_until IS NULL AND updated_at < now()"   \
    " - make_interval(secs => $1::int)))"

typedef struct {
    int  expired;       /* past the maximum age: failed */
    int  exhausted;     /* lease expired, attempts used: failed */
    int  taken_back;    /* lease expired: queued again */
    int  resent;        /* queued, never confirmed sent: sent */
    int  requeued;      /* queued, sent long ago: sent again */
    int  removed;       /* pending_upload past its lifetime: removed */
    int  errors;
    int  sqs_failing;   /* a send failed: no more this pass */
} vs_rc_counts_t;


static int
vs_rc_stopped(vs_reconciler_t *r)
{
    return r->stop != NULL && *r->stop;
}


/* Logs one action on one video and tells Redis subscribers about it. */
static void
vs_rc_action(vs_reconciler_t *r, const char *video_id, const char *action,
    json_t *fields, const char *fmt, const char *detail)
{
    if (fields == NULL) {
        fields = json_object();
    }
    if (fields != NULL) {
        json_object_set_new(fields, "action", json_string(action));
    }
    vs_log_fields(VS_LOG_INFO, video_id, "reconcile", fields, fmt, detail);
    vs_metrics_reconcile(action);

    /* a removed video has nothing left to publish */
    if (strcmp(action, "remove_pending") != 0) {
        vs_events_publish(&r->events, &r->db, r->cfg->database_url,
                          video_id);
    }
}


/*
 * Sends the job message of a queued video and records that SQS took it
 * (enqueued_at), so that it is not sent again before VIDSTREAM_REQUEUE_AFTER.
 * The video may have been claimed already by the time the UPDATE runs (the
 * message is fast): enqueued_at is set on a processing video too.
 */
static int
vs_rc_send(vs_reconciler_t *r, const char *video_id, const char *owner,
    const char *key, char *err, size_t err_size)
{
    static const char  sent[] =
        "UPDATE videos SET enqueued_at = now()"
        " WHERE id = $1::uuid AND status IN ('queued', 'processing')";

    const char  *params[1];
    vs_msg_job_t     job;
    PGresult    *res;
    char        *body;
    int          rc;

    job.video_id = (char *) video_id;
    job.owner = (char *) owner;
    job.bucket = (char *) r->cfg->bucket;
    job.key = (char *) key;

    body = vs_msg_job_encode(&job);
    if (body == NULL) {
        snprintf(err, err_size, "cannot encode its job message: %s",
                 vs_msg_job_valid(&job) ? "out of memory" : vs_msg_job_invalid(&job));
        return -1;
    }

    rc = vs_sqs_send(r->aws, r->cfg->queue_url, body, err, err_size);
    free(body);
    if (rc != 0) {
        return -1;
    }

    /* sent: a failure here only means an early duplicate, logged */
    params[0] = video_id;
    if (vs_db_exec(&r->db, r->cfg->database_url, sent, 1, params, &res, err,
                   err_size) != VS_DB_OK)
    {
        vs_log(VS_LOG_WARN, video_id, "reconcile", "job sent, but "
               "enqueued_at not recorded: %s", err);
        return 0;
    }
    PQclear(res);
    return 0;
}


/* queued/processing for longer than VIDSTREAM_MAX_JOB_AGE: failed. */
static void
vs_rc_expire(vs_reconciler_t *r, vs_rc_counts_t *n)
{
    static const char  sql[] =
        "WITH old AS ("
        "  SELECT id, status FROM videos"
        "   WHERE status IN ('queued', 'processing')"
        "     AND COALESCE(queued_at, created_at)"
        "         < now() - make_interval(secs => $1::int)"
        "   ORDER BY created_at LIMIT " VS_RC_BATCH
        "   FOR UPDATE SKIP LOCKED)"
        " UPDATE videos v SET status = 'failed',"
        "   error_code = 'transcode_failed', error = $2,"
        "   lease_until = NULL, finished_at = now()"
        "  FROM old WHERE v.id = old.id AND v.status = old.status"
        " RETURNING v.id, old.status, v.attempts";

    const char  *params[2];
    char         age[16], reason[160], err[512];
    PGresult    *res;
    int          i;

    snprintf(age, sizeof(age), "%d", r->cfg->max_job_age);
    snprintf(reason, sizeof(reason), "the job did not finish within %d s "
             "of being queued: gave up", r->cfg->max_job_age);
    params[0] = age;
    params[1] = reason;

    if (vs_db_exec(&r->db, r->cfg->database_url, sql, 2, params, &res, err,
                   sizeof(err)) != VS_DB_OK)
    {
        vs_log(VS_LOG_ERROR, NULL, "reconcile", "max age: %s", err);
        n->errors++;
        return;
    }

    for (i = 0; i < PQntuples(res); i++) {
        vs_rc_action(r, PQgetvalue(res, i, 0), "expired",
                     json_pack("{s:s, s:s, s:i, s:i}", "error_code",
                               "transcode_failed", "was",
                               PQgetvalue(res, i, 1), "attempts",
                               atoi(PQgetvalue(res, i, 2)),
                               "max_job_age_s", r->cfg->max_job_age),
                     "failed (transcode_failed): %s", reason);
        n->expired++;
    }
    PQclear(res);
}


/*
 * processing with an expired lease: its worker died (or could not write
 * the outcome). With attempts left, back to queued and sent again; else
 * failed, so that a video that kills its worker every time ends.
 */
static void
vs_rc_take_back(vs_reconciler_t *r, vs_rc_counts_t *n)
{
    static const char  exhausted[] =
        "WITH old AS ("
        "  SELECT id FROM videos"
        "   WHERE status = 'processing' AND attempts >= $2::int"
        "     AND " VS_RC_LEASE_EXPIRED
        "   LIMIT " VS_RC_BATCH " FOR UPDATE SKIP LOCKED)"
        " UPDATE videos v SET status = 'failed',"
        "   error_code = 'transcode_failed',"
        "   error = 'the job was started ' || v.attempts || ' times and its"
        " worker stopped every time: gave up',"
        "   lease_until = NULL, finished_at = now()"
        "  FROM old WHERE v.id = old.id AND v.status = 'processing'"
        " RETURNING v.id, v.attempts, v.error";
    static const char  back[] =
        "WITH old AS ("
        "  SELECT id FROM videos"
        "   WHERE status = 'processing' AND attempts < $2::int"
        "     AND " VS_RC_LEASE_EXPIRED
        "   LIMIT " VS_RC_BATCH " FOR UPDATE SKIP LOCKED)"
        " UPDATE videos v SET status = 'queued', progress = 0,"
        "   lease_until = NULL, enqueued_at = NULL"
        "  FROM old WHERE v.id = old.id AND v.status = 'processing'"
        " RETURNING v.id, v.owner_sub, v.input_key, v.attempts";

    const char  *params[2];
    char         lease[16], max[16], err[512];
    PGresult    *res;
    int          i;

    snprintf(lease, sizeof(lease), "%d", r->cfg->lease_seconds);
    snprintf(max, sizeof(max), "%d", r->cfg->max_attempts);
    params[0] = lease;
    params[1] = max;

    if (vs_db_exec(&r->db, r->cfg->database_url, exhausted, 2, params, &res,
                   err, sizeof(err)) != VS_DB_OK)
    {
        vs_log(VS_LOG_ERROR, NULL, "reconcile", "exhausted leases: %s", err);
        n->errors++;
    } else {
        for (i = 0; i < PQntuples(res); i++) {
            vs_rc_action(r, PQgetvalue(res, i, 0), "exhausted",
                         json_pack("{s:s, s:i}", "error_code",
                                   "transcode_failed", "attempts",
                                   atoi(PQgetvalue(res, i, 1))),
                         "failed (transcode_failed): %s",
                         PQgetvalue(res, i, 2));
            n->exhausted++;
        }
        PQclear(res);
    }

    if (vs_db_exec(&r->db, r->cfg->database_url, back, 2, params, &res, err,
                   sizeof(err)) != VS_DB_OK)
    {
        vs_log(VS_LOG_ERROR, NULL, "reconcile", "expired leases: %s", err);
        n->errors++;
        return;
    }

    for (i = 0; i < PQntuples(res); i++) {
        n->taken_back++;

        /* queued with enqueued_at NULL: unsent, the resend sends it */
        if (n->sqs_failing || vs_rc_stopped(r)) {
            vs_rc_action(r, PQgetvalue(res, i, 0), "take_back",
                         json_pack("{s:i}", "attempts",
                                   atoi(PQgetvalue(res, i, 3))),
                         "%s", "lease expired (its worker stopped): video "
                         "queued again, its job to be sent by a later pass");
            continue;
        }

        if (vs_rc_send(r, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
                       PQgetvalue(res, i, 2), err, sizeof(err)) != 0)
        {
            vs_log(VS_LOG_ERROR, PQgetvalue(res, i, 0), "reconcile",
                   "lease expired, video taken back, but its job could not "
                   "be sent (a later pass sends it): %s", err);
            n->errors++;
            n->sqs_failing = 1;
            continue;
        }

        vs_rc_action(r, PQgetvalue(res, i, 0), "take_back",
                     json_pack("{s:i}", "attempts",
                               atoi(PQgetvalue(res, i, 3))),
                     "%s", "lease expired (its worker stopped): video "
                     "queued again and its job sent");
    }
    PQclear(res);
}


/*
 * queued and never confirmed sent for VIDSTREAM_RESEND_AFTER, or sent
 * longer than VIDSTREAM_REQUEUE_AFTER ago: send the job (again).
 */
static void
vs_rc_resend(vs_reconciler_t *r, vs_rc_counts_t *n)
{
    static const char  sql[] =
        "SELECT id, owner_sub, input_key, enqueued_at IS NULL,"
        "       extract(epoch FROM now() - COALESCE(enqueued_at,"
        "                                           updated_at))::bigint"
        "  FROM videos"
        " WHERE status = 'queued'"
        "   AND ((enqueued_at IS NULL"
        "         AND updated_at < now() - make_interval(secs => $1::int))"
        "        OR enqueued_at < now() - make_interval(secs => $2::int))"
        " ORDER BY updated_at LIMIT " VS_RC_BATCH;

    const char  *params[2], *id;
    char         resend[16], requeue[16], err[512];
    PGresult    *res;
    int          i, never;

    snprintf(resend, sizeof(resend), "%d", r->cfg->resend_after);
    snprintf(requeue, sizeof(requeue), "%d", r->cfg->requeue_after);
    params[0] = resend;
    params[1] = requeue;

    if (vs_db_exec(&r->db, r->cfg->database_url, sql, 2, params, &res, err,
                   sizeof(err)) != VS_DB_OK)
    {
        vs_log(VS_LOG_ERROR, NULL, "reconcile", "queued videos: %s", err);
        n->errors++;
        return;
    }

    for (i = 0; i < PQntuples(res) && !vs_rc_stopped(r) && !n->sqs_failing;
         i++)
    {
        id = PQgetvalue(res, i, 0);
        never = strcmp(PQgetvalue(res, i, 3), "t") == 0;

        if (vs_rc_send(r, id, PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
                       err, sizeof(err)) != 0)
        {
            vs_log(VS_LOG_ERROR, id, "reconcile", "cannot send its job (the "
                   "rest waits for the next pass): %s", err);
            n->errors++;
            n->sqs_failing = 1;
            continue;
        }

        vs_rc_action(r, id, never ? "resend" : "requeue",
                     json_pack("{s:I}", "age_s",
                               (json_int_t) atoll(PQgetvalue(res, i, 4))),
                     "%s", never
                     ? "queued, its job never confirmed sent: job sent"
                     : "queued, its job sent long ago and not taken: "
                       "job sent again");
        if (never) {
            n->resent++;
        } else {
            n->requeued++;
        }
    }
    PQclear(res);
}


/*
 * The unfinished multipart upload of an abandoned video (upload_id, NULL
 * when there is none: a single PUT, or an upload already completed) is
 * aborted before the object and the row go, so that S3 frees its parts now
 * rather than when the bucket's lifecycle rule for incomplete uploads gets
 * to them.  NoSuchUpload is success.  Returns 0, or -1 to keep the row for
 * the next pass.
 */
static int
vs_rc_abort_upload(vs_reconciler_t *r, const char *video_id,
    const char *key, const char *upload_id, char *err, size_t err_size)
{
    if (upload_id == NULL) {
        return 0;
    }

    if (vs_s3_abort_upload(r->aws, r->cfg->bucket, key, upload_id, err,
                           err_size)
        != 0)
    {
        return -1;
    }

    vs_log(VS_LOG_INFO, video_id, "reconcile", "multipart upload of %s "
           "aborted", key);

    return 0;
}


/* pending_upload untouched for the pending lifetime: S3 first, then the
   row, guarded on its status (a complete meanwhile wins). */
static void
vs_rc_remove_pending(vs_reconciler_t *r, vs_rc_counts_t *n)
{
    static const char  sql[] =
        "SELECT id, input_key,"
        " CASE WHEN upload_completed_at IS NULL THEN upload_id END"
        " FROM videos"
        " WHERE status = 'pending_upload'"
        "   AND updated_at < now() - make_interval(secs => $1::int)"
        " ORDER BY updated_at LIMIT " VS_RC_BATCH;
    static const char  del[] =
        "DELETE FROM videos"
        " WHERE id = $1::uuid AND status = 'pending_upload'"
        "   AND updated_at < now() - make_interval(secs => $2::int)";

    const char  *params[2], *id, *key;
    char         life[16], err[512];
    PGresult    *res, *gone;
    int          i;

    snprintf(life, sizeof(life), "%d", r->cfg->pending_lifetime);
    params[0] = life;

    if (vs_db_exec(&r->db, r->cfg->database_url, sql, 1, params, &res, err,
                   sizeof(err)) != VS_DB_OK)
    {
        vs_log(VS_LOG_ERROR, NULL, "reconcile", "pending uploads: %s", err);
        n->errors++;
        return;
    }

    for (i = 0; i < PQntuples(res) && !vs_rc_stopped(r); i++) {
        id = PQgetvalue(res, i, 0);
        key = PQgetvalue(res, i, 1);

        /* a missing object is fine (vs_s3_delete: 404 is success) */
        if (vs_rc_abort_upload(r, id, key,
                               PQgetisnull(res, i, 2) ? NULL
                                                      : PQgetvalue(res, i, 2),
                               err, sizeof(err)) != 0
            || vs_s3_delete(r->aws, r->cfg->bucket, key, err, sizeof(err))
               != 0)
        {
            vs_log(VS_LOG_ERROR, id, "reconcile", "cannot remove the "
                   "expired upload %s (the rest waits for the next pass): "
                   "%s", key, err);
            n->errors++;
            break;
        }

        params[0] = id;
        params[1] = life;
        if (vs_db_exec(&r->db, r->cfg->database_url, del, 2, params, &gone,
                       err, sizeof(err)) != VS_DB_OK)
        {
            vs_log(VS_LOG_ERROR, id, "reconcile", "upload removed, the row "
                   "not yet: %s", err);
            n->errors++;
            continue;
        }

        if (strcmp(PQcmdTuples(gone), "1") == 0) {
            vs_rc_action(r, id, "remove_pending",
                         json_pack("{s:i}", "pending_lifetime_s",
                                   r->cfg->pending_lifetime),
                         "pending_upload past its lifetime: upload %s and "
                         "row removed", key);
            n->removed++;
        } else {
            vs_log(VS_LOG_WARN, id, "reconcile", "pending_upload changed "
                   "while its upload was removed: row kept");
        }
        PQclear(gone);
    }
    PQclear(res);
}


/*
 * One pass, when this worker gets the fleet-wide advisory lock (session
 * level on the reconciler's own connection: a worker that dies mid-pass
 * releases it with its connection).
 */
static void
vs_rc_pass(vs_reconciler_t *r)
{
    static const char  lock[] = "SELECT pg_try_advisory_lock(" VS_RC_LOCK ")";
    static const char  unlock[] = "SELECT pg_advisory_unlock(" VS_RC_LOCK ")";

    vs_rc_counts_t  n;
    PGresult       *res;
    char            err[512];
    int             got;

    memset(&n, 0, sizeof(n));

    if (vs_db_exec(&r->db, r->cfg->database_url, lock, 0, NULL, &res, err,
                   sizeof(err)) != VS_DB_OK)
    {
        vs_log(VS_LOG_ERROR, NULL, "reconcile", "pass skipped: %s", err);
        return;
    }
    got = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);

    if (!got) {
        vs_log(VS_LOG_DEBUG, NULL, "reconcile", "another worker is "
               "reconciling: pass skipped");
        return;
    }

    /* the oldest first: a video past its age is failed, not resent */
    vs_rc_expire(r, &n);
    vs_rc_take_back(r, &n);
    vs_rc_resend(r, &n);
    vs_rc_remove_pending(r, &n);

    if (vs_db_exec(&r->db, r->cfg->database_url, unlock, 0, NULL, &res, err,
                   sizeof(err)) == VS_DB_OK)
    {
        PQclear(res);
    } else {
        /* the connection is gone, and the lock with it */
        vs_log(VS_LOG_WARN, NULL, "reconcile", "unlock: %s", err);
    }

    vs_log_fields(VS_LOG_INFO, NULL, "reconcile",
                  json_pack("{s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i}",
                            "action", "pass", "expired", n.expired,
                            "exhausted", n.exhausted, "taken_back",
                            n.taken_back, "resent", n.resent, "requeued",
                            n.requeued, "removed", n.removed, "errors",
                            n.errors),
                  "pass: %d expired, %d exhausted, %d taken back, %d sent, "
                  "%d sent again, %d pending removed, %d error(s)",
                  n.expired, n.exhausted, n.taken_back, n.resent, n.requeued,
                  n.removed, n.errors);
}


static void *
vs_rc_main(void *arg)
{
    vs_reconciler_t  *r = arg;
    int               i;

    while (!vs_rc_stopped(r)) {
        vs_rc_pass(r);

        for (i = 0; i < r->cfg->reconcile_interval * 10 && !vs_rc_stopped(r);
             i++)
        {
            usleep(100 * 1000);
        }
    }

    return NULL;
}


int
vs_reconcile_start(vs_reconciler_t *r, const vs_config_t *cfg,
    vs_aws_t *aws, volatile int *stop)
{
    memset(r, 0, sizeof(*r));
    r->cfg = cfg;
    r->aws = aws;
    r->stop = stop;
    r->events.url = cfg->redis_url;

    if (cfg->reconcile_interval == 0) {
        vs_log(VS_LOG_INFO, NULL, "reconcile", "off "
               "(VIDSTREAM_RECONCILE_INTERVAL=0)");
        return 0;
    }

    if (pthread_create(&r->thread, NULL, vs_rc_main, r) != 0) {
        vs_log(VS_LOG_ERROR, NULL, "reconcile", "cannot start its thread");
        return -1;
    }
    r->running = 1;

    vs_log_fields(VS_LOG_INFO, NULL, "reconcile",
                  json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i}",
                            "interval_s", cfg->reconcile_interval,
                            "lease_s", cfg->lease_seconds,
                            "resend_after_s", cfg->resend_after,
                            "requeue_after_s", cfg->requeue_after,
                            "max_attempts", cfg->max_attempts,
                            "max_job_age_s", cfg->max_job_age,
                            "pending_lifetime_s", cfg->pending_lifetime),
                  "every %d s", cfg->reconcile_interval);
    return 0;
}


void
vs_reconcile_join(vs_reconciler_t *r)
{
    if (r->running) {
        pthread_join(r->thread, NULL);
        r->running = 0;
    }
    vs_db_close(&r->db);
    vs_events_close(&r->events);
}
