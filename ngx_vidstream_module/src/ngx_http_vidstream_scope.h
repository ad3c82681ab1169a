
/*
 * ngx_http_vidstream_scope: authorization by the claims of a verified
 * token (CONTRACT.md section 3, "403 insufficient_scope"):
 *
 *     vidstream_jwt_require_scope  videos/write videos/admin;
 *     vidstream_jwt_require_group  uploaders;
 *
 * A location's requirement is met when the token's space-separated
 * "scope" claim holds any of the scopes listed, and its "cognito:groups"
 * array any of the groups listed; with both directives, both must be met.
 * The auth module checks them on every request, after the token is
 * verified or found in the cache (which holds verified tokens, whatever
 * location they were first seen in).
 */

#ifndef _NGX_HTTP_VIDSTREAM_SCOPE_H_INCLUDED_
#define _NGX_HTTP_VIDSTREAM_SCOPE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/*
 * A directive's handler: its arguments are appended to the ngx_array_t *
 * of ngx_str_t at cmd->offset in conf (created on first use).
 */
char *ngx_http_vidstream_scope_conf_set(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/*
 * Checks the claims of payload (the token's decoded JSON payload) against
 * the required scopes and groups (either may be NULL: no requirement).
 * NGX_OK: allowed; NGX_DECLINED: refused, *why says which claim failed;
 * NGX_ERROR: no memory.
 */
ngx_int_t ngx_http_vidstream_scope_check(ngx_str_t *payload,
    ngx_array_t *scopes, ngx_array_t *groups, const char **why);


#endif /* _NGX_HTTP_VIDSTREAM_SCOPE_H_INCLUDED_ */
