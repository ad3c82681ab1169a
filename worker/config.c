/*
 * Environment -> vs_config_t. Every variable the worker reads is here.
 */
#include "config.h"
#include "vs_redis_url.h"
#include "log.h"
#include "vs_sigv4.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


typedef struct {
    const char  *name;
    const char  *def;
    const char  *what;
} vs_config_doc_t;

static const vs_config_doc_t  vs_config_docs[] = {
    { "AWS_REGION", "us-east-1", "region (else AWS_DEFAULT_REGION)" },
    { "AWS_ACCESS_KEY_ID", "", "static credentials (with the secret key)" },
    { "AWS_SECRET_ACCESS_KEY", "", "" },
    { "AWS_SESSION_TOKEN", "", "optional" },
    { "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "",
      "ECS task role (or _FULL_URI, AWS_CONTAINER_AUTHORIZATION_TOKEN)" },
    { "AWS_ENDPOINT_URL", "", "custom endpoint for every service" },
    { "AWS_ENDPOINT_URL_S3", "", "custom S3 endpoint (path-style)" },
    { "AWS_ENDPOINT_URL_SQS", "", "custom SQS endpoint" },
    { "VIDSTREAM_DATABASE_URL", "", "PostgreSQL URL (required)" },
    { "VIDSTREAM_QUEUE_URL", "", "SQS queue URL (required)" },
    { "VIDSTREAM_BUCKET", "", "S3 bucket (required)" },
    { "VIDSTREAM_REDIS_URL", "", "optional redis://[:pw@]host[:port][/db]: "
      "the video JSON is PUBLISHed to vidstream:videos:<id> on every "
      "progress and status change" },
    { "VIDSTREAM_CONCURRENCY", "cores/2, at least 1", "jobs at once" },
    { "VIDSTREAM_VISIBILITY_TIMEOUT", "300",
      "s; a running job's message is kept invisible this long ahead" },
    { "VIDSTREAM_HEARTBEAT", "visibility/3", "s between extensions" },
    { "VIDSTREAM_WAIT_TIME", "20", "s of SQS long polling (0-20)" },
    { "VIDSTREAM_RETRIES", "3", "transient retries inside a job" },
    { "VIDSTREAM_RETRY_BASE_MS", "500", "first backoff, doubled each retry" },
    { "VIDSTREAM_SHUTDOWN_GRACE", "20",
      "s a running job may finish after SIGTERM before it is released" },
    { "VIDSTREAM_LEASE_SECONDS", "120, at most 2/3 of the visibility "
      "timeout", "s a worker's claim on a processing video lasts without "
      "renewal (renewed every third of it while the job runs); an expired "
      "lease may be claimed again or taken back" },
    { "VIDSTREAM_RECONCILE_INTERVAL", "30",
      "s between reconciler passes (one worker of the fleet at a time); "
      "0 disables the reconciler" },
    { "VIDSTREAM_RESEND_AFTER", "10",
      "s after which a queued video whose job was never confirmed sent "
      "(enqueued_at NULL) is sent by the reconciler" },
    { "VIDSTREAM_REQUEUE_AFTER", "900",
      "s after which a queued video sent that long ago (enqueued_at) is "
      "sent again (a lost, deleted or dead-lettered message)" },
    { "VIDSTREAM_MAX_ATTEMPTS", "5",
      "claims of a video; when its lease expires after that many, the "
      "reconciler fails it (transcode_failed)" },
    { "VIDSTREAM_MAX_JOB_AGE", "86400",
      "s a video may stay queued/processing after it was queued; then the "
      "reconciler fails it (transcode_failed)" },
    { "VIDSTREAM_PENDING_LIFETIME", "604800",
      "s after which the reconciler removes a pending_upload video and "
      "its upload" },
    { "VIDSTREAM_WEBHOOK_URL", "(none)",
      "where video.ready / video.failed events are POSTed (Standard "
      "Webhooks); unset: they are kept, not delivered" },
    { "VIDSTREAM_WEBHOOK_SECRET", "(required with the URL)",
      "whsec_<base64 of 24-64 bytes>, the signing secret" },
    { "VIDSTREAM_WEBHOOK_TIMEOUT", "10", "s one delivery may take" },
    { "VIDSTREAM_WEBHOOK_MAX_AGE", "259200",
      "s an undelivered event is retried (backoff 5 s doubling to 1 h)" },
    { "VIDSTREAM_WEBHOOK_POLL", "5",
      "s between scans for due retries (new events wake it at once)" },
    { "VIDSTREAM_METRICS_ADDR", "(off)",
      "host:port serving Prometheus metrics at /metrics" },
    { "VIDSTREAM_MAX_RECEIVE", "the queue's RedrivePolicy maxReceiveCount",
      "receive count at which a transient failure is written to the "
      "video's error (the message goes to the DLQ); 0 never" },
    { "VIDSTREAM_HEARTBEAT_FILE", "/tmp/vidstream-worker.heartbeat",
      "touched on every turn of the receive loop and every second while "
      "a job runs (the container health check reads its age)" },
    { "VIDSTREAM_MAX_INPUT_BYTES", "5368709120", "input size limit" },
    { "VIDSTREAM_MAX_DURATION", "14400", "s, input duration limit" },
    { "VIDSTREAM_MAX_PIXELS", "35389440", "input width*height limit (8K)" },
    { "VIDSTREAM_MAX_HEIGHT", "1080",
      "output short-side cap (long side 16/9 of it), aspect kept" },
    { "VIDSTREAM_MAX_FPS", "60", "output frame rate cap" },
    { "VIDSTREAM_CRF", "23", "libx264 CRF" },
    { "VIDSTREAM_PRESET", "veryfast", "libx264 preset" },
    { "VIDSTREAM_AUDIO_BITRATE", "128000", "AAC bits/s" },
    { "VIDSTREAM_REMUX", "1", "0 always re-encodes" },
    { "VIDSTREAM_THREADS", "0", "codec threads per job, 0 = auto" },
    { "VIDSTREAM_HLS", "0", "1 also writes output/<sub>/<id>/hls/" },
    { "VIDSTREAM_HLS_TYPE", "fmp4", "fmp4 or ts segments" },
    { "VIDSTREAM_HLS_SEGMENT", "6",
      "s per segment; also the keyframe interval while HLS is on" },
    { "VIDSTREAM_HLS_LADDER", "720,480",
      "short sides of the HLS renditions below the top one (the source's "
      "own size within VIDSTREAM_MAX_HEIGHT; only those smaller are made, "
      "never an upscale), \"none\": the top one only" },
    { "VIDSTREAM_DELETE_SOURCE", "1", "delete the input after success" },
    { "VIDSTREAM_MULTIPART_THRESHOLD", "67108864",
      "bytes; larger outputs use multipart upload" },
    { "VIDSTREAM_PART_SIZE", "16777216",
      "bytes per part, at least 5 MiB (raised to fit 10000 parts)" },
    { "VIDSTREAM_TMPDIR", "$TMPDIR or /tmp", "where outputs are written" },
    { "VIDSTREAM_LOG_LEVEL", "info", "debug, info, warn, error" },
};


void
vs_config_usage(FILE *out)
{
    size_t  i;

    fprintf(out, "environment (default):\n");
    for (i = 0; i < sizeof(vs_config_docs) / sizeof(vs_config_docs[0]); i++) {
        fprintf(out, "  %-40s %s%s%s%s\n", vs_config_docs[i].name,
                vs_config_docs[i].what,
                vs_config_docs[i].def[0] ? " (" : "", vs_config_docs[i].def,
                vs_config_docs[i].def[0] ? ")" : "");
    }
}


static const char *
vs_env(const char *name)
{
    const char  *v = getenv(name);

    return v != NULL && v[0] != '\0' ? v : NULL;
}


/* An integer variable within [min, max], or def when unset. */
static int
vs_env_int64(const char *name, int64_t def, int64_t min, int64_t max,
    int64_t *out, char *err, size_t err_size)
{
    const char  *v = vs_env(name);
    char        *end;
    long long    n;

    if (v == NULL) {
        *out = def;
        return 0;
    }

    errno = 0;
    n = strtoll(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || n < min || n > max) {
        snprintf(err, err_size, "%s=\"%.40s\": expected an integer from "
                 "%lld to %lld", name, v, (long long) min, (long long) max);
        return -1;
    }

    *out = n;
    return 0;
}


static int
vs_env_int(const char *name, int def, int min, int max, int *out, char *err,
    size_t err_size)
{
    int64_t  v;

    if (vs_env_int64(name, def, min, max, &v, err, err_size) != 0) {
        return -1;
    }
    *out = (int) v;
    return 0;
}


/*
 * "720,480": short sides of the HLS ladder, sorted descending, without
 * duplicates, 0-terminated; "none" is an empty ladder.
 */
static int
vs_config_ladder(const char *v, int *ladder, char *err, size_t err_size)
{
    const char  *p;
    char        *end;
    long         h;
    int          n = 0, i, j, t;

    ladder[0] = 0;

    if (v == NULL) {
        v = "720,480";
    }
    if (strcmp(v, "none") == 0) {
        return 0;
    }

    for (p = v; ; p = end + 1) {
        errno = 0;
        h = strtol(p, &end, 10);
        if (errno != 0 || end == p || h < 16 || h > 4320
            || (*end != ',' && *end != '\0') || n == 7)
        {
            snprintf(err, err_size, "VIDSTREAM_HLS_LADDER=\"%.40s\": expected "
                     "\"none\" or up to 7 comma-separated heights from 16 to "
                     "4320", v);
            return -1;
        }

        for (i = 0; i < n && ladder[i] != h; i++) { /* void */ }
        if (i == n) {
            ladder[n++] = (int) (h & ~1L);
        }

        if (*end == '\0') {
            break;
        }
    }

    for (i = 0; i < n; i++) {
        for (j = i + 1; j < n; j++) {
            if (ladder[j] > ladder[i]) {
                t = ladder[i]; ladder[i] = ladder[j]; ladder[j] = t;
            }
        }
    }
    ladder[n] = 0;

    return 0;
}


int
vs_config_load(vs_config_t *cfg, int need_aws, char *err, size_t err_size)
{
    const char  *v;
    long         cores;
    int          level;
    int64_t      dur_s;
    int          lease_def;

    memset(cfg, 0, sizeof(*cfg));

    cfg->region = vs_aws_region_from_env();
    cfg->s3_endpoint = vs_aws_endpoint_url_from_env("S3");
    cfg->sqs_endpoint = vs_aws_endpoint_url_from_env("SQS");
    cfg->database_url = vs_env("VIDSTREAM_DATABASE_URL");
    cfg->queue_url = vs_env("VIDSTREAM_QUEUE_URL");
    cfg->bucket = vs_env("VIDSTREAM_BUCKET");
    cfg->redis_url = vs_env("VIDSTREAM_REDIS_URL");
    if (cfg->redis_url != NULL) {
        vs_redis_url_t   u;
        const char      *why;

        why = vs_redis_url_parse(cfg->redis_url, strlen(cfg->redis_url), &u);
        vs_redis_url_clear(&u);
        if (why != NULL) {
            snprintf(err, err_size, "VIDSTREAM_REDIS_URL %s (it is "
                     "redis://[[user]:password@]host[:port][/db])", why);
            return -1;
        }
    }

    if (need_aws) {
        if (cfg->database_url == NULL) {
            snprintf(err, err_size, "VIDSTREAM_DATABASE_URL is not set");
            return -1;
        }
        if (cfg->queue_url == NULL) {
            snprintf(err, err_size, "VIDSTREAM_QUEUE_URL is not set");
            return -1;
        }
        if (cfg->bucket == NULL) {
            snprintf(err, err_size, "VIDSTREAM_BUCKET is not set");
            return -1;
        }
    }

    cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 2) {
        cores = 2;
    }

    /*
     * The visibility timeout is read before the lease's default is known:
     * a lease shorter than the visibility timeout means that the redelivery
     * of a dead worker's message finds the lease run out and takes the
     * video over at once, instead of bouncing until the dead-letter queue.
     */
    if (vs_env_int("VIDSTREAM_VISIBILITY_TIMEOUT", 300, 2, 43200,
                   &cfg->visibility_timeout, err, err_size) != 0)
    {
        return -1;
    }
    lease_def = cfg->visibility_timeout * 2 / 3;
    if (lease_def > 120) {
        lease_def = 120;
    }
    if (lease_def < 2) {
        lease_def = 2;
    }

    if (vs_env_int("VIDSTREAM_CONCURRENCY", (int) (cores / 2), 1, 64,
                   &cfg->concurrency, err, err_size) != 0
        || vs_env_int("VIDSTREAM_VISIBILITY_TIMEOUT", 300, 2, 43200,
                      &cfg->visibility_timeout, err, err_size) != 0
        || vs_env_int("VIDSTREAM_HEARTBEAT", cfg->visibility_timeout / 3, 1,
                      cfg->visibility_timeout - 1, &cfg->heartbeat, err,
                      err_size) != 0
        || vs_env_int("VIDSTREAM_WAIT_TIME", 20, 0, 20, &cfg->wait_time, err,
                      err_size) != 0
        || vs_env_int("VIDSTREAM_RETRIES", 3, 0, 20, &cfg->retries, err,
                      err_size) != 0
        || vs_env_int("VIDSTREAM_RETRY_BASE_MS", 500, 1, 60000,
                      &cfg->retry_base_ms, err, err_size) != 0
        || vs_env_int("VIDSTREAM_SHUTDOWN_GRACE", 20, 0, 3600,
                      &cfg->shutdown_grace, err, err_size) != 0
        || vs_env_int("VIDSTREAM_LEASE_SECONDS", lease_def, 2, 86400,
                      &cfg->lease_seconds, err, err_size) != 0
        || vs_env_int("VIDSTREAM_RECONCILE_INTERVAL", 30, 0, 86400,
                      &cfg->reconcile_interval, err, err_size) != 0
        || vs_env_int("VIDSTREAM_RESEND_AFTER", 10, 1, 86400,
                      &cfg->resend_after, err, err_size) != 0
        || vs_env_int("VIDSTREAM_REQUEUE_AFTER", 900, 1, 86400 * 14,
                      &cfg->requeue_after, err, err_size) != 0
        || vs_env_int("VIDSTREAM_MAX_ATTEMPTS", 5, 1, 1000,
                      &cfg->max_attempts, err, err_size) != 0
        || vs_env_int("VIDSTREAM_MAX_JOB_AGE", 86400, 1, 86400 * 365,
                      &cfg->max_job_age, err, err_size) != 0
        || vs_env_int("VIDSTREAM_PENDING_LIFETIME", 7 * 86400, 1,
                      86400 * 365, &cfg->pending_lifetime, err,
                      err_size) != 0
        || vs_env_int("VIDSTREAM_WEBHOOK_TIMEOUT", 10, 1, 300,
                      &cfg->webhook_timeout, err, err_size) != 0
        || vs_env_int("VIDSTREAM_WEBHOOK_MAX_AGE", 3 * 86400, 1,
                      86400 * 30, &cfg->webhook_max_age, err, err_size) != 0
        || vs_env_int("VIDSTREAM_WEBHOOK_POLL", 5, 1, 3600,
                      &cfg->webhook_poll, err, err_size) != 0
        || vs_env_int64("VIDSTREAM_MAX_INPUT_BYTES", 5368709120LL, 1,
                        INT64_MAX, &cfg->max_input_bytes, err, err_size) != 0
        || vs_env_int64("VIDSTREAM_MAX_DURATION", 14400, 1, 86400 * 7,
                        &dur_s, err, err_size) != 0
        || vs_env_int64("VIDSTREAM_MAX_PIXELS", 7680LL * 4608, 1,
                        INT64_MAX, &cfg->max_pixels, err, err_size) != 0
        || vs_env_int("VIDSTREAM_MAX_HEIGHT", 1080, 16, 4320,
                      &cfg->max_height, err, err_size) != 0
        || vs_env_int("VIDSTREAM_MAX_FPS", 60, 1, 240, &cfg->max_fps, err,
                      err_size) != 0
        || vs_env_int("VIDSTREAM_CRF", 23, 0, 51, &cfg->crf, err,
                      err_size) != 0
        || vs_env_int("VIDSTREAM_AUDIO_BITRATE", 128000, 16000, 512000,
                      &cfg->audio_bitrate, err, err_size) != 0
        || vs_env_int("VIDSTREAM_REMUX", 1, 0, 1, &cfg->remux, err,
                      err_size) != 0
        || vs_env_int("VIDSTREAM_THREADS", 0, 0, 64, &cfg->threads, err,
                      err_size) != 0
        || vs_env_int("VIDSTREAM_HLS", 0, 0, 1, &cfg->hls, err,
                      err_size) != 0
        || vs_env_int("VIDSTREAM_HLS_SEGMENT", 6, 1, 60, &cfg->hls_segment,
                      err, err_size) != 0
        || vs_env_int("VIDSTREAM_DELETE_SOURCE", 1, 0, 1,
                      &cfg->delete_source, err, err_size) != 0
        || vs_env_int64("VIDSTREAM_MULTIPART_THRESHOLD", 64LL << 20, 5 << 20,
                        5LL << 30, &cfg->multipart_threshold, err,
                        err_size) != 0
        || vs_env_int64("VIDSTREAM_PART_SIZE", 16LL << 20, 5 << 20,
                        5LL << 30, &cfg->part_size, err, err_size) != 0
        || vs_env_int("VIDSTREAM_MAX_RECEIVE", -1, 0, 1000,
                      &cfg->max_receive, err, err_size) != 0)
    {
        return -1;
    }

    cfg->max_duration_ms = dur_s * 1000;
    if (cfg->heartbeat < 1) {
        cfg->heartbeat = 1;
    }

    cfg->webhook_url = vs_env("VIDSTREAM_WEBHOOK_URL");
    cfg->webhook_secret = vs_env("VIDSTREAM_WEBHOOK_SECRET");
    cfg->metrics_addr = vs_env("VIDSTREAM_METRICS_ADDR");

    cfg->heartbeat_file = vs_env("VIDSTREAM_HEARTBEAT_FILE");
    if (cfg->heartbeat_file == NULL) {
        cfg->heartbeat_file = "/tmp/vidstream-worker.heartbeat";
    }

    if (vs_config_ladder(vs_env("VIDSTREAM_HLS_LADDER"), cfg->hls_ladder,
                         err, err_size) != 0)
    {
        return -1;
    }

    cfg->preset = vs_env("VIDSTREAM_PRESET");
    if (cfg->preset == NULL) {
        cfg->preset = "veryfast";
    }

    v = vs_env("VIDSTREAM_HLS_TYPE");
    if (v == NULL || strcmp(v, "fmp4") == 0) {
        cfg->hls_fmp4 = 1;
    } else if (strcmp(v, "ts") == 0) {
        cfg->hls_fmp4 = 0;
    } else {
        snprintf(err, err_size, "VIDSTREAM_HLS_TYPE must be fmp4 or ts");
        return -1;
    }

    cfg->tmp_dir = vs_env("VIDSTREAM_TMPDIR");
    if (cfg->tmp_dir == NULL) {
        cfg->tmp_dir = vs_env("TMPDIR");
    }
    if (cfg->tmp_dir == NULL) {
        cfg->tmp_dir = "/tmp";
    }

    v = vs_env("VIDSTREAM_LOG_LEVEL");
    level = v != NULL ? vs_log_level_parse(v) : VS_LOG_INFO;
    if (level < 0) {
        snprintf(err, err_size, "VIDSTREAM_LOG_LEVEL must be debug, info, "
                 "warn or error");
        return -1;
    }
    cfg->log_level = level;

    return 0;
}
