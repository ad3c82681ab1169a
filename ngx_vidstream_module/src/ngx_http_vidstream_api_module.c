
/*
 * ngx_http_vidstream_api_module: the videos API of CONTRACT.md section 3.
 *
 *     vidstream_postgres "host=127.0.0.1 dbname=vidstream" pool=4 timeout=2s;
 *     vidstream_s3_bucket videos;
 *     vidstream_sqs_queue_url http://127.0.0.1:9324/000000000000/jobs;
 *     vidstream_aws_timeout 5s;
 *
 *     location = /healthz { vidstream_healthz; }
 *     location /videos    { vidstream_auth on; vidstream_api; }
 *
 * Every request is one or a few prepared statements on the per-worker
 * PostgreSQL pool (ngx_http_vidstream_pg.c), ownership enforced in SQL
 * (WHERE id = $1 AND owner_sub = $2), plus presigned S3 URLs and signed
 * SQS/S3 calls made as subrequests (ngx_http_vidstream_aws.c).  Nothing
 * blocks: a request that waits holds a reference (r->main->count) and is
 * finalized from the pool's or the subrequest's callback.
 *
 * complete never waits on what it cannot be sure of: a video is queued
 * first, its job sent, and enqueued_at set only once SQS has answered; a
 * queued video without enqueued_at is sent again by the next complete (or
 * the worker's reconciler), so a stall anywhere on the way strands
 * nothing and a duplicate job is harmless (the worker's claim is guarded).
 *
 * This file holds the directives, the conf, the handler and the route.
 * The rest, by concern (what they share: ngx_http_vidstream_api.h):
 *   _api_args.c      request arguments, the create body, validation
 *   _api_sql.c       the statements; PostgreSQL's answer to its flow
 *   _api_json.c      the answers and errors
 *   _api_create.c    create and complete          (create/complete_state_e)
 *   _api_read.c      list and get                 (read_state_e)
 *   _api_download.c  download, playback, presign  (download_state_e)
 *   _api_cache.c     done videos in shared memory, for download/playback
 *   _api_delete.c    delete                       (delete_state_e)
 *   _api_health.c    vidstream_health and /healthz
 * S3 and SQS requests go through ngx_http_vidstream_s3.c and _sqs.c.
 */

#include "ngx_http_vidstream_api.h"


static ngx_int_t ngx_http_vidstream_api_handler(ngx_http_request_t *r);
static void ngx_http_vidstream_api_cleanup(void *data);
static ngx_int_t ngx_http_vidstream_api_route(ngx_http_request_t *r,
    ngx_http_vidstream_api_ctx_t *ctx);
static char *ngx_http_vidstream_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_vidstream_postgres(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_vidstream_redis(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_vidstream_api_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_vidstream_api_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_vidstream_api_init_main_conf(ngx_conf_t *cf,
    void *conf);
static ngx_int_t ngx_http_vidstream_api_init_process(ngx_cycle_t *cycle);
static void ngx_http_vidstream_api_exit_process(ngx_cycle_t *cycle);


static ngx_conf_enum_t  ngx_http_vidstream_api_addressing[] = {
    { ngx_string("auto"), VS_AWS_ADDR_AUTO },
    { ngx_string("virtual"), VS_AWS_ADDR_VIRTUAL },
    { ngx_string("path"), VS_AWS_ADDR_PATH },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_vidstream_api_commands[] = {

    { ngx_string("vidstream_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_vidstream_api,
      0,
      0,
      NULL },

    { ngx_string("vidstream_health"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_vidstream_health,
      0,
      0,
      NULL },

    { ngx_string("vidstream_healthz"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_vidstream_healthz,
      0,
      0,
      NULL },

    { ngx_string("vidstream_postgres"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_vidstream_postgres,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("vidstream_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_vidstream_redis,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("vidstream_s3_bucket"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vidstream_api_main_conf_t, bucket),
      NULL },

    { ngx_string("vidstream_aws_region"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vidstream_api_main_conf_t, region),
      NULL },

    { ngx_string("vidstream_s3_endpoint"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vidstream_api_main_conf_t, s3_endpoint),
      NULL },

    { ngx_string("vidstream_s3_addressing"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vidstream_api_main_conf_t, addressing),
      &ngx_http_vidstream_api_addressing },

    { ngx_string("vidstream_sqs_endpoint"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vidstream_api_main_conf_t, sqs_endpoint),
      NULL },

    { ngx_string("vidstream_sqs_queue_url"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vidstream_api_main_conf_t, queue_url),
      NULL },

    { ngx_string("vidstream_s3_location"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vidstream_api_main_conf_t, s3_location),
      NULL },

    { ngx_string("vidstream_sqs_location"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vidstream_api_main_conf_t, sqs_location),
      NULL },

    { ngx_string("vidstream_aws_credentials_location"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vidstream_api_main_conf_t, credentials_location),
      NULL },

    { ngx_string("vidstream_aws_access_key_id"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vidstream_api_main_conf_t, access_key_id),
      NULL },

    { ngx_string("vidstream_aws_secret_access_key"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vidstream_api_main_conf_t, secret_access_key),
      NULL },

    { ngx_string("vidstream_aws_session_token"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vidstream_api_main_conf_t, session_token),
      NULL },

    { ngx_string("vidstream_presign_expires"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vidstream_api_main_conf_t, presign_expires),
      NULL },

    { ngx_string("vidstream_video_cache"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_vidstream_api_video_cache,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("vidstream_aws_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vidstream_api_main_conf_t, aws_timeout),
      NULL },

    { ngx_string("vidstream_max_upload_size"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_off_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vidstream_api_main_conf_t, max_upload_size),
      NULL },

    { ngx_string("vidstream_api_body_limit"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vidstream_api_main_conf_t, body_limit),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_vidstream_api_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_vidstream_api_postconfiguration, /* postconfiguration */

    ngx_http_vidstream_api_create_main_conf, /* create main configuration */
    ngx_http_vidstream_api_init_main_conf, /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_vidstream_api_module = {
    NGX_MODULE_V1,
    &ngx_http_vidstream_api_module_ctx,    /* module context */
    ngx_http_vidstream_api_commands,       /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_vidstream_api_init_process,   /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_vidstream_api_exit_process,   /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/*
 * The auth module may be absent from a build: then no request is
 * authenticated and every API request is a 401, never a success.
 */
extern ngx_int_t ngx_http_vidstream_auth_user(ngx_http_request_t *r,
    ngx_str_t *sub) __attribute__((weak));




/* the content handler of a vidstream_api location */

static ngx_int_t
ngx_http_vidstream_api_handler(ngx_http_request_t *r)
{
    ngx_int_t                            rc;
    ngx_table_elt_t                     *h;
    ngx_http_vidstream_api_ctx_t        *ctx;
    ngx_http_vidstream_api_main_conf_t  *amcf;

    ctx = ngx_http_vidstream_api_ctx(r, 0);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_vidstream_auth_user == NULL
        || ngx_http_vidstream_auth_user(r, &ctx->sub) != NGX_OK
        || ctx->sub.len == 0)
    {
        /* vidstream_auth is off here: the API never answers anonymously */

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vidstream api: unauthenticated request "
                      "(is \"vidstream_auth on\" missing?)");

        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "WWW-Authenticate");
        ngx_str_set(&h->value, "Bearer realm=\"vidstream\"");
        r->headers_out.www_authenticate = h;

        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_vidstream_send_error(r, NGX_HTTP_UNAUTHORIZED,
                                             "unauthorized",
                                             "a bearer token is required");
    }

    rc = ngx_http_vidstream_api_route(r, ctx);
    if (rc != NGX_OK) {
        return rc == NGX_DECLINED ? ctx->rc : rc;
    }

    ngx_http_vidstream_metrics_action(r, ctx->action);

    amcf = ctx->amcf;

    if (ctx->action == NGX_HTTP_VIDSTREAM_CREATE) {

        if (ngx_http_vidstream_idempotency_key(r, &ctx->idempotency_key)
            != NGX_OK)
        {
            rc = ngx_http_discard_request_body(r);
            if (rc != NGX_OK) {
                return rc;
            }

            return ngx_http_vidstream_send_error(r, NGX_HTTP_BAD_REQUEST,
                                        "invalid_request",
                                        "Idempotency-Key must be given once, "
                                        "1 to 255 printable ASCII "
                                        "characters");
        }

        if (r->headers_in.content_length_n > (off_t) amcf->body_limit) {
            rc = ngx_http_discard_request_body(r);
            if (rc != NGX_OK) {
                return rc;
            }

            return ngx_http_vidstream_send_error(r,
                                        NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                        "too_large",
                                        "the request body is too large");
        }

        r->request_body_in_single_buf = 1;

        rc = ngx_http_read_client_request_body(r,
                                        ngx_http_vidstream_api_create_body);
        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            return rc;
        }

        return NGX_DONE;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    switch (ctx->action) {

    case NGX_HTTP_VIDSTREAM_LIST:
        rc = ngx_http_vidstream_api_list_args(r, ctx);
        if (rc != NGX_OK) {
            return rc == NGX_DECLINED ? ctx->rc : rc;
        }

        ctx->state.read = NGX_HTTP_VIDSTREAM_READ_LIST;

        rc = ngx_http_vidstream_api_query(ctx, NGX_HTTP_VIDSTREAM_STMT_LIST,
                                 4, ctx->sub.data, ctx->sub.len,
                                 ctx->has_cursor ? ctx->cursor_ts : NULL,
                                 NGX_HTTP_VIDSTREAM_API_CSTR,
                                 ctx->has_cursor ? ctx->cursor_id : NULL,
                                 NGX_HTTP_VIDSTREAM_API_CSTR,
                                 ctx->limit_arg, NGX_HTTP_VIDSTREAM_API_CSTR);
        break;

    case NGX_HTTP_VIDSTREAM_UPLOAD:
        rc = ngx_http_vidstream_multipart_handler(r, ctx->upload_action,
                                                  ctx->id, &ctx->sub);
        if (rc == NGX_DONE) {
            r->main->count++;
        }

        return rc;

    case NGX_HTTP_VIDSTREAM_DOWNLOAD:
        rc = ngx_http_vidstream_api_download_args(r, ctx);
        if (rc != NGX_OK) {
            return rc == NGX_DECLINED ? ctx->rc : rc;
        }

        ctx->state.download = NGX_HTTP_VIDSTREAM_DOWNLOAD_CREDS;

        if (ngx_http_vidstream_api_creds(ctx) == NGX_DONE) {
            r->main->count++;
            return NGX_DONE;
        }

        rc = ngx_http_vidstream_api_download_row(ctx);
        break;

    case NGX_HTTP_VIDSTREAM_PLAYBACK:
        rc = ngx_http_vidstream_api_download_row(ctx);
        break;

    case NGX_HTTP_VIDSTREAM_GET:
        ctx->state.read = NGX_HTTP_VIDSTREAM_READ_GET;

        rc = ngx_http_vidstream_api_query(ctx, NGX_HTTP_VIDSTREAM_STMT_GET,
                                 2, ctx->id,
                                 NGX_HTTP_VIDSTREAM_API_CSTR,
                                 ctx->sub.data, ctx->sub.len);
        break;

    case NGX_HTTP_VIDSTREAM_DELETE:
        ctx->state.delete = NGX_HTTP_VIDSTREAM_DELETE_MARK;

        /* a cached done video is forgotten now, and again once gone */
        ngx_http_vidstream_api_cache_remove(ctx);

        rc = ngx_http_vidstream_api_query(ctx,
                                 NGX_HTTP_VIDSTREAM_STMT_DELETE_MARK,
                                 2, ctx->id,
                                 NGX_HTTP_VIDSTREAM_API_CSTR,
                                 ctx->sub.data, ctx->sub.len);
        break;

    default: /* NGX_HTTP_VIDSTREAM_COMPLETE */
        rc = ngx_http_vidstream_api_complete_queue(ctx);
        break;
    }

    if (rc == NGX_OK) {
        r->main->count++;
        return NGX_DONE;
    }

    return rc;
}


ngx_http_vidstream_api_ctx_t *
ngx_http_vidstream_api_ctx(ngx_http_request_t *r, ngx_uint_t action)
{
    ngx_pool_cleanup_t            *cln;
    ngx_http_vidstream_api_ctx_t  *ctx;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_vidstream_api_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_vidstream_api_cleanup;
    cln->data = ctx;

    ctx->request = r;
    ctx->action = action;
    ctx->amcf = ngx_http_get_module_main_conf(r,
                                              ngx_http_vidstream_api_module);

    ngx_http_set_ctx(r, ctx, ngx_http_vidstream_api_module);

    return ctx;
}


/* the request goes away (client error, shutdown): forget its query */

static void
ngx_http_vidstream_api_cleanup(void *data)
{
    ngx_http_vidstream_api_ctx_t  *ctx = data;

    if (ctx->pg_pending) {
        ngx_http_vidstream_pg_cancel(&ctx->query);
        ctx->pg_pending = 0;
    }

    if (ctx->redis_pending) {
        ngx_http_vidstream_redis_cancel(&ctx->redis);
        ctx->redis_pending = 0;
    }
}


/*
 *   /videos                          GET list, POST create
 *   /videos/<id>                     GET, DELETE
 *   /videos/<id>/complete            POST
 *   /videos/<id>/download            GET
 *   /videos/<id>/playback            GET (ngx_http_vidstream_play_module)
 *   /videos/<id>/upload[/parts]      GET (ngx_http_vidstream_multipart_module)
 */

static ngx_int_t
ngx_http_vidstream_api_route(ngx_http_request_t *r,
    ngx_http_vidstream_api_ctx_t *ctx)
{
    u_char     *p, *last, *id;
    ngx_str_t   rest;

    p = r->uri.data;
    last = p + r->uri.len;

    if (r->uri.len < sizeof("/videos") - 1
        || ngx_strncmp(p, "/videos", sizeof("/videos") - 1) != 0)
    {
        goto not_found;
    }

    p += sizeof("/videos") - 1;

    if (p == last) {
        if (r->method == NGX_HTTP_GET || r->method == NGX_HTTP_HEAD) {
            ctx->action = NGX_HTTP_VIDSTREAM_LIST;
            return NGX_OK;
        }

        if (r->method == NGX_HTTP_POST) {
            ctx->action = NGX_HTTP_VIDSTREAM_CREATE;
            return NGX_OK;
        }

        return ngx_http_vidstream_api_not_allowed(r, "GET, HEAD, POST");
    }

    if (*p++ != '/' || p == last) {
        goto not_found;
    }

    id = p;

    while (p < last && *p != '/') {
        p++;
    }

    if (!vs_uuid_valid((char *) id, p - id)) {
        (void) ngx_http_discard_request_body(r);
        return ngx_http_vidstream_api_reject(r, NGX_HTTP_BAD_REQUEST,
                                             "invalid_request",
                                             "the video id is not a "
                                             "lowercase UUID");
    }

    ngx_memcpy(ctx->id, id, NGX_HTTP_VIDSTREAM_UUID_LEN);
    ctx->id[NGX_HTTP_VIDSTREAM_UUID_LEN] = '\0';

    rest.data = p;
    rest.len = last - p;

    if (rest.len == 0) {
        if (r->method == NGX_HTTP_GET || r->method == NGX_HTTP_HEAD) {
            ctx->action = NGX_HTTP_VIDSTREAM_GET;
            return NGX_OK;
        }

        if (r->method == NGX_HTTP_DELETE) {
            ctx->action = NGX_HTTP_VIDSTREAM_DELETE;
            return NGX_OK;
        }

        return ngx_http_vidstream_api_not_allowed(r, "GET, HEAD, DELETE");
    }

    if (rest.len == sizeof("/complete") - 1
        && ngx_strncmp(rest.data, "/complete", rest.len) == 0)
    {
        if (r->method == NGX_HTTP_POST) {
            ctx->action = NGX_HTTP_VIDSTREAM_COMPLETE;
            return NGX_OK;
        }

        return ngx_http_vidstream_api_not_allowed(r, "POST");
    }

    if (rest.len == sizeof("/download") - 1
        && ngx_strncmp(rest.data, "/download", rest.len) == 0)
    {
        if (r->method == NGX_HTTP_GET || r->method == NGX_HTTP_HEAD) {
            ctx->action = NGX_HTTP_VIDSTREAM_DOWNLOAD;
            return NGX_OK;
        }

        return ngx_http_vidstream_api_not_allowed(r, "GET, HEAD");
    }

    if (rest.len == sizeof("/playback") - 1
        && ngx_strncmp(rest.data, "/playback", rest.len) == 0)
    {
        if (r->method == NGX_HTTP_GET || r->method == NGX_HTTP_HEAD) {
            ctx->action = NGX_HTTP_VIDSTREAM_PLAYBACK;
            return NGX_OK;
        }

        return ngx_http_vidstream_api_not_allowed(r, "GET, HEAD");
    }

    ctx->upload_action = ngx_http_vidstream_multipart_route(&rest);

    if (ctx->upload_action) {
        if (r->method == NGX_HTTP_GET || r->method == NGX_HTTP_HEAD) {
            ctx->action = NGX_HTTP_VIDSTREAM_UPLOAD;
            return NGX_OK;
        }

        return ngx_http_vidstream_api_not_allowed(r, "GET, HEAD");
    }

not_found:

    (void) ngx_http_discard_request_body(r);

    return ngx_http_vidstream_api_reject(r, NGX_HTTP_NOT_FOUND, "not_found",
                                         "no such resource");
}


ngx_int_t
ngx_http_vidstream_api_not_allowed(ngx_http_request_t *r, const char *allow)
{
    ngx_table_elt_t  *h;

    (void) ngx_http_discard_request_body(r);

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Allow");
    h->value.data = (u_char *) allow;
    h->value.len = ngx_strlen(allow);

    return ngx_http_vidstream_api_reject(r, NGX_HTTP_NOT_ALLOWED,
                                         "method_not_allowed",
                                         "method not allowed here");
}


static char *
ngx_http_vidstream_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t            *clcf, **loc;
    ngx_http_vidstream_api_main_conf_t  *amcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_vidstream_api_handler;

    amcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_vidstream_api_module);

    loc = ngx_array_push(&amcf->locations);
    if (loc == NULL) {
        return NGX_CONF_ERROR;
    }

    *loc = clcf;

    return NGX_CONF_OK;
}


static char *
ngx_http_vidstream_postgres(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_vidstream_api_main_conf_t  *amcf = conf;

    ngx_str_t  *value;

    if (amcf->pg.keywords) {
        return "is duplicate";
    }

    value = cf->args->elts;

    return ngx_http_vidstream_pg_conf_set(cf, &value[1], cf->args->nelts - 1,
                                          &amcf->pg);
}


static char *
ngx_http_vidstream_redis(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_vidstream_api_main_conf_t  *amcf = conf;

    ngx_str_t  *value;

    if (amcf->redis.addr) {
        return "is duplicate";
    }

    value = cf->args->elts;

    return ngx_http_vidstream_redis_conf_set(cf, &value[1],
                                             cf->args->nelts - 1,
                                             &amcf->redis);
}


/*
 * A POST /videos body up to vidstream_api_body_limit must stay in memory:
 * reading it back from a temp file would block.  Once the locations are
 * merged, the body buffer of every vidstream_api location is raised to
 * hold the limit and one byte more (nginx goes to a file only when its
 * buffer is full); a body that still lands in a file is over the limit.
 */

static ngx_int_t
ngx_http_vidstream_api_postconfiguration(ngx_conf_t *cf)
{
    ngx_uint_t                           i;
    ngx_http_core_loc_conf_t           **loc;
    ngx_http_vidstream_api_main_conf_t  *amcf;

    amcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_vidstream_api_module);
    loc = amcf->locations.elts;

    for (i = 0; i < amcf->locations.nelts; i++) {
        if (loc[i]->client_body_buffer_size < amcf->body_limit + 1) {
            loc[i]->client_body_buffer_size = amcf->body_limit + 1;
        }

        loc[i]->client_body_in_single_buffer = 1;
    }

    return NGX_OK;
}


static void *
ngx_http_vidstream_api_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_vidstream_api_main_conf_t  *amcf;

    amcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_vidstream_api_main_conf_t));
    if (amcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&amcf->locations, cf->pool, 4,
                       sizeof(ngx_http_core_loc_conf_t *))
        != NGX_OK)
    {
        return NULL;
    }

    amcf->addressing = NGX_CONF_UNSET_UINT;
    amcf->presign_expires = NGX_CONF_UNSET;
    amcf->aws_timeout = NGX_CONF_UNSET_MSEC;
    amcf->max_upload_size = NGX_CONF_UNSET;
    amcf->body_limit = NGX_CONF_UNSET_SIZE;
    amcf->video_cache = NGX_CONF_UNSET_PTR;
    amcf->video_cache_valid = 30;

    return amcf;
}


static char *
ngx_http_vidstream_api_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_vidstream_api_main_conf_t  *amcf = conf;

    int              kind;
    const char      *url, *region;
    vs_aws_creds_t  *creds;
    char             err[256];

    ngx_conf_init_uint_value(amcf->addressing, VS_AWS_ADDR_AUTO);
    ngx_conf_init_value(amcf->presign_expires, VS_SIGV4_EXPIRES_DEFAULT);
    ngx_conf_init_msec_value(amcf->aws_timeout, 5000);
    if (amcf->max_upload_size == NGX_CONF_UNSET) {
        /* 5 TiB: the largest S3 object (a multipart upload) */
        amcf->max_upload_size = (off_t) 5 * 1024 * 1024 * 1024 * 1024;
    }

    ngx_conf_init_size_value(amcf->body_limit, 16 * 1024);
    ngx_conf_init_ptr_value(amcf->video_cache, NULL);

    if (amcf->s3_location.len == 0) {
        ngx_str_set(&amcf->s3_location, "/_vidstream/s3");
    }

    if (amcf->sqs_location.len == 0) {
        ngx_str_set(&amcf->sqs_location, "/_vidstream/sqs");
    }

    if (amcf->credentials_location.len == 0) {
        ngx_str_set(&amcf->credentials_location,
                    "/_vidstream/credentials");
    }

    if (amcf->presign_expires < 1
        || amcf->presign_expires > VS_SIGV4_EXPIRES_MAX)
    {
        return "vidstream_presign_expires must be from 1s to 7d";
    }

    if (amcf->aws_timeout < 1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "vidstream_aws_timeout must be positive");
        return NGX_CONF_ERROR;
    }

    if (amcf->max_upload_size < 1) {
        return "vidstream_max_upload_size must be positive";
    }

    /* endpoints: directives, else AWS_* environment, else AWS's */

    if (amcf->region.len == 0) {
        region = vs_aws_region_from_env();
        amcf->region.data = (u_char *) region;
        amcf->region.len = ngx_strlen(region);
    }

    amcf->s3 = ngx_pcalloc(cf->pool, sizeof(vs_aws_endpoint_t));
    amcf->sqs = ngx_pcalloc(cf->pool, sizeof(vs_aws_endpoint_t));
    amcf->provider = ngx_pcalloc(cf->pool, sizeof(vs_aws_provider_t));
    if (amcf->s3 == NULL || amcf->sqs == NULL || amcf->provider == NULL) {
        return NGX_CONF_ERROR;
    }

    url = amcf->s3_endpoint.len ? (char *) amcf->s3_endpoint.data
                                : vs_aws_endpoint_url_from_env("S3");

    if (vs_aws_endpoint_init(amcf->s3, "s3", 2, (char *) amcf->region.data,
                             amcf->region.len, url, url ? ngx_strlen(url) : 0,
                             amcf->addressing, err, sizeof(err))
        != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid S3 endpoint: %s", err);
        return NGX_CONF_ERROR;
    }

    url = amcf->sqs_endpoint.len ? (char *) amcf->sqs_endpoint.data
                                 : vs_aws_endpoint_url_from_env("SQS");

    if (vs_aws_endpoint_init(amcf->sqs, "sqs", 3, (char *) amcf->region.data,
                             amcf->region.len, url, url ? ngx_strlen(url) : 0,
                             VS_AWS_ADDR_AUTO, err, sizeof(err))
        != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid SQS endpoint: %s", err);
        return NGX_CONF_ERROR;
    }

    /* credentials: static directives, else environment, else ECS */

    creds = NULL;

    if (amcf->access_key_id.len || amcf->secret_access_key.len) {
        creds = ngx_pcalloc(cf->pool, sizeof(vs_aws_creds_t));
        if (creds == NULL) {
            return NGX_CONF_ERROR;
        }

        if (vs_aws_creds_set(creds, (char *) amcf->access_key_id.data,
                             amcf->access_key_id.len,
                             (char *) amcf->secret_access_key.data,
                             amcf->secret_access_key.len,
                             (char *) amcf->session_token.data,
                             amcf->session_token.len, 0, err, sizeof(err))
            != 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid AWS credentials: %s", err);
            return NGX_CONF_ERROR;
        }
    }

    kind = vs_aws_provider_init(amcf->provider, creds, err, sizeof(err));
    if (kind < 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid AWS credentials: %s", err);
        return NGX_CONF_ERROR;
    }

    if (creds) {
        ngx_explicit_memzero(creds, sizeof(vs_aws_creds_t));
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_vidstream_api_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                           napi, nmp;
    ngx_http_vidstream_pg_stmt_t        *stmts, *mp;
    ngx_http_vidstream_api_main_conf_t  *amcf;

    amcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_vidstream_api_module);
    if (amcf == NULL) {
        return NGX_OK;
    }

    if (ngx_http_vidstream_aws_init_process(cycle, amcf->provider,
                                            amcf->aws_timeout)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (amcf->pg.keywords == NULL) {
        return NGX_OK;
    }

    /* the pool prepares the api's statements, then the multipart ones */

    napi = ngx_http_vidstream_api_nstmts;
    mp = ngx_http_vidstream_multipart_stmts(napi, &nmp);

    stmts = ngx_palloc(cycle->pool,
                       (napi + nmp) * sizeof(ngx_http_vidstream_pg_stmt_t));
    if (stmts == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(stmts, ngx_http_vidstream_api_stmts,
               napi * sizeof(ngx_http_vidstream_pg_stmt_t));
    ngx_memcpy(stmts + napi, mp, nmp * sizeof(ngx_http_vidstream_pg_stmt_t));

    return ngx_http_vidstream_pg_init(cycle, &amcf->pg, stmts, napi + nmp);
}


static void
ngx_http_vidstream_api_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_vidstream_pg_done(cycle);
}


ngx_int_t
ngx_http_vidstream_api_s3_conf(ngx_http_request_t *r,
    ngx_http_vidstream_s3_conf_t *conf)
{
    ngx_http_vidstream_api_main_conf_t  *amcf;

    amcf = ngx_http_get_module_main_conf(r, ngx_http_vidstream_api_module);
    if (amcf == NULL || amcf->s3 == NULL) {
        return NGX_ERROR;
    }

    conf->s3 = amcf->s3;
    conf->bucket = amcf->bucket;
    conf->credentials_location = amcf->credentials_location;
    conf->s3_location = amcf->s3_location;
    conf->presign_expires = amcf->presign_expires;

    return NGX_OK;
}
