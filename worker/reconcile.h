/*
 * The reconciler: CONTRACT.md section 5, "nothing stranded". Every
 * VIDSTREAM_RECONCILE_INTERVAL seconds one worker of the fleet (whichever
 * holds a PostgreSQL advisory lock on its own connection) looks for the
 * videos that no message will ever move, and moves them:
 *
 *   - queued past VIDSTREAM_MAX_JOB_AGE, or processing likewise:
 *     failed (transcode_failed);
 *   - processing with an expired lease (its worker died) and
 *     VIDSTREAM_MAX_ATTEMPTS claims used: failed (transcode_failed);
 *   - processing with an expired lease otherwise: back to queued, and the
 *     job message sent again;
 *   - queued whose job was never confirmed sent (enqueued_at NULL, as when
 *     nginx gave up after the database committed) for
 *     VIDSTREAM_RESEND_AFTER seconds, or sent longer than
 *     VIDSTREAM_REQUEUE_AFTER ago (a lost, deleted or dead-lettered
 *     message): the job message sent (again);
 *   - pending_upload untouched for VIDSTREAM_PENDING_LIFETIME: its S3
 *     input removed, then its row.
 *
 * A duplicate job message is harmless: the worker's claim is guarded.
 * One JSON log line per action (stage "reconcile", field "action") and one
 * summary per pass; the videos it changes are published like the jobs'
 * (events.h). When SQS or S3 fails, the pass stops calling it: what is
 * left waits for the next pass rather than holding the lock through a
 * timeout per video.
 */
#ifndef VS_RECONCILE_H
#define VS_RECONCILE_H

#include "aws.h"
#include "config.h"
#include "events.h"

#include <libpq-fe.h>
#include <pthread.h>

typedef struct {
    const vs_config_t  *cfg;
    vs_aws_t           *aws;
    volatile int       *stop;       /* the consumer's first signal */
    PGconn             *db;         /* its own: the advisory lock's */
    vs_events_t         events;     /* Redis: the videos it changes */
    pthread_t           thread;
    int                 running;
} vs_reconciler_t;

/*
 * Starts the reconciler's thread (nothing when the interval is 0). 0, or
 * -1 when the thread cannot be created (logged).
 */
int vs_reconcile_start(vs_reconciler_t *r, const vs_config_t *cfg,
    vs_aws_t *aws, volatile int *stop);

/* Waits for the thread to see *stop and end its pass; closes its DB. */
void vs_reconcile_join(vs_reconciler_t *r);

#endif
