
/*
 * ngx_http_vidstream_play_module: playback through the edge (CONTRACT.md
 * section 3.2).
 *
 *     vidstream_playback_key     conf/play.key [conf/play-old.key];
 *     vidstream_playback_expires 1h;
 *
 *     location /play/ {
 *         vidstream_play on;
 *         slice 4m;
 *         proxy_cache vidstream_play;
 *         proxy_cache_key $vidstream_play_key$slice_range;
 *         proxy_cache_valid 200 206 1h;
 *         proxy_method GET;
 *         proxy_pass_request_headers off;
 *         proxy_set_header Host $vidstream_play_host;
 *         proxy_set_header Range $slice_range;
 *         proxy_set_header Authorization $vidstream_play_authorization;
 *         proxy_set_header X-Amz-Date $vidstream_play_date;
 *         proxy_set_header X-Amz-Content-SHA256 $vidstream_play_content_sha256;
 *         proxy_set_header X-Amz-Security-Token $vidstream_play_security_token;
 *         proxy_pass http://127.0.0.1:4569$vidstream_play_uri;
 *     }
 *
 * The access phase checks the token of /play/<token>/<file> (no database
 * call: the token carries the video id, the owner and the expiry under an
 * HMAC; lib/vs_playback.c) and maps <file> to the S3 key
 * output/<sub>/<id>/<file>, for the files of the output layout only.  It
 * runs before the cache, so a cached object is never served without a
 * valid token, and the cache is keyed by the S3 key, never by the token.
 * The variables sign each request to S3 (SigV4 headers over host and the
 * x-amz-* headers, not Range) when proxy reads them: every slice
 * subrequest is signed when it starts, so a long download never sends a
 * stale x-amz-date.  A header filter sets the Content-Type of the file's
 * kind and Cache-Control: private, and drops S3's x-amz-* headers.
 *
 * GET /videos/<id>/playback mints the token: the api module reads the
 * owner's row and calls ngx_http_vidstream_play_playback().
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_vidstream.h"
#include "ngx_http_vidstream_aws.h"
#include "ngx_http_vidstream_play.h"
#include "ngx_http_vidstream_metrics.h"

#include "vs_keys.h"
#include "vs_playback.h"
#include "vs_util.h"


#define NGX_HTTP_VIDSTREAM_PLAY_KEYS       2
#define NGX_HTTP_VIDSTREAM_PLAY_KEY_FILE   4096   /* the largest key file */
#define NGX_HTTP_VIDSTREAM_PLAY_PREFIX     "/play/"

/* what the variables give */
#define NGX_HTTP_VIDSTREAM_PLAY_VAR_KEY            0
#define NGX_HTTP_VIDSTREAM_PLAY_VAR_URI            1
#define NGX_HTTP_VIDSTREAM_PLAY_VAR_HOST           2
#define NGX_HTTP_VIDSTREAM_PLAY_VAR_AUTHORIZATION  3
#define NGX_HTTP_VIDSTREAM_PLAY_VAR_DATE           4
#define NGX_HTTP_VIDSTREAM_PLAY_VAR_SHA256         5
#define NGX_HTTP_VIDSTREAM_PLAY_VAR_TOKEN          6


typedef struct {
    vs_play_key_t                  keys[NGX_HTTP_VIDSTREAM_PLAY_KEYS];
    ngx_uint_t                     nkeys;
    time_t                         expires;
} ngx_http_vidstream_play_main_conf_t;


typedef struct {
    ngx_flag_t                     enable;
} ngx_http_vidstream_play_loc_conf_t;


/* the object a /play request reads; its slice subrequests share it */
typedef struct {
    ngx_str_t                      key;           /* output/<sub>/<id>/… */
    ngx_str_t                      path;          /* encoded, as signed */
    ngx_str_t                      host;          /* the signed Host */
    ngx_str_t                      content_type;
    const vs_aws_endpoint_t       *s3;
} ngx_http_vidstream_play_object_t;


/* per request, the main one and each slice subrequest */
typedef struct {
    ngx_http_vidstream_play_object_t  *object;
    vs_sigv4_signed_t                 *sig;       /* once signed */
    ngx_str_t                          security_token;
    ngx_http_vidstream_aws_call_t     *call;      /* ECS refresh, main */
    unsigned                           sign_failed:1;
} ngx_http_vidstream_play_ctx_t;


static ngx_int_t ngx_http_vidstream_play_access(ngx_http_request_t *r);
static void ngx_http_vidstream_play_creds_done(ngx_http_request_t *r);
static ngx_int_t ngx_http_vidstream_play_object(ngx_http_request_t *r,
    ngx_http_vidstream_s3_conf_t *s3, vs_play_claims_t *claims,
    ngx_str_t *file, const char *content_type,
    ngx_http_vidstream_play_object_t **object);
static ngx_http_vidstream_play_ctx_t *ngx_http_vidstream_play_sign(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_vidstream_play_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_vidstream_play_header_filter(ngx_http_request_t *r);

static char *ngx_http_vidstream_playback_key(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_vidstream_play(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_vidstream_play_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_http_vidstream_play_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_vidstream_play_init_module(ngx_cycle_t *cycle);
static void *ngx_http_vidstream_play_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_vidstream_play_init_main_conf(ngx_conf_t *cf,
    void *conf);
static void *ngx_http_vidstream_play_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_vidstream_play_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);


static ngx_command_t  ngx_http_vidstream_play_commands[] = {

    { ngx_string("vidstream_playback_key"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_vidstream_playback_key,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("vidstream_playback_expires"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vidstream_play_main_conf_t, expires),
      NULL },

    { ngx_string("vidstream_play"),
      NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_http_vidstream_play,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_vidstream_play_loc_conf_t, enable),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_vidstream_play_module_ctx = {
    ngx_http_vidstream_play_add_variables, /* preconfiguration */
    ngx_http_vidstream_play_init,          /* postconfiguration */

    ngx_http_vidstream_play_create_main_conf, /* create main configuration */
    ngx_http_vidstream_play_init_main_conf, /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_vidstream_play_create_loc_conf, /* create location configuration */
    ngx_http_vidstream_play_merge_loc_conf /* merge location configuration */
};


ngx_module_t  ngx_http_vidstream_play_module = {
    NGX_MODULE_V1,
    &ngx_http_vidstream_play_module_ctx,   /* module context */
    ngx_http_vidstream_play_commands,      /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_vidstream_play_init_module,   /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_variable_t  ngx_http_vidstream_play_vars[] = {

    { ngx_string("vidstream_play_key"), NULL,
      ngx_http_vidstream_play_variable,
      NGX_HTTP_VIDSTREAM_PLAY_VAR_KEY, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("vidstream_play_uri"), NULL,
      ngx_http_vidstream_play_variable,
      NGX_HTTP_VIDSTREAM_PLAY_VAR_URI, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("vidstream_play_host"), NULL,
      ngx_http_vidstream_play_variable,
      NGX_HTTP_VIDSTREAM_PLAY_VAR_HOST, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("vidstream_play_authorization"), NULL,
      ngx_http_vidstream_play_variable,
      NGX_HTTP_VIDSTREAM_PLAY_VAR_AUTHORIZATION, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("vidstream_play_date"), NULL,
      ngx_http_vidstream_play_variable,
      NGX_HTTP_VIDSTREAM_PLAY_VAR_DATE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("vidstream_play_content_sha256"), NULL,
      ngx_http_vidstream_play_variable,
      NGX_HTTP_VIDSTREAM_PLAY_VAR_SHA256, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("vidstream_play_security_token"), NULL,
      ngx_http_vidstream_play_variable,
      NGX_HTTP_VIDSTREAM_PLAY_VAR_TOKEN, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;


/*
 * The access phase of a vidstream_play location: /play/<token>/<file>.
 * The path is read from the request line as the client sent it, before
 * nginx decodes and normalises it: a '%' anywhere (an encoded slash or
 * dot), a dot segment or an empty segment is not one of our files.
 */

static ngx_int_t
ngx_http_vidstream_play_access(ngx_http_request_t *r)
{
    u_char                               *p, *last, *slash;
    ngx_int_t                             rc;
    ngx_str_t                             token, file;
    ngx_table_elt_t                      *h;
    const char                           *type;
    vs_play_status_t                      st;
    vs_play_claims_t                      claims;
    ngx_http_core_loc_conf_t             *clcf;
    ngx_http_vidstream_s3_conf_t          s3;
    ngx_http_vidstream_play_ctx_t        *ctx;
    ngx_http_vidstream_play_loc_conf_t   *plcf;
    ngx_http_vidstream_play_main_conf_t  *pmcf;
    ngx_http_vidstream_play_object_t     *object;

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_vidstream_play_module);

    if (!plcf->enable || r != r->main) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_vidstream_play_module);

    if (ctx) {
        /* again after a credentials refresh */

        if (ngx_http_vidstream_aws_creds_current() == NULL) {
            goto no_credentials;
        }

        return NGX_OK;
    }

    ngx_http_vidstream_metrics_action(r, NGX_HTTP_VIDSTREAM_METRICS_PLAY);

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Allow");
        ngx_str_set(&h->value, "GET, HEAD");

        return ngx_http_vidstream_refuse(r, NGX_HTTP_NOT_ALLOWED,
                                              "method_not_allowed",
                                              "use GET or HEAD");
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    p = r->unparsed_uri.data;
    last = p + r->unparsed_uri.len;

    slash = ngx_strlchr(p, last, '?');
    if (slash) {
        last = slash;
    }

    if ((size_t) (last - p) <= clcf->name.len
        || ngx_strncmp(p, clcf->name.data, clcf->name.len) != 0
        || ngx_strlchr(p, last, '%') != NULL)
    {
        goto not_found;
    }

    p += clcf->name.len;

    slash = ngx_strlchr(p, last, '/');
    if (slash == NULL) {
        goto not_found;
    }

    token.data = p;
    token.len = slash - p;
    file.data = slash + 1;
    file.len = last - file.data;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_vidstream_play_module);

    st = vs_play_verify(pmcf->keys, pmcf->nkeys, (char *) token.data,
                        token.len, ngx_time(), &claims);

    if (st != VS_PLAY_OK) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "vidstream play: %s", vs_play_status_name(st));

        return ngx_http_vidstream_refuse(r, NGX_HTTP_FORBIDDEN,
                                              "forbidden",
                                              "the playback link is invalid "
                                              "or has expired");
    }

    type = vs_play_file_type((char *) file.data, file.len);
    if (type == NULL) {
        goto not_found;
    }

    if (ngx_http_vidstream_api_s3_conf(r, &s3) != NGX_OK
        || s3.bucket.len == 0)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vidstream play: no vidstream_s3_bucket");
        goto unavailable;
    }

    object = NULL;

    rc = ngx_http_vidstream_play_object(r, &s3, &claims, &file, type,
                                        &object);
    if (rc != NGX_OK) {
        return rc;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_vidstream_play_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->object = object;
    ngx_http_set_ctx(r, ctx, ngx_http_vidstream_play_module);

    /* the ECS task role's credentials may need a refresh first */

    ctx->call = ngx_pcalloc(r->pool, sizeof(ngx_http_vidstream_aws_call_t));
    if (ctx->call == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_vidstream_aws_creds(r, &s3.credentials_location,
                                      ctx->call);

    switch (rc) {

    case NGX_OK:
        return NGX_OK;

    case NGX_AGAIN:
        ctx->call->done = ngx_http_vidstream_play_creds_done;
        return NGX_AGAIN;

    case NGX_DECLINED:
        goto no_credentials;

    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

not_found:

    return ngx_http_vidstream_refuse(r, NGX_HTTP_NOT_FOUND, "not_found",
                                          "no such file");

no_credentials:

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "vidstream play: no AWS credentials");

unavailable:

    return ngx_http_vidstream_refuse(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                          "unavailable",
                                          "the service is temporarily "
                                          "unavailable, try again");
}


/* the credentials refresh is over: run the access phase again */

static void
ngx_http_vidstream_play_creds_done(ngx_http_request_t *r)
{
    ngx_http_vidstream_play_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_vidstream_play_module);

    (void) ngx_http_vidstream_aws_creds_done(r, ctx->call);

    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
}




/* the S3 key of the file, its request path and Host, its type */

static ngx_int_t
ngx_http_vidstream_play_object(ngx_http_request_t *r,
    ngx_http_vidstream_s3_conf_t *s3, vs_play_claims_t *claims,
    ngx_str_t *file, const char *content_type,
    ngx_http_vidstream_play_object_t **object)
{
    ssize_t                            n;
    ngx_http_vidstream_play_object_t  *o;

    o = ngx_palloc(r->pool, sizeof(ngx_http_vidstream_play_object_t));
    if (o == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    o->s3 = s3->s3;
    o->content_type.data = (u_char *) content_type;
    o->content_type.len = ngx_strlen(content_type);

    o->key.data = ngx_pnalloc(r->pool,
                              VS_KEYS_OUTPUT_LEN(claims->sub_len, file->len)
                              + 1);
    if (o->key.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = vs_keys_output((char *) o->key.data,
                       VS_KEYS_OUTPUT_LEN(claims->sub_len, file->len) + 1,
                       claims->sub, claims->sub_len, claims->video_id,
                       (char *) file->data, file->len);
    if (n < 0) {
        /* a token's sub and an allow-listed file always make a key */
        return ngx_http_vidstream_refuse(r, NGX_HTTP_NOT_FOUND,
                                              "not_found", "no such file");
    }

    o->key.len = n;

    o->path.data = ngx_pnalloc(r->pool, VS_AWS_BASE_PATH_MAX + 3
                                        + 3 * (s3->bucket.len + o->key.len));
    o->host.data = ngx_pnalloc(r->pool, VS_AWS_HOST_MAX
                                        + 2 + VS_AWS_BUCKET_MAX + 8);
    if (o->path.data == NULL || o->host.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = vs_aws_s3_path(s3->s3, (char *) s3->bucket.data, s3->bucket.len,
                       (char *) o->key.data, o->key.len, (char *) o->path.data,
                       VS_AWS_BASE_PATH_MAX + 3
                       + 3 * (s3->bucket.len + o->key.len));
    if (n < 0) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    o->path.len = n;

    n = vs_aws_s3_host(s3->s3, (char *) s3->bucket.data, s3->bucket.len,
                       (char *) o->host.data,
                       VS_AWS_HOST_MAX + 2 + VS_AWS_BUCKET_MAX + 8);
    if (n < 0) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    o->host.len = n;

    *object = o;

    return NGX_OK;
}


/*
 * The signature of r's request to S3, made on the first variable read:
 * GET, no query, no body, signed headers host, x-amz-content-sha256,
 * x-amz-date (and x-amz-security-token).  A slice subrequest gets a ctx of
 * its own here, and so a signature of its own time.
 */

static ngx_http_vidstream_play_ctx_t *
ngx_http_vidstream_play_sign(ngx_http_request_t *r)
{
    vs_sigv4_request_t                 req;
    const vs_aws_creds_t              *creds;
    ngx_http_vidstream_play_ctx_t     *ctx, *mctx;
    ngx_http_vidstream_play_object_t  *o;

    ctx = ngx_http_get_module_ctx(r, ngx_http_vidstream_play_module);

    if (ctx == NULL) {
        mctx = ngx_http_get_module_ctx(r->main, ngx_http_vidstream_play_module);
        if (mctx == NULL) {
            return NULL;
        }

        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_vidstream_play_ctx_t));
        if (ctx == NULL) {
            return NULL;
        }

        ctx->object = mctx->object;
        ngx_http_set_ctx(r, ctx, ngx_http_vidstream_play_module);
    }

    if (ctx->sig || ctx->sign_failed) {
        return ctx;
    }

    o = ctx->object;

    creds = ngx_http_vidstream_aws_creds_current();
    if (creds == NULL || ngx_http_vidstream_aws_state == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vidstream play: no AWS credentials to sign with");
        ctx->sign_failed = 1;
        return ctx;
    }

    ctx->sig = ngx_palloc(r->pool, sizeof(vs_sigv4_signed_t));
    if (ctx->sig == NULL) {
        ctx->sign_failed = 1;
        return ctx;
    }

    ngx_memzero(&req, sizeof(vs_sigv4_request_t));

    req.method = "GET";
    req.method_len = 3;
    req.host = (char *) o->host.data;
    req.host_len = o->host.len;
    req.path = (char *) o->path.data;
    req.path_len = o->path.len;
    req.now = ngx_time();

    if (vs_sigv4_sign(o->s3, creds, &ngx_http_vidstream_aws_state->keys, &req,
                      ctx->sig)
        != 0)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vidstream play: cannot sign the S3 request");
        ctx->sig = NULL;
        ctx->sign_failed = 1;
        return ctx;
    }

    if (ctx->sig->security_token_len) {

        /* it points into the credentials, which may rotate: copy it */

        ctx->security_token.len = ctx->sig->security_token_len;
        ctx->security_token.data = ngx_pnalloc(r->pool,
                                               ctx->security_token.len);
        if (ctx->security_token.data == NULL) {
            ctx->sig = NULL;
            ctx->sign_failed = 1;
            return ctx;
        }

        ngx_memcpy(ctx->security_token.data, ctx->sig->security_token,
                   ctx->security_token.len);
    }

    return ctx;
}


static ngx_int_t
ngx_http_vidstream_play_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t                          s;
    ngx_http_vidstream_play_ctx_t     *ctx;
    ngx_http_vidstream_play_object_t  *o;

    ctx = ngx_http_get_module_ctx(r, ngx_http_vidstream_play_module);

    if (ctx == NULL) {
        ctx = ngx_http_get_module_ctx(r->main,
                                      ngx_http_vidstream_play_module);
    }

    if (ctx == NULL || ctx->object == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    o = ctx->object;

    switch (data) {

    case NGX_HTTP_VIDSTREAM_PLAY_VAR_KEY:
        s = o->key;
        break;

    case NGX_HTTP_VIDSTREAM_PLAY_VAR_URI:
        s = o->path;
        break;

    case NGX_HTTP_VIDSTREAM_PLAY_VAR_HOST:
        s = o->host;
        break;

    default:
        ctx = ngx_http_vidstream_play_sign(r);
        if (ctx == NULL || ctx->sig == NULL) {
            v->not_found = 1;
            return NGX_OK;
        }

        switch (data) {

        case NGX_HTTP_VIDSTREAM_PLAY_VAR_AUTHORIZATION:
            s.data = (u_char *) ctx->sig->authorization;
            s.len = ctx->sig->authorization_len;
            break;

        case NGX_HTTP_VIDSTREAM_PLAY_VAR_DATE:
            s.data = (u_char *) ctx->sig->amz_date;
            s.len = VS_SIGV4_AMZ_DATE_LEN;
            break;

        case NGX_HTTP_VIDSTREAM_PLAY_VAR_SHA256:
            s.data = (u_char *) ctx->sig->content_sha256;
            s.len = VS_SIGV4_SHA256_HEX_LEN;
            break;

        default: /* NGX_HTTP_VIDSTREAM_PLAY_VAR_TOKEN */
            s = ctx->security_token;
            break;
        }
    }

    v->data = s.data;
    v->len = s.len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


/*
 * The answer of a /play request: the file's Content-Type (S3 stores
 * whatever the uploader said), Cache-Control: private (the URL carries a
 * credential: no shared cache may keep it), none of S3's x-amz-* headers.
 */

static ngx_int_t
ngx_http_vidstream_play_header_filter(ngx_http_request_t *r)
{
    ngx_uint_t                      i;
    ngx_list_part_t                *part;
    ngx_table_elt_t                *h;
    ngx_http_vidstream_play_ctx_t  *ctx;

    if (r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_vidstream_play_module);

    if (ctx == NULL || ctx->object == NULL) {
        return ngx_http_next_header_filter(r);
    }

    part = &r->headers_out.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash == 0) {
            continue;
        }

        if ((h[i].key.len > sizeof("x-amz-") - 1
             && ngx_strncasecmp(h[i].key.data, (u_char *) "x-amz-",
                                sizeof("x-amz-") - 1) == 0)
            || (h[i].key.len == sizeof("Cache-Control") - 1
                && ngx_strncasecmp(h[i].key.data, (u_char *) "Cache-Control",
                                   sizeof("Cache-Control") - 1) == 0))
        {
            h[i].hash = 0;
        }
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Cache-Control");
    ngx_str_set(&h->value, "private");

#if (nginx_version >= 1023000)
    h->next = NULL;
    r->headers_out.cache_control = h;
#else
    r->headers_out.cache_control.nelts = 0;
#endif

    if (r->headers_out.status == NGX_HTTP_OK
        || r->headers_out.status == NGX_HTTP_PARTIAL_CONTENT
        || r->headers_out.status == NGX_HTTP_NOT_MODIFIED)
    {
        r->headers_out.content_type = ctx->object->content_type;
        r->headers_out.content_type_len = ctx->object->content_type.len;
        r->headers_out.content_type_lowcase = NULL;
        r->headers_out.charset.len = 0;
    }

    return ngx_http_next_header_filter(r);
}


/*
 * GET /videos/<id>/playback, after the api module read the owner's row.
 */

ngx_int_t
ngx_http_vidstream_play_playback(ngx_http_request_t *r, u_char *id,
    ngx_str_t *sub, const char *status, ngx_uint_t hls)
{
    u_char                               *body, *p;
    time_t                                expires;
    ssize_t                               n;
    ngx_str_t                             json;
    ngx_http_vidstream_play_main_conf_t  *pmcf;
    char                                  token[VS_PLAY_TOKEN_SIZE];
    char                                  expires_at[VS_RFC3339_LEN + 1];

    if (status == NULL) {
        return ngx_http_vidstream_send_error(r, NGX_HTTP_NOT_FOUND,
                                             "not_found", "no such video");
    }

    if (ngx_strcmp(status, "done") != 0) {
        body = ngx_pnalloc(r->pool, 128 + ngx_strlen(status));
        if (body == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        /* a status is one of the schema's words: nothing to escape */

        p = ngx_sprintf(body, "{\"error\":\"not_ready\",\"message\":\""
                        "the video is not ready to play\","
                        "\"status\":\"%s\"}\n", status);

        ngx_str_set(&json, "application/json");

        return ngx_http_vidstream_send_body(r, NGX_HTTP_CONFLICT, &json,
                                            body, p - body);
    }

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_vidstream_play_module);

    if (pmcf->nkeys == 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vidstream play: no vidstream_playback_key");
        return ngx_http_vidstream_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                             "unavailable",
                                             "playback is not configured");
    }

    expires = ngx_time() + pmcf->expires;

    n = vs_play_token(&pmcf->keys[0], (char *) id, VS_PLAY_UUID_LEN,
                      (char *) sub->data, sub->len, expires, token,
                      sizeof(token));

    if (n < 0 || vs_rfc3339(expires, expires_at) != 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vidstream play: cannot make a token for \"%V\"", sub);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    body = ngx_pnalloc(r->pool, 3 * n + 256);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(body, "{\"mp4\":\"" NGX_HTTP_VIDSTREAM_PLAY_PREFIX
                    "%*s/video.mp4\",\"thumbnail\":\""
                    NGX_HTTP_VIDSTREAM_PLAY_PREFIX "%*s/thumbnail.jpg\","
                    "\"hls\":", n, token, n, token);

    if (hls) {
        p = ngx_sprintf(p, "\"" NGX_HTTP_VIDSTREAM_PLAY_PREFIX
                        "%*s/hls/index.m3u8\"", n, token);

    } else {
        p = ngx_cpymem(p, "null", sizeof("null") - 1);
    }

    p = ngx_sprintf(p, ",\"expires_at\":\"%s\"}\n", expires_at);

    ngx_str_set(&json, "application/json");

    return ngx_http_vidstream_send_body(r, NGX_HTTP_OK, &json, body,
                                        p - body);
}


/*
 * vidstream_playback_key FILE [FILE]: the whole file is the key, at least
 * 32 bytes; the first key signs, every one verifies.  Read once, here, by
 * the master (so the file may be readable by root only).
 */

static char *
ngx_http_vidstream_playback_key(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_vidstream_play_main_conf_t  *pmcf = conf;

    u_char           *buf;
    ssize_t           n;
    ngx_fd_t          fd;
    ngx_str_t        *value, name;
    ngx_uint_t        i;
    ngx_file_info_t   fi;

    if (pmcf->nkeys) {
        return "is duplicate";
    }

    value = cf->args->elts;

    buf = ngx_pnalloc(cf->temp_pool, NGX_HTTP_VIDSTREAM_PLAY_KEY_FILE + 1);
    if (buf == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 1; i < cf->args->nelts; i++) {
        name = value[i];

        if (ngx_conf_full_name(cf->cycle, &name, 1) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

        fd = ngx_open_file(name.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
        if (fd == NGX_INVALID_FILE) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                               ngx_open_file_n " \"%s\" failed", name.data);
            return NGX_CONF_ERROR;
        }

        n = -1;

        if (ngx_fd_info(fd, &fi) != NGX_FILE_ERROR
            && ngx_file_size(&fi) <= NGX_HTTP_VIDSTREAM_PLAY_KEY_FILE)
        {
            n = ngx_read_fd(fd, buf, NGX_HTTP_VIDSTREAM_PLAY_KEY_FILE + 1);
        }

        if (ngx_close_file(fd) == NGX_FILE_ERROR) {
            ngx_conf_log_error(NGX_LOG_ALERT, cf, ngx_errno,
                               ngx_close_file_n " \"%s\" failed", name.data);
        }

        if (n < 0 || n > NGX_HTTP_VIDSTREAM_PLAY_KEY_FILE) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "cannot read the playback key \"%s\" "
                               "(at most %d bytes)", name.data,
                               NGX_HTTP_VIDSTREAM_PLAY_KEY_FILE);
            ngx_explicit_memzero(buf, NGX_HTTP_VIDSTREAM_PLAY_KEY_FILE + 1);
            return NGX_CONF_ERROR;
        }

        if (vs_play_key_init(&pmcf->keys[i - 1], buf, n) != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "the playback key \"%s\" is %z bytes, "
                               "at least %d are required", name.data, n,
                               VS_PLAY_KEY_MIN);
            ngx_explicit_memzero(buf, NGX_HTTP_VIDSTREAM_PLAY_KEY_FILE + 1);
            return NGX_CONF_ERROR;
        }

        ngx_explicit_memzero(buf, NGX_HTTP_VIDSTREAM_PLAY_KEY_FILE + 1);
    }

    pmcf->nkeys = cf->args->nelts - 1;

    return NGX_CONF_OK;
}


static char *
ngx_http_vidstream_play(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char                      *rv;
    ngx_http_core_loc_conf_t  *clcf;

    rv = ngx_conf_set_flag_slot(cf, cmd, conf);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    /* the token is the first path segment after the location's name */

    if (clcf->named
#if (NGX_PCRE)
        || clcf->regex
#endif
        || clcf->name.len == 0
        || clcf->name.data[clcf->name.len - 1] != '/')
    {
        return "needs a prefix location ending with \"/\"";
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_vidstream_play_add_variables(ngx_conf_t *cf)
{
    return ngx_http_vidstream_add_variables(cf, ngx_http_vidstream_play_vars);
}


static ngx_int_t
ngx_http_vidstream_play_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_vidstream_play_access;

    return NGX_OK;
}


/*
 * The header filter goes on top of the chain once every http{}
 * postconfiguration has run.  The addon's modules are of type HTTP (one
 * config for all of them): linked in statically they come before the
 * filter modules, whose first one (ngx_http_header_filter_module) starts
 * the chain afresh and would drop a filter added at postconfiguration.
 * Every configuration read builds the chain again, then calls this.
 */

static ngx_int_t
ngx_http_vidstream_play_init_module(ngx_cycle_t *cycle)
{
    if (ngx_http_top_header_filter == NULL
        || ngx_http_top_header_filter == ngx_http_vidstream_play_header_filter)
    {
        return NGX_OK;
    }

    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_vidstream_play_header_filter;

    return NGX_OK;
}


static void *
ngx_http_vidstream_play_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_vidstream_play_main_conf_t  *pmcf;

    pmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_vidstream_play_main_conf_t));
    if (pmcf == NULL) {
        return NULL;
    }

    pmcf->expires = NGX_CONF_UNSET;

    return pmcf;
}


static char *
ngx_http_vidstream_play_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_vidstream_play_main_conf_t  *pmcf = conf;

    ngx_conf_init_value(pmcf->expires, VS_PLAY_EXPIRES_DEFAULT);

    if (pmcf->expires < 1 || pmcf->expires > VS_PLAY_EXPIRES_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "vidstream_playback_expires must be from 1s "
                           "to 24h");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_vidstream_play_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_vidstream_play_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_vidstream_play_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->enable = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_http_vidstream_play_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_vidstream_play_loc_conf_t  *prev = parent;
    ngx_http_vidstream_play_loc_conf_t  *conf = child;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);

    return NGX_CONF_OK;
}
