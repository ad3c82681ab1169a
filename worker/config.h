/*
 * The worker's configuration: every environment variable it reads
 * (CONTRACT.md section 7 plus the VIDSTREAM_* knobs), parsed and checked in
 * one place into one struct at startup.
 */
#ifndef VS_CONFIG_H
#define VS_CONFIG_H

#include <stdint.h>
#include <stdio.h>

typedef struct {
    /* AWS: credentials are resolved by lib/vs_creds (provider chain) */
    const char  *region;            /* AWS_REGION, AWS_DEFAULT_REGION */
    const char  *s3_endpoint;       /* AWS_ENDPOINT_URL_S3 / _URL, NULL: AWS */
    const char  *sqs_endpoint;      /* AWS_ENDPOINT_URL_SQS / _URL */

    const char  *database_url;      /* VIDSTREAM_DATABASE_URL */
    const char  *queue_url;         /* VIDSTREAM_QUEUE_URL */
    const char  *bucket;            /* VIDSTREAM_BUCKET */
    const char  *redis_url;         /* VIDSTREAM_REDIS_URL, optional:
                                       video events are PUBLISHed */

    int          concurrency;       /* jobs at once: 1 per 2 cores */
    int          visibility_timeout;  /* s, what the heartbeat extends to */
    int          heartbeat;         /* s between ChangeMessageVisibility */
    int          wait_time;         /* s, ReceiveMessage long polling */
    int          retries;           /* transient retries inside a job */
    int          retry_base_ms;     /* first backoff, doubled each time */
    int          shutdown_grace;    /* s a running job may go on after
                                       SIGTERM before it is released */
    int          lease_seconds;     /* s a claim holds a processing video
                                       without renewal (renewed every
                                       third of it while the job runs) */
    int          max_receive;       /* the queue's maxReceiveCount: -1 read
                                       it from the RedrivePolicy, 0 none */
    const char  *heartbeat_file;    /* touched while the worker is alive */

    /* the reconciler (reconcile.c), all in seconds */
    int          reconcile_interval;  /* between passes, 0: off */
    int          resend_after;      /* queued, never confirmed sent */
    int          requeue_after;     /* queued, sent this long ago */
    int          max_attempts;      /* claims before an expired lease
                                       fails the video */
    int          max_job_age;       /* queued/processing at most this
                                       long after queued_at */
    int          pending_lifetime;  /* pending_upload removed after */

    /* events (webhook.c) and metrics (metrics.c) */
    const char  *webhook_url;       /* NULL: events are not delivered */
    const char  *webhook_secret;    /* whsec_<base64> */
    int          webhook_timeout;   /* s a delivery may take */
    int          webhook_max_age;   /* s an event is retried */
    int          webhook_poll;      /* s between scans without NOTIFY */
    const char  *metrics_addr;      /* host:port of /metrics, NULL: off */

    int64_t      max_input_bytes;
    int64_t      max_duration_ms;
    int64_t      max_pixels;
    int          max_height;        /* resolution cap (short side) */
    int          max_fps;
    int          crf;
    const char  *preset;
    int          audio_bitrate;
    int          remux;             /* allow the stream-copy fast path */
    int          threads;           /* codec threads per job, 0 auto */

    int          hls;
    int          hls_fmp4;          /* 1 fMP4 segments, 0 MPEG-TS */
    int          hls_segment;       /* s */
    int          hls_ladder[8];     /* short sides of extra renditions,
                                       descending, 0-terminated */
    int          delete_source;
    int64_t      multipart_threshold;  /* bytes: multipart upload above */
    int64_t      part_size;

    const char  *tmp_dir;
    int          log_level;
} vs_config_t;

/*
 * Fills cfg from the environment. need_aws 0 (the local `transcode`
 * command) skips the checks of what only the consumer needs. Returns 0, or
 * -1 with a readable reason in err.
 */
int vs_config_load(vs_config_t *cfg, int need_aws, char *err,
    size_t err_size);

/* The --help text listing every variable and its default. */
void vs_config_usage(FILE *out);

#endif
