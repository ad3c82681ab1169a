/*
 * The videos table (sql/001_videos.sql) as the worker sees it: guarded
 * transitions queued -> processing -> done | failed. One connection per
 * job thread (a PGconn is not shared between threads).
 *
 * The lease: a claim increments `attempts` and returns it, and sets
 * `lease_until` (sql/002_lifecycle.sql); every later write of the job is
 * guarded by `status = 'processing' AND attempts = n`, so a worker whose
 * job was taken over can never overwrite its successor. While the job runs
 * the consumer renews lease_until (vs_db_renew); a processing video whose
 * lease expired has lost its worker and may be claimed again, or taken
 * back by the reconciler (reconcile.c).
 */
#ifndef VS_DB_H
#define VS_DB_H

#include "vs_video.h"

#include <libpq-fe.h>
#include <stdint.h>

#define VS_DB_OK          0
#define VS_DB_TRANSIENT  -1     /* connection, server: retry */
#define VS_DB_NO_ROW     -2     /* guard did not match */

typedef enum {
    VS_CLAIM_TAKEN = 0,         /* ours: attempt set */
    VS_CLAIM_UNKNOWN,           /* no such video for this owner */
    VS_CLAIM_MISMATCH,          /* the message's key is not the video's */
    VS_CLAIM_BUSY,              /* processing by a live worker */
    VS_CLAIM_FINISHED,          /* done, failed or deleted already */
    VS_CLAIM_NOT_READY,         /* pending_upload and not an S3 event */
    VS_CLAIM_ERROR              /* transient */
} vs_claim_t;

/* (Re)connects when needed. 0 or VS_DB_TRANSIENT. */
int vs_db_connect(PGconn **conn, const char *url, char *err,
    size_t err_size);

/*
 * Runs a parameterised statement; *res is set on success (tuples or
 * command ok), the caller PQclear()s it. A broken connection is dropped so
 * that the next call reconnects. VS_DB_OK or VS_DB_TRANSIENT.
 */
int vs_db_exec(PGconn **conn, const char *url, const char *sql, int n,
    const char * const *params, PGresult **res, char *err, size_t err_size);

/*
 * Runs a parameterised command: VS_DB_OK when it changed a row,
 * VS_DB_NO_ROW when its guard matched none, VS_DB_TRANSIENT.
 */
int vs_db_update(PGconn **conn, const char *url, const char *sql, int n,
    const char * const *params, char *err, size_t err_size);

/*
 * Takes the video whose id, owner and input key all match the message:
 * queued -> processing (also pending_upload when from_s3_event: the upload
 * evidently finished), or processing -> processing when its lease has
 * expired (its worker died, or could not record the outcome). A row
 * claimed before leases existed (lease_until NULL) counts as expired when
 * untouched for lease_seconds. The new lease runs lease_seconds. An
 * expired lease after max_attempts claims is not taken over (BUSY): its
 * worker died that many times, and the reconciler fails the video.
 * *attempt is the lease; *status the row's status when not taken.
 */
vs_claim_t vs_db_claim(PGconn **conn, const char *url, const char *video_id,
    const char *owner, const char *key, int from_s3_event,
    int lease_seconds, int max_attempts, int *attempt, double *queue_wait,
    char *status, size_t status_size, char *err, size_t err_size);

/* Progress 0..99 of the lease holder. */
int vs_db_progress(PGconn **conn, const char *url, const char *video_id,
    int attempt, int percent, char *err, size_t err_size);

/*
 * Extends the lease to now + lease_seconds. VS_DB_NO_ROW: the lease is
 * lost (taken over, taken back, ended by the reconciler, or deleted).
 */
int vs_db_renew(PGconn **conn, const char *url, const char *video_id,
    int attempt, int lease_seconds, char *err, size_t err_size);

int vs_db_done(PGconn **conn, const char *url, const char *video_id,
    int attempt, int64_t duration_ms, int width, int height, int hls,
    char *err, size_t err_size);

/*
 * processing (attempt) -> failed with error_code (VS_ERR_NONE is recorded
 * as transcode_failed: every failed video has a code) and error, the
 * sentence for a human.
 */
int vs_db_fail(PGconn **conn, const char *url, const char *video_id,
    int attempt, vs_error_code_t code, const char *error, char *err,
    size_t err_size);

/*
 * processing (attempt) -> queued: the job is handed back to the queue;
 * error (NULL: none) goes in the error column.
 */
int vs_db_release(PGconn **conn, const char *url, const char *video_id,
    int attempt, const char *error, char *err, size_t err_size);

/*
 * The video as the API shows it (CONTRACT.md section 3), JSON in *json
 * (malloc'd). VS_DB_NO_ROW when it does not exist.
 */
int vs_db_video_json(PGconn **conn, const char *url, const char *video_id,
    char **json, char *err, size_t err_size);

void vs_db_close(PGconn **conn);

#endif
