
/*
 * ngx_http_vidstream_multipart_int.h: what the files of the multipart
 * module share: the main conf, the per-request ctx with one named state
 * enum per action, the statements and the functions one file calls in
 * another.  Nothing outside ngx_http_vidstream_multipart_*.c includes it
 * (the api module sees ngx_http_vidstream_multipart.h).
 *
 *     _module.c    directives, conf, statements, routes, the ctx, the
 *                  PostgreSQL and S3 plumbing every action uses, ListParts
 *     _create.c    POST /videos of a multipart upload
 *     _parts.c     GET …/upload/parts (part URLs), GET …/upload (status)
 *     _complete.c  ListParts, the check, CompleteMultipartUpload
 *     _abort.c     AbortMultipartUpload for DELETE
 *     _json.c      every answer of the module
 */

#ifndef _NGX_HTTP_VIDSTREAM_MULTIPART_INT_H_INCLUDED_
#define _NGX_HTTP_VIDSTREAM_MULTIPART_INT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_vidstream.h"
#include "ngx_http_vidstream_aws.h"
#include "ngx_http_vidstream_s3.h"
#include "ngx_http_vidstream_pg.h"
#include "ngx_http_vidstream_play.h"
#include "ngx_http_vidstream_multipart.h"

#include "vs_multipart.h"
#include "vs_s3xml.h"
#include "vs_sigv4.h"
#include "vs_util.h"


#define NGX_HTTP_VIDSTREAM_MP_UUID_LEN     36

/* S3's single PUT limit: "single" above it is refused */
#define NGX_HTTP_VIDSTREAM_MP_SINGLE_MAX   ((int64_t) 5 << 30)

/* the part URLs of a create's answer, and of one …/upload/parts */
#define NGX_HTTP_VIDSTREAM_MP_INLINE       100
#define NGX_HTTP_VIDSTREAM_MP_COUNT_MAX    1000

/* the part numbers an upload_incomplete lists, of each kind */
#define NGX_HTTP_VIDSTREAM_MP_REPORT_MAX   100

/*
 * ListParts page size: a page of 1,000 parts is ~250 KiB of XML, too
 * close to subrequest_output_buffer_size 256k; 500 keeps it near half.
 */
#define NGX_HTTP_VIDSTREAM_MP_PAGE         500
#define NGX_HTTP_VIDSTREAM_MP_PAGES_MAX                                       \
    (VS_MULTIPART_PARTS_MAX / NGX_HTTP_VIDSTREAM_MP_PAGE + 2)


/* the statements, in the order of ngx_http_vidstream_mp_stmts[] */
enum {
    NGX_HTTP_VIDSTREAM_MP_STMT_ROW = 0,
    NGX_HTTP_VIDSTREAM_MP_STMT_START,
    NGX_HTTP_VIDSTREAM_MP_STMT_COMPLETED
};


typedef struct {
    off_t                           threshold;
    ngx_msec_t                      complete_timeout;
} ngx_http_vidstream_multipart_main_conf_t;


/*
 * Where a request is in its action: one enum per action, read by the one
 * switch of that action's step when PostgreSQL or S3 answers.
 */

typedef enum {
    NGX_HTTP_VIDSTREAM_MP_CREATE_ROW = 0,  /* vs_mp_row: a repeat's upload */
    NGX_HTTP_VIDSTREAM_MP_CREATE_S3,       /* CreateMultipartUpload */
    NGX_HTTP_VIDSTREAM_MP_CREATE_SAVE      /* vs_mp_start */
} ngx_http_vidstream_mp_create_state_e;


typedef enum {
    NGX_HTTP_VIDSTREAM_MP_PARTS_ROW = 0,   /* …/upload/parts: vs_mp_row */
    NGX_HTTP_VIDSTREAM_MP_STATUS_ROW,      /* …/upload: vs_mp_row */
    NGX_HTTP_VIDSTREAM_MP_STATUS_LIST      /* …/upload: ListParts */
} ngx_http_vidstream_mp_parts_state_e;


typedef enum {
    NGX_HTTP_VIDSTREAM_MP_COMPLETE_LIST = 0, /* ListParts, page after page */
    NGX_HTTP_VIDSTREAM_MP_COMPLETE_S3,     /* CompleteMultipartUpload */
    NGX_HTTP_VIDSTREAM_MP_COMPLETE_HEAD,   /* HeadObject: NoSuchUpload, why */
    NGX_HTTP_VIDSTREAM_MP_COMPLETE_SAVE    /* vs_mp_completed */
} ngx_http_vidstream_mp_complete_state_e;


typedef enum {
    NGX_HTTP_VIDSTREAM_MP_ABORT_S3 = 0     /* AbortMultipartUpload */
} ngx_http_vidstream_mp_abort_state_e;


/* a buffer that grows in the request pool */
typedef struct {
    u_char                         *start;
    u_char                         *pos;
    u_char                         *end;
} ngx_http_vidstream_mp_buf_t;


typedef struct ngx_http_vidstream_mp_ctx_s  ngx_http_vidstream_mp_ctx_t;

/*
 * The action's step: PostgreSQL answered (res; a failed statement never
 * gets here, it is a 503) or S3 did (res NULL, the answer in ctx->call).
 * NGX_DONE, or what to finalize with.
 */
typedef ngx_int_t (*ngx_http_vidstream_mp_step_pt)(
    ngx_http_vidstream_mp_ctx_t *ctx, PGresult *res);

/* what starts again once a credentials refresh is over */
typedef ngx_int_t (*ngx_http_vidstream_mp_resume_pt)(
    ngx_http_vidstream_mp_ctx_t *ctx);

/* a part ListParts reported, within the plan */
typedef ngx_int_t (*ngx_http_vidstream_mp_part_pt)(
    ngx_http_vidstream_mp_ctx_t *ctx, const vs_s3xml_part_t *part);


struct ngx_http_vidstream_mp_ctx_s {
    ngx_http_request_t             *request;
    ngx_http_vidstream_multipart_main_conf_t  *mcf;
    ngx_http_vidstream_s3_conf_t    s3;

    /* the action: its step, and where it is */
    ngx_http_vidstream_mp_step_pt   step;
    union {
        ngx_http_vidstream_mp_create_state_e    create;
        ngx_http_vidstream_mp_parts_state_e     parts;
        ngx_http_vidstream_mp_complete_state_e  complete;
        ngx_http_vidstream_mp_abort_state_e     abort;
    }                               state;
    ngx_http_vidstream_mp_resume_pt resume;       /* a refresh runs */
    ngx_http_vidstream_multipart_next_pt  next;

    ngx_str_t                       sub;
    u_char                          id[NGX_HTTP_VIDSTREAM_MP_UUID_LEN + 1];
    ngx_str_t                       key;          /* input/<sub>/<id>/source */
    ngx_str_t                       upload_id;
    vs_multipart_plan_t             plan;

    ngx_http_vidstream_pg_query_t   query;
    ngx_http_vidstream_aws_call_t   call;

    /* create */
    ngx_str_t                       video;        /* the video object */
    ngx_str_t                       content_type;
    u_char                          part_size[NGX_INT64_LEN + 1];
    u_char                          part_count[NGX_INT64_LEN + 1];
    unsigned                        repeat:1;

    /* …/upload/parts */
    int64_t                         first;
    int64_t                         count;

    /* ListParts */
    vs_multipart_check_t           *check;
    ngx_http_vidstream_mp_part_pt   on_part;
    ngx_http_vidstream_mp_buf_t     out;          /* JSON, or the XML body */
    int32_t                         marker;
    ngx_uint_t                      pages;
    ngx_uint_t                      listed;       /* parts written to out */

    unsigned                        pg_pending:1;
};


extern ngx_module_t  ngx_http_vidstream_multipart_module;


/* _module.c: the ctx, PostgreSQL, S3, ListParts */
ngx_http_vidstream_mp_ctx_t *ngx_http_vidstream_mp_ctx(ngx_http_request_t *r,
    ngx_http_vidstream_mp_step_pt step, ngx_str_t *sub, u_char *id,
    ngx_str_t *upload_id);
ngx_int_t ngx_http_vidstream_mp_copy_upload_id(ngx_http_vidstream_mp_ctx_t *ctx,
    u_char *data, size_t len);
ngx_int_t ngx_http_vidstream_mp_query(ngx_http_vidstream_mp_ctx_t *ctx,
    ngx_uint_t stmt, ngx_uint_t nparams, ...);
ngx_int_t ngx_http_vidstream_mp_row(ngx_http_vidstream_mp_ctx_t *ctx);
ngx_int_t ngx_http_vidstream_mp_plan(ngx_http_vidstream_mp_ctx_t *ctx,
    PGresult *res);
ngx_int_t ngx_http_vidstream_mp_creds(ngx_http_vidstream_mp_ctx_t *ctx,
    ngx_http_vidstream_mp_resume_pt resume);
ngx_int_t ngx_http_vidstream_mp_s3_ready(ngx_http_vidstream_mp_ctx_t *ctx,
    ngx_http_vidstream_mp_resume_pt resume);
ngx_int_t ngx_http_vidstream_mp_s3_started(ngx_http_vidstream_mp_ctx_t *ctx,
    ngx_int_t rc);
ngx_int_t ngx_http_vidstream_mp_s3_status(ngx_http_vidstream_mp_ctx_t *ctx,
    vs_s3xml_error_t *err, ngx_uint_t gone);
ngx_int_t ngx_http_vidstream_mp_s3_invalid(ngx_http_vidstream_mp_ctx_t *ctx,
    int rc, vs_s3xml_error_t *err);
ngx_int_t ngx_http_vidstream_mp_list(ngx_http_vidstream_mp_ctx_t *ctx);
ngx_int_t ngx_http_vidstream_mp_listed(ngx_http_vidstream_mp_ctx_t *ctx);
ngx_int_t ngx_http_vidstream_mp_reserve(ngx_http_request_t *r,
    ngx_http_vidstream_mp_buf_t *b, size_t n);


/* _json.c: the answers */
ngx_int_t ngx_http_vidstream_mp_answer_create(
    ngx_http_vidstream_mp_ctx_t *ctx);
ngx_int_t ngx_http_vidstream_mp_answer_parts(
    ngx_http_vidstream_mp_ctx_t *ctx);
ngx_int_t ngx_http_vidstream_mp_answer_status(
    ngx_http_vidstream_mp_ctx_t *ctx);
ngx_int_t ngx_http_vidstream_mp_uploaded(ngx_http_vidstream_mp_ctx_t *ctx,
    const vs_s3xml_part_t *part);
ngx_int_t ngx_http_vidstream_mp_incomplete(ngx_http_vidstream_mp_ctx_t *ctx);
ngx_int_t ngx_http_vidstream_mp_unavailable(ngx_http_request_t *r);
ngx_int_t ngx_http_vidstream_mp_conflict(ngx_http_request_t *r);


#endif /* _NGX_HTTP_VIDSTREAM_MULTIPART_INT_H_INCLUDED_ */
