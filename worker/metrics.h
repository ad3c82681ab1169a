/*
 * The worker's metrics, two ways from one set of counters:
 *
 *  - every job ends with one CloudWatch Embedded Metric Format record in
 *    the JSON log (vs_metrics_job()), so CloudWatch Logs turns the log
 *    into metrics with no agent;
 *  - for setups without CloudWatch, the same counters and histograms in
 *    the Prometheus text exposition format on VIDSTREAM_METRICS_ADDR
 *    (host:port; off by default), served by a small thread.
 *
 * Counting is lock-free (atomic adds); the exposition reads the counters
 * without stopping the jobs.
 */
#ifndef VS_METRICS_H
#define VS_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "vs_video.h"

/* How a job ended, as its EMF record and the jobs counter name it. */
typedef enum {
    VS_METRICS_DONE = 0,
    VS_METRICS_FAILED,      /* a permanent failure: the video is failed */
    VS_METRICS_RETRY,       /* transient: the message comes back */
    VS_METRICS_NOUTCOMES
} vs_metrics_outcome_t;

/* The stages of a job whose wall time is measured. */
typedef enum {
    VS_METRICS_FETCH = 0,   /* claim, probe and read the source */
    VS_METRICS_TRANSCODE,   /* decode and encode every output */
    VS_METRICS_STORE,       /* upload the outputs, commit the row */
    VS_METRICS_NSTAGES
} vs_metrics_stage_t;

typedef struct {
    const char            *video_id;
    vs_metrics_outcome_t   outcome;
    vs_error_code_t        code;        /* with VS_METRICS_FAILED */
    double                 stage_seconds[VS_METRICS_NSTAGES];
    double                 wall_seconds;
    double                 media_seconds;    /* the input's duration */
    int64_t                input_bytes;
    double                 queue_wait_seconds;  /* complete → claim */
} vs_metrics_job_t;

/*
 * Counts one job and logs its EMF record (namespace "vidstream",
 * dimensions Outcome and Outcome+ErrorCode).
 */
void vs_metrics_job(const vs_metrics_job_t *job);

/* Other events worth counting. */
void vs_metrics_jobs_running(int delta);
void vs_metrics_webhook(const char *result);       /* delivered, retry,
                                                      gave_up */
void vs_metrics_reconcile(const char *action);     /* expired, exhausted,
                                                      take_back, resend,
                                                      requeue,
                                                      remove_pending */

/*
 * Writes the Prometheus exposition into buf: its length, or -1 when buf is
 * too small.
 */
long vs_metrics_render(char *buf, size_t size);

/*
 * Serves GET /metrics on addr ("127.0.0.1:9464"; a port alone means
 * 127.0.0.1) from a thread until *stop: 0, or -1 with the reason logged.
 */
int vs_metrics_serve(const char *addr, volatile int *stop);
void vs_metrics_stop(void);

#endif
