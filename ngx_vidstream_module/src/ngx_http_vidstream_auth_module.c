
/*
 * ngx_http_vidstream_auth_module: Amazon Cognito JWT authentication in the
 * access phase (CONTRACT.md section 2).
 *
 *     vidstream_jwt_issuer     https://cognito-idp.REGION.amazonaws.com/POOL;
 *     vidstream_jwt_client_id  CLIENT_ID;
 *     vidstream_jwks_uri       /_jwks;
 *     vidstream_jwt_cache      zone=jwt:1m;
 *
 *     location = /_jwks {
 *         internal;
 *         proxy_pass https://cognito-idp.REGION.amazonaws.com/POOL
 *                    /.well-known/jwks.json;    (one word)
 *     }
 *
 *     location /videos { vidstream_auth on; ... }
 *
 * Only RS256 is accepted.  Keys come from a JWKS, a file read at
 * configuration time or an internal location fetched by subrequest, and are
 * turned into OpenSSL keys once per worker and JWKS version.  Each worker
 * keeps its key sets in memory of its own (allocated from the cycle's pool
 * on first use, never in configuration structures).  A token whose kid is
 * unknown makes the worker fetch the JWKS again, at most once per
 * vidstream_jwks_min_refetch; requests that arrive during a fetch wait for
 * it instead of starting their own.  Verified tokens can be kept in a shared
 * memory zone so that a repeated token costs a SHA-256 and a lookup.
 *
 * The refusals are ngx_http_vidstream_auth_reply.c's, the variables
 * ngx_http_vidstream_auth_vars.c's (ngx_http_vidstream_auth.h).
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/evp.h>

#include "ngx_http_vidstream_auth.h"
#include "ngx_http_vidstream_jwt.h"
#include "ngx_http_vidstream_jwt_cache.h"
#include "ngx_http_vidstream_scope.h"
#include "ngx_http_vidstream_metrics.h"

#define NGX_HTTP_VIDSTREAM_TOKEN_ACCESS   0
#define NGX_HTTP_VIDSTREAM_TOKEN_ID       1


typedef struct {
    ngx_array_t                      sources;  /* of jwks_source_t */
} ngx_http_vidstream_auth_main_conf_t;


typedef struct {
    ngx_flag_t                       enable;
    ngx_flag_t                       skip_preflight;
    ngx_str_t                        issuer;
    const char                     **client_ids;
    ngx_uint_t                       n_client_ids;
    ngx_uint_t                       token_use;
    time_t                           leeway;
    time_t                           refresh;
    time_t                           min_refetch;
    ngx_uint_t                       jwks;     /* index of the source */
    ngx_shm_zone_t                  *cache;
    /* of ngx_str_t: what the token must hold here (not part of the cache) */
    ngx_array_t                     *require_scopes;
    ngx_array_t                     *require_groups;
    /* digest of what a cached verdict depends on, prefixed to cache keys */
    u_char                           policy[NGX_HTTP_VIDSTREAM_JWT_DIGEST_LEN];
} ngx_http_vidstream_auth_loc_conf_t;


static ngx_int_t ngx_http_vidstream_auth_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_vidstream_auth_verify(ngx_http_request_t *r,
    ngx_http_vidstream_auth_loc_conf_t *alcf,
    ngx_http_vidstream_auth_ctx_t *ctx, ngx_str_t *token);
static void ngx_http_vidstream_auth_cleanup(void *data);
static ngx_int_t ngx_http_vidstream_auth_authorize(ngx_http_request_t *r,
    ngx_http_vidstream_auth_loc_conf_t *alcf,
    ngx_http_vidstream_auth_ctx_t *ctx);
static ngx_int_t ngx_http_vidstream_auth_token(ngx_http_request_t *r,
    ngx_str_t *token);
static ngx_uint_t ngx_http_vidstream_auth_preflight(ngx_http_request_t *r);

static char *ngx_http_vidstream_jwt_client_id(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_vidstream_jwks(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void *ngx_http_vidstream_auth_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_vidstream_auth_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_vidstream_auth_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static ngx_int_t ngx_http_vidstream_auth_init(ngx_conf_t *cf);


static ngx_conf_enum_t  ngx_http_vidstream_token_uses[] = {
    { ngx_string("access"), NGX_HTTP_VIDSTREAM_TOKEN_ACCESS },
    { ngx_string("id"), NGX_HTTP_VIDSTREAM_TOKEN_ID },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_vidstream_auth_commands[] = {

    { ngx_string("vidstream_auth"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_vidstream_auth_loc_conf_t, enable),
      NULL },

    { ngx_string("vidstream_auth_skip_preflight"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_vidstream_auth_loc_conf_t, skip_preflight),
      NULL },

    { ngx_string("vidstream_jwt_issuer"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_vidstream_auth_loc_conf_t, issuer),
      NULL },

    { ngx_string("vidstream_jwt_client_id"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_vidstream_jwt_client_id,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("vidstream_jwt_token_use"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_vidstream_auth_loc_conf_t, token_use),
      &ngx_http_vidstream_token_uses },

    { ngx_string("vidstream_jwt_leeway"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_vidstream_auth_loc_conf_t, leeway),
      NULL },

    { ngx_string("vidstream_jwks_file"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_vidstream_jwks,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_VIDSTREAM_JWKS_FILE,
      NULL },

    { ngx_string("vidstream_jwks_uri"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_vidstream_jwks,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_VIDSTREAM_JWKS_URI,
      NULL },

    { ngx_string("vidstream_jwks_refresh"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_vidstream_auth_loc_conf_t, refresh),
      NULL },

    { ngx_string("vidstream_jwks_min_refetch"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_vidstream_auth_loc_conf_t, min_refetch),
      NULL },

    { ngx_string("vidstream_jwt_require_scope"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_vidstream_scope_conf_set,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_vidstream_auth_loc_conf_t, require_scopes),
      NULL },

    { ngx_string("vidstream_jwt_require_group"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_vidstream_scope_conf_set,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_vidstream_auth_loc_conf_t, require_groups),
      NULL },

    { ngx_string("vidstream_jwt_cache"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_vidstream_jwt_cache_conf_set,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_vidstream_auth_loc_conf_t, cache),
      &ngx_http_vidstream_auth_module },   /* the zone's tag */

      ngx_null_command
};


static ngx_http_module_t  ngx_http_vidstream_auth_module_ctx = {
    ngx_http_vidstream_auth_add_variables, /* preconfiguration */
    ngx_http_vidstream_auth_init,          /* postconfiguration */

    ngx_http_vidstream_auth_create_main_conf, /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_vidstream_auth_create_loc_conf, /* create location configuration */
    ngx_http_vidstream_auth_merge_loc_conf /* merge location configuration */
};


ngx_module_t  ngx_http_vidstream_auth_module = {
    NGX_MODULE_V1,
    &ngx_http_vidstream_auth_module_ctx,   /* module context */
    ngx_http_vidstream_auth_commands,      /* module directives */
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


static ngx_int_t
ngx_http_vidstream_auth_handler(ngx_http_request_t *r)
{
    ngx_int_t                             rc;
    ngx_str_t                             token;
    ngx_pool_cleanup_t                   *cln;
    ngx_http_vidstream_auth_ctx_t        *ctx;
    ngx_http_vidstream_auth_loc_conf_t   *alcf;
    ngx_http_vidstream_auth_main_conf_t  *amcf;

    alcf = ngx_http_get_module_loc_conf(r, ngx_http_vidstream_auth_module);

    if (!alcf->enable) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_vidstream_auth_module);

    if (ctx == NULL) {
        if (alcf->skip_preflight && ngx_http_vidstream_auth_preflight(r)) {
            return NGX_DECLINED;
        }

        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_vidstream_auth_ctx_t));
        if (ctx == NULL) {
            return NGX_ERROR;
        }

        ctx->fetch.request = r;

        ngx_http_set_ctx(r, ctx, ngx_http_vidstream_auth_module);

    } else if (ctx->fetch.waiting) {
        return NGX_AGAIN;

    } else if (ctx->authenticated) {
        return ngx_http_vidstream_auth_authorize(r, alcf, ctx);
    }

    if (!ctx->cleanup) {
        cln = ngx_pool_cleanup_add(r->pool, 0);
        if (cln == NULL) {
            return NGX_ERROR;
        }

        cln->handler = ngx_http_vidstream_auth_cleanup;
        cln->data = ctx;
        ctx->cleanup = 1;
    }

    rc = ngx_http_vidstream_auth_token(r, &token);

    if (rc == NGX_DECLINED) {
        return ngx_http_vidstream_auth_reject(r, NULL);
    }

    if (token.len == 0) {
        return ngx_http_vidstream_auth_reject(r, "empty token");
    }

    if (token.len > NGX_HTTP_VIDSTREAM_JWT_MAX_LEN) {
        return ngx_http_vidstream_auth_reject(r, "token too large");
    }

    amcf = ngx_http_get_module_main_conf(r, ngx_http_vidstream_auth_module);

    ctx->fetch.state = ngx_http_vidstream_jwks_state(r, &amcf->sources,
                                                     alcf->jwks);
    if (ctx->fetch.state == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_vidstream_auth_verify(r, alcf, ctx, &token);

    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_http_vidstream_auth_authorize(r, alcf, ctx);
}


/*
 * The token is valid; does it hold what this location requires?  Checked
 * on every request, cached token or not: the cache keeps verified tokens,
 * and requirements differ from one location to another.
 */
static ngx_int_t
ngx_http_vidstream_auth_authorize(ngx_http_request_t *r,
    ngx_http_vidstream_auth_loc_conf_t *alcf,
    ngx_http_vidstream_auth_ctx_t *ctx)
{
    ngx_int_t    rc;
    const char  *why;

    rc = ngx_http_vidstream_scope_check(&ctx->payload, alcf->require_scopes,
                                        alcf->require_groups, &why);
    if (rc == NGX_OK) {
        ngx_http_vidstream_metrics_auth(NGX_HTTP_VIDSTREAM_METRICS_AUTH_OK);
        return NGX_OK;
    }

    if (rc != NGX_DECLINED) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_vidstream_auth_forbid(r, why);
}


/* 1 when the worker may start a JWKS fetch for this request now */
static ngx_uint_t
ngx_http_vidstream_auth_may_fetch(ngx_http_vidstream_auth_loc_conf_t *alcf,
    ngx_http_vidstream_auth_ctx_t *ctx, time_t now)
{
    ngx_http_vidstream_jwks_state_t  *state = ctx->fetch.state;

    return !ctx->fetch.refetched
           && state->fetcher == NULL
           && (state->attempted == 0
               || now - state->attempted >= alcf->min_refetch);
}


static ngx_int_t
ngx_http_vidstream_auth_verify(ngx_http_request_t *r,
    ngx_http_vidstream_auth_loc_conf_t *alcf,
    ngx_http_vidstream_auth_ctx_t *ctx, ngx_str_t *token)
{
    time_t                            now;
    u_char                            digest[NGX_HTTP_VIDSTREAM_JWT_DIGEST_LEN];
    u_char                            signed_digest[32];
    size_t                            signed_len;
    ngx_int_t                         rc;
    ngx_str_t                         signed_part;
    ngx_uint_t                        keyed;
    const char                       *why;
    ngx_http_vidstream_jwt_t          jwt;
    const ngx_http_vidstream_jwk_t   *key;
    ngx_http_vidstream_jwks_state_t  *state;
    ngx_http_vidstream_jwt_cached_t   entry;
    ngx_http_vidstream_jwt_policy_t   policy;

    state = ctx->fetch.state;
    now = ngx_time();

again:

    /* no keys yet, or time for the periodic refresh */

    if (state->jwks == NULL && state->fetcher != NULL
        && !ctx->fetch.refetched)
    {
        return ngx_http_vidstream_jwks_refetch(r, &ctx->fetch);
    }

    if ((state->jwks == NULL || now - state->loaded >= alcf->refresh)
        && ngx_http_vidstream_auth_may_fetch(alcf, ctx, now))
    {
        rc = ngx_http_vidstream_jwks_refetch(r, &ctx->fetch);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    if (state->jwks == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vidstream auth: no signing keys loaded from \"%V\"",
                      &state->source->name);

        ngx_http_vidstream_metrics_auth(
                                      NGX_HTTP_VIDSTREAM_METRICS_AUTH_NO_KEYS);

        return ngx_http_vidstream_refuse(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                            "unavailable",
                                            "signing keys unavailable");
    }

    /* a token verified before: the expiry is checked, the signature not */

    keyed = 0;

    if (alcf->cache) {
        rc = ngx_http_vidstream_jwt_cache_digest(alcf->policy, token,
                                                 &signed_len, digest);
        if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        keyed = (rc == NGX_OK);
        signed_part.data = token->data;
        signed_part.len = keyed ? signed_len : 0;

        rc = keyed
             ? ngx_http_vidstream_jwt_cache_get(alcf->cache, digest,
                                                &signed_part, now,
                                                alcf->leeway, r->pool,
                                                &entry)
             : NGX_DECLINED;
        if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        /*
         * a key dropped from the JWKS, or replaced under the same kid,
         * revokes the tokens it verified
         */
        key = (rc == NGX_OK)
              ? ngx_http_vidstream_jwks_find(state->jwks,
                                             (char *) entry.kid.data)
              : NULL;

        if (key != NULL
            && ngx_memcmp(key->thumb, entry.thumb, sizeof(entry.thumb)) == 0)
        {
            ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "vidstream auth: token accepted from cache");

            ngx_http_vidstream_metrics_token_cache(1);

            ctx->sub = entry.sub;
            ctx->payload = entry.payload;
            ctx->authenticated = 1;
            return NGX_OK;
        }
    }

    if (alcf->cache) {
        ngx_http_vidstream_metrics_token_cache(0);
    }

    if (ngx_http_vidstream_jwt_parse(&jwt, (char *) token->data, token->len,
                                     &why)
        != 0)
    {
        return ngx_http_vidstream_auth_reject(r, why);
    }

    /* the algorithm is pinned: nothing else gets near a key */
    if (ngx_strcmp(jwt.alg, "RS256") != 0) {
        return ngx_http_vidstream_auth_reject(r, "unsupported alg");
    }

    key = ngx_http_vidstream_jwks_find(state->jwks, jwt.kid);

    if (key == NULL) {
        if (!ctx->fetch.refetched
            && (state->fetcher != NULL
                || ngx_http_vidstream_auth_may_fetch(alcf, ctx, now)))
        {
            ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "vidstream auth: unknown kid, refetching JWKS");

            rc = ngx_http_vidstream_jwks_refetch(r, &ctx->fetch);
            if (rc != NGX_OK) {
                return rc;
            }

            goto again;
        }

        return ngx_http_vidstream_auth_reject(r, "unknown kid");
    }

    if (ngx_http_vidstream_jwt_sha256(token->data, jwt.signed_len,
                                      signed_digest)
        != 0)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!ngx_http_vidstream_jwt_verify_rs256(key, signed_digest, jwt.sig,
                                             jwt.sig_len))
    {
        return ngx_http_vidstream_auth_reject(r, "bad signature");
    }

    policy.issuer = (const char *) alcf->issuer.data;
    policy.client_ids = alcf->client_ids;
    policy.n_client_ids = alcf->n_client_ids;
    policy.id_token = (alcf->token_use == NGX_HTTP_VIDSTREAM_TOKEN_ID);
    policy.leeway = alcf->leeway;
    policy.now = now;

    if (ngx_http_vidstream_jwt_check_claims(&jwt, &policy, &why) != 0) {
        return ngx_http_vidstream_auth_reject(r, why);
    }

    ctx->sub.len = jwt.sub_len;
    ctx->sub.data = ngx_pnalloc(r->pool, jwt.sub_len + jwt.payload_len);
    if (ctx->sub.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(ctx->sub.data, jwt.sub, jwt.sub_len);
    ctx->payload.data = ctx->sub.data + jwt.sub_len;
    ctx->payload.len = jwt.payload_len;
    ngx_memcpy(ctx->payload.data, jwt.payload_text, jwt.payload_len);

    if (keyed) {
        entry.sub = ctx->sub;
        entry.payload = ctx->payload;
        entry.kid.data = (u_char *) jwt.kid;
        entry.kid.len = ngx_strlen(jwt.kid);
        entry.exp = (time_t) jwt.exp;
        ngx_memcpy(entry.thumb, key->thumb, sizeof(entry.thumb));

        signed_part.data = token->data;
        signed_part.len = jwt.signed_len;

        ngx_http_vidstream_jwt_cache_put(alcf->cache, digest, &signed_part,
                                         now, alcf->leeway, &entry);
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "vidstream auth: token verified");

    ctx->authenticated = 1;

    return NGX_OK;
}


/* the request is going away: leave the queue, or give up the fetch */
static void
ngx_http_vidstream_auth_cleanup(void *data)
{
    ngx_http_vidstream_auth_ctx_t  *ctx = data;

    ngx_http_vidstream_jwks_waiter_cleanup(&ctx->fetch);
}


/* NGX_OK with the token ("" when the credentials are empty), or DECLINED */
static ngx_int_t
ngx_http_vidstream_auth_token(ngx_http_request_t *r, ngx_str_t *token)
{
    u_char           *p, *last;
    ngx_table_elt_t  *h;

    h = r->headers_in.authorization;

    if (h == NULL || h->value.len < sizeof("Bearer") - 1
        || ngx_strncasecmp(h->value.data, (u_char *) "Bearer",
                           sizeof("Bearer") - 1) != 0)
    {
        return NGX_DECLINED;
    }

    p = h->value.data + sizeof("Bearer") - 1;
    last = h->value.data + h->value.len;

    if (p < last && *p != ' ' && *p != '\t') {
        /* "Bearerish": another scheme */
        return NGX_DECLINED;
    }

    while (p < last && (*p == ' ' || *p == '\t')) {
        p++;
    }

    while (last > p && (last[-1] == ' ' || last[-1] == '\t')) {
        last--;
    }

    token->data = p;
    token->len = last - p;

    return NGX_OK;
}


/* a CORS preflight: OPTIONS with Origin and Access-Control-Request-Method */
static ngx_uint_t
ngx_http_vidstream_auth_preflight(ngx_http_request_t *r)
{
    ngx_uint_t        i, found;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    static ngx_str_t  acrm = ngx_string("Access-Control-Request-Method");

    if (r->method != NGX_HTTP_OPTIONS) {
        return 0;
    }

    found = 0;
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == sizeof("Origin") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Origin",
                               h[i].key.len) == 0)
        {
            found |= 1;

        } else if (h[i].key.len == acrm.len
                   && ngx_strncasecmp(h[i].key.data, acrm.data, acrm.len)
                      == 0)
        {
            found |= 2;
        }
    }

    return found == 3;
}


static char *
ngx_http_vidstream_jwt_client_id(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_vidstream_auth_loc_conf_t  *alcf = conf;

    ngx_str_t   *value;
    ngx_uint_t   i;

    if (alcf->client_ids != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    alcf->n_client_ids = cf->args->nelts - 1;
    alcf->client_ids = ngx_palloc(cf->pool,
                                  alcf->n_client_ids * sizeof(char *));
    if (alcf->client_ids == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 1; i < cf->args->nelts; i++) {
        if (value[i].len == 0) {
            return "has an empty client id";
        }

        /* configuration words are NUL-terminated */
        alcf->client_ids[i - 1] = (const char *) value[i].data;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_vidstream_jwks(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_vidstream_auth_loc_conf_t  *alcf = conf;

    ngx_str_t                            *value;
    ngx_http_vidstream_auth_main_conf_t  *amcf;

    if (alcf->jwks != NGX_CONF_UNSET_UINT) {
        return "is duplicate (only one of vidstream_jwks_file and "
               "vidstream_jwks_uri per level)";
    }

    value = cf->args->elts;

    amcf = ngx_http_conf_get_module_main_conf(cf,
                                             ngx_http_vidstream_auth_module);

    if (ngx_http_vidstream_jwks_add_source(cf, &amcf->sources, cmd->offset,
                                           &value[1], &alcf->jwks)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_vidstream_auth_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_vidstream_auth_main_conf_t  *amcf;

    amcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_vidstream_auth_main_conf_t));
    if (amcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&amcf->sources, cf->pool, 2,
                       sizeof(ngx_http_vidstream_jwks_source_t))
        != NGX_OK)
    {
        return NULL;
    }

    return amcf;
}


static void *
ngx_http_vidstream_auth_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_vidstream_auth_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_vidstream_auth_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->issuer = { 0, NULL };
     *     conf->client_ids = NULL;
     *     conf->n_client_ids = 0;
     *     conf->policy = { 0 };
     */

    conf->enable = NGX_CONF_UNSET;
    conf->skip_preflight = NGX_CONF_UNSET;
    conf->token_use = NGX_CONF_UNSET_UINT;
    conf->leeway = NGX_CONF_UNSET;
    conf->refresh = NGX_CONF_UNSET;
    conf->min_refetch = NGX_CONF_UNSET;
    conf->jwks = NGX_CONF_UNSET_UINT;
    conf->cache = NGX_CONF_UNSET_PTR;
    conf->require_scopes = NGX_CONF_UNSET_PTR;
    conf->require_groups = NGX_CONF_UNSET_PTR;

    return conf;
}


static char *
ngx_http_vidstream_auth_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_vidstream_auth_loc_conf_t  *prev = parent;
    ngx_http_vidstream_auth_loc_conf_t  *conf = child;

    u_char       use;
    ngx_uint_t   i;
    EVP_MD_CTX  *md;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_value(conf->skip_preflight, prev->skip_preflight, 0);
    ngx_conf_merge_str_value(conf->issuer, prev->issuer, "");

    if (conf->client_ids == NULL) {
        conf->client_ids = prev->client_ids;
        conf->n_client_ids = prev->n_client_ids;
    }

    ngx_conf_merge_uint_value(conf->token_use, prev->token_use,
                              NGX_HTTP_VIDSTREAM_TOKEN_ACCESS);
    ngx_conf_merge_sec_value(conf->leeway, prev->leeway, 30);

    /* clock skew is seconds to minutes; a day is already absurd */
    if (conf->leeway > 86400) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "vidstream_jwt_leeway must not exceed 1d");
        return NGX_CONF_ERROR;
    }

    ngx_conf_merge_sec_value(conf->refresh, prev->refresh, 3600);
    ngx_conf_merge_sec_value(conf->min_refetch, prev->min_refetch, 30);
    ngx_conf_merge_uint_value(conf->jwks, prev->jwks, NGX_CONF_UNSET_UINT);
    ngx_conf_merge_ptr_value(conf->cache, prev->cache, NULL);
    ngx_conf_merge_ptr_value(conf->require_scopes, prev->require_scopes,
                             NULL);
    ngx_conf_merge_ptr_value(conf->require_groups, prev->require_groups,
                             NULL);

    if (!conf->enable) {
        return NGX_CONF_OK;
    }

    if (conf->issuer.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"vidstream_auth\" needs \"vidstream_jwt_issuer\" "
                           "at the same or an enclosing level");
        return NGX_CONF_ERROR;
    }

    if (conf->client_ids == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"vidstream_auth\" needs "
                           "\"vidstream_jwt_client_id\" at the same or an "
                           "enclosing level");
        return NGX_CONF_ERROR;
    }

    if (conf->jwks == NGX_CONF_UNSET_UINT) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"vidstream_auth\" needs \"vidstream_jwks_file\" "
                           "or \"vidstream_jwks_uri\" at the same or an "
                           "enclosing level");
        return NGX_CONF_ERROR;
    }

    /* everything a cached verdict depends on besides the clock and keys */

    md = EVP_MD_CTX_new();
    if (md == NULL) {
        return NGX_CONF_ERROR;
    }

    use = (u_char) conf->token_use;

    if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1
        || EVP_DigestUpdate(md, conf->issuer.data, conf->issuer.len + 1) != 1
        || EVP_DigestUpdate(md, &use, 1) != 1
        || EVP_DigestUpdate(md, &conf->jwks, sizeof(conf->jwks)) != 1
        /* nbf and iat were checked with this leeway */
        || EVP_DigestUpdate(md, &conf->leeway, sizeof(conf->leeway)) != 1)
    {
        EVP_MD_CTX_free(md);
        return NGX_CONF_ERROR;
    }

    for (i = 0; i < conf->n_client_ids; i++) {
        if (EVP_DigestUpdate(md, conf->client_ids[i],
                             ngx_strlen(conf->client_ids[i]) + 1)
            != 1)
        {
            EVP_MD_CTX_free(md);
            return NGX_CONF_ERROR;
        }
    }

    if (EVP_DigestFinal_ex(md, conf->policy, NULL) != 1) {
        EVP_MD_CTX_free(md);
        return NGX_CONF_ERROR;
    }

    EVP_MD_CTX_free(md);

    return NGX_CONF_OK;
}


static void
ngx_http_vidstream_auth_crypto_cleanup(void *data)
{
    ngx_http_vidstream_jwt_cleanup();
}


static ngx_int_t
ngx_http_vidstream_auth_init(ngx_conf_t *cf)
{
    ngx_pool_cleanup_t         *cln;
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    /*
     * OpenSSL objects this module keeps in static variables must be freed
     * before the cycle's pool unloads the module, or they are lost
     */
    cln = ngx_pool_cleanup_add(cf->cycle->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_vidstream_auth_crypto_cleanup;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_vidstream_auth_handler;

    return NGX_OK;
}
