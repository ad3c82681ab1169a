
/*
 * ngx_http_vidstream_auth_vars: what the auth module found, for the rest
 * of the configuration and the other modules: $vidstream_user (the token's
 * sub), $vidstream_jwt_claim_NAME, and ngx_http_vidstream_auth_user() (see
 * ngx_http_vidstream.h).  All of them read the request's auth context, set
 * when the token was verified or found in the cache.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <jwt.h>

#include "ngx_http_vidstream_auth.h"


#define NGX_HTTP_VIDSTREAM_CLAIM_PREFIX   "vidstream_jwt_claim_"


static ngx_int_t ngx_http_vidstream_user_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_vidstream_claim_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static void ngx_http_vidstream_auth_claims_cleanup(void *data);


static ngx_http_variable_t  ngx_http_vidstream_auth_vars[] = {

    { ngx_string("vidstream_user"), NULL,
      ngx_http_vidstream_user_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string(NGX_HTTP_VIDSTREAM_CLAIM_PREFIX), NULL,
      ngx_http_vidstream_claim_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE|NGX_HTTP_VAR_PREFIX, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_vidstream_auth_add_variables(ngx_conf_t *cf)
{
    return ngx_http_vidstream_add_variables(cf, ngx_http_vidstream_auth_vars);
}


ngx_int_t
ngx_http_vidstream_auth_user(ngx_http_request_t *r, ngx_str_t *sub)
{
    ngx_http_vidstream_auth_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_vidstream_auth_module);

    if (ctx == NULL || !ctx->authenticated) {
        return NGX_DECLINED;
    }

    *sub = ctx->sub;

    return NGX_OK;
}


static ngx_int_t
ngx_http_vidstream_user_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t  sub;

    if (ngx_http_vidstream_auth_user(r, &sub) != NGX_OK) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->len = sub.len;
    v->data = sub.data;

    return NGX_OK;
}


/*
 * $vidstream_jwt_claim_<name>: a string claim as is, an integer or boolean
 * claim as its JSON text; anything else is not found.
 *
 * The claims are decoded by libjwt's grant API from the payload that was
 * verified (or cached) for this request.  That is all the module asks of
 * libjwt: it never calls jwt_decode(), which in 1.10 takes a key and lets
 * the token's header pick the algorithm, and never hands libjwt a key, so
 * there is nothing an algorithm confusion could use (t/stack/libjwt-usage.sh
 * checks the .so's imports).
 */
static ngx_int_t
ngx_http_vidstream_claim_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t                      *name = (ngx_str_t *) data;

    u_char                         *key, *p, *text;
    size_t                          len, i;
    char                           *json;
    const char                     *str;
    ngx_pool_cleanup_t             *cln;
    ngx_http_vidstream_auth_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_vidstream_auth_module);

    if (ctx == NULL || !ctx->authenticated
        || name->len <= sizeof(NGX_HTTP_VIDSTREAM_CLAIM_PREFIX) - 1)
    {
        v->not_found = 1;
        return NGX_OK;
    }

    if (ctx->claims == NULL) {
        cln = ngx_pool_cleanup_add(r->main->pool, 0);
        text = ngx_pnalloc(r->pool, ctx->payload.len + 1);

        if (cln == NULL || text == NULL) {
            return NGX_ERROR;
        }

        *ngx_cpymem(text, ctx->payload.data, ctx->payload.len) = '\0';

        if (jwt_new(&ctx->claims) != 0) {
            ctx->claims = NULL;
            return NGX_ERROR;
        }

        cln->handler = ngx_http_vidstream_auth_claims_cleanup;
        cln->data = ctx->claims;

        if (jwt_add_grants_json(ctx->claims, (char *) text) != 0) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "vidstream auth: libjwt could not read the claims "
                          "of a verified token");
            v->not_found = 1;
            return NGX_OK;
        }
    }

    len = name->len - (sizeof(NGX_HTTP_VIDSTREAM_CLAIM_PREFIX) - 1);

    key = ngx_pnalloc(r->pool, len + 1);
    if (key == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(key, name->data + sizeof(NGX_HTTP_VIDSTREAM_CLAIM_PREFIX) - 1,
               len);
    key[len] = '\0';

    str = jwt_get_grant(ctx->claims, (char *) key);

    if (str != NULL) {
        v->len = ngx_strlen(str);
        v->data = (u_char *) str;
        goto found;
    }

    /* not a string: the JSON text of the value, if there is one */

    json = jwt_get_grants_json(ctx->claims, (char *) key);
    if (json == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    len = ngx_strlen(json);

    for (i = (json[0] == '-'); i < len; i++) {
        if (json[i] < '0' || json[i] > '9') {
            break;
        }
    }

    if (!((i == len && len > (size_t) (json[0] == '-'))
          || ngx_strcmp(json, "true") == 0 || ngx_strcmp(json, "false") == 0))
    {
        free(json);
        v->not_found = 1;
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        free(json);
        return NGX_ERROR;
    }

    ngx_memcpy(p, json, len);
    free(json);

    v->len = len;
    v->data = p;

found:

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


static void
ngx_http_vidstream_auth_claims_cleanup(void *data)
{
    jwt_free(data);
}
