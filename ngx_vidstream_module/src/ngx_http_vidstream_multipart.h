
/*
 * ngx_http_vidstream_multipart: multipart uploads (CONTRACT.md 3.1), what
 * the api module and the multipart module share.
 *
 * The api module routes, authenticates and reads or writes the video's
 * row as for a single PUT; where a multipart upload changes the answer it
 * hands the request over here, and gets it back (next) when the ordinary
 * flow goes on.  Every function that returns NGX_DONE has taken the
 * request over: it finalizes it, or calls next, later.
 */

#ifndef _NGX_HTTP_VIDSTREAM_MULTIPART_H_INCLUDED_
#define _NGX_HTTP_VIDSTREAM_MULTIPART_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_vidstream_pg.h"


/* the routes of /videos/<id>/upload… */
#define NGX_HTTP_VIDSTREAM_MULTIPART_STATE  1    /* GET …/upload */
#define NGX_HTTP_VIDSTREAM_MULTIPART_PARTS  2    /* GET …/upload/parts */


/* what the api module does next: NGX_DONE, or the rc to finalize with */
typedef ngx_int_t (*ngx_http_vidstream_multipart_next_pt)(
    ngx_http_request_t *r);


/*
 * The module's statements, appended to the api module's in the worker's
 * PostgreSQL pool: base is the index of the first (init_process).
 */
ngx_http_vidstream_pg_stmt_t *ngx_http_vidstream_multipart_stmts(
    ngx_uint_t base, ngx_uint_t *n);

/* The action of a path after /videos/<id>, or 0 when it is none of ours. */
ngx_uint_t ngx_http_vidstream_multipart_route(ngx_str_t *rest);

/*
 * POST /videos: how the source goes to S3.  upload is the body's "upload"
 * (data NULL when absent), size its "size".  NGX_OK with *multipart set,
 * or NGX_DECLINED with *error set (a 400 invalid_request).
 */
ngx_int_t ngx_http_vidstream_multipart_wanted(ngx_http_request_t *r,
    ngx_str_t *upload, int64_t size, ngx_uint_t *multipart,
    const char **error);

/*
 * POST /videos of a multipart upload once the row exists: the upload is
 * created (or, for a repeat under the same Idempotency-Key, read back) and
 * the 201 sent.  video is the video object from PostgreSQL.
 */
ngx_int_t ngx_http_vidstream_multipart_created(ngx_http_request_t *r,
    ngx_str_t *sub, ngx_str_t *id, ngx_str_t *video,
    ngx_str_t *content_type, int64_t size, ngx_uint_t repeat);

/* GET /videos/<id>/upload and …/upload/parts */
ngx_int_t ngx_http_vidstream_multipart_handler(ngx_http_request_t *r,
    ngx_uint_t action, u_char *id, ngx_str_t *sub);

/*
 * POST /videos/<id>/complete on a pending video with an unfinished
 * multipart upload: ListParts, the check against the plan, then
 * CompleteMultipartUpload; once S3 holds the object, next queues the
 * video as for a single PUT.
 */
ngx_int_t ngx_http_vidstream_multipart_complete(ngx_http_request_t *r,
    u_char *id, ngx_str_t *sub, ngx_str_t *upload_id, int64_t size,
    int64_t part_size, int64_t part_count,
    ngx_http_vidstream_multipart_next_pt next);

/* DELETE: AbortMultipartUpload (NoSuchUpload is fine), then next. */
ngx_int_t ngx_http_vidstream_multipart_abort(ngx_http_request_t *r,
    ngx_str_t *sub, u_char *id, ngx_str_t *upload_id,
    ngx_http_vidstream_multipart_next_pt next);

/*
 * Location: /videos/<id> (the path) on r's answer: NGX_OK or NGX_ERROR.
 * Implemented by the api module.
 */
ngx_int_t ngx_http_vidstream_api_location(ngx_http_request_t *r,
    ngx_str_t *id);


#endif /* _NGX_HTTP_VIDSTREAM_MULTIPART_H_INCLUDED_ */
