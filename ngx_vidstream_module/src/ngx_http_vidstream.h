
/*
 * ngx_vidstream_module: what its nginx modules share.
 *
 * The addon is several nginx modules in one .so, one per concern:
 *   ngx_http_vidstream_module       core: complete bodies, JSON errors
 *   ngx_http_vidstream_auth_module  Cognito JWT validation (access phase)
 *   ngx_http_vidstream_api_module   the videos API (PostgreSQL, S3, SQS),
 *                                   the health endpoints
 *   ngx_http_vidstream_play_module  /play: playback tokens, S3 behind a cache
 *   ngx_http_vidstream_multipart_module  multipart uploads: create, part
 *                                   URLs, ListParts, complete, abort
 *   ngx_http_vidstream_metrics_module  the Prometheus exposition, counters
 *                                   in shared memory (metrics.h: the hooks)
 *   ngx_http_vidstream_aws_module   signed S3/SQS subrequests: their context
 *                                   and variables (no directives)
 */

#ifndef _NGX_HTTP_VIDSTREAM_H_INCLUDED_
#define _NGX_HTTP_VIDSTREAM_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


extern ngx_module_t  ngx_http_vidstream_module;
extern ngx_module_t  ngx_http_vidstream_auth_module;


/*
 * The authenticated user of r: NGX_OK with *sub set to the token's "sub"
 * (memory valid for the request's lifetime) when the auth module accepted a
 * token for this request (or its main request), NGX_DECLINED when the
 * request was not authenticated (vidstream_auth off, or OPTIONS preflight).
 * Implemented by ngx_http_vidstream_auth_module.
 */
ngx_int_t ngx_http_vidstream_auth_user(ngx_http_request_t *r, ngx_str_t *sub);


/*
 * Sends the contract's error body {"error": code, "message": message} with
 * the given status and Content-Type: application/json.  code and message
 * are C strings; message is JSON-escaped here.  Returns what the content
 * phase should return (finalizes nothing itself).
 */
ngx_int_t ngx_http_vidstream_send_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *code, const char *message);

/*
 * The same from an access-phase handler: the body discarded, the error
 * sent and the request finalized; returns NGX_DONE (or what discarding the
 * body returned), which the handler returns to the phase engine.
 */
ngx_int_t ngx_http_vidstream_refuse(ngx_http_request_t *r,
    ngx_uint_t status, const char *code, const char *message);

/*
 * Sends a complete response with the given status, content type and body.
 * The body is sent from where it is, not copied: it must live as long as
 * the request (the request's pool, or static memory).
 */
ngx_int_t ngx_http_vidstream_send_body(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *content_type, u_char *body, size_t len);


/*
 * Adds the variables of vars (ended by ngx_http_null_variable): each
 * module's preconfiguration.
 */
ngx_int_t ngx_http_vidstream_add_variables(ngx_conf_t *cf,
    ngx_http_variable_t *vars);


#endif /* _NGX_HTTP_VIDSTREAM_H_INCLUDED_ */
