/*
 * One queue message, start to finish: parse (lib/vs_job), claim the video,
 * read the input from S3, transcode, upload, commit, clean up. Says what
 * should become of the message; the consumer does it.
 */
#ifndef VS_JOB_WORKER_H
#define VS_JOB_WORKER_H

#include "aws.h"
#include "config.h"
#include "events.h"

#include <libpq-fe.h>

typedef enum {
    VS_JOB_DELETE = 0,      /* done, or can never succeed, or no work */
    VS_JOB_LEAVE,           /* transient failure: let it come back */
    VS_JOB_RELEASE          /* shutdown: visibility 0, another worker now */
} vs_job_outcome_t;

typedef struct {
    const vs_config_t   *cfg;
    vs_aws_t            *aws;
    PGconn              *db;            /* this thread's connection */
    vs_events_t         *events;        /* this thread's Redis, may be off */
    volatile int        *abort;         /* set when the grace is over */
    const char          *message_id;
    int                  receive_count;
    int                  max_receive;   /* the queue's, 0 unknown */

    /* per job, internal */
    const char          *video_id;
    int                  attempt;
    time_t               last_progress;
} vs_job_ctx_t;

vs_job_outcome_t vs_job_handle(vs_job_ctx_t *ctx, const char *body,
    size_t len);

#endif
