/*
 * One queue message, start to finish: parse (lib/vs_msg), claim the video,
 * read the input from S3, transcode, upload, commit, clean up. Says what
 * should become of the message; the consumer does it.
 */
#ifndef VS_JOB_WORKER_H
#define VS_JOB_WORKER_H

#include "aws.h"
#include "config.h"
#include "events.h"

#include "vs_msg.h"
#include "vs_video.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <time.h>

typedef enum {
    VS_JOB_DELETE = 0,      /* done, or can never succeed, or no work */
    VS_JOB_LEAVE,           /* transient failure: let it come back */
    VS_JOB_RELEASE          /* shutdown: visibility 0, another worker now */
} vs_job_outcome_t;

/*
 * The lease a running job holds on its video (db.h), shared with the
 * consumer's lease thread, which renews it every lease/3 seconds for as
 * long as the job holds it: a timer, not progress, so that a long upload
 * or a transcode that reports no progress never looks like a dead worker.
 */
typedef struct {
    pthread_mutex_t      lock;
    char                 video_id[VS_MSG_ID_LEN + 1];  /* "": none held */
    int                  attempt;
    time_t               renewed;
    int                  lost;      /* the renewal found it gone: the job
                                       stops (its outcome is not ours) */
} vs_lease_t;

typedef struct {
    const vs_config_t   *cfg;
    vs_aws_t            *aws;
    PGconn              *db;            /* this thread's connection */
    vs_events_t         *events;        /* this thread's Redis, may be off */
    volatile int        *abort;         /* set when the grace is over */
    const char          *message_id;
    int                  receive_count;
    int                  max_receive;   /* the queue's, 0 unknown */
    vs_lease_t          *lease;         /* renewed by the consumer, may be
                                           NULL (then it simply expires) */

    /* per job, internal */
    const char          *video_id;
    int                  attempt;
    time_t               last_progress;
    vs_error_code_t      failed_code;   /* recorded with failed, or NONE */
} vs_job_ctx_t;

vs_job_outcome_t vs_job_handle(vs_job_ctx_t *ctx, const char *body,
    size_t len);

#endif
