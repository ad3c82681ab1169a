/*
 * The job: CONTRACT.md sections 4-6.
 *
 * A message changes a video only when its video_id, owner and key all
 * match the row (the claim is guarded on all three); a malformed message,
 * an unknown video or a mismatch change nothing and the message is
 * deleted.
 *
 * Failures are sorted once, where they happen: permanent ones (an
 * undecodable or over-limit input, a missing upload) mark the video failed
 * with an error_code; transient ones (S3, SQS, PostgreSQL, the network) are
 * retried here with exponential backoff VIDSTREAM_RETRIES times, then the
 * video goes back to 'queued' and the message is left to come back (and,
 * after the queue's maxReceiveCount, to go to the dead-letter queue).
 *
 * A message is deleted only once its outcome is committed: when even the
 * failure cannot be recorded, the video is handed back (or, if that cannot
 * be written either, its lease simply runs out) and the message is left to
 * come back; the redelivery claims the video again and runs the job, whose
 * outcome is recorded then. The lease is never renewed past the job.
 */
#include "job.h"
#include "metrics.h"

#include "db.h"
#include "log.h"
#include "s3.h"
#include "transcode.h"
#include "vs_keys.h"
#include "vs_msg.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

/* presigned input URLs: long enough for the longest transcode */
#define VS_JOB_INPUT_URL_TTL  (6 * 3600)


/* Shutdown: the grace is over. */
static int
vs_job_aborted(vs_job_ctx_t *ctx)
{
    return ctx->abort != NULL && *ctx->abort;
}


/*
 * The lease thread found our lease gone (the reconciler took the video
 * back or ended it, or it was deleted): whatever we produce can no longer
 * be committed, so the job stops instead of burning the CPU.
 */
static int
vs_job_lease_lost(vs_job_ctx_t *ctx)
{
    int  lost;

    if (ctx->lease == NULL) {
        return 0;
    }

    pthread_mutex_lock(&ctx->lease->lock);
    lost = ctx->lease->lost;
    pthread_mutex_unlock(&ctx->lease->lock);
    return lost;
}


/*
 * Sleeps before retry number `try` (0-based): base * 2^try, +-25%.
 * Returns -1 without sleeping it all when the job is aborted.
 */
static int
vs_job_backoff(vs_job_ctx_t *ctx, int try)
{
    int64_t  ms = (int64_t) ctx->cfg->retry_base_ms << (try < 10 ? try : 10);
    int64_t  slept;

    ms = ms * 3 / 4 + (rand() % (ms / 2 + 1));

    for (slept = 0; slept < ms; slept += 50) {
        if (vs_job_aborted(ctx) || vs_job_lease_lost(ctx)) {
            return -1;
        }
        usleep(50 * 1000);
    }
    return 0;
}


static double
vs_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}


/* The video changed: tell Redis subscribers (when configured). */
static void
vs_job_event(vs_job_ctx_t *ctx)
{
    vs_events_publish(ctx->events, &ctx->db, ctx->cfg->database_url,
                      ctx->video_id);
}


static void
vs_job_progress(void *opaque, int percent)
{
    vs_job_ctx_t  *ctx = opaque;
    time_t         now = time(NULL);
    char           err[256];

    /* at most once a second */
    if (now == ctx->last_progress) {
        return;
    }
    ctx->last_progress = now;

    switch (vs_db_progress(&ctx->db, ctx->cfg->database_url, ctx->video_id,
                           ctx->attempt, percent, err, sizeof(err)))
    {
    case VS_DB_OK:
        vs_job_event(ctx);
        break;
    case VS_DB_TRANSIENT:
        vs_log(VS_LOG_WARN, ctx->video_id, "progress", "%s", err);
        break;
    }
}


static int
vs_job_interrupt(void *opaque)
{
    return vs_job_aborted(opaque) || vs_job_lease_lost(opaque);
}


static int
vs_rm_entry(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
    return remove(path);
}


/* The job holds the lease: the consumer's lease thread renews it. */
static void
vs_job_lease_hold(vs_job_ctx_t *ctx, const char *video_id, int attempt)
{
    if (ctx->lease == NULL) {
        return;
    }

    pthread_mutex_lock(&ctx->lease->lock);
    snprintf(ctx->lease->video_id, sizeof(ctx->lease->video_id), "%s",
             video_id);
    ctx->lease->attempt = attempt;
    ctx->lease->renewed = time(NULL);
    ctx->lease->lost = 0;
    pthread_mutex_unlock(&ctx->lease->lock);
}


/*
 * The job is over (whatever its outcome): nobody renews the lease any
 * more, so a video left processing (an outcome that could not be written)
 * is claimable again once it runs out.
 */
static void
vs_job_lease_drop(vs_job_ctx_t *ctx)
{
    if (ctx->lease == NULL) {
        return;
    }

    pthread_mutex_lock(&ctx->lease->lock);
    ctx->lease->video_id[0] = '\0';
    ctx->lease->attempt = 0;
    pthread_mutex_unlock(&ctx->lease->lock);
}


static void vs_job_release(vs_job_ctx_t *ctx, const char *error);


/*
 * Marks the video failed (permanent) with retries and logs it with its
 * code. Returns what to do with the message: DELETE once the failure is
 * committed (or the lease was lost: the video is someone else's now);
 * LEAVE when it could not be written, after handing the video back to
 * 'queued' when that much can be written, so that the redelivery runs the
 * job again and records its outcome (else the lease runs out and the
 * redelivery, or the reconciler, takes it back).
 */
static vs_job_outcome_t
vs_job_fail(vs_job_ctx_t *ctx, int attempt, const char *stage,
    vs_error_code_t code, const char *reason)
{
    const char  *name;
    char         err[256];
    int          try, rc;

    name = vs_error_code_name(code);
    if (name == NULL) {
        code = VS_ERR_TRANSCODE_FAILED;
        name = vs_error_code_name(code);
    }

    for (try = 0; ; try++) {
        rc = vs_db_fail(&ctx->db, ctx->cfg->database_url, ctx->video_id,
                        attempt, code, reason, err, sizeof(err));
        if (rc != VS_DB_TRANSIENT || try >= ctx->cfg->retries
            || vs_job_backoff(ctx, try) != 0)
        {
            break;
        }
        vs_log(VS_LOG_WARN, ctx->video_id, stage, "recording the failure "
               "(%s), retrying: %s", name, err);
    }

    switch (rc) {
    case VS_DB_OK:
        ctx->failed_code = code;
        vs_log_fields(VS_LOG_ERROR, ctx->video_id, stage,
                      json_pack("{s:s, s:i}", "error_code", name,
                                "attempt", attempt),
                      "failed (%s): %s", name, reason);
        vs_job_event(ctx);
        return VS_JOB_DELETE;

    case VS_DB_NO_ROW:
        vs_log(VS_LOG_WARN, ctx->video_id, stage, "failed (%s): %s; but the "
               "lease (attempt %d) was lost meanwhile: not recorded, the "
               "video's new owner decides", name, reason, attempt);
        return VS_JOB_DELETE;

    default:
        vs_log_fields(VS_LOG_ERROR, ctx->video_id, stage,
                      json_pack("{s:s, s:i}", "error_code", name,
                                "attempt", attempt),
                      "failed (%s): %s; cannot record it (%s): video handed "
                      "back, message left to come back", name, reason, err);
        vs_job_release(ctx, NULL);
        return VS_JOB_LEAVE;
    }
}


/*
 * Hands the video back to 'queued' after a transient failure or abort.
 * error (may be NULL) is recorded in the row: the last delivery of a
 * message that now goes to the dead-letter queue says why.
 */
static void
vs_job_release(vs_job_ctx_t *ctx, const char *error)
{
    char  err[256];

    switch (vs_db_release(&ctx->db, ctx->cfg->database_url, ctx->video_id,
                          ctx->attempt, error, err, sizeof(err)))
    {
    case VS_DB_OK:
        vs_job_event(ctx);
        break;
    case VS_DB_TRANSIENT:
        vs_log(VS_LOG_WARN, ctx->video_id, "release", "%s", err);
        break;
    }
}


/* Uploads path to key with retries; 0, or the vs_s3 error. */
static int
vs_job_upload(vs_job_ctx_t *ctx, const char *path, const char *key,
    const char *content_type, char *err, size_t err_size)
{
    int  try, rc;

    for (try = 0; ; try++) {
        rc = vs_s3_upload(ctx->aws, ctx->cfg->bucket, key, path, content_type,
                          ctx->cfg->multipart_threshold, ctx->cfg->part_size,
                          err, err_size);
        if (rc != VS_S3_TRANSIENT || try >= ctx->cfg->retries
            || vs_job_backoff(ctx, try) != 0)
        {
            return rc;
        }
        vs_log(VS_LOG_WARN, ctx->video_id, "upload", "retrying: %s", err);
    }
}


/*
 * Uploads the HLS tree under dir to prefix/..., one level of rendition
 * directories deep; the master playlist (index.m3u8 at the top) goes last,
 * so no reader ever sees a master whose renditions are not there yet.
 */
static int
vs_job_upload_hls(vs_job_ctx_t *ctx, const char *dir, const char *prefix,
    int depth, char *err, size_t err_size)
{
    DIR            *d;
    struct dirent  *e;
    struct stat     st;
    char            path[4096], key[2048];
    const char     *type;
    size_t          len;
    int             rc = 0, master = 0;

    d = opendir(dir);
    if (d == NULL) {
        snprintf(err, err_size, "opendir %.200s: %s", dir, strerror(errno));
        return VS_S3_TRANSIENT;
    }

    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name)
            >= (int) sizeof(path)
            || snprintf(key, sizeof(key), "%s/%s", prefix, e->d_name)
               >= (int) sizeof(key)
            || lstat(path, &st) != 0)
        {
            snprintf(err, err_size, "HLS file %.200s: name too long or "
                     "unreadable", e->d_name);
            rc = VS_S3_TRANSIENT;
            break;
        }

        if (S_ISDIR(st.st_mode)) {
            if (depth == 0) {
                rc = vs_job_upload_hls(ctx, path, key, depth + 1, err,
                                       err_size);
            }
            continue;
        }
        if (!S_ISREG(st.st_mode)) {
            continue;
        }
        if (depth == 0 && strcmp(e->d_name, VS_KEYS_HLS_MASTER_NAME) == 0) {
            master = 1;
            continue;
        }

        len = strlen(e->d_name);
        type = len > 5 && strcmp(e->d_name + len - 5, ".m3u8") == 0
               ? "application/vnd.apple.mpegurl"
               : len > 3 && strcmp(e->d_name + len - 3, ".ts") == 0
               ? "video/mp2t" : "video/mp4";
        rc = vs_job_upload(ctx, path, key, type, err, err_size);
    }

    closedir(d);

    if (rc == 0 && master) {
        snprintf(path, sizeof(path), "%s/" VS_KEYS_HLS_MASTER_NAME, dir);
        snprintf(key, sizeof(key), "%s/" VS_KEYS_HLS_MASTER_NAME, prefix);
        rc = vs_job_upload(ctx, path, key, "application/vnd.apple.mpegurl",
                           err, err_size);
    }

    return rc;
}


/*
 * One job's state across its stages (vs_job_run). Each stage returns
 * VS_STAGE_NEXT to go on; VS_STAGE_DONE with run->outcome set when the job
 * ends there (a claim that finds no work returns before anything is
 * held: VS_STAGE_NO_WORK); VS_STAGE_TRANSIENT with run->err set for a
 * transient failure, which hands the video back.
 */
typedef enum {
    VS_STAGE_NEXT = 0,
    VS_STAGE_DONE,
    VS_STAGE_NO_WORK,
    VS_STAGE_TRANSIENT
} vs_stage_t;

typedef struct {
    vs_job_ctx_t        *ctx;
    const vs_msg_job_t      *job;
    int                  from_s3_event;

    vs_job_outcome_t     outcome;
    int                  attempt;
    int64_t              size;          /* of the input */
    char                *url;           /* the presigned input GET */
    char                 dir[4096];     /* the work directory */
    int                  have_dir;
    char                 mp4[4200];
    char                 jpg[4200];
    char                 hls[4200];
    vs_tc_result_t       res;
    int                  done;          /* committed done */
    char                 err[512];

    double               t0;
    double               t_claim;
    double               t_tc;
    double               t_up;
    vs_metrics_job_t     metrics;
} vs_job_run_t;


/* 1. claim: the video is ours under a lease, or there is no work. */
static vs_stage_t
vs_job_claim(vs_job_run_t *run)
{
    vs_job_ctx_t        *ctx = run->ctx;
    const vs_msg_job_t      *job = run->job;
    const vs_config_t   *cfg = ctx->cfg;
    vs_claim_t           claim;
    json_t              *fields;
    char                 status[32];
    int                  try;

    run->outcome = VS_JOB_DELETE;

    if (strcmp(job->bucket, cfg->bucket) != 0) {
        vs_log(VS_LOG_ERROR, job->video_id, "claim", "message names bucket "
               "\"%.64s\", not ours: ignored", job->bucket);
        return VS_STAGE_NO_WORK;
    }

    for (try = 0; ; try++) {
        claim = vs_db_claim(&ctx->db, cfg->database_url, job->video_id,
                            job->owner, job->key, run->from_s3_event,
                            cfg->lease_seconds, cfg->max_attempts,
                            &run->attempt,
                            &run->metrics.queue_wait_seconds, status,
                            sizeof(status), run->err, sizeof(run->err));
        if (claim != VS_CLAIM_ERROR || try >= cfg->retries
            || vs_job_backoff(ctx, try) != 0)
        {
            break;
        }
        vs_log(VS_LOG_WARN, job->video_id, "claim", "retrying: %s",
               run->err);
    }

    switch (claim) {
    case VS_CLAIM_TAKEN:
        break;
    case VS_CLAIM_UNKNOWN:
        vs_log(VS_LOG_ERROR, job->video_id, "claim",
               "unknown video (no such id for this owner): message deleted, "
               "no video changed");
        return VS_STAGE_NO_WORK;
    case VS_CLAIM_MISMATCH:
        vs_log(VS_LOG_ERROR, job->video_id, "claim",
               "message key does not match the video: message deleted, no "
               "video changed");
        return VS_STAGE_NO_WORK;
    case VS_CLAIM_BUSY:
        if (ctx->receive_count > 1) {
            /*
             * A redelivery: its worker may have died with its lease not
             * run out yet. Let it come back; it is taken over then (or the
             * reconciler takes the video back).
             */
            vs_log(VS_LOG_WARN, job->video_id, "claim", "video is "
                   "processing under a live lease (or its attempts are "
                   "used up): message left to come back");
            run->outcome = VS_JOB_LEAVE;
            return VS_STAGE_NO_WORK;
        }
        /* fall through */
    case VS_CLAIM_FINISHED:
        vs_log(VS_LOG_INFO, job->video_id, "claim", "video is already %s: "
               "duplicate message, no work", status);
        return VS_STAGE_NO_WORK;
    case VS_CLAIM_NOT_READY:
        vs_log(VS_LOG_WARN, job->video_id, "claim",
               "video is still pending_upload: message left to come back");
        run->outcome = VS_JOB_LEAVE;
        return VS_STAGE_NO_WORK;
    default:
        vs_log(VS_LOG_ERROR, job->video_id, "claim", "%s", run->err);
        run->outcome = VS_JOB_LEAVE;
        return VS_STAGE_NO_WORK;
    }

    ctx->attempt = run->attempt;
    ctx->last_progress = 0;
    vs_job_lease_hold(ctx, job->video_id, run->attempt);
    run->t_claim = vs_now();
    vs_metrics_jobs_running(1);
    vs_job_event(ctx);
    fields = json_pack("{s:i, s:i}", "attempt", run->attempt,
                       "receive_count", ctx->receive_count);
    vs_log_fields(VS_LOG_INFO, job->video_id, "claim", fields,
                  "processing %s", job->key);

    return VS_STAGE_NEXT;
}


/* 2. probe: the input exists, is not empty, not too large. */
static vs_stage_t
vs_job_probe(vs_job_run_t *run)
{
    vs_job_ctx_t        *ctx = run->ctx;
    const vs_msg_job_t      *job = run->job;
    const vs_config_t   *cfg = ctx->cfg;
    int                  try, rc;

    for (try = 0; ; try++) {
        rc = vs_s3_head(ctx->aws, job->bucket, job->key, &run->size,
                        run->err, sizeof(run->err));
        if (rc != VS_S3_TRANSIENT || try >= cfg->retries
            || vs_job_backoff(ctx, try) != 0)
        {
            break;
        }
    }

    if (rc == VS_S3_NOT_FOUND) {
        run->outcome = vs_job_fail(ctx, run->attempt, "input",
                                   VS_ERR_INPUT_MISSING,
                                   "the uploaded file was not found");
        return VS_STAGE_DONE;
    }
    if (rc != 0) {
        return VS_STAGE_TRANSIENT;
    }
    if (run->size == 0) {
        /* an object, but nothing in it that could ever decode */
        run->outcome = vs_job_fail(ctx, run->attempt, "input",
                                   VS_ERR_INPUT_CORRUPT,
                                   "the uploaded file is empty");
        return VS_STAGE_DONE;
    }
    if (run->size > cfg->max_input_bytes) {
        snprintf(run->err, sizeof(run->err), "the uploaded file is %lld "
                 "bytes, over the limit of %lld", (long long) run->size,
                 (long long) cfg->max_input_bytes);
        run->outcome = vs_job_fail(ctx, run->attempt, "input",
                                   VS_ERR_INPUT_TOO_LARGE, run->err);
        return VS_STAGE_DONE;
    }

    return VS_STAGE_NEXT;
}


/*
 * 3. fetch: where the input is read from and the outputs written. The
 * input is not copied: the transcoder reads it over HTTP through a
 * presigned GET (signed afresh for every try), into a work directory.
 */
static vs_stage_t
vs_job_fetch(vs_job_run_t *run)
{
    const vs_config_t  *cfg = run->ctx->cfg;

    run->url = malloc(VS_SIGV4_URL_MAX);
    if (run->url == NULL) {
        snprintf(run->err, sizeof(run->err), "out of memory");
        return VS_STAGE_TRANSIENT;
    }

    snprintf(run->dir, sizeof(run->dir), "%s/vidstream-XXXXXX",
             cfg->tmp_dir);
    if (mkdtemp(run->dir) == NULL) {
        snprintf(run->err, sizeof(run->err), "mkdtemp %.200s: %s", run->dir,
                 strerror(errno));
        return VS_STAGE_TRANSIENT;
    }
    run->have_dir = 1;
    snprintf(run->mp4, sizeof(run->mp4), "%s/video.mp4", run->dir);
    snprintf(run->jpg, sizeof(run->jpg), "%s/thumbnail.jpg", run->dir);
    snprintf(run->hls, sizeof(run->hls), "%s/hls", run->dir);

    if (cfg->hls && mkdir(run->hls, 0700) != 0) {
        snprintf(run->err, sizeof(run->err), "mkdir: %s", strerror(errno));
        return VS_STAGE_TRANSIENT;
    }

    return VS_STAGE_NEXT;
}


/* 4. transcode: every output from one decode of the input (transcode.h). */
static vs_stage_t
vs_job_transcode(vs_job_run_t *run)
{
    vs_job_ctx_t        *ctx = run->ctx;
    const vs_msg_job_t      *job = run->job;
    const vs_config_t   *cfg = ctx->cfg;
    vs_tc_opts_t         opts;
    vs_tc_outputs_t      outputs;
    vs_tc_status_t       tcs;
    json_t              *fields;
    int                  try, rc;

    vs_tc_opts_init(&opts);
    opts.max_height = cfg->max_height;
    opts.max_fps = cfg->max_fps;
    opts.max_duration_ms = cfg->max_duration_ms;
    opts.max_pixels = cfg->max_pixels;
    opts.crf = cfg->crf;
    opts.preset = cfg->preset;
    opts.audio_bitrate = cfg->audio_bitrate;
    opts.allow_remux = cfg->remux;
    opts.threads = cfg->threads;
    opts.keyframe_ms = cfg->hls ? cfg->hls_segment * 1000 : 0;
    opts.progress = vs_job_progress;
    opts.interrupt = vs_job_interrupt;
    opts.opaque = ctx;

    memset(&outputs, 0, sizeof(outputs));
    outputs.mp4_path = run->mp4;
    outputs.poster_path = run->jpg;
    if (cfg->hls) {
        outputs.hls_dir = run->hls;
        outputs.hls_fmp4 = cfg->hls_fmp4;
        outputs.hls_segment = cfg->hls_segment;
        outputs.hls_ladder = cfg->hls_ladder;
    }

    for (try = 0; ; try++) {
        /* a fresh URL each time: the last one may have expired */
        rc = vs_s3_presign_get(ctx->aws, job->bucket, job->key,
                               VS_JOB_INPUT_URL_TTL, run->url,
                               VS_SIGV4_URL_MAX, run->err,
                               sizeof(run->err));
        if (rc != 0) {
            return VS_STAGE_TRANSIENT;
        }

        memset(&run->res, 0, sizeof(run->res));
        tcs = vs_transcode(run->url, &outputs, &opts, &run->res);
        if (tcs != VS_TC_TRANSIENT || try >= cfg->retries
            || vs_job_backoff(ctx, try) != 0)
        {
            break;
        }
        vs_log(VS_LOG_WARN, job->video_id, "transcode", "retrying: %s",
               run->res.error);
    }

    if (tcs == VS_TC_PERMANENT) {
        /* the transcoder knows why (input_corrupt…); NONE: our side */
        run->outcome = vs_job_fail(ctx, run->attempt, "transcode",
                                   run->res.code != VS_ERR_NONE
                                   ? run->res.code : VS_ERR_TRANSCODE_FAILED,
                                   run->res.error);
        return VS_STAGE_DONE;
    }
    if (tcs != VS_TC_OK) {
        snprintf(run->err, sizeof(run->err), "%s", run->res.error);
        return VS_STAGE_TRANSIENT;
    }

    /* one decode feeds every output: the count shows it */
    fields = json_pack("{s:I, s:i}", "decoded_frames",
                       (json_int_t) run->res.decoded_frames, "renditions",
                       run->res.renditions);
    vs_log_fields(VS_LOG_INFO, job->video_id, "transcode", fields,
                  "%lld source frame(s) decoded, %d HLS rendition(s)",
                  (long long) run->res.decoded_frames, run->res.renditions);

    run->t_tc = vs_now();
    return VS_STAGE_NEXT;
}


/*
 * output/<sub>/<id>/<file> (lib/vs_keys) into key[VS_KEYS_MAX + 1]; a
 * video whose keys S3 cannot take (longer than 1024 bytes) fails for good.
 */
static int
vs_job_output_key(const vs_msg_job_t *job, const char *file, char *key,
    char *err, size_t err_size)
{
    if (vs_keys_output(key, VS_KEYS_MAX + 1, job->owner, strlen(job->owner),
                       job->video_id, file, strlen(file))
        < 0)
    {
        snprintf(err, err_size, "no S3 key for output/<sub>/<id>/%s: the "
                 "owner makes it longer than %d bytes", file, VS_KEYS_MAX);
        return VS_S3_PERMANENT;
    }

    return 0;
}


/* 5. store: the outputs under output/<sub>/<id>/ (section 4). */
static vs_stage_t
vs_job_store(vs_job_run_t *run)
{
    vs_job_ctx_t        *ctx = run->ctx;
    const vs_msg_job_t      *job = run->job;
    char                 key[VS_KEYS_MAX + 1];
    int                  rc;

    rc = vs_job_output_key(job, VS_KEYS_MP4, key, run->err,
                           sizeof(run->err));
    if (rc == 0) {
        rc = vs_job_upload(ctx, run->mp4, key, "video/mp4", run->err,
                           sizeof(run->err));
    }
    if (rc == 0) {
        rc = vs_job_output_key(job, VS_KEYS_THUMBNAIL, key, run->err,
                               sizeof(run->err));
    }
    if (rc == 0) {
        rc = vs_job_upload(ctx, run->jpg, key, "image/jpeg", run->err,
                           sizeof(run->err));
    }
    if (rc == 0 && ctx->cfg->hls) {
        rc = vs_job_output_key(job, VS_KEYS_HLS_DIR, key, run->err,
                               sizeof(run->err));
        if (rc == 0) {
            rc = vs_job_upload_hls(ctx, run->hls, key, 0, run->err,
                                   sizeof(run->err));
        }
    }
    if (rc == VS_S3_PERMANENT) {
        /* S3 refused the outputs for good (a 4xx other than throttling) */
        run->outcome = vs_job_fail(ctx, run->attempt, "upload",
                                   VS_ERR_STORAGE_FAILED, run->err);
        return VS_STAGE_DONE;
    }
    if (rc != 0) {
        return VS_STAGE_TRANSIENT;
    }

    run->t_up = vs_now();
    return VS_STAGE_NEXT;
}


/* 6. commit: done, guarded by our lease; then the source may go. */
static vs_stage_t
vs_job_commit(vs_job_run_t *run)
{
    vs_job_ctx_t        *ctx = run->ctx;
    const vs_msg_job_t      *job = run->job;
    const vs_config_t   *cfg = ctx->cfg;
    const vs_tc_result_t *res = &run->res;
    json_t              *fields;
    int                  try, rc;

    for (try = 0; ; try++) {
        rc = vs_db_done(&ctx->db, cfg->database_url, job->video_id,
                        run->attempt, res->duration_ms, res->width,
                        res->height, cfg->hls, run->err, sizeof(run->err));
        if (rc != VS_DB_TRANSIENT || try >= cfg->retries
            || vs_job_backoff(ctx, try) != 0)
        {
            break;
        }
    }
    if (rc == VS_DB_TRANSIENT) {
        return VS_STAGE_TRANSIENT;
    }
    if (rc == VS_DB_NO_ROW) {
        /* taken over (we were presumed dead) or deleted meanwhile */
        vs_log(VS_LOG_WARN, job->video_id, "commit", "lease of attempt %d "
               "lost: not committed, message deleted (the video's new "
               "owner or the reconciler decides)", run->attempt);
        run->outcome = VS_JOB_DELETE;
        return VS_STAGE_DONE;
    }

    fields = json_pack("{s:I, s:i, s:i, s:b, s:b, s:I, s:f, s:f, s:f, s:f}",
                       "duration_ms", (json_int_t) res->duration_ms,
                       "width", res->width, "height", res->height,
                       "remuxed", res->remuxed, "audio", res->has_audio,
                       "input_bytes", (json_int_t) run->size,
                       "claim_s", run->t_claim - run->t0,
                       "transcode_s", run->t_tc - run->t_claim,
                       "upload_s", run->t_up - run->t_tc,
                       "total_s", vs_now() - run->t0);
    vs_log_fields(VS_LOG_INFO, job->video_id, "done", fields, "done");
    vs_job_event(ctx);
    run->done = 1;
    run->outcome = VS_JOB_DELETE;
    run->metrics.media_seconds = res->duration_ms / 1000.0;

    /* the source is no longer needed (a failure here is only logged) */
    if (cfg->delete_source
        && vs_s3_delete(ctx->aws, job->bucket, job->key, run->err,
                        sizeof(run->err)) != 0)
    {
        vs_log(VS_LOG_WARN, job->video_id, "cleanup",
               "cannot delete the source: %s", run->err);
    }

    return VS_STAGE_DONE;
}


/* A transient failure: what becomes of the video and of the message. */
static vs_job_outcome_t
vs_job_transient(vs_job_run_t *run)
{
    vs_job_ctx_t  *ctx = run->ctx;
    const char    *video_id = run->job->video_id;
    char           reason[768];

    if (vs_job_lease_lost(ctx)) {
        /*
         * Not a failure of ours to report: the video's new owner (a
         * worker with the resent job) or the reconciler decides it.
         */
        vs_log(VS_LOG_WARN, video_id, "lease", "lease of attempt %d "
               "lost: job abandoned, message deleted", run->attempt);
        return VS_JOB_DELETE;
    }

    if (vs_job_aborted(ctx)) {
        vs_log(VS_LOG_WARN, video_id, "shutdown",
               "job interrupted by shutdown: released to the queue");
        vs_job_release(ctx, NULL);
        return VS_JOB_RELEASE;
    }

    if (ctx->max_receive > 0 && ctx->receive_count >= ctx->max_receive) {
        /*
         * The queue's last delivery: the message goes to the dead-letter
         * queue next. The row stays queued (a DLQ redrive runs it again)
         * but says why it is stuck.
         */
        snprintf(reason, sizeof(reason), "transient failure on delivery "
                 "%d of %d, the job message goes to the dead-letter queue "
                 "(the video stays queued until it is redriven): %s",
                 ctx->receive_count, ctx->max_receive, run->err);
        vs_log(VS_LOG_ERROR, video_id, "retry", "%s", reason);
        vs_job_release(ctx, reason);
        return VS_JOB_LEAVE;
    }

    vs_log(VS_LOG_ERROR, video_id, "retry", "transient failure after %d "
           "retries, message left to come back: %s", ctx->cfg->retries,
           run->err);
    vs_job_release(ctx, NULL);
    return VS_JOB_LEAVE;
}


/* The end of a claimed job: lease, metrics (one EMF record), files. */
static void
vs_job_finish(vs_job_run_t *run)
{
    vs_job_ctx_t      *ctx = run->ctx;
    vs_metrics_job_t  *m = &run->metrics;

    vs_job_lease_drop(ctx);

    m->outcome = run->done ? VS_METRICS_DONE
                 : ctx->failed_code != VS_ERR_NONE ? VS_METRICS_FAILED
                 : VS_METRICS_RETRY;
    m->code = ctx->failed_code;
    m->input_bytes = run->size;
    m->wall_seconds = vs_now() - run->t0;
    m->stage_seconds[VS_METRICS_FETCH] = run->t_claim - run->t0;
    m->stage_seconds[VS_METRICS_TRANSCODE] =
        run->t_tc > 0 ? run->t_tc - run->t_claim
                      : m->wall_seconds - (run->t_claim - run->t0);
    m->stage_seconds[VS_METRICS_STORE] =
        run->t_tc > 0 ? vs_now() - run->t_tc : 0;
    vs_metrics_job(m);
    vs_metrics_jobs_running(-1);

    if (run->have_dir
        && nftw(run->dir, vs_rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
    {
        vs_log(VS_LOG_WARN, run->job->video_id, "cleanup",
               "cannot remove %s: %s", run->dir, strerror(errno));
    }
    free(run->url);
}


/*
 * One job, as named stages: claim, probe, fetch, transcode, store,
 * commit. A stage ends the job (its outcome set), fails transiently (the
 * video handed back), or lets the next one run.
 */
static vs_job_outcome_t
vs_job_run(vs_job_ctx_t *ctx, const vs_msg_job_t *job, int from_s3_event)
{
    static vs_stage_t  (*const stages[])(vs_job_run_t *) = {
        vs_job_probe, vs_job_fetch, vs_job_transcode, vs_job_store,
        vs_job_commit
    };
    vs_job_run_t       job_run, *run = &job_run;
    vs_stage_t         st;
    size_t             i;

    memset(run, 0, sizeof(*run));
    run->ctx = ctx;
    run->job = job;
    run->from_s3_event = from_s3_event;
    run->attempt = -1;
    run->t0 = vs_now();
    run->metrics.video_id = job->video_id;
    ctx->video_id = job->video_id;
    ctx->failed_code = VS_ERR_NONE;

    st = vs_job_claim(run);
    if (st == VS_STAGE_NO_WORK) {
        return run->outcome;
    }

    for (i = 0; i < sizeof(stages) / sizeof(stages[0]); i++) {
        st = stages[i](run);
        if (st != VS_STAGE_NEXT) {
            break;
        }
    }

    if (st == VS_STAGE_TRANSIENT) {
        run->outcome = vs_job_transient(run);
    }

    vs_job_finish(run);
    return run->outcome;
}


vs_job_outcome_t
vs_job_handle(vs_job_ctx_t *ctx, const char *body, size_t len)
{
    vs_msg_t          msg;
    vs_msg_kind_t     kind;
    vs_job_outcome_t  outcome = VS_JOB_DELETE, o;
    size_t            i;

    kind = vs_msg_parse(body, len, &msg);

    switch (kind) {
    case VS_MSG_TEST_EVENT:
    case VS_MSG_IGNORED:
        vs_log(VS_LOG_INFO, NULL, "message", "%s: deleted", msg.reason);
        break;

    case VS_MSG_INVALID:
        /*
         * Whatever video it seems to name, a malformed message cannot
         * prove it is about it (CONTRACT.md section 6): it changes none.
         */
        vs_log(VS_LOG_ERROR, NULL, "message", "malformed message %s: %s: "
               "deleted, no video changed", ctx->message_id, msg.reason);
        break;

    case VS_MSG_JOBS:
        for (i = 0; i < msg.njobs; i++) {
            o = vs_job_run(ctx, &msg.jobs[i], msg.from_s3_event);
            if (o > outcome) {
                outcome = o;
            }
        }
        break;
    }

    ctx->video_id = NULL;
    vs_msg_free(&msg);
    return outcome;
}
