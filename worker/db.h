/*
 * The videos table (sql/001_videos.sql) as the worker sees it: guarded
 * transitions queued -> processing -> done | failed. One connection per
 * job thread (a PGconn is not shared between threads).
 *
 * The lease: a claim increments `attempts` and returns it; every later
 * write of the job is guarded by `status = 'processing' AND attempts = n`,
 * so a worker whose job was taken over can never overwrite its successor.
 */
#ifndef VS_DB_H
#define VS_DB_H

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
 * Takes the video: queued -> processing (also pending_upload when
 * from_s3_event: the upload evidently finished), or processing ->
 * processing when the message is a redelivery (receive_count > 1) and the
 * row has not been touched for stale_after seconds (its worker died).
 * *attempt is the lease; *status the row's status when not taken.
 */
vs_claim_t vs_db_claim(PGconn **conn, const char *url, const char *video_id,
    const char *owner, const char *key, int from_s3_event,
    int receive_count, int stale_after, int *attempt, char *status,
    size_t status_size, char *err, size_t err_size);

/* Progress 0..99, also proves the lease is alive (updated_at). */
int vs_db_progress(PGconn **conn, const char *url, const char *video_id,
    int attempt, int percent, char *err, size_t err_size);

int vs_db_done(PGconn **conn, const char *url, const char *video_id,
    int attempt, int64_t duration_ms, int width, int height, int hls,
    char *err, size_t err_size);

/* processing (attempt) -> failed; attempt < 0: queued -> failed. */
int vs_db_fail(PGconn **conn, const char *url, const char *video_id,
    int attempt, const char *error, char *err, size_t err_size);

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
