
/*
 * ngx_http_vidstream_play: playback through the edge (CONTRACT.md 3.2),
 * what the api module and the play module share.
 */

#ifndef _NGX_HTTP_VIDSTREAM_PLAY_H_INCLUDED_
#define _NGX_HTTP_VIDSTREAM_PLAY_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "vs_sigv4.h"
#include "ngx_http_vidstream_s3.h"


/*
 * GET /videos/<id>/playback once the owner's row is read: answers 200 with
 * the edge URLs of a fresh token, 404 (status NULL: no such video of this
 * owner), 409 not_ready (any status but "done") or 503 (no playback key
 * configured).  hls: the row's output_hls.  Returns what the api module
 * finalizes the request with.  Implemented by the play module.
 */
ngx_int_t ngx_http_vidstream_play_playback(ngx_http_request_t *r,
    u_char *id, ngx_str_t *sub, const char *status, ngx_uint_t hls);


/* the S3 configuration the API module owns: ngx_http_vidstream_s3.h */

ngx_int_t ngx_http_vidstream_api_s3_conf(ngx_http_request_t *r,
    ngx_http_vidstream_s3_conf_t *conf);


#endif /* _NGX_HTTP_VIDSTREAM_PLAY_H_INCLUDED_ */
