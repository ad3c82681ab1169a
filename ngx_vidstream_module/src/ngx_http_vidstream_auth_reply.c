
/*
 * ngx_http_vidstream_auth_reply: the auth module's refusals
 * (CONTRACT.md 2 and 3).  A missing or invalid token is 401 with
 * WWW-Authenticate: Bearer realm="vidstream", error="invalid_token" and
 * the reason as error_description (RFC 6750 3); a valid token without the
 * location's scope or group is 403 with error="insufficient_scope"
 * (RFC 6750 3.1).  Both send the contract's JSON error from the access
 * phase, except under "satisfy any", where another access module may still
 * let the request in.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_vidstream_auth.h"
#include "ngx_http_vidstream_metrics.h"


static ngx_int_t ngx_http_vidstream_auth_challenge(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *challenge, const char *code,
    const char *message);


ngx_int_t
ngx_http_vidstream_auth_reject(ngx_http_request_t *r, const char *why)
{
    size_t      len;
    u_char     *p;
    ngx_str_t   challenge;

    static const char  realm[] = "Bearer realm=\"vidstream\"";
    static const char  error[] = ", error=\"invalid_token\", "
                                 "error_description=\"";

    ngx_http_vidstream_metrics_auth_rejected(why);

    if (why == NULL) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "vidstream auth: no bearer token");

    } else {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "vidstream auth: token rejected: %s", why);
    }

    len = sizeof(realm) - 1;

    if (why) {
        /* the reasons are our own static strings: no quotes to escape */
        len += sizeof(error) - 1 + ngx_strlen(why) + 1;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    challenge.data = p;
    challenge.len = len;

    p = ngx_cpymem(p, realm, sizeof(realm) - 1);

    if (why) {
        p = ngx_cpymem(p, error, sizeof(error) - 1);
        p = ngx_cpymem(p, why, ngx_strlen(why));
        *p = '"';
    }

    return ngx_http_vidstream_auth_challenge(r, NGX_HTTP_UNAUTHORIZED,
                                             &challenge, "unauthorized",
                                             why ? why
                                                 : "missing bearer token");
}


ngx_int_t
ngx_http_vidstream_auth_forbid(ngx_http_request_t *r, const char *why)
{
    static ngx_str_t  challenge =
        ngx_string("Bearer realm=\"vidstream\", error=\"insufficient_scope\"");

    ngx_http_vidstream_metrics_auth(NGX_HTTP_VIDSTREAM_METRICS_AUTH_SCOPE);

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "vidstream auth: access refused: %s", why);

    /* RFC 6750 3.1 */

    return ngx_http_vidstream_auth_challenge(r, NGX_HTTP_FORBIDDEN,
                                             &challenge, "insufficient_scope",
                                             why);
}


/* the WWW-Authenticate challenge, then the JSON error unless satisfy any */
static ngx_int_t
ngx_http_vidstream_auth_challenge(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *challenge, const char *code, const char *message)
{
    ngx_table_elt_t           *h;
    ngx_http_core_loc_conf_t  *clcf;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "WWW-Authenticate");
    h->value = *challenge;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif
    r->headers_out.www_authenticate = h;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (clcf->satisfy != NGX_HTTP_SATISFY_ALL) {
        /* another access module may still let the request in */
        return status;
    }

    return ngx_http_vidstream_refuse(r, status, code, message);
}
