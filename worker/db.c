/*
 * libpq, blocking (the worker has no event loop to protect). Every query
 * is parameterised; every transition is guarded in its WHERE clause.
 */
#include "db.h"
#include "vs_video.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


int
vs_db_connect(PGconn **conn, const char *url, char *err, size_t err_size)
{
    const char  *keys[] = { "dbname", "connect_timeout",
                            "application_name", NULL };
    const char  *vals[] = { url, "10", "vidstream-worker", NULL };

    if (*conn != NULL && PQstatus(*conn) == CONNECTION_OK) {
        return VS_DB_OK;
    }

    if (*conn != NULL) {
        PQfinish(*conn);
    }

    /* expand_dbname: dbname may be a postgresql:// URL */
    *conn = PQconnectdbParams(keys, vals, 1);
    if (*conn == NULL || PQstatus(*conn) != CONNECTION_OK) {
        snprintf(err, err_size, "PostgreSQL: %s",
                 *conn ? PQerrorMessage(*conn) : "out of memory");
        err[strcspn(err, "\n")] = '\0';
        PQfinish(*conn);
        *conn = NULL;
        return VS_DB_TRANSIENT;
    }

    return VS_DB_OK;
}


void
vs_db_close(PGconn **conn)
{
    if (*conn != NULL) {
        PQfinish(*conn);
        *conn = NULL;
    }
}


int
vs_db_exec(PGconn **conn, const char *url, const char *sql, int n,
    const char * const *params, PGresult **res, char *err, size_t err_size)
{
    ExecStatusType  st;

    *res = NULL;

    if (vs_db_connect(conn, url, err, err_size) != VS_DB_OK) {
        return VS_DB_TRANSIENT;
    }

    *res = PQexecParams(*conn, sql, n, NULL, params, NULL, NULL, 0);
    st = *res != NULL ? PQresultStatus(*res) : PGRES_FATAL_ERROR;

    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        snprintf(err, err_size, "PostgreSQL: %s", PQerrorMessage(*conn));
        err[strcspn(err, "\n")] = '\0';
        PQclear(*res);
        *res = NULL;
        if (PQstatus(*conn) != CONNECTION_OK) {
            vs_db_close(conn);
        }
        return VS_DB_TRANSIENT;
    }

    return VS_DB_OK;
}


int
vs_db_update(PGconn **conn, const char *url, const char *sql, int n,
    const char * const *params, char *err, size_t err_size)
{
    PGresult  *res;
    int        rc;

    rc = vs_db_exec(conn, url, sql, n, params, &res, err, err_size);
    if (rc != VS_DB_OK) {
        return rc;
    }

    rc = strcmp(PQcmdTuples(res), "0") == 0 ? VS_DB_NO_ROW : VS_DB_OK;
    PQclear(res);
    return rc;
}


vs_claim_t
vs_db_claim(PGconn **conn, const char *url, const char *video_id,
    const char *owner, const char *key, int from_s3_event,
    int lease_seconds, int max_attempts, int *attempt, double *queue_wait,
    char *status, size_t status_size, char *err, size_t err_size)
{
    static const char  claim[] =
        "UPDATE videos SET status = 'processing', attempts = attempts + 1,"
        " started_at = now(), progress = 0, error = NULL, error_code = NULL,"
        " lease_until = now() + make_interval(secs => $5::int),"
        " queued_at = COALESCE(queued_at, now())"
        " WHERE id = $1::uuid AND owner_sub = $2 AND input_key = $3"
        "   AND (status = 'queued'"
        "        OR (status = 'pending_upload' AND $4::int = 1)"
        "        OR (status = 'processing' AND attempts < $6::int"
        "            AND (lease_until < now()"
        "                 OR (lease_until IS NULL AND updated_at < now()"
        "                     - make_interval(secs => $5::int)))))"
        " RETURNING attempts,"
        "   extract(epoch FROM now() - queued_at)::float8";
    static const char  look[] =
        "SELECT status, input_key = $3 FROM videos"
        " WHERE id = $1::uuid AND owner_sub = $2";

    const char  *params[6];
    char         s3[4], lease_s[16], max_s[16];
    PGresult    *res;
    vs_claim_t   claim_rc;

    snprintf(s3, sizeof(s3), "%d", from_s3_event ? 1 : 0);
    snprintf(lease_s, sizeof(lease_s), "%d", lease_seconds);
    snprintf(max_s, sizeof(max_s), "%d", max_attempts);
    params[0] = video_id;
    params[1] = owner;
    params[2] = key;
    params[3] = s3;
    params[4] = lease_s;
    params[5] = max_s;
    status[0] = '\0';

    if (vs_db_exec(conn, url, claim, 6, params, &res, err, err_size)
        != VS_DB_OK)
    {
        return VS_CLAIM_ERROR;
    }

    if (PQntuples(res) == 1) {
        *attempt = atoi(PQgetvalue(res, 0, 0));
        *queue_wait = strtod(PQgetvalue(res, 0, 1), NULL);
        PQclear(res);
        return VS_CLAIM_TAKEN;
    }
    PQclear(res);

    /* why not: read the row (racing writers only make this approximate) */
    if (vs_db_exec(conn, url, look, 3, params, &res, err, err_size)
        != VS_DB_OK)
    {
        return VS_CLAIM_ERROR;
    }

    if (PQntuples(res) != 1) {
        claim_rc = VS_CLAIM_UNKNOWN;
    } else {
        snprintf(status, status_size, "%s", PQgetvalue(res, 0, 0));
        if (strcmp(PQgetvalue(res, 0, 1), "t") != 0) {
            claim_rc = VS_CLAIM_MISMATCH;
        } else if (strcmp(status, "processing") == 0) {
            claim_rc = VS_CLAIM_BUSY;
        } else if (strcmp(status, "pending_upload") == 0) {
            claim_rc = VS_CLAIM_NOT_READY;
        } else {
            claim_rc = VS_CLAIM_FINISHED;
        }
    }

    PQclear(res);
    return claim_rc;
}


int
vs_db_progress(PGconn **conn, const char *url, const char *video_id,
    int attempt, int percent, char *err, size_t err_size)
{
    const char  *params[3];
    char         a[16], p[16];

    snprintf(a, sizeof(a), "%d", attempt);
    snprintf(p, sizeof(p), "%d", percent < 0 ? 0 : percent > 99 ? 99
                                 : percent);
    params[0] = video_id;
    params[1] = a;
    params[2] = p;

    return vs_db_update(conn, url,
                        "UPDATE videos SET progress = $3::smallint"
                        " WHERE id = $1::uuid AND status = 'processing'"
                        "   AND attempts = $2::int",
                        3, params, err, err_size);
}


int
vs_db_renew(PGconn **conn, const char *url, const char *video_id,
    int attempt, int lease_seconds, char *err, size_t err_size)
{
    const char  *params[3];
    char         a[16], l[16];

    snprintf(a, sizeof(a), "%d", attempt);
    snprintf(l, sizeof(l), "%d", lease_seconds);
    params[0] = video_id;
    params[1] = a;
    params[2] = l;

    return vs_db_update(conn, url,
                        "UPDATE videos"
                        " SET lease_until = now() + make_interval(secs =>"
                        "                                         $3::int)"
                        " WHERE id = $1::uuid AND status = 'processing'"
                        "   AND attempts = $2::int",
                        3, params, err, err_size);
}


int
vs_db_done(PGconn **conn, const char *url, const char *video_id,
    int attempt, int64_t duration_ms, int width, int height, int hls,
    char *err, size_t err_size)
{
    const char  *params[6];
    char         a[16], d[24], w[16], h[16];

    snprintf(a, sizeof(a), "%d", attempt);
    snprintf(d, sizeof(d), "%lld", (long long) duration_ms);
    snprintf(w, sizeof(w), "%d", width);
    snprintf(h, sizeof(h), "%d", height);
    params[0] = video_id;
    params[1] = a;
    params[2] = d;
    params[3] = w;
    params[4] = h;
    params[5] = hls ? "true" : "false";

    return vs_db_update(conn, url,
                        "UPDATE videos SET status = 'done', progress = 100,"
                        " error = NULL, error_code = NULL, lease_until = NULL,"
                        " finished_at = now(),"
                        " duration_ms = $3::bigint, width = $4::int,"
                        " height = $5::int, output_mp4 = true,"
                        " output_thumbnail = true, output_hls = $6::boolean"
                        " WHERE id = $1::uuid AND status = 'processing'"
                        "   AND attempts = $2::int",
                        6, params, err, err_size);
}


int
vs_db_fail(PGconn **conn, const char *url, const char *video_id,
    int attempt, vs_error_code_t code, const char *error, char *err,
    size_t err_size)
{
    const char  *params[4];
    const char  *name;
    char         a[16];

    name = vs_error_code_name(code);
    if (name == NULL) {
        name = vs_error_code_name(VS_ERR_TRANSCODE_FAILED);
    }

    snprintf(a, sizeof(a), "%d", attempt);
    params[0] = video_id;
    params[1] = a;
    params[2] = error;
    params[3] = name;

    return vs_db_update(conn, url,
                        "UPDATE videos SET status = 'failed', error = $3,"
                        " error_code = $4, lease_until = NULL,"
                        " finished_at = now()"
                        " WHERE id = $1::uuid AND status = 'processing'"
                        "   AND attempts = $2::int",
                        4, params, err, err_size);
}


int
vs_db_release(PGconn **conn, const char *url, const char *video_id,
    int attempt, const char *error, char *err, size_t err_size)
{
    const char  *params[3];
    char         a[16];

    snprintf(a, sizeof(a), "%d", attempt);
    params[0] = video_id;
    params[1] = a;
    params[2] = error;

    return vs_db_update(conn, url,
                        "UPDATE videos SET status = 'queued', progress = 0,"
                        " error = $3, lease_until = NULL"
                        " WHERE id = $1::uuid AND status = 'processing'"
                        "   AND attempts = $2::int",
                        3, params, err, err_size);
}


int
vs_db_video_json(PGconn **conn, const char *url, const char *video_id,
    char **json, char *err, size_t err_size)
{
    /* the API's video object (CONTRACT.md section 3) */
    static const char  sql[] =
        "SELECT " VS_VIDEO_JSON_SQL
        " FROM videos WHERE id = $1::uuid";

    const char  *params[1] = { video_id };
    PGresult    *res;
    int          rc;

    *json = NULL;

    rc = vs_db_exec(conn, url, sql, 1, params, &res, err, err_size);
    if (rc != VS_DB_OK) {
        return rc;
    }

    if (PQntuples(res) != 1) {
        PQclear(res);
        return VS_DB_NO_ROW;
    }

    *json = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);

    if (*json == NULL) {
        snprintf(err, err_size, "out of memory");
        return VS_DB_TRANSIENT;
    }
    return VS_DB_OK;
}
