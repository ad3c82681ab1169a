
/*
 * ngx_http_vidstream_auth: what the auth module's files share.
 *
 *     ngx_http_vidstream_auth_module.c  directives, configuration, the
 *                                       access handler: token, keys, cache,
 *                                       verification, requirements
 *     ngx_http_vidstream_auth_reply.c   the refusals: 401 and 403 with their
 *                                       RFC 6750 challenges, JSON errors
 *     ngx_http_vidstream_auth_vars.c    the result: $vidstream_user,
 *                                       $vidstream_jwt_claim_*,
 *                                       ngx_http_vidstream_auth_user()
 */

#ifndef _NGX_HTTP_VIDSTREAM_AUTH_H_INCLUDED_
#define _NGX_HTTP_VIDSTREAM_AUTH_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <jwt.h>

#include "ngx_http_vidstream.h"
#include "ngx_http_vidstream_jwks_fetch.h"


/* a request's authentication, in its ngx_http_vidstream_auth_module ctx */
typedef struct {
    ngx_http_vidstream_jwks_waiter_t   fetch;      /* keys for this request */
    ngx_str_t                          sub;
    ngx_str_t                          payload;    /* decoded, for claims */
    jwt_t                             *claims;     /* libjwt, on demand */
    unsigned                           authenticated:1;
    unsigned                           cleanup:1;
} ngx_http_vidstream_auth_ctx_t;


/* the variables' preconfiguration handler */
ngx_int_t ngx_http_vidstream_auth_add_variables(ngx_conf_t *cf);

/*
 * 401 invalid_token (why: a short static reason, or NULL when there is no
 * bearer token) and 403 insufficient_scope (why: the requirement not met),
 * each with its WWW-Authenticate challenge.  The JSON error is sent and
 * NGX_DONE returned, unless "satisfy any" leaves the request to another
 * access module: then the status is returned.
 */
ngx_int_t ngx_http_vidstream_auth_reject(ngx_http_request_t *r,
    const char *why);
ngx_int_t ngx_http_vidstream_auth_forbid(ngx_http_request_t *r,
    const char *why);


#endif /* _NGX_HTTP_VIDSTREAM_AUTH_H_INCLUDED_ */
