
/*
 * ngx_http_vidstream_api_sql.c
 *
 * The API's prepared statements and the reading of their results: one
 * query at a time on the per-worker pool (ngx_http_vidstream_pg.c), its
 * answer handed to the action that asked.
 */


#include "ngx_http_vidstream_api.h"


static void ngx_http_vidstream_api_answer(ngx_http_vidstream_api_ctx_t *ctx,
    ngx_http_vidstream_pg_status_e status, PGresult *res);


/* The video object of the contract, built by PostgreSQL (lib). */
#define NGX_HTTP_VIDSTREAM_VIDEO_JSON  VS_VIDEO_JSON_SQL


ngx_http_vidstream_pg_stmt_t  ngx_http_vidstream_api_stmts[] = {

    { "vs_health", "SELECT 1", 1 },

    /* $1 sub, $2 filename, $3 content_type, $4 size, $5 id, $6 input_key */
    { "vs_create",
      "WITH n AS (SELECT $5::uuid AS id)"
      " INSERT INTO videos (id, owner_sub, filename, content_type, size,"
      " input_key)"
      " SELECT n.id, $1, $2, $3, $4::bigint,"
      " $6 FROM n"
      " RETURNING id::text, " NGX_HTTP_VIDSTREAM_VIDEO_JSON, 0 },

    /*
     * $1 sub, $2 filename, $3 content_type, $4 size, $5 Idempotency-Key,
     * $6 request hash, $7 the new id, $8 its input_key: id, video, and
     * "created", "repeat" (the key's video, same request) or "conflict"
     * (another request under the key).
     *
     * The key row is written first and always: a new key binds the new
     * id (the video row follows in the same statement; the foreign key is
     * checked at its end), a live key (under 24 h) keeps its row and an
     * expired one is rebound.  Writing the key row, never just reading
     * it, makes a create racing another one under the same key wait for
     * it and see what it committed.  The video of a repeat is read in this
     * statement's snapshot: NULL when that create committed only during
     * it, and read again then (vs_get).
     */
    { "vs_create_idem",
      "WITH n AS (SELECT $7::uuid AS id),"
      " k AS (INSERT INTO idempotency_keys AS i"
      " (owner_sub, key, request_hash, video_id)"
      " SELECT $1, $5, $6, n.id FROM n"
      " ON CONFLICT (owner_sub, key) DO UPDATE SET"
      " request_hash = CASE WHEN i.created_at > now() - interval '24 hours'"
      " THEN i.request_hash ELSE EXCLUDED.request_hash END,"
      " video_id = CASE WHEN i.created_at > now() - interval '24 hours'"
      " THEN i.video_id ELSE EXCLUDED.video_id END,"
      " created_at = CASE WHEN i.created_at > now() - interval '24 hours'"
      " THEN i.created_at ELSE now() END"
      " RETURNING video_id, request_hash),"
      " v AS (INSERT INTO videos (id, owner_sub, filename, content_type,"
      " size, input_key)"
      " SELECT k.video_id, $1, $2, $3, $4::bigint,"
      " $8"
      " FROM k, n WHERE k.video_id = n.id"
      " RETURNING id::text, " NGX_HTTP_VIDSTREAM_VIDEO_JSON " AS video)"
      " SELECT id, video, 'created' FROM v"
      " UNION ALL SELECT k.video_id::text,"
      " (SELECT " NGX_HTTP_VIDSTREAM_VIDEO_JSON " FROM videos"
      " WHERE id = k.video_id AND owner_sub = $1 AND status <> 'deleted'),"
      " CASE WHEN k.request_hash = $6 THEN 'repeat' ELSE 'conflict' END"
      " FROM k, n WHERE k.video_id <> n.id", 0 },

    /* $1 id, $2 sub */
    { "vs_get",
      "SELECT " NGX_HTTP_VIDSTREAM_VIDEO_JSON " FROM videos"
      " WHERE id = $1::uuid AND owner_sub = $2 AND status <> 'deleted'", 1 },

    /*
     * $1 sub, $2 cursor created_at (microseconds since the epoch, exact)
     * or NULL, $3 cursor id, $4 limit + 1 (to know whether more follow)
     */
    { "vs_list",
      "SELECT " NGX_HTTP_VIDSTREAM_VIDEO_JSON ","
      " (extract(epoch FROM created_at) * 1000000)::bigint::text, id::text"
      " FROM videos WHERE owner_sub = $1 AND status <> 'deleted'"
      " AND ($2::bigint IS NULL OR (created_at, id) <"
      " ('epoch'::timestamptz + $2::bigint * interval '1 microsecond',"
      " $3::uuid))"
      " ORDER BY created_at DESC, id DESC LIMIT $4::int", 1 },

    /*
     * $1 id, $2 sub: pending_upload -> queued, and the row's status as it
     * was, in one statement: moved, status, input_key, whether the job
     * still has to be sent (enqueued_at is NULL), and an unfinished
     * multipart upload's id, size, part_size and part_count: such a video
     * stays pending_upload until S3 has completed the upload.
     *
     * The row is read FOR UPDATE: should another transaction hold it (a
     * complete whose answer nginx gave up on, committing late), this waits
     * for it and reads the row it committed.  A plain read here would use
     * the statement's snapshot, taken before that commit, and see
     * pending_upload while the UPDATE, which re-checks the newest version,
     * finds queued and changes nothing: "neither moved nor queued", a 409.
     */
    { "vs_complete",
      "WITH cur AS (SELECT id, status, input_key, enqueued_at,"
      " CASE WHEN upload_completed_at IS NULL THEN upload_id END"
      " AS upload_id, size, part_size, part_count FROM videos"
      " WHERE id = $1::uuid AND owner_sub = $2 FOR UPDATE),"
      " u AS (UPDATE videos v SET status = 'queued', queued_at = now(),"
      " enqueued_at = NULL FROM cur"
      " WHERE v.id = cur.id AND cur.status = 'pending_upload'"
      " AND cur.upload_id IS NULL"
      " RETURNING v.id)"
      " SELECT EXISTS (SELECT 1 FROM u), cur.status, cur.input_key,"
      " cur.enqueued_at IS NULL, cur.upload_id, cur.size, cur.part_size,"
      " cur.part_count FROM cur", 0 },

    /* $1 id, $2 sub: SQS has the job (CONTRACT.md section 5) */
    { "vs_enqueued",
      "UPDATE videos SET enqueued_at = now()"
      " WHERE id = $1::uuid AND owner_sub = $2 AND enqueued_at IS NULL", 0 },

    /* $1 id, $2 sub */
    { "vs_download",
      "SELECT status, output_mp4, output_thumbnail, output_hls, filename"
      " FROM videos"
      " WHERE id = $1::uuid AND owner_sub = $2 AND status <> 'deleted'", 1 },

    /*
     * $1 id, $2 sub: hidden at once, removed once S3 is clean; the id of
     * an unfinished multipart upload, to abort first
     */
    { "vs_delete_mark",
      "UPDATE videos SET status = 'deleted'"
      " WHERE id = $1::uuid AND owner_sub = $2 RETURNING input_key,"
      " CASE WHEN upload_completed_at IS NULL THEN upload_id END", 0 },

    { "vs_delete_row",
      "DELETE FROM videos"
      " WHERE id = $1::uuid AND owner_sub = $2 AND status = 'deleted'", 0 }
};

ngx_uint_t  ngx_http_vidstream_api_nstmts =
    sizeof(ngx_http_vidstream_api_stmts)
    / sizeof(ngx_http_vidstream_pg_stmt_t);


/*
 * Sends a statement with nparams (value, length) pairs (a NULL value is
 * SQL NULL; the length NGX_HTTP_VIDSTREAM_API_CSTR: a NUL-terminated value
 * that lives as long as the request, passed without a copy).  NGX_OK: the handler runs later.  Otherwise what the caller
 * returns / finalizes with (503 already sent).
 */

ngx_int_t
ngx_http_vidstream_api_query(ngx_http_vidstream_api_ctx_t *ctx,
    ngx_uint_t stmt, ngx_uint_t nparams, ...)
{
    u_char                         *value, *p;
    size_t                          len;
    va_list                         args;
    ngx_int_t                       rc;
    ngx_uint_t                      i;
    ngx_http_vidstream_pg_query_t  *q;

    q = &ctx->query;

    q->stmt = stmt;
    q->nparams = nparams;
    q->handler = ngx_http_vidstream_api_pg_done;
    q->data = ctx;
    q->log = ctx->request->connection->log;

    va_start(args, nparams);

    for (i = 0; i < nparams; i++) {
        value = va_arg(args, u_char *);
        len = va_arg(args, size_t);

        /* text parameters go to libpq as C strings: copied unless they
         * are already (NGX_HTTP_VIDSTREAM_API_CSTR) */

        if (len == NGX_HTTP_VIDSTREAM_API_CSTR) {
            len = value ? ngx_strlen(value) : 0;

        } else if (value) {
            p = ngx_pnalloc(ctx->request->pool, len + 1);
            if (p == NULL) {
                va_end(args);
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            *ngx_cpymem(p, value, len) = '\0';
            value = p;
        }

        q->values[i] = (const char *) value;
        q->lengths[i] = (int) len;
    }

    va_end(args);

    rc = ngx_http_vidstream_pg_send(q);

    if (rc == NGX_OK) {
        ctx->pg_pending = 1;
        return NGX_OK;
    }

    if (rc == NGX_ERROR) {
        ngx_log_error(NGX_LOG_ERR, q->log, 0,
                      "vidstream api: no PostgreSQL pool "
                      "(is vidstream_postgres set?)");
    }

    return ngx_http_vidstream_api_unavailable(ctx->request);
}


void
ngx_http_vidstream_api_pg_done(ngx_http_vidstream_pg_query_t *q,
    ngx_http_vidstream_pg_status_e status, PGresult *res)
{
    ngx_http_vidstream_api_ctx_t  *ctx;

    ctx = q->data;
    ctx->pg_pending = 0;

    ngx_http_vidstream_api_answer(ctx, status, res);
}


/*
 * S3 or SQS answered a call of complete or delete, or a credentials
 * refresh before one is over (ctx->call holds the outcome): the flow's
 * step runs without a PostgreSQL result.
 */

void
ngx_http_vidstream_api_call_done(ngx_http_request_t *r)
{
    r->write_event_handler = ngx_http_request_empty_handler;

    ngx_http_vidstream_api_answer(
        ngx_http_get_module_ctx(r, ngx_http_vidstream_api_module),
        NGX_HTTP_VIDSTREAM_PG_OK, NULL);
}


/* an answer to the flow of ctx->action; then the request's next move */

static void
ngx_http_vidstream_api_answer(ngx_http_vidstream_api_ctx_t *ctx,
    ngx_http_vidstream_pg_status_e status, PGresult *res)
{
    ngx_int_t          rc;
    ngx_connection_t  *c;

    c = ctx->request->connection;

    switch (ctx->action) {

    case NGX_HTTP_VIDSTREAM_HEALTHZ:
        ctx->pg_ok = (status == NGX_HTTP_VIDSTREAM_PG_OK);
        rc = ngx_http_vidstream_healthz_part_done(ctx);
        break;

    case NGX_HTTP_VIDSTREAM_CREATE:
        rc = ngx_http_vidstream_api_create_result(ctx, status, res);
        break;

    case NGX_HTTP_VIDSTREAM_COMPLETE:
        rc = ngx_http_vidstream_api_complete_result(ctx, status, res);
        break;

    case NGX_HTTP_VIDSTREAM_LIST:
    case NGX_HTTP_VIDSTREAM_GET:
        rc = ngx_http_vidstream_api_read_result(ctx, status, res);
        break;

    case NGX_HTTP_VIDSTREAM_DOWNLOAD:
    case NGX_HTTP_VIDSTREAM_PLAYBACK:
        rc = ngx_http_vidstream_api_download_result(ctx, status, res);
        break;

    case NGX_HTTP_VIDSTREAM_DELETE:
        rc = ngx_http_vidstream_api_delete_result(ctx, status, res);
        break;

    default:
        rc = ngx_http_vidstream_api_lost(ctx, "a statement");
        break;
    }

    if (rc != NGX_DONE) {
        ngx_http_vidstream_api_finish(ctx, rc);
    }

    ngx_http_run_posted_requests(c);
}


/*
 * An answer came in a state of the flow that waits for no such answer:
 * a bug, never a client's doing.
 */

ngx_int_t
ngx_http_vidstream_api_lost(ngx_http_vidstream_api_ctx_t *ctx,
    const char *what)
{
    ngx_log_error(NGX_LOG_ALERT, ctx->request->connection->log, 0,
                  "vidstream api: %s answered action %ui in state %ui",
                  what, ctx->action, (ngx_uint_t) ctx->state.create);

    return NGX_HTTP_INTERNAL_SERVER_ERROR;
}
