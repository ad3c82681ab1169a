
/*
 * ngx_http_vidstream_api_create.c
 *
 * POST /videos (create, with its Idempotency-Key) and
 * POST /videos/<id>/complete (queue the video, send its job to SQS).
 */


#include "ngx_http_vidstream_api.h"
#include "ngx_http_vidstream_sqs.h"
#include "vs_keys.h"


static void ngx_http_vidstream_api_creds_done(ngx_http_request_t *r);
static ngx_int_t ngx_http_vidstream_api_created(
    ngx_http_vidstream_api_ctx_t *ctx, PGresult *res);
static ngx_int_t ngx_http_vidstream_api_created_idem(
    ngx_http_vidstream_api_ctx_t *ctx, PGresult *res);
static ngx_int_t ngx_http_vidstream_api_created_video(
    ngx_http_vidstream_api_ctx_t *ctx, ngx_str_t *id, ngx_str_t *video);
static ngx_int_t ngx_http_vidstream_api_complete_step(
    ngx_http_vidstream_api_ctx_t *ctx, PGresult *res);
static ngx_int_t ngx_http_vidstream_api_completed(
    ngx_http_vidstream_api_ctx_t *ctx, PGresult *res);
static ngx_int_t ngx_http_vidstream_api_complete_next(ngx_http_request_t *r);
static ngx_int_t ngx_http_vidstream_api_sqs_send(
    ngx_http_vidstream_api_ctx_t *ctx);
static ngx_int_t ngx_http_vidstream_api_mark_enqueued(
    ngx_http_vidstream_api_ctx_t *ctx);
static ngx_int_t ngx_http_vidstream_api_queued(
    ngx_http_vidstream_api_ctx_t *ctx);


/*
 * The id is drawn here rather than by PostgreSQL so that the row's input
 * key is the one lib/vs_keys writes: both go with the INSERT, one
 * statement as before.
 */

ngx_int_t
ngx_http_vidstream_api_create_query(ngx_http_vidstream_api_ctx_t *ctx)
{
    long                 n;
    size_t               size;
    ngx_http_request_t  *r;

    r = ctx->request;
    size = VS_KEYS_INPUT_LEN(ctx->sub.len) + 1;

    ctx->input_key.data = ngx_pnalloc(r->pool, size);
    if (ctx->input_key.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (vs_uuid_v4((char *) ctx->id) != 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vidstream api: RAND_bytes failed, no video id");
        return ngx_http_vidstream_api_unavailable(r);
    }

    n = vs_keys_input((char *) ctx->input_key.data, size,
                      (char *) ctx->sub.data, ctx->sub.len,
                      (char *) ctx->id);
    if (n < 0) {
        /* the token's sub was checked (no '/', no control character) */
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vidstream api: no input key for sub \"%V\"",
                      &ctx->sub);
        return ngx_http_vidstream_api_unavailable(r);
    }

    ctx->input_key.len = n;

    if (ctx->idempotency_key.len) {
        ctx->state.create = NGX_HTTP_VIDSTREAM_CREATE_INSERT_IDEM;

        return ngx_http_vidstream_api_query(ctx,
                                       NGX_HTTP_VIDSTREAM_STMT_CREATE_IDEM, 8,
                                       ctx->sub.data, ctx->sub.len,
                                       ctx->filename.data,
                                       ctx->filename.len,
                                       ctx->content_type.data,
                                       ctx->content_type.len,
                                       ctx->size, ngx_strlen(ctx->size),
                                       ctx->idempotency_key.data,
                                       ctx->idempotency_key.len,
                                       ctx->request_hash,
                                       (size_t)
                                       NGX_HTTP_VIDSTREAM_REQUEST_HASH_LEN,
                                       ctx->id, NGX_HTTP_VIDSTREAM_API_CSTR,
                                       ctx->input_key.data,
                                       ctx->input_key.len);
    }

    ctx->state.create = NGX_HTTP_VIDSTREAM_CREATE_INSERT;

    return ngx_http_vidstream_api_query(ctx, NGX_HTTP_VIDSTREAM_STMT_CREATE, 6,
                                        ctx->sub.data, ctx->sub.len,
                                        ctx->filename.data,
                                        ctx->filename.len,
                                        ctx->content_type.data,
                                        ctx->content_type.len,
                                        ctx->size, NGX_HTTP_VIDSTREAM_API_CSTR,
                                        ctx->id, NGX_HTTP_VIDSTREAM_API_CSTR,
                                        ctx->input_key.data,
                                        ctx->input_key.len);
}


/*
 * Presigning needs current credentials: with the ECS task role they may
 * be missing or about to expire, and are fetched first (one subrequest;
 * concurrent requests meanwhile use what there is, or get 503).
 * NGX_DONE: a refresh runs and ngx_http_vidstream_api_creds_done()
 * continues the request; NGX_OK: go on now.
 */

ngx_int_t
ngx_http_vidstream_api_creds(ngx_http_vidstream_api_ctx_t *ctx)
{
    ngx_int_t  rc;

    rc = ngx_http_vidstream_aws_creds(ctx->request,
                                      &ctx->amcf->credentials_location,
                                      &ctx->call);
    if (rc == NGX_AGAIN) {
        ctx->call.done = ngx_http_vidstream_api_creds_done;
        return NGX_DONE;
    }

    /* none at all: the presign answers 503 after the owner check */

    return NGX_OK;
}


static void
ngx_http_vidstream_api_creds_done(ngx_http_request_t *r)
{
    ngx_int_t                      rc;
    ngx_connection_t              *c;
    ngx_http_vidstream_api_ctx_t  *ctx;

    r->write_event_handler = ngx_http_request_empty_handler;

    ctx = ngx_http_get_module_ctx(r, ngx_http_vidstream_api_module);
    c = r->connection;

    (void) ngx_http_vidstream_aws_creds_done(r, &ctx->call);

    if (ctx->action == NGX_HTTP_VIDSTREAM_CREATE) {
        rc = ngx_http_vidstream_api_create_query(ctx);

    } else {
        rc = ngx_http_vidstream_api_download_row(ctx);
    }

    if (rc != NGX_OK) {
        ngx_http_vidstream_api_finish(ctx, rc);
    }

    ngx_http_run_posted_requests(c);
}


/* PostgreSQL answered a statement of POST /videos */

ngx_int_t
ngx_http_vidstream_api_create_result(ngx_http_vidstream_api_ctx_t *ctx,
    ngx_http_vidstream_pg_status_e status, PGresult *res)
{
    ngx_str_t  id, video;

    if (status != NGX_HTTP_VIDSTREAM_PG_OK) {
        return ngx_http_vidstream_api_unavailable(ctx->request);
    }

    switch (ctx->state.create) {

    case NGX_HTTP_VIDSTREAM_CREATE_INSERT:
        return ngx_http_vidstream_api_created(ctx, res);

    case NGX_HTTP_VIDSTREAM_CREATE_INSERT_IDEM:
        return ngx_http_vidstream_api_created_idem(ctx, res);

    case NGX_HTTP_VIDSTREAM_CREATE_REREAD:
        if (PQntuples(res) != 1) {
            return ngx_http_vidstream_send_error(ctx->request,
                                                 NGX_HTTP_NOT_FOUND,
                                                 "not_found",
                                                 "no such video");
        }

        /* a repeated create whose video committed during its query */
        id.data = ctx->id;
        id.len = NGX_HTTP_VIDSTREAM_UUID_LEN;
        video.data = (u_char *) PQgetvalue(res, 0, 0);
        video.len = PQgetlength(res, 0, 0);

        return ngx_http_vidstream_api_created_video(ctx, &id, &video);

    default: /* NGX_HTTP_VIDSTREAM_CREATE_CREDS */
        return ngx_http_vidstream_api_lost(ctx, "a statement");
    }
}


static ngx_int_t
ngx_http_vidstream_api_created(ngx_http_vidstream_api_ctx_t *ctx,
    PGresult *res)
{
    ngx_str_t  id, video;

    if (PQntuples(res) != 1 || PQnfields(res) < 2) {
        return ngx_http_vidstream_api_unavailable(ctx->request);
    }

    id.data = (u_char *) PQgetvalue(res, 0, 0);
    id.len = PQgetlength(res, 0, 0);
    video.data = (u_char *) PQgetvalue(res, 0, 1);
    video.len = PQgetlength(res, 0, 1);

    return ngx_http_vidstream_api_created_video(ctx, &id, &video);
}


/*
 * POST /videos with an Idempotency-Key: the video created now, or the one
 * created before under the key (201 again, with fresh upload URLs), or 422
 * when the key was used for another request.
 */

static ngx_int_t
ngx_http_vidstream_api_created_idem(ngx_http_vidstream_api_ctx_t *ctx,
    PGresult *res)
{
    char                *kind;
    ngx_int_t            rc;
    ngx_http_request_t  *r;

    r = ctx->request;

    if (PQntuples(res) != 1 || PQnfields(res) != 3
        || PQgetlength(res, 0, 0) != NGX_HTTP_VIDSTREAM_UUID_LEN)
    {
        return ngx_http_vidstream_api_unavailable(r);
    }

    kind = PQgetvalue(res, 0, 2);

    if (ngx_strcmp(kind, "conflict") == 0) {
        ngx_str_set(&r->headers_out.status_line, "422 Unprocessable Content");

        return ngx_http_vidstream_send_error(r,
                                             NGX_HTTP_VIDSTREAM_UNPROCESSABLE,
                                             "idempotency_conflict",
                                             "this Idempotency-Key was used "
                                             "for a different request");
    }

    ctx->repeat = (ngx_strcmp(kind, "repeat") == 0);

    if (ctx->repeat && PQgetisnull(res, 0, 1)) {

        /* the first create committed while this statement ran: read it */

        ngx_memcpy(ctx->id, PQgetvalue(res, 0, 0),
                   NGX_HTTP_VIDSTREAM_UUID_LEN);

        ctx->state.create = NGX_HTTP_VIDSTREAM_CREATE_REREAD;

        rc = ngx_http_vidstream_api_query(ctx, NGX_HTTP_VIDSTREAM_STMT_GET, 2,
                                          ctx->id,
                                          NGX_HTTP_VIDSTREAM_API_CSTR,
                                          ctx->sub.data, ctx->sub.len);

        return rc == NGX_OK ? NGX_DONE : rc;
    }

    return ngx_http_vidstream_api_created(ctx, res);
}


static ngx_int_t
ngx_http_vidstream_api_created_video(ngx_http_vidstream_api_ctx_t *ctx,
    ngx_str_t *id, ngx_str_t *vid)
{
    u_char              *body, *p, *video;
    long                 n;
    size_t               video_len;
    ngx_str_t            url, key;
    vs_sigv4_kv_t        header;
    ngx_http_request_t  *r;
    u_char               expires_at[VS_RFC3339_LEN + 1];

    r = ctx->request;

    if (ctx->multipart) {
        return ngx_http_vidstream_multipart_created(r, &ctx->sub, id, vid,
                                                    &ctx->content_type,
                                                    ctx->size_n, ctx->repeat);
    }

    video = vid->data;
    video_len = vid->len;

    if (id->len != NGX_HTTP_VIDSTREAM_UUID_LEN || video_len < 2
        || video[video_len - 1] != '}')
    {
        return ngx_http_vidstream_api_unavailable(r);
    }

    /* the key of the video created now or before, under its id */

    key.data = ngx_pnalloc(r->pool, VS_KEYS_INPUT_LEN(ctx->sub.len) + 1);
    if (key.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = vs_keys_input((char *) key.data, VS_KEYS_INPUT_LEN(ctx->sub.len) + 1,
                      (char *) ctx->sub.data, ctx->sub.len, (char *) id->data);
    if (n < 0) {
        return ngx_http_vidstream_api_unavailable(r);
    }

    key.len = n;

    header.name = "content-type";
    header.name_len = sizeof("content-type") - 1;
    header.value = (char *) ctx->content_type.data;
    header.value_len = ctx->content_type.len;

    /*
     * the video object with "upload" appended, the URL presigned in place
     * (it needs no JSON escaping: vs_sigv4.h)
     */

    if (ngx_http_vidstream_api_presign(ctx, "PUT", &key, NULL, 0, &header, 1,
            video_len - 1
            + sizeof(",\"upload\":{\"method\":\"PUT\",\"url\":\"") - 1,
            sizeof("\",\"headers\":{\"Content-Type\":\"\"},"
                   "\"expires_at\":\"\"}}\n")
            + VS_RFC3339_LEN
            + ctx->content_type.len
            + ngx_escape_json(NULL, ctx->content_type.data,
                              ctx->content_type.len),
            &url, expires_at)
        != NGX_OK)
    {
        return ngx_http_vidstream_api_unavailable(r);
    }

    body = url.data
           - (video_len - 1
              + sizeof(",\"upload\":{\"method\":\"PUT\",\"url\":\"") - 1);

    p = ngx_cpymem(body, video, video_len - 1);
    p = ngx_cpymem(p, ",\"upload\":{\"method\":\"PUT\",\"url\":\"",
                   sizeof(",\"upload\":{\"method\":\"PUT\",\"url\":\"") - 1);
    p += url.len;
    p = ngx_cpymem(p, "\",\"headers\":{\"Content-Type\":\"",
                   sizeof("\",\"headers\":{\"Content-Type\":\"") - 1);
    p = (u_char *) ngx_escape_json(p, ctx->content_type.data,
                                   ctx->content_type.len);
    p = ngx_sprintf(p, "\"},\"expires_at\":\"%s\"}}\n", expires_at);

    if (ngx_http_vidstream_api_location(r, id) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_vidstream_api_send_json(r, NGX_HTTP_CREATED, body,
                                            p - body);
}


/*
 * Location: /videos/<id>, for a 201 (here and in the multipart module).
 * Not r->headers_out.location: the header filter would make it absolute,
 * and the contract's Location is the path.
 */

ngx_int_t
ngx_http_vidstream_api_location(ngx_http_request_t *r, ngx_str_t *id)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Location");
    h->value.data = ngx_pnalloc(r->pool, sizeof("/videos/") - 1 + id->len);
    if (h->value.data == NULL) {
        return NGX_ERROR;
    }

    h->value.len = ngx_sprintf(h->value.data, "/videos/%V", id)
                   - h->value.data;

    return NGX_OK;
}


/* POST /videos/<id>/complete: queue the video (vs_complete) */

ngx_int_t
ngx_http_vidstream_api_complete_queue(ngx_http_vidstream_api_ctx_t *ctx)
{
    ctx->state.complete = NGX_HTTP_VIDSTREAM_COMPLETE_QUEUE;

    return ngx_http_vidstream_api_query(ctx, NGX_HTTP_VIDSTREAM_STMT_COMPLETE,
                                        2, ctx->id, NGX_HTTP_VIDSTREAM_API_CSTR,
                                        ctx->sub.data, ctx->sub.len);
}


/* PostgreSQL answered a statement of complete */

ngx_int_t
ngx_http_vidstream_api_complete_result(ngx_http_vidstream_api_ctx_t *ctx,
    ngx_http_vidstream_pg_status_e status, PGresult *res)
{
    return ngx_http_vidstream_api_complete_step(ctx,
                                   status == NGX_HTTP_VIDSTREAM_PG_OK ? res
                                                                      : NULL);
}


/*
 * The complete, one step per answer, top to bottom: PostgreSQL's (res,
 * NULL when the statement failed) in QUEUE and MARK, the multipart
 * module's hand-back in MULTIPART, SQS's (ctx->call) in CREDS and SEND.
 * NGX_DONE, or what to finalize with.
 */

static ngx_int_t
ngx_http_vidstream_api_complete_step(ngx_http_vidstream_api_ctx_t *ctx,
    PGresult *res)
{
    ngx_int_t                       rc;
    ngx_http_request_t             *r;
    ngx_http_vidstream_aws_call_t  *call;

    r = ctx->request;
    call = &ctx->call;

    switch (ctx->state.complete) {

    case NGX_HTTP_VIDSTREAM_COMPLETE_QUEUE:
        if (res == NULL) {
            return ngx_http_vidstream_api_unavailable(r);
        }

        return ngx_http_vidstream_api_completed(ctx, res);

    case NGX_HTTP_VIDSTREAM_COMPLETE_MULTIPART:
        /* S3 holds the object now: queue the video as for a single PUT */
        rc = ngx_http_vidstream_api_complete_queue(ctx);
        return rc == NGX_OK ? NGX_DONE : rc;

    case NGX_HTTP_VIDSTREAM_COMPLETE_CREDS:
        /* credentials refreshed (or not): now send */
        (void) ngx_http_vidstream_aws_creds_done(r, call);
        return ngx_http_vidstream_api_sqs_send(ctx);

    case NGX_HTTP_VIDSTREAM_COMPLETE_SEND:
        if (call->status == NGX_HTTP_OK
            && ngx_strlcasestrn(call->response.data,
                                call->response.data + call->response.len,
                                (u_char *) "MessageId", 9 - 1)
               != NULL)
        {
            return ngx_http_vidstream_api_mark_enqueued(ctx);
        }

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vidstream api: SQS SendMessage failed with %ui%s: %*s",
                      call->status,
                      call->timed_out ? " (vidstream_aws_timeout)" : "",
                      ngx_min(call->response.len, 512),
                      call->response.data);

        /* still queued, enqueued_at NULL: see sqs_send */

        return ngx_http_vidstream_api_unavailable(r);

    default: /* NGX_HTTP_VIDSTREAM_COMPLETE_MARK */
        /*
         * SQS has the job whatever became of enqueued_at: left NULL, the
         * reconciler sends the job once more, which the worker's guarded
         * claim makes harmless
         */
        return ngx_http_vidstream_api_queued(ctx);
    }
}


static ngx_int_t
ngx_http_vidstream_api_completed(ngx_http_vidstream_api_ctx_t *ctx,
    PGresult *res)
{
    u_char              *body, *p;
    char                *status;
    ngx_str_t            upload_id;
    ngx_http_request_t  *r;

    r = ctx->request;

    if (PQntuples(res) != 1) {
        return ngx_http_vidstream_send_error(r, NGX_HTTP_NOT_FOUND,
                                             "not_found", "no such video");
    }

    status = PQgetvalue(res, 0, 1);

    if (PQgetvalue(res, 0, 0)[0] != 't' && !PQgetisnull(res, 0, 4)
        && ngx_strcmp(status, "pending_upload") == 0)
    {
        /* S3 completes the multipart upload first, then we go on */

        upload_id.data = (u_char *) PQgetvalue(res, 0, 4);
        upload_id.len = PQgetlength(res, 0, 4);

        ctx->state.complete = NGX_HTTP_VIDSTREAM_COMPLETE_MULTIPART;

        return ngx_http_vidstream_multipart_complete(r, ctx->id, &ctx->sub,
                   &upload_id,
                   ngx_atoof((u_char *) PQgetvalue(res, 0, 5),
                             PQgetlength(res, 0, 5)),
                   ngx_atoof((u_char *) PQgetvalue(res, 0, 6),
                             PQgetlength(res, 0, 6)),
                   ngx_atoof((u_char *) PQgetvalue(res, 0, 7),
                             PQgetlength(res, 0, 7)),
                   ngx_http_vidstream_api_complete_next);
    }

    /*
     * Moved to queued by us, or queued by a complete whose job was never
     * sent (SQS or PostgreSQL failed or stalled on the way): send it.
     */

    ctx->resend = PQgetvalue(res, 0, 0)[0] != 't'
                  && ngx_strcmp(status, "queued") == 0
                  && PQgetvalue(res, 0, 3)[0] == 't';

    if (PQgetvalue(res, 0, 0)[0] == 't' || ctx->resend) {

        ctx->input_key.len = PQgetlength(res, 0, 2);
        ctx->input_key.data = ngx_pnalloc(r->pool, ctx->input_key.len + 1);
        if (ctx->input_key.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_memcpy(ctx->input_key.data, PQgetvalue(res, 0, 2),
                   ctx->input_key.len + 1);

        return ngx_http_vidstream_api_sqs_send(ctx);
    }

    if (ngx_strcmp(status, "queued") == 0
        || ngx_strcmp(status, "processing") == 0
        || ngx_strcmp(status, "done") == 0)
    {
        /* idempotent: a job exists already, no second message */

        body = ngx_pnalloc(r->pool, 128);
        if (body == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        p = ngx_sprintf(body, "{\"id\":\"%s\",\"status\":\"%s\"}\n",
                        ctx->id, status);

        return ngx_http_vidstream_api_send_json(r, NGX_HTTP_OK, body,
                                                p - body);
    }

    if (ngx_strcmp(status, "deleted") == 0) {
        return ngx_http_vidstream_send_error(r, NGX_HTTP_CONFLICT, "conflict",
                                             "the video is being deleted");
    }

    return ngx_http_vidstream_send_error(r, NGX_HTTP_CONFLICT, "conflict",
                                         "the video has failed and cannot "
                                         "be queued again");
}


/* the multipart module is done with the upload: the next step */

static ngx_int_t
ngx_http_vidstream_api_complete_next(ngx_http_request_t *r)
{
    ngx_http_vidstream_api_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_vidstream_api_module);

    return ngx_http_vidstream_api_complete_step(ctx, NULL);
}


static ngx_int_t
ngx_http_vidstream_api_sqs_send(ngx_http_vidstream_api_ctx_t *ctx)
{
    long                                 n;
    char                                *job;
    vs_msg_job_t                             jv;
    ngx_int_t                            rc;
    ngx_http_request_t                  *r;
    ngx_http_vidstream_aws_call_t       *call;
    ngx_http_vidstream_api_main_conf_t  *amcf;

    r = ctx->request;
    amcf = ctx->amcf;
    call = &ctx->call;

    if (amcf->queue_url.len == 0 || amcf->sqs_location.len == 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vidstream api: vidstream_sqs_queue_url and "
                      "vidstream_sqs_location are required for complete");
        goto failed;
    }

    rc = ngx_http_vidstream_aws_creds(r, &amcf->credentials_location, call);

    if (rc == NGX_AGAIN) {
        call->done = ngx_http_vidstream_api_call_done;
        ctx->state.complete = NGX_HTTP_VIDSTREAM_COMPLETE_CREDS;
        return NGX_DONE;
    }

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vidstream api: no AWS credentials to send the job");
        goto failed;
    }

    /* the job message of CONTRACT.md section 6 */

    jv.video_id = (char *) ctx->id;
    ctx->owner = ngx_pnalloc(r->pool, ctx->sub.len + 1);
    if (ctx->owner == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    *ngx_cpymem(ctx->owner, ctx->sub.data, ctx->sub.len) = '\0';
    jv.owner = ctx->owner;
    jv.bucket = (char *) amcf->bucket.data;
    jv.key = (char *) ctx->input_key.data;

    /* its length first: a ~200-byte message gets a ~200-byte buffer */

    n = vs_msg_job_encode_buf(&jv, NULL, 0);

    job = (n < 0) ? NULL : ngx_pnalloc(r->pool, n + 1);

    if (n >= 0 && job == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (n < 0 || vs_msg_job_encode_buf(&jv, job, n + 1) != n) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vidstream api: cannot encode the job: %s",
                      vs_msg_job_invalid(&jv) ? vs_msg_job_invalid(&jv) : "size");
        goto failed;
    }

    ngx_memzero(call, sizeof(ngx_http_vidstream_aws_call_t));

    call->location = amcf->sqs_location;
    call->done = ngx_http_vidstream_api_call_done;
    ctx->state.complete = NGX_HTTP_VIDSTREAM_COMPLETE_SEND;

    rc = ngx_http_vidstream_sqs_send_message(r, amcf->sqs, &amcf->queue_url,
                                             (u_char *) job, n, call);

    if (rc == NGX_HTTP_INTERNAL_SERVER_ERROR) {
        return rc;
    }

    if (rc != NGX_OK) {
        goto failed;
    }

    return NGX_DONE;

failed:

    /*
     * The video stays queued with enqueued_at NULL: a retried complete or
     * the reconciler sends the job.  Never back to pending_upload: a
     * SendMessage that timed out may still have reached SQS, and a revert
     * racing a retried complete would strand a video whose job was sent.
     */

    return ngx_http_vidstream_api_unavailable(r);
}


/* SQS answered: enqueued_at is set, then the client is answered */

static ngx_int_t
ngx_http_vidstream_api_mark_enqueued(ngx_http_vidstream_api_ctx_t *ctx)
{
    ngx_http_vidstream_pg_query_t  *q;

    q = &ctx->query;

    ctx->state.complete = NGX_HTTP_VIDSTREAM_COMPLETE_MARK;
    q->stmt = NGX_HTTP_VIDSTREAM_STMT_ENQUEUED;
    q->nparams = 2;
    q->values[0] = (const char *) ctx->id;
    q->lengths[0] = NGX_HTTP_VIDSTREAM_UUID_LEN;
    q->values[1] = ctx->owner;
    q->lengths[1] = (int) ctx->sub.len;
    q->handler = ngx_http_vidstream_api_pg_done;
    q->data = ctx;
    q->log = ctx->request->connection->log;

    if (ngx_http_vidstream_pg_send(q) == NGX_OK) {
        ctx->pg_pending = 1;
        return NGX_DONE;
    }

    /* PostgreSQL is away: the reconciler sends the job once more */

    return ngx_http_vidstream_api_queued(ctx);
}


/* 202 for the complete that queued the video, 200 for one that resent */

static ngx_int_t
ngx_http_vidstream_api_queued(ngx_http_vidstream_api_ctx_t *ctx)
{
    u_char  *body, *p;

    body = ngx_pnalloc(ctx->request->pool, 128);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(body, "{\"id\":\"%s\",\"status\":\"queued\"}\n",
                    ctx->id);

    return ngx_http_vidstream_api_send_json(ctx->request,
                                            ctx->resend ? NGX_HTTP_OK
                                                        : NGX_HTTP_ACCEPTED,
                                            body, p - body);
}
