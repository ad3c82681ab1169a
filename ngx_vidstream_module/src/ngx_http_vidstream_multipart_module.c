
/*
 * ngx_http_vidstream_multipart_module: multipart uploads of CONTRACT.md
 * section 3.1.
 *
 *     vidstream_multipart_threshold 64m;          # multipart above this
 *     vidstream_multipart_complete_timeout 120s;  # CompleteMultipartUpload
 *
 * The bytes go from the client to S3 through presigned UploadPart URLs;
 * the edge creates the upload (CreateMultipartUpload), presigns parts,
 * reads what S3 holds (ListParts, paginated), completes it after checking
 * every part against the plan (lib/vs_multipart.h) and aborts it on
 * DELETE.  Every S3 call is a signed subrequest (ngx_http_vidstream_aws.c);
 * the rows are read and written through the api module's PostgreSQL pool
 * with the statements below.  The api module routes and owns the row's
 * ordinary life; it hands a request over here where multipart changes the
 * answer (ngx_http_vidstream_multipart.h).
 *
 * This file: the directives and their conf, the statements, the routes,
 * the per-request ctx and the plumbing every action uses: statements sent
 * and answered, credentials, S3 calls started and answered (each action's
 * step reads the answer), ListParts page after page.  The actions are in
 * _create.c, _parts.c, _complete.c, _abort.c, the answers in _json.c
 * (ngx_http_vidstream_multipart_int.h).
 *
 * A failure between CreateMultipartUpload and the UPDATE that records it
 * leaves an upload no row names: S3's lifecycle rule for incomplete
 * multipart uploads removes it; the create answered 503 and its retry
 * (under the same Idempotency-Key, or not) creates another.  A failure
 * between CompleteMultipartUpload and the UPDATE that records it is found
 * again by the next complete: ListParts then says NoSuchUpload and the
 * object is there (HeadObject), so the upload was completed; with no
 * object either, the upload was aborted (S3's lifecycle rule): 409.
 */


#include "ngx_http_vidstream_multipart_int.h"

#include "vs_keys.h"


static void ngx_http_vidstream_mp_cleanup(void *data);
static void ngx_http_vidstream_mp_pg_done(ngx_http_vidstream_pg_query_t *q,
    ngx_http_vidstream_pg_status_e status, PGresult *res);
static void ngx_http_vidstream_mp_s3_done(ngx_http_request_t *r);
static int ngx_http_vidstream_mp_on_part(void *data,
    const vs_s3xml_part_t *part);

static void *ngx_http_vidstream_multipart_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_vidstream_multipart_init_main_conf(ngx_conf_t *cf,
    void *conf);


static ngx_http_vidstream_pg_stmt_t  ngx_http_vidstream_mp_stmts[] = {

    /*
     * $1 id, $2 sub: status, upload_id (NULL unless an upload is
     * unfinished), part_size, part_count, size
     */
    { "vs_mp_row",
      "SELECT status,"
      " CASE WHEN upload_completed_at IS NULL THEN upload_id END,"
      " part_size, part_count, size FROM videos"
      " WHERE id = $1::uuid AND owner_sub = $2 AND status <> 'deleted'", 1 },

    /*
     * $1 id, $2 sub, $3 upload_id, $4 part_size, $5 part_count: the
     * upload S3 created is recorded, unless a concurrent repeat of the
     * create recorded its own first: the one recorded is returned (the
     * other is left to the bucket's lifecycle rule)
     */
    { "vs_mp_start",
      "UPDATE videos SET upload_id = COALESCE(upload_id, $3),"
      " part_size = COALESCE(part_size, $4::bigint),"
      " part_count = COALESCE(part_count, $5::int)"
      " WHERE id = $1::uuid AND owner_sub = $2"
      " AND status = 'pending_upload'"
      " RETURNING upload_id, part_size, part_count", 0 },

    /* $1 id, $2 sub, $3 upload_id: S3 holds the object now */
    { "vs_mp_completed",
      "UPDATE videos SET upload_completed_at = now()"
      " WHERE id = $1::uuid AND owner_sub = $2 AND upload_id = $3"
      " AND upload_completed_at IS NULL", 0 }
};


static ngx_uint_t  ngx_http_vidstream_mp_stmt_base;


static ngx_command_t  ngx_http_vidstream_multipart_commands[] = {

    { ngx_string("vidstream_multipart_threshold"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_off_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vidstream_multipart_main_conf_t, threshold),
      NULL },

    { ngx_string("vidstream_multipart_complete_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vidstream_multipart_main_conf_t, complete_timeout),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_vidstream_multipart_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_http_vidstream_multipart_create_main_conf, /* create main conf */
    ngx_http_vidstream_multipart_init_main_conf, /* init main conf */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_vidstream_multipart_module = {
    NGX_MODULE_V1,
    &ngx_http_vidstream_multipart_module_ctx, /* module context */
    ngx_http_vidstream_multipart_commands, /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


ngx_http_vidstream_pg_stmt_t *
ngx_http_vidstream_multipart_stmts(ngx_uint_t base, ngx_uint_t *n)
{
    ngx_http_vidstream_mp_stmt_base = base;
    *n = sizeof(ngx_http_vidstream_mp_stmts)
         / sizeof(ngx_http_vidstream_pg_stmt_t);

    return ngx_http_vidstream_mp_stmts;
}


ngx_uint_t
ngx_http_vidstream_multipart_route(ngx_str_t *rest)
{
    if (rest->len == sizeof("/upload") - 1
        && ngx_strncmp(rest->data, "/upload", rest->len) == 0)
    {
        return NGX_HTTP_VIDSTREAM_MULTIPART_STATE;
    }

    if (rest->len == sizeof("/upload/parts") - 1
        && ngx_strncmp(rest->data, "/upload/parts", rest->len) == 0)
    {
        return NGX_HTTP_VIDSTREAM_MULTIPART_PARTS;
    }

    return 0;
}


/*
 * The request's context for an action: step is the action's, upload_id
 * the row's unfinished upload (NULL: none yet).  NULL when out of memory.
 */

ngx_http_vidstream_mp_ctx_t *
ngx_http_vidstream_mp_ctx(ngx_http_request_t *r,
    ngx_http_vidstream_mp_step_pt step, ngx_str_t *sub, u_char *id,
    ngx_str_t *upload_id)
{
    long                          n;
    ngx_pool_cleanup_t           *cln;
    ngx_http_vidstream_mp_ctx_t  *ctx;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_vidstream_mp_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_vidstream_mp_cleanup;
    cln->data = ctx;

    ctx->request = r;
    ctx->step = step;

    /* sub, NUL-terminated: $2 of every statement */

    ctx->sub.len = sub->len;
    ctx->sub.data = ngx_pnalloc(r->pool, sub->len + 1);
    if (ctx->sub.data == NULL) {
        return NULL;
    }

    *ngx_cpymem(ctx->sub.data, sub->data, sub->len) = '\0';

    ctx->mcf = ngx_http_get_module_main_conf(r,
                                        ngx_http_vidstream_multipart_module);

    ngx_memcpy(ctx->id, id, NGX_HTTP_VIDSTREAM_MP_UUID_LEN);
    ctx->id[NGX_HTTP_VIDSTREAM_MP_UUID_LEN] = '\0';

    if (ngx_http_vidstream_api_s3_conf(r, &ctx->s3) != NGX_OK) {
        return NULL;
    }

    /* the input key of CONTRACT.md section 4 (lib/vs_keys.h) */

    ctx->key.data = ngx_pnalloc(r->pool, VS_KEYS_INPUT_LEN(sub->len) + 1);
    if (ctx->key.data == NULL) {
        return NULL;
    }

    n = vs_keys_input((char *) ctx->key.data, VS_KEYS_INPUT_LEN(sub->len) + 1,
                      (char *) sub->data, sub->len, (char *) ctx->id);
    if (n < 0) {
        return NULL;
    }

    ctx->key.len = n;

    if (upload_id
        && ngx_http_vidstream_mp_copy_upload_id(ctx, upload_id->data,
                                                upload_id->len)
           != NGX_OK)
    {
        return NULL;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_vidstream_multipart_module);

    return ctx;
}


/* the upload id, NUL-terminated, in the request pool */

ngx_int_t
ngx_http_vidstream_mp_copy_upload_id(ngx_http_vidstream_mp_ctx_t *ctx,
    u_char *data, size_t len)
{
    ctx->upload_id.len = len;
    ctx->upload_id.data = ngx_pnalloc(ctx->request->pool, len + 1);
    if (ctx->upload_id.data == NULL) {
        return NGX_ERROR;
    }

    *ngx_cpymem(ctx->upload_id.data, data, len) = '\0';

    return NGX_OK;
}


static void
ngx_http_vidstream_mp_cleanup(void *data)
{
    ngx_http_vidstream_mp_ctx_t  *ctx = data;

    if (ctx->pg_pending) {
        ngx_http_vidstream_pg_cancel(&ctx->query);
        ctx->pg_pending = 0;
    }
}


/*
 * Sends one of this module's statements: $1 the video's id, $2 its
 * owner's sub, then nparams (value, length) pairs.  NGX_DONE: the
 * action's step runs with the answer; otherwise what to finalize with
 * (503 sent).
 */

ngx_int_t
ngx_http_vidstream_mp_query(ngx_http_vidstream_mp_ctx_t *ctx,
    ngx_uint_t stmt, ngx_uint_t nparams, ...)
{
    u_char                         *value, *p;
    size_t                          len;
    va_list                         args;
    ngx_uint_t                      i;
    ngx_http_vidstream_pg_query_t  *q;

    q = &ctx->query;

    q->stmt = ngx_http_vidstream_mp_stmt_base + stmt;
    q->nparams = 2 + nparams;
    q->handler = ngx_http_vidstream_mp_pg_done;
    q->data = ctx;
    q->log = ctx->request->connection->log;

    /* text parameters go to libpq as C strings: id and sub are */

    q->values[0] = (const char *) ctx->id;
    q->lengths[0] = NGX_HTTP_VIDSTREAM_MP_UUID_LEN;
    q->values[1] = (const char *) ctx->sub.data;
    q->lengths[1] = (int) ctx->sub.len;

    va_start(args, nparams);

    for (i = 2; i < 2 + nparams; i++) {
        value = va_arg(args, u_char *);
        len = va_arg(args, size_t);

        p = ngx_pnalloc(ctx->request->pool, len + 1);
        if (p == NULL) {
            va_end(args);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        *ngx_cpymem(p, value, len) = '\0';

        q->values[i] = (const char *) p;
        q->lengths[i] = (int) len;
    }

    va_end(args);

    if (ngx_http_vidstream_pg_send(q) == NGX_OK) {
        ctx->pg_pending = 1;
        return NGX_DONE;
    }

    return ngx_http_vidstream_mp_unavailable(ctx->request);
}


static void
ngx_http_vidstream_mp_pg_done(ngx_http_vidstream_pg_query_t *q,
    ngx_http_vidstream_pg_status_e status, PGresult *res)
{
    ngx_int_t                     rc;
    ngx_connection_t             *c;
    ngx_http_request_t           *r;
    ngx_http_vidstream_mp_ctx_t  *ctx;

    ctx = q->data;
    ctx->pg_pending = 0;
    r = ctx->request;
    c = r->connection;

    if (status == NGX_HTTP_VIDSTREAM_PG_OK) {
        rc = ctx->step(ctx, res);

    } else {
        rc = ngx_http_vidstream_mp_unavailable(r);
    }

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }

    ngx_http_run_posted_requests(c);
}


/* vs_mp_row: the video's status, its unfinished upload, its part plan */

ngx_int_t
ngx_http_vidstream_mp_row(ngx_http_vidstream_mp_ctx_t *ctx)
{
    return ngx_http_vidstream_mp_query(ctx, NGX_HTTP_VIDSTREAM_MP_STMT_ROW, 0);
}


/*
 * The upload id and the plan of a vs_mp_row answer that has them: NGX_OK,
 * NGX_DECLINED when the plan is not one (the caller answers 503), or
 * NGX_ERROR.
 */

ngx_int_t
ngx_http_vidstream_mp_plan(ngx_http_vidstream_mp_ctx_t *ctx, PGresult *res)
{
    if (ngx_http_vidstream_mp_copy_upload_id(ctx,
                                             (u_char *) PQgetvalue(res, 0, 1),
                                             PQgetlength(res, 0, 1))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ctx->plan.part_size = ngx_atoof((u_char *) PQgetvalue(res, 0, 2),
                                    PQgetlength(res, 0, 2));
    ctx->plan.part_count = ngx_atoof((u_char *) PQgetvalue(res, 0, 3),
                                     PQgetlength(res, 0, 3));
    ctx->plan.size = ngx_atoof((u_char *) PQgetvalue(res, 0, 4),
                               PQgetlength(res, 0, 4));

    if (ctx->plan.part_size <= 0 || ctx->plan.part_count <= 0
        || ctx->plan.part_count > VS_MULTIPART_PARTS_MAX)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * Presigning and signing need current credentials: with the ECS task
 * role they may be missing or about to expire, and are fetched first.
 * NGX_DONE: a refresh runs, resume runs once it is over; NGX_OK: go on
 * now; NGX_DECLINED: there are none.
 */

ngx_int_t
ngx_http_vidstream_mp_creds(ngx_http_vidstream_mp_ctx_t *ctx,
    ngx_http_vidstream_mp_resume_pt resume)
{
    ngx_int_t  rc;

    rc = ngx_http_vidstream_aws_creds(ctx->request,
                                      &ctx->s3.credentials_location,
                                      &ctx->call);
    if (rc == NGX_AGAIN) {
        ctx->resume = resume;
        ctx->call.done = ngx_http_vidstream_mp_s3_done;
        return NGX_DONE;
    }

    return rc == NGX_OK ? NGX_OK : NGX_DECLINED;
}


/*
 * Before an S3 call: NGX_OK with ctx->call zeroed and its done set (the
 * caller fills and starts it); NGX_DONE when a credentials refresh runs
 * first (resume starts the call again); NGX_ERROR (logged) when the call
 * cannot be made.
 */

ngx_int_t
ngx_http_vidstream_mp_s3_ready(ngx_http_vidstream_mp_ctx_t *ctx,
    ngx_http_vidstream_mp_resume_pt resume)
{
    ngx_int_t            rc;
    ngx_http_request_t  *r;

    r = ctx->request;

    if (ctx->s3.bucket.len == 0 || ctx->s3.s3_location.len == 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vidstream multipart: vidstream_s3_bucket and "
                      "vidstream_s3_location are required");
        return NGX_ERROR;
    }

    rc = ngx_http_vidstream_mp_creds(ctx, resume);
    if (rc == NGX_DONE) {
        return NGX_DONE;
    }

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vidstream multipart: no AWS credentials for S3");
        return NGX_ERROR;
    }

    ngx_memzero(&ctx->call, sizeof(ngx_http_vidstream_aws_call_t));
    ctx->call.done = ngx_http_vidstream_mp_s3_done;

    return NGX_OK;
}


/*
 * What starting an S3 call came to (the rc of _s3_ready() or of an
 * ngx_http_vidstream_s3_*() call): NGX_DONE, or what to finalize with.
 */

ngx_int_t
ngx_http_vidstream_mp_s3_started(ngx_http_vidstream_mp_ctx_t *ctx,
    ngx_int_t rc)
{
    if (rc == NGX_OK) {
        return NGX_DONE;
    }

    return rc == NGX_ERROR ? ngx_http_vidstream_mp_unavailable(ctx->request)
                           : rc;
}


/* S3 answered, or a credentials refresh is over */

static void
ngx_http_vidstream_mp_s3_done(ngx_http_request_t *r)
{
    ngx_int_t                         rc;
    ngx_connection_t                 *c;
    ngx_http_vidstream_mp_ctx_t      *ctx;
    ngx_http_vidstream_mp_resume_pt   resume;

    r->write_event_handler = ngx_http_request_empty_handler;

    ctx = ngx_http_get_module_ctx(r, ngx_http_vidstream_multipart_module);
    c = r->connection;

    if (ctx->resume) {
        /* credentials refreshed (or not): on with what waited for them */
        resume = ctx->resume;
        ctx->resume = NULL;
        (void) ngx_http_vidstream_aws_creds_done(r, &ctx->call);
        rc = resume(ctx);

    } else {
        rc = ctx->step(ctx, NULL);
    }

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }

    ngx_http_run_posted_requests(c);
}


/*
 * The status of an S3 answer: NGX_OK for 200 or 204; NGX_DECLINED for
 * NoSuchUpload (the upload was completed or aborted) when gone says the
 * caller takes that answer; NGX_ERROR for any other (logged; the caller
 * answers 503).  err gets S3's error.
 */

ngx_int_t
ngx_http_vidstream_mp_s3_status(ngx_http_vidstream_mp_ctx_t *ctx,
    vs_s3xml_error_t *err, ngx_uint_t gone)
{
    ngx_str_t                      *res;
    ngx_http_vidstream_aws_call_t  *call;

    call = &ctx->call;
    res = &call->response;

    ngx_memzero(err, sizeof(vs_s3xml_error_t));

    if (call->status == NGX_HTTP_OK || call->status == NGX_HTTP_NO_CONTENT) {
        return NGX_OK;
    }

    (void) vs_s3xml_error((char *) res->data, res->len, err);

    if (gone && call->status == NGX_HTTP_NOT_FOUND
        && ngx_strcmp(err->code, "NoSuchUpload") == 0)
    {
        return NGX_DECLINED;
    }

    ngx_log_error(NGX_LOG_ERR, ctx->request->connection->log, 0,
                  "vidstream multipart: S3 answered %ui%s to %V of %V: "
                  "%s %s", call->status,
                  call->timed_out ? " (timeout)" : "",
                  &call->method_name, &ctx->key, err->code, err->message);

    return NGX_ERROR;
}


/* S3's 200 answer could not be read (rc of lib/vs_s3xml.h): 503 */

ngx_int_t
ngx_http_vidstream_mp_s3_invalid(ngx_http_vidstream_mp_ctx_t *ctx, int rc,
    vs_s3xml_error_t *err)
{
    ngx_log_error(NGX_LOG_ERR, ctx->request->connection->log, 0,
                  "vidstream multipart: %V of %V: %s%s%s %s",
                  &ctx->call.method_name, &ctx->key, vs_s3xml_strerror(rc),
                  err->code_len ? ": " : "", err->code, err->message);

    return ngx_http_vidstream_mp_unavailable(ctx->request);
}


/*
 * ListParts, the page after ctx->marker, for GET …/upload and for the
 * complete: every part goes through ctx->check and ctx->on_part.
 */

ngx_int_t
ngx_http_vidstream_mp_list(ngx_http_vidstream_mp_ctx_t *ctx)
{
    ngx_int_t  rc;

    rc = ngx_http_vidstream_mp_s3_ready(ctx, ngx_http_vidstream_mp_list);
    if (rc != NGX_OK) {
        return ngx_http_vidstream_mp_s3_started(ctx, rc);
    }

    rc = ngx_http_vidstream_s3_list_parts(ctx->request, &ctx->s3, &ctx->key,
                                          &ctx->upload_id,
                                          NGX_HTTP_VIDSTREAM_MP_PAGE,
                                          ctx->marker, &ctx->call);

    return ngx_http_vidstream_mp_s3_started(ctx, rc);
}


/*
 * S3 answered a ListParts page: NGX_OK when it was the last, NGX_AGAIN
 * when there is a next one (the caller asks for it), NGX_DECLINED when
 * S3 says NoSuchUpload, NGX_ERROR (logged) for any other failure.
 */

ngx_int_t
ngx_http_vidstream_mp_listed(ngx_http_vidstream_mp_ctx_t *ctx)
{
    int                     rc;
    ngx_str_t              *res;
    ngx_http_request_t     *r;
    vs_s3xml_error_t        err;
    vs_s3xml_list_parts_t   page;

    r = ctx->request;
    res = &ctx->call.response;

    rc = ngx_http_vidstream_mp_s3_status(ctx, &err, 1);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = vs_s3xml_list_parts((char *) res->data, res->len,
                             ngx_http_vidstream_mp_on_part, ctx, &page,
                             &err);
    if (rc != VS_S3XML_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vidstream multipart: ListParts of %V: %s %s %s",
                      &ctx->key, vs_s3xml_strerror(rc), err.code,
                      err.message);
        return NGX_ERROR;
    }

    if (!page.is_truncated) {
        return NGX_OK;
    }

    if (page.next_part_number_marker <= ctx->marker
        || ++ctx->pages >= NGX_HTTP_VIDSTREAM_MP_PAGES_MAX)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vidstream multipart: ListParts of %V does not "
                      "advance", &ctx->key);
        return NGX_ERROR;
    }

    ctx->marker = page.next_part_number_marker;

    return NGX_AGAIN;
}


/* every part ListParts reports: checked against the plan, then written */

static int
ngx_http_vidstream_mp_on_part(void *data, const vs_s3xml_part_t *part)
{
    ngx_http_vidstream_mp_ctx_t  *ctx = data;

    if (vs_multipart_check_add(ctx->check, part->part_number, part->size)
        == VS_MULTIPART_PART_OUTSIDE)
    {
        return 0;
    }

    if (ctx->on_part(ctx, part) != NGX_OK) {
        return -1;
    }

    ctx->listed++;

    return 0;
}


/* b holds n more bytes: doubled in the pool when it does not */

ngx_int_t
ngx_http_vidstream_mp_reserve(ngx_http_request_t *r,
    ngx_http_vidstream_mp_buf_t *b, size_t n)
{
    u_char  *p;
    size_t   size, used;

    if (b->start && (size_t) (b->end - b->pos) >= n) {
        return NGX_OK;
    }

    used = b->pos - b->start;
    size = b->start ? 2 * (size_t) (b->end - b->start) : 4096;

    while (size - used < n) {
        size *= 2;
    }

    p = ngx_pnalloc(r->pool, size);
    if (p == NULL) {
        return NGX_ERROR;
    }

    if (used) {
        ngx_memcpy(p, b->start, used);
    }

    if (b->start) {
        ngx_pfree(r->pool, b->start);
    }

    b->start = p;
    b->pos = p + used;
    b->end = p + size;

    return NGX_OK;
}


static void *
ngx_http_vidstream_multipart_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_vidstream_multipart_main_conf_t  *mcf;

    mcf = ngx_pcalloc(cf->pool,
                      sizeof(ngx_http_vidstream_multipart_main_conf_t));
    if (mcf == NULL) {
        return NULL;
    }

    mcf->threshold = NGX_CONF_UNSET;
    mcf->complete_timeout = NGX_CONF_UNSET_MSEC;

    return mcf;
}


static char *
ngx_http_vidstream_multipart_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_vidstream_multipart_main_conf_t  *mcf = conf;

    if (mcf->threshold == NGX_CONF_UNSET) {
        mcf->threshold = 64 * 1024 * 1024;
    }

    ngx_conf_init_msec_value(mcf->complete_timeout, 120000);

    if (mcf->threshold < 0) {
        return "vidstream_multipart_threshold must not be negative";
    }

    if (mcf->complete_timeout < 1) {
        return "vidstream_multipart_complete_timeout must be positive";
    }

    return NGX_CONF_OK;
}
