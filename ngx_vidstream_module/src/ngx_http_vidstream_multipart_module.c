
/*
 * ngx_http_vidstream_multipart_module: multipart uploads of CONTRACT.md
 * section 3.1.
 *
 *     vidstream_multipart_threshold 64m;          # multipart above this
 *     vidstream_multipart_complete_timeout 120s;  # CompleteMultipartUpload
 *
 * The bytes go from the client to S3 through presigned UploadPart URLs;
 * the edge creates the upload (CreateMultipartUpload), presigns parts,
 * reads what S3 holds (ListParts, paginated), completes it after checking
 * every part against the plan (lib/vs_multipart.h) and aborts it on
 * DELETE.  Every S3 call is a signed subrequest (ngx_http_vidstream_aws.c);
 * the rows are read and written through the api module's PostgreSQL pool
 * with the statements below.  The api module routes and owns the row's
 * ordinary life; it hands a request over here where multipart changes the
 * answer (ngx_http_vidstream_multipart.h).
 *
 * A failure between CreateMultipartUpload and the UPDATE that records it
 * leaves an upload no row names: S3's lifecycle rule for incomplete
 * multipart uploads removes it; the create answered 503 and its retry
 * (under the same Idempotency-Key, or not) creates another.  A failure
 * between CompleteMultipartUpload and the UPDATE that records it is found
 * again by the next complete: ListParts then says NoSuchUpload and the
 * object is there (HeadObject), so the upload was completed; with no
 * object either, the upload was aborted (S3's lifecycle rule): 409.
 */

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


typedef struct {
    off_t                           threshold;
    ngx_msec_t                      complete_timeout;
} ngx_http_vidstream_multipart_main_conf_t;


/* where a request is: one enum, one switch per kind of callback */
typedef enum {
    NGX_HTTP_VIDSTREAM_MP_ROW = 0,        /* vs_mp_row */
    NGX_HTTP_VIDSTREAM_MP_CREATE_S3,      /* CreateMultipartUpload */
    NGX_HTTP_VIDSTREAM_MP_CREATE_SAVE,    /* vs_mp_start */
    NGX_HTTP_VIDSTREAM_MP_LIST,           /* ListParts, page after page */
    NGX_HTTP_VIDSTREAM_MP_COMPLETE_S3,    /* CompleteMultipartUpload */
    NGX_HTTP_VIDSTREAM_MP_COMPLETE_SAVE,  /* vs_mp_completed */
    NGX_HTTP_VIDSTREAM_MP_HEAD_S3,        /* HeadObject: NoSuchUpload, why */
    NGX_HTTP_VIDSTREAM_MP_ABORT_S3        /* AbortMultipartUpload */
} ngx_http_vidstream_mp_step_e;


/* what the request is for */
typedef enum {
    NGX_HTTP_VIDSTREAM_MP_FOR_CREATE = 0,
    NGX_HTTP_VIDSTREAM_MP_FOR_STATE,
    NGX_HTTP_VIDSTREAM_MP_FOR_PARTS,
    NGX_HTTP_VIDSTREAM_MP_FOR_COMPLETE,
    NGX_HTTP_VIDSTREAM_MP_FOR_ABORT
} ngx_http_vidstream_mp_flow_e;


/* a buffer that grows in the request pool */
typedef struct {
    u_char                         *start;
    u_char                         *pos;
    u_char                         *end;
} ngx_http_vidstream_mp_buf_t;


typedef struct {
    ngx_http_request_t             *request;
    ngx_http_vidstream_multipart_main_conf_t  *mcf;
    ngx_http_vidstream_s3_conf_t    s3;

    ngx_http_vidstream_mp_flow_e    flow;
    ngx_http_vidstream_mp_step_e    step;
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
    time_t                          now;          /* of every presign */
    int64_t                         first;
    int64_t                         count;

    /* ListParts */
    vs_multipart_check_t           *check;
    ngx_http_vidstream_mp_buf_t     out;          /* JSON, or the XML body */
    int32_t                         marker;
    ngx_uint_t                      pages;
    ngx_uint_t                      listed;       /* parts written to out */

    unsigned                        pg_pending:1;
    unsigned                        creds:1;      /* a refresh runs */
} ngx_http_vidstream_mp_ctx_t;


static ngx_http_vidstream_mp_ctx_t *ngx_http_vidstream_mp_ctx(
    ngx_http_request_t *r, ngx_http_vidstream_mp_flow_e flow,
    ngx_str_t *sub, u_char *id);
static void ngx_http_vidstream_mp_cleanup(void *data);
static ngx_int_t ngx_http_vidstream_mp_query(ngx_http_vidstream_mp_ctx_t *ctx,
    ngx_uint_t stmt, ngx_uint_t nparams, ...);
static void ngx_http_vidstream_mp_pg_done(ngx_http_vidstream_pg_query_t *q,
    ngx_http_vidstream_pg_status_e status, PGresult *res);
static ngx_int_t ngx_http_vidstream_mp_row(ngx_http_vidstream_mp_ctx_t *ctx,
    PGresult *res);
static ngx_int_t ngx_http_vidstream_mp_s3(ngx_http_vidstream_mp_ctx_t *ctx);
static void ngx_http_vidstream_mp_s3_done(ngx_http_request_t *r);
static ngx_int_t ngx_http_vidstream_mp_s3_result(
    ngx_http_vidstream_mp_ctx_t *ctx);
static ngx_int_t ngx_http_vidstream_mp_listed(
    ngx_http_vidstream_mp_ctx_t *ctx);
static int ngx_http_vidstream_mp_on_part(void *data,
    const vs_s3xml_part_t *part);
static ngx_int_t ngx_http_vidstream_mp_incomplete(
    ngx_http_vidstream_mp_ctx_t *ctx);
static ngx_int_t ngx_http_vidstream_mp_state(
    ngx_http_vidstream_mp_ctx_t *ctx);
static ngx_int_t ngx_http_vidstream_mp_answer_create(
    ngx_http_vidstream_mp_ctx_t *ctx);
static ngx_int_t ngx_http_vidstream_mp_answer_parts(
    ngx_http_vidstream_mp_ctx_t *ctx);
static u_char *ngx_http_vidstream_mp_write_parts(
    ngx_http_vidstream_mp_ctx_t *ctx, u_char *p, u_char *last,
    int64_t first, int64_t count, u_char *expires_at);
static size_t ngx_http_vidstream_mp_parts_len(
    ngx_http_vidstream_mp_ctx_t *ctx, int64_t first, int64_t count);
static ssize_t ngx_http_vidstream_mp_presign(ngx_http_vidstream_mp_ctx_t *ctx,
    int64_t number, u_char *out, size_t size);
static ngx_int_t ngx_http_vidstream_mp_reserve(ngx_http_request_t *r,
    ngx_http_vidstream_mp_buf_t *b, size_t n);
static ngx_int_t ngx_http_vidstream_mp_send_json(ngx_http_request_t *r,
    ngx_uint_t status, u_char *body, size_t len);
static ngx_int_t ngx_http_vidstream_mp_unavailable(ngx_http_request_t *r);
static ngx_int_t ngx_http_vidstream_mp_conflict(ngx_http_request_t *r);
static void ngx_http_vidstream_mp_finish(ngx_http_vidstream_mp_ctx_t *ctx,
    ngx_int_t rc);

static void *ngx_http_vidstream_multipart_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_vidstream_multipart_init_main_conf(ngx_conf_t *cf,
    void *conf);


/* the statements, in the order of ngx_http_vidstream_mp_stmts[] */
enum {
    NGX_HTTP_VIDSTREAM_MP_STMT_ROW = 0,
    NGX_HTTP_VIDSTREAM_MP_STMT_START,
    NGX_HTTP_VIDSTREAM_MP_STMT_COMPLETED
};


static ngx_http_vidstream_pg_stmt_t  ngx_http_vidstream_mp_stmts[] = {

    /*
     * $1 id, $2 sub: status, upload_id (NULL unless an upload is
     * unfinished), part_size, part_count, size
     */
    { "vs_mp_row",
      "SELECT status,"
      " CASE WHEN upload_completed_at IS NULL THEN upload_id END,"
      " part_size, part_count, size FROM videos"
      " WHERE id = $1::uuid AND owner_sub = $2 AND status <> 'deleted'", 1 },

    /*
     * $1 id, $2 sub, $3 upload_id, $4 part_size, $5 part_count: the
     * upload S3 created is recorded, unless a concurrent repeat of the
     * create recorded its own first: the one recorded is returned (the
     * other is left to the bucket's lifecycle rule)
     */
    { "vs_mp_start",
      "UPDATE videos SET upload_id = COALESCE(upload_id, $3),"
      " part_size = COALESCE(part_size, $4::bigint),"
      " part_count = COALESCE(part_count, $5::int)"
      " WHERE id = $1::uuid AND owner_sub = $2"
      " AND status = 'pending_upload'"
      " RETURNING upload_id, part_size, part_count", 0 },

    /* $1 id, $2 sub, $3 upload_id: S3 holds the object now */
    { "vs_mp_completed",
      "UPDATE videos SET upload_completed_at = now()"
      " WHERE id = $1::uuid AND owner_sub = $2 AND upload_id = $3"
      " AND upload_completed_at IS NULL", 0 }
};


static ngx_uint_t  ngx_http_vidstream_mp_stmt_base;


static ngx_command_t  ngx_http_vidstream_multipart_commands[] = {

    { ngx_string("vidstream_multipart_threshold"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_off_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vidstream_multipart_main_conf_t, threshold),
      NULL },

    { ngx_string("vidstream_multipart_complete_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vidstream_multipart_main_conf_t, complete_timeout),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_vidstream_multipart_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_http_vidstream_multipart_create_main_conf, /* create main conf */
    ngx_http_vidstream_multipart_init_main_conf, /* init main conf */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_vidstream_multipart_module = {
    NGX_MODULE_V1,
    &ngx_http_vidstream_multipart_module_ctx, /* module context */
    ngx_http_vidstream_multipart_commands, /* module directives */
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


static ngx_str_t  ngx_http_vidstream_mp_json = ngx_string("application/json");


ngx_http_vidstream_pg_stmt_t *
ngx_http_vidstream_multipart_stmts(ngx_uint_t base, ngx_uint_t *n)
{
    ngx_http_vidstream_mp_stmt_base = base;
    *n = sizeof(ngx_http_vidstream_mp_stmts)
         / sizeof(ngx_http_vidstream_pg_stmt_t);

    return ngx_http_vidstream_mp_stmts;
}


ngx_uint_t
ngx_http_vidstream_multipart_route(ngx_str_t *rest)
{
    if (rest->len == sizeof("/upload") - 1
        && ngx_strncmp(rest->data, "/upload", rest->len) == 0)
    {
        return NGX_HTTP_VIDSTREAM_MULTIPART_STATE;
    }

    if (rest->len == sizeof("/upload/parts") - 1
        && ngx_strncmp(rest->data, "/upload/parts", rest->len) == 0)
    {
        return NGX_HTTP_VIDSTREAM_MULTIPART_PARTS;
    }

    return 0;
}


ngx_int_t
ngx_http_vidstream_multipart_wanted(ngx_http_request_t *r,
    ngx_str_t *upload, int64_t size, ngx_uint_t *multipart,
    const char **error)
{
    ngx_http_vidstream_multipart_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r,
                                        ngx_http_vidstream_multipart_module);

    if (upload->data == NULL) {
        *multipart = size > (int64_t) mcf->threshold;
        return NGX_OK;
    }

    if (upload->len == sizeof("multipart") - 1
        && ngx_strncmp(upload->data, "multipart", upload->len) == 0)
    {
        *multipart = 1;
        return NGX_OK;
    }

    if (upload->len == sizeof("single") - 1
        && ngx_strncmp(upload->data, "single", upload->len) == 0)
    {
        if (size > NGX_HTTP_VIDSTREAM_MP_SINGLE_MAX) {
            *error = "a single upload is at most 5 GiB (one S3 PUT): "
                     "use \"upload\":\"multipart\"";
            return NGX_DECLINED;
        }

        *multipart = 0;
        return NGX_OK;
    }

    *error = "upload must be \"single\" or \"multipart\"";

    return NGX_DECLINED;
}


ngx_int_t
ngx_http_vidstream_multipart_created(ngx_http_request_t *r, ngx_str_t *sub,
    ngx_str_t *id, ngx_str_t *video, ngx_str_t *content_type, int64_t size,
    ngx_uint_t repeat)
{
    ngx_int_t                     rc;
    ngx_http_vidstream_mp_ctx_t  *ctx;

    if (id->len != NGX_HTTP_VIDSTREAM_MP_UUID_LEN || video->len < 2
        || video->data[video->len - 1] != '}')
    {
        return ngx_http_vidstream_mp_unavailable(r);
    }

    ctx = ngx_http_vidstream_mp_ctx(r, NGX_HTTP_VIDSTREAM_MP_FOR_CREATE, sub,
                                    id->data);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (vs_multipart_plan(size, &ctx->plan) != 0) {
        return ngx_http_vidstream_mp_unavailable(r);
    }

    /* the row's video object outlives its PGresult */

    ctx->video.len = video->len;
    ctx->video.data = ngx_pnalloc(r->pool, video->len);
    if (ctx->video.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(ctx->video.data, video->data, video->len);

    ctx->content_type = *content_type;
    ctx->repeat = repeat;

    *ngx_sprintf(ctx->part_size, "%L", ctx->plan.part_size) = '\0';
    *ngx_sprintf(ctx->part_count, "%L", ctx->plan.part_count) = '\0';

    if (repeat) {
        /* the same upload as the first answer's, once it has one */
        ctx->step = NGX_HTTP_VIDSTREAM_MP_ROW;
        rc = ngx_http_vidstream_mp_query(ctx, NGX_HTTP_VIDSTREAM_MP_STMT_ROW,
                                    2, ctx->id,
                                    (size_t) NGX_HTTP_VIDSTREAM_MP_UUID_LEN,
                                    ctx->sub.data, ctx->sub.len);
        return rc == NGX_OK ? NGX_DONE : rc;
    }

    ctx->step = NGX_HTTP_VIDSTREAM_MP_CREATE_S3;

    return ngx_http_vidstream_mp_s3(ctx);
}


ngx_int_t
ngx_http_vidstream_multipart_handler(ngx_http_request_t *r,
    ngx_uint_t action, u_char *id, ngx_str_t *sub)
{
    ngx_int_t                     n, rc;
    ngx_str_t                     arg;
    ngx_http_vidstream_mp_ctx_t  *ctx;

    ctx = ngx_http_vidstream_mp_ctx(r,
                                    action == NGX_HTTP_VIDSTREAM_MULTIPART_PARTS
                                        ? NGX_HTTP_VIDSTREAM_MP_FOR_PARTS
                                        : NGX_HTTP_VIDSTREAM_MP_FOR_STATE,
                                    sub, id);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->flow == NGX_HTTP_VIDSTREAM_MP_FOR_PARTS) {
        ctx->first = 1;
        ctx->count = NGX_HTTP_VIDSTREAM_MP_INLINE;

        if (ngx_http_arg(r, (u_char *) "first", 5, &arg) == NGX_OK) {
            n = (arg.len && arg.len <= 5) ? ngx_atoi(arg.data, arg.len)
                                          : NGX_ERROR;
            if (n < 1 || n > VS_MULTIPART_PARTS_MAX) {
                return ngx_http_vidstream_send_error(r, NGX_HTTP_BAD_REQUEST,
                                            "invalid_request",
                                            "first must be a part number "
                                            "of the upload");
            }

            ctx->first = n;
        }

        if (ngx_http_arg(r, (u_char *) "count", 5, &arg) == NGX_OK) {
            n = (arg.len && arg.len <= 4) ? ngx_atoi(arg.data, arg.len)
                                          : NGX_ERROR;
            if (n < 1 || n > NGX_HTTP_VIDSTREAM_MP_COUNT_MAX) {
                return ngx_http_vidstream_send_error(r, NGX_HTTP_BAD_REQUEST,
                                            "invalid_request",
                                            "count must be an integer "
                                            "from 1 to 1000");
            }

            ctx->count = n;
        }

        /* presigning needs current credentials: an ECS refresh first */

        rc = ngx_http_vidstream_aws_creds(r, &ctx->s3.credentials_location,
                                          &ctx->call);
        if (rc == NGX_AGAIN) {
            ctx->creds = 1;
            ctx->step = NGX_HTTP_VIDSTREAM_MP_ROW;
            ctx->call.done = ngx_http_vidstream_mp_s3_done;
            return NGX_DONE;
        }
    }

    ctx->step = NGX_HTTP_VIDSTREAM_MP_ROW;

    rc = ngx_http_vidstream_mp_query(ctx, NGX_HTTP_VIDSTREAM_MP_STMT_ROW, 2,
                                     ctx->id,
                                     (size_t) NGX_HTTP_VIDSTREAM_MP_UUID_LEN,
                                     ctx->sub.data, ctx->sub.len);

    return rc == NGX_OK ? NGX_DONE : rc;
}


ngx_int_t
ngx_http_vidstream_multipart_complete(ngx_http_request_t *r, u_char *id,
    ngx_str_t *sub, ngx_str_t *upload_id, int64_t size, int64_t part_size,
    int64_t part_count, ngx_http_vidstream_multipart_next_pt next)
{
    ngx_http_vidstream_mp_ctx_t  *ctx;

    ctx = ngx_http_vidstream_mp_ctx(r, NGX_HTTP_VIDSTREAM_MP_FOR_COMPLETE,
                                    sub, id);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->next = next;

    ctx->upload_id.len = upload_id->len;
    ctx->upload_id.data = ngx_pnalloc(r->pool, upload_id->len + 1);
    if (ctx->upload_id.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    *ngx_cpymem(ctx->upload_id.data, upload_id->data, upload_id->len) = '\0';

    /* the plan as the row recorded it, not as it would be chosen today */

    ctx->plan.size = size;
    ctx->plan.part_size = part_size;
    ctx->plan.part_count = part_count;

    if (part_size < VS_MULTIPART_S3_PART_MIN || part_count < 1
        || part_count > VS_MULTIPART_PARTS_MAX
        || (part_count - 1) * part_size >= size
        || part_count * part_size < size)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vidstream multipart: video %s has an invalid part "
                      "plan", ctx->id);
        return ngx_http_vidstream_mp_unavailable(r);
    }

    ctx->check = ngx_palloc(r->pool, sizeof(vs_multipart_check_t));
    if (ctx->check == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    vs_multipart_check_init(ctx->check, &ctx->plan);

    ctx->step = NGX_HTTP_VIDSTREAM_MP_LIST;

    return ngx_http_vidstream_mp_s3(ctx);
}


ngx_int_t
ngx_http_vidstream_multipart_abort(ngx_http_request_t *r, ngx_str_t *sub,
    u_char *id, ngx_str_t *upload_id,
    ngx_http_vidstream_multipart_next_pt next)
{
    ngx_http_vidstream_mp_ctx_t  *ctx;

    ctx = ngx_http_vidstream_mp_ctx(r, NGX_HTTP_VIDSTREAM_MP_FOR_ABORT, sub,
                                    id);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->next = next;

    ctx->upload_id.len = upload_id->len;
    ctx->upload_id.data = ngx_pnalloc(r->pool, upload_id->len + 1);
    if (ctx->upload_id.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    *ngx_cpymem(ctx->upload_id.data, upload_id->data, upload_id->len) = '\0';

    ctx->step = NGX_HTTP_VIDSTREAM_MP_ABORT_S3;

    return ngx_http_vidstream_mp_s3(ctx);
}


static ngx_http_vidstream_mp_ctx_t *
ngx_http_vidstream_mp_ctx(ngx_http_request_t *r,
    ngx_http_vidstream_mp_flow_e flow, ngx_str_t *sub, u_char *id)
{
    ngx_pool_cleanup_t           *cln;
    ngx_http_vidstream_mp_ctx_t  *ctx;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_vidstream_mp_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_vidstream_mp_cleanup;
    cln->data = ctx;

    ctx->request = r;
    ctx->flow = flow;
    ctx->sub = *sub;
    ctx->mcf = ngx_http_get_module_main_conf(r,
                                        ngx_http_vidstream_multipart_module);

    ngx_memcpy(ctx->id, id, NGX_HTTP_VIDSTREAM_MP_UUID_LEN);
    ctx->id[NGX_HTTP_VIDSTREAM_MP_UUID_LEN] = '\0';

    if (ngx_http_vidstream_api_s3_conf(r, &ctx->s3) != NGX_OK) {
        return NULL;
    }

    /* input/<sub>/<id>/source: the key of CONTRACT.md section 4 */

    ctx->key.len = sizeof("input///source") - 1 + sub->len
                   + NGX_HTTP_VIDSTREAM_MP_UUID_LEN;
    ctx->key.data = ngx_pnalloc(r->pool, ctx->key.len);
    if (ctx->key.data == NULL) {
        return NULL;
    }

    ngx_sprintf(ctx->key.data, "input/%V/%s/source", sub, ctx->id);

    ngx_http_set_ctx(r, ctx, ngx_http_vidstream_multipart_module);

    return ctx;
}


static void
ngx_http_vidstream_mp_cleanup(void *data)
{
    ngx_http_vidstream_mp_ctx_t  *ctx = data;

    if (ctx->pg_pending) {
        ngx_http_vidstream_pg_cancel(&ctx->query);
        ctx->pg_pending = 0;
    }
}


/*
 * Sends one of this module's statements with nparams (value, length)
 * pairs.  NGX_OK: the handler runs later; otherwise what to finalize
 * with (503 sent).
 */

static ngx_int_t
ngx_http_vidstream_mp_query(ngx_http_vidstream_mp_ctx_t *ctx,
    ngx_uint_t stmt, ngx_uint_t nparams, ...)
{
    u_char                         *value, *p;
    size_t                          len;
    va_list                         args;
    ngx_uint_t                      i;
    ngx_http_vidstream_pg_query_t  *q;

    q = &ctx->query;

    q->stmt = ngx_http_vidstream_mp_stmt_base + stmt;
    q->nparams = nparams;
    q->handler = ngx_http_vidstream_mp_pg_done;
    q->data = ctx;
    q->log = ctx->request->connection->log;

    va_start(args, nparams);

    for (i = 0; i < nparams; i++) {
        value = va_arg(args, u_char *);
        len = va_arg(args, size_t);

        p = ngx_pnalloc(ctx->request->pool, len + 1);
        if (p == NULL) {
            va_end(args);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        *ngx_cpymem(p, value, len) = '\0';

        q->values[i] = (const char *) p;
        q->lengths[i] = (int) len;
    }

    va_end(args);

    if (ngx_http_vidstream_pg_send(q) == NGX_OK) {
        ctx->pg_pending = 1;
        return NGX_OK;
    }

    return ngx_http_vidstream_mp_unavailable(ctx->request);
}


static void
ngx_http_vidstream_mp_pg_done(ngx_http_vidstream_pg_query_t *q,
    ngx_http_vidstream_pg_status_e status, PGresult *res)
{
    ngx_int_t                     rc;
    ngx_connection_t             *c;
    ngx_http_request_t           *r;
    ngx_http_vidstream_mp_ctx_t  *ctx;

    ctx = q->data;
    ctx->pg_pending = 0;
    r = ctx->request;
    c = r->connection;

    if (status != NGX_HTTP_VIDSTREAM_PG_OK) {
        rc = ngx_http_vidstream_mp_unavailable(r);
        goto done;
    }

    switch (ctx->step) {

    case NGX_HTTP_VIDSTREAM_MP_ROW:
        rc = ngx_http_vidstream_mp_row(ctx, res);
        break;

    case NGX_HTTP_VIDSTREAM_MP_CREATE_SAVE:
        if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
            /* deleted (or completed) since it was created */
            ngx_log_error(NGX_LOG_ERR, c->log, 0,
                          "vidstream multipart: video %s changed while its "
                          "upload was created", ctx->id);
            rc = ngx_http_vidstream_mp_unavailable(r);
            break;
        }

        ctx->upload_id.len = PQgetlength(res, 0, 0);
        ctx->upload_id.data = ngx_pnalloc(r->pool, ctx->upload_id.len);
        if (ctx->upload_id.data == NULL) {
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
            break;
        }

        ngx_memcpy(ctx->upload_id.data, PQgetvalue(res, 0, 0),
                   ctx->upload_id.len);

        ctx->plan.part_size = ngx_atoof((u_char *) PQgetvalue(res, 0, 1),
                                        PQgetlength(res, 0, 1));
        ctx->plan.part_count = ngx_atoof((u_char *) PQgetvalue(res, 0, 2),
                                         PQgetlength(res, 0, 2));

        rc = ngx_http_vidstream_mp_answer_create(ctx);
        break;

    default: /* NGX_HTTP_VIDSTREAM_MP_COMPLETE_SAVE */
        rc = ctx->next(r);
        break;
    }

done:

    if (rc != NGX_DONE) {
        ngx_http_vidstream_mp_finish(ctx, rc);
    }

    ngx_http_run_posted_requests(c);
}


/* vs_mp_row: a repeated create, GET …/upload or …/upload/parts */

static ngx_int_t
ngx_http_vidstream_mp_row(ngx_http_vidstream_mp_ctx_t *ctx, PGresult *res)
{
    ngx_http_request_t  *r;

    r = ctx->request;

    if (PQntuples(res) != 1) {
        return ngx_http_vidstream_send_error(r, NGX_HTTP_NOT_FOUND,
                                             "not_found", "no such video");
    }

    if (ctx->flow == NGX_HTTP_VIDSTREAM_MP_FOR_CREATE) {
        if (PQgetisnull(res, 0, 1)) {
            /* the first create failed before S3 answered: create now */
            ctx->step = NGX_HTTP_VIDSTREAM_MP_CREATE_S3;
            return ngx_http_vidstream_mp_s3(ctx);
        }

    } else if (ngx_strcmp(PQgetvalue(res, 0, 0), "pending_upload") != 0
               || PQgetisnull(res, 0, 1))
    {
        return ngx_http_vidstream_mp_conflict(r);
    }

    ctx->upload_id.len = PQgetlength(res, 0, 1);
    ctx->upload_id.data = ngx_pnalloc(r->pool, ctx->upload_id.len + 1);
    if (ctx->upload_id.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(ctx->upload_id.data, PQgetvalue(res, 0, 1),
               ctx->upload_id.len + 1);

    ctx->plan.part_size = ngx_atoof((u_char *) PQgetvalue(res, 0, 2),
                                    PQgetlength(res, 0, 2));
    ctx->plan.part_count = ngx_atoof((u_char *) PQgetvalue(res, 0, 3),
                                     PQgetlength(res, 0, 3));
    ctx->plan.size = ngx_atoof((u_char *) PQgetvalue(res, 0, 4),
                               PQgetlength(res, 0, 4));

    if (ctx->plan.part_size <= 0 || ctx->plan.part_count <= 0
        || ctx->plan.part_count > VS_MULTIPART_PARTS_MAX)
    {
        return ngx_http_vidstream_mp_unavailable(r);
    }

    switch (ctx->flow) {

    case NGX_HTTP_VIDSTREAM_MP_FOR_CREATE:
        return ngx_http_vidstream_mp_answer_create(ctx);

    case NGX_HTTP_VIDSTREAM_MP_FOR_PARTS:
        return ngx_http_vidstream_mp_answer_parts(ctx);

    default: /* NGX_HTTP_VIDSTREAM_MP_FOR_STATE */
        ctx->check = ngx_palloc(r->pool, sizeof(vs_multipart_check_t));
        if (ctx->check == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        vs_multipart_check_init(ctx->check, &ctx->plan);

        ctx->step = NGX_HTTP_VIDSTREAM_MP_LIST;
        return ngx_http_vidstream_mp_s3(ctx);
    }
}


/*
 * Starts the S3 call of ctx->step (after an ECS credentials refresh when
 * one is due).  NGX_DONE, or what to finalize with.
 */

static ngx_int_t
ngx_http_vidstream_mp_s3(ngx_http_vidstream_mp_ctx_t *ctx)
{
    ngx_int_t                       rc;
    ngx_uint_t                      nquery;
    vs_sigv4_kv_t                   query[3];
    ngx_http_request_t             *r;
    ngx_http_vidstream_aws_call_t  *call;
    u_char                          marker[NGX_INT32_LEN + 1];
    u_char                          page[NGX_INT32_LEN + 1];

    r = ctx->request;
    call = &ctx->call;

    if (ctx->s3.bucket.len == 0 || ctx->s3.s3_location.len == 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vidstream multipart: vidstream_s3_bucket and "
                      "vidstream_s3_location are required");
        return ngx_http_vidstream_mp_unavailable(r);
    }

    rc = ngx_http_vidstream_aws_creds(r, &ctx->s3.credentials_location,
                                      call);
    if (rc == NGX_AGAIN) {
        ctx->creds = 1;
        call->done = ngx_http_vidstream_mp_s3_done;
        return NGX_DONE;
    }

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vidstream multipart: no AWS credentials for S3");
        return ngx_http_vidstream_mp_unavailable(r);
    }

    ngx_memzero(call, sizeof(ngx_http_vidstream_aws_call_t));

    call->location = ctx->s3.s3_location;
    nquery = 0;

    switch (ctx->step) {

    case NGX_HTTP_VIDSTREAM_MP_CREATE_S3:
        call->method = NGX_HTTP_POST;
        ngx_str_set(&call->method_name, "POST");

        query[0].name = "uploads";
        query[0].name_len = sizeof("uploads") - 1;
        query[0].value = "";
        query[0].value_len = 0;
        nquery = 1;

        /* the object gets the video's type, as a single PUT gives it */
        call->headers[0].name = "Content-Type";
        call->headers[0].name_len = sizeof("Content-Type") - 1;
        call->headers[0].value = (char *) ctx->content_type.data;
        call->headers[0].value_len = ctx->content_type.len;
        call->nheaders = 1;
        break;

    case NGX_HTTP_VIDSTREAM_MP_LIST:
        call->method = NGX_HTTP_GET;
        ngx_str_set(&call->method_name, "GET");

        *ngx_sprintf(page, "%d", NGX_HTTP_VIDSTREAM_MP_PAGE) = '\0';
        query[nquery].name = "max-parts";
        query[nquery].name_len = sizeof("max-parts") - 1;
        query[nquery].value = (char *) page;
        query[nquery].value_len = ngx_strlen(page);
        nquery++;

        if (ctx->marker) {
            *ngx_sprintf(marker, "%D", ctx->marker) = '\0';
            query[nquery].name = "part-number-marker";
            query[nquery].name_len = sizeof("part-number-marker") - 1;
            query[nquery].value = (char *) marker;
            query[nquery].value_len = ngx_strlen(marker);
            nquery++;
        }

        break;

    case NGX_HTTP_VIDSTREAM_MP_COMPLETE_S3:
        call->method = NGX_HTTP_POST;
        ngx_str_set(&call->method_name, "POST");
        call->body.data = ctx->out.start;
        call->body.len = ctx->out.pos - ctx->out.start;
        call->headers[0].name = "Content-Type";
        call->headers[0].name_len = sizeof("Content-Type") - 1;
        call->headers[0].value = "application/xml";
        call->headers[0].value_len = sizeof("application/xml") - 1;
        call->nheaders = 1;
        call->timeout = ctx->mcf->complete_timeout;
        break;

    case NGX_HTTP_VIDSTREAM_MP_HEAD_S3:
        call->method = NGX_HTTP_HEAD;
        ngx_str_set(&call->method_name, "HEAD");
        break;

    default: /* NGX_HTTP_VIDSTREAM_MP_ABORT_S3 */
        call->method = NGX_HTTP_DELETE;
        ngx_str_set(&call->method_name, "DELETE");
        break;
    }

    if (ctx->step != NGX_HTTP_VIDSTREAM_MP_CREATE_S3
        && ctx->step != NGX_HTTP_VIDSTREAM_MP_HEAD_S3)
    {
        query[nquery].name = "uploadId";
        query[nquery].name_len = sizeof("uploadId") - 1;
        query[nquery].value = (char *) ctx->upload_id.data;
        query[nquery].value_len = ctx->upload_id.len;
        nquery++;
    }

    call->done = ngx_http_vidstream_mp_s3_done;

    rc = ngx_http_vidstream_s3_call(r, ctx->s3.s3, &ctx->s3.bucket, &ctx->key,
                                    query, nquery, call);

    if (rc == NGX_OK) {
        return NGX_DONE;
    }

    return rc == NGX_ERROR ? ngx_http_vidstream_mp_unavailable(r) : rc;
}


static void
ngx_http_vidstream_mp_s3_done(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    ngx_connection_t             *c;
    ngx_http_vidstream_mp_ctx_t  *ctx;

    r->write_event_handler = ngx_http_request_empty_handler;

    ctx = ngx_http_get_module_ctx(r, ngx_http_vidstream_multipart_module);
    c = r->connection;

    if (ctx->creds) {
        /* credentials refreshed (or not): on with the step */
        ctx->creds = 0;
        (void) ngx_http_vidstream_aws_creds_done(r, &ctx->call);

        if (ctx->step != NGX_HTTP_VIDSTREAM_MP_ROW) {
            rc = ngx_http_vidstream_mp_s3(ctx);

        } else {
            rc = ngx_http_vidstream_mp_query(ctx,
                                    NGX_HTTP_VIDSTREAM_MP_STMT_ROW, 2,
                                    ctx->id,
                                    (size_t) NGX_HTTP_VIDSTREAM_MP_UUID_LEN,
                                    ctx->sub.data, ctx->sub.len);
            rc = (rc == NGX_OK) ? NGX_DONE : rc;
        }

    } else {
        rc = ngx_http_vidstream_mp_s3_result(ctx);
    }

    if (rc != NGX_DONE) {
        ngx_http_vidstream_mp_finish(ctx, rc);
    }

    ngx_http_run_posted_requests(c);
}


static ngx_int_t
ngx_http_vidstream_mp_s3_result(ngx_http_vidstream_mp_ctx_t *ctx)
{
    int                                rc;
    ngx_str_t                         *res;
    ngx_http_request_t                *r;
    ngx_http_vidstream_aws_call_t     *call;
    vs_s3xml_error_t                   err;
    vs_s3xml_create_upload_t          *created;
    vs_s3xml_complete_upload_t         completed;

    r = ctx->request;
    call = &ctx->call;
    res = &call->response;

    ngx_memzero(&err, sizeof(vs_s3xml_error_t));

    if (ctx->step == NGX_HTTP_VIDSTREAM_MP_HEAD_S3
        && call->status == NGX_HTTP_NOT_FOUND)
    {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "vidstream multipart: the upload of %V is gone and "
                      "no object was made of it", &ctx->key);

        return ngx_http_vidstream_send_error(r, NGX_HTTP_CONFLICT, "conflict",
                                             "the upload was aborted or has "
                                             "expired: delete the video and "
                                             "upload it again");
    }

    if (call->status != NGX_HTTP_OK && call->status != NGX_HTTP_NO_CONTENT) {
        (void) vs_s3xml_error((char *) res->data, res->len, &err);

        if (call->status == NGX_HTTP_NOT_FOUND
            && ngx_strcmp(err.code, "NoSuchUpload") == 0)
        {
            switch (ctx->step) {

            case NGX_HTTP_VIDSTREAM_MP_ABORT_S3:
                /* aborted or completed already: nothing to abort */
                return ctx->next(r);

            case NGX_HTTP_VIDSTREAM_MP_LIST:
            case NGX_HTTP_VIDSTREAM_MP_COMPLETE_S3:
                if (ctx->flow == NGX_HTTP_VIDSTREAM_MP_FOR_COMPLETE) {
                    /*
                     * completed by a complete whose answer was lost (or a
                     * concurrent one) when the object is there
                     */
                    ctx->step = NGX_HTTP_VIDSTREAM_MP_HEAD_S3;
                    return ngx_http_vidstream_mp_s3(ctx);
                }

                return ngx_http_vidstream_mp_conflict(r);

            default:
                break;
            }
        }

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vidstream multipart: S3 answered %ui%s to %V of %V: "
                      "%s %s", call->status,
                      call->timed_out ? " (timeout)" : "",
                      &call->method_name, &ctx->key, err.code, err.message);

        return ngx_http_vidstream_mp_unavailable(r);
    }

    switch (ctx->step) {

    case NGX_HTTP_VIDSTREAM_MP_CREATE_S3:
        created = ngx_palloc(r->pool, sizeof(vs_s3xml_create_upload_t));
        if (created == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        rc = vs_s3xml_create_upload((char *) res->data, res->len, created,
                                    &err);
        if (rc != VS_S3XML_OK) {
            goto invalid;
        }

        ctx->step = NGX_HTTP_VIDSTREAM_MP_CREATE_SAVE;

        rc = ngx_http_vidstream_mp_query(ctx,
                                    NGX_HTTP_VIDSTREAM_MP_STMT_START, 5,
                                    ctx->id,
                                    (size_t) NGX_HTTP_VIDSTREAM_MP_UUID_LEN,
                                    ctx->sub.data, ctx->sub.len,
                                    created->upload_id,
                                    created->upload_id_len,
                                    ctx->part_size,
                                    ngx_strlen(ctx->part_size),
                                    ctx->part_count,
                                    ngx_strlen(ctx->part_count));

        return rc == NGX_OK ? NGX_DONE : rc;

    case NGX_HTTP_VIDSTREAM_MP_LIST:
        return ngx_http_vidstream_mp_listed(ctx);

    case NGX_HTTP_VIDSTREAM_MP_COMPLETE_S3:
        /* S3's 200 may carry an <Error>: then nothing was completed */
        rc = vs_s3xml_complete_upload((char *) res->data, res->len,
                                      &completed, &err);
        if (rc != VS_S3XML_OK) {
            goto invalid;
        }

        goto completed;

    case NGX_HTTP_VIDSTREAM_MP_HEAD_S3:
        goto completed;

    default: /* NGX_HTTP_VIDSTREAM_MP_ABORT_S3 */
        return ctx->next(r);
    }

completed:

    ctx->step = NGX_HTTP_VIDSTREAM_MP_COMPLETE_SAVE;

    rc = ngx_http_vidstream_mp_query(ctx,
                                     NGX_HTTP_VIDSTREAM_MP_STMT_COMPLETED, 3,
                                     ctx->id,
                                     (size_t) NGX_HTTP_VIDSTREAM_MP_UUID_LEN,
                                     ctx->sub.data, ctx->sub.len,
                                     ctx->upload_id.data, ctx->upload_id.len);

    return rc == NGX_OK ? NGX_DONE : rc;

invalid:

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "vidstream multipart: %V of %V: %s%s%s %s",
                  &call->method_name, &ctx->key, vs_s3xml_strerror(rc),
                  err.code_len ? ": " : "", err.code, err.message);

    return ngx_http_vidstream_mp_unavailable(r);
}


/* a ListParts page is in: the next one, or the end of the listing */

static ngx_int_t
ngx_http_vidstream_mp_listed(ngx_http_vidstream_mp_ctx_t *ctx)
{
    int                            rc;
    ngx_str_t                     *res;
    ngx_http_request_t            *r;
    vs_s3xml_error_t               err;
    vs_s3xml_list_parts_t          page;

    r = ctx->request;
    res = &ctx->call.response;

    if (ctx->out.start == NULL) {
        if (ngx_http_vidstream_mp_reserve(r, &ctx->out, 64 * 1024) != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (ctx->flow == NGX_HTTP_VIDSTREAM_MP_FOR_COMPLETE) {
            ctx->out.pos = ngx_cpymem(ctx->out.pos,
                                      "<CompleteMultipartUpload>",
                                      sizeof("<CompleteMultipartUpload>")
                                      - 1);
        }
    }

    rc = vs_s3xml_list_parts((char *) res->data, res->len,
                             ngx_http_vidstream_mp_on_part, ctx, &page,
                             &err);
    if (rc != VS_S3XML_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vidstream multipart: ListParts of %V: %s %s %s",
                      &ctx->key, vs_s3xml_strerror(rc), err.code,
                      err.message);
        return ngx_http_vidstream_mp_unavailable(r);
    }

    if (page.is_truncated) {
        if (page.next_part_number_marker <= ctx->marker
            || ++ctx->pages >= NGX_HTTP_VIDSTREAM_MP_PAGES_MAX)
        {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "vidstream multipart: ListParts of %V does not "
                          "advance", &ctx->key);
            return ngx_http_vidstream_mp_unavailable(r);
        }

        ctx->marker = page.next_part_number_marker;

        return ngx_http_vidstream_mp_s3(ctx);
    }

    if (ctx->flow == NGX_HTTP_VIDSTREAM_MP_FOR_STATE) {
        return ngx_http_vidstream_mp_state(ctx);
    }

    if (vs_multipart_check_missing(ctx->check, NULL, 0)
        || vs_multipart_check_wrong_size(ctx->check, NULL, 0))
    {
        return ngx_http_vidstream_mp_incomplete(ctx);
    }

    if (ngx_http_vidstream_mp_reserve(r, &ctx->out, 64) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->out.pos = ngx_cpymem(ctx->out.pos, "</CompleteMultipartUpload>",
                              sizeof("</CompleteMultipartUpload>") - 1);

    ctx->step = NGX_HTTP_VIDSTREAM_MP_COMPLETE_S3;

    return ngx_http_vidstream_mp_s3(ctx);
}


/*
 * Every part ListParts reports: checked against the plan, and written
 * (only the parts of the plan) into the answer of GET …/upload or into
 * the body of CompleteMultipartUpload (which takes the ETags as S3 gave
 * them).  A part of the wrong size goes in the body too: the body is
 * sent only when there is none.
 */

static int
ngx_http_vidstream_mp_on_part(void *data, const vs_s3xml_part_t *part)
{
    ngx_http_vidstream_mp_ctx_t  *ctx = data;

    size_t  len;

    if (vs_multipart_check_add(ctx->check, part->part_number, part->size)
        == VS_MULTIPART_PART_OUTSIDE)
    {
        return 0;
    }

    if (ctx->flow == NGX_HTTP_VIDSTREAM_MP_FOR_STATE) {
        len = sizeof(",{\"part_number\":,\"size\":}") + 2 * NGX_INT64_LEN;

        if (ngx_http_vidstream_mp_reserve(ctx->request, &ctx->out, len)
            != NGX_OK)
        {
            return -1;
        }

        ctx->out.pos = ngx_sprintf(ctx->out.pos,
                                   "%s{\"part_number\":%D,\"size\":%L}",
                                   ctx->listed ? "," : "",
                                   part->part_number, part->size);
        ctx->listed++;
        return 0;
    }

    len = sizeof("<Part><PartNumber></PartNumber><ETag></ETag></Part>")
          + NGX_INT32_LEN + 6 * part->etag_len;

    if (ngx_http_vidstream_mp_reserve(ctx->request, &ctx->out, len)
        != NGX_OK)
    {
        return -1;
    }

    ctx->out.pos = ngx_sprintf(ctx->out.pos,
                               "<Part><PartNumber>%D</PartNumber><ETag>",
                               part->part_number);
    ctx->out.pos = (u_char *) ngx_escape_html(ctx->out.pos,
                                              (u_char *) part->etag,
                                              part->etag_len);
    ctx->out.pos = ngx_cpymem(ctx->out.pos, "</ETag></Part>",
                              sizeof("</ETag></Part>") - 1);
    ctx->listed++;

    return 0;
}


/* 400 upload_incomplete: what is missing and what has the wrong size */

static ngx_int_t
ngx_http_vidstream_mp_incomplete(ngx_http_vidstream_mp_ctx_t *ctx)
{
    u_char   *body, *p;
    int64_t   nmissing, nwrong, i, n;
    int64_t   missing[NGX_HTTP_VIDSTREAM_MP_REPORT_MAX];
    int64_t   wrong[NGX_HTTP_VIDSTREAM_MP_REPORT_MAX];

    nmissing = vs_multipart_check_missing(ctx->check, missing,
                                          NGX_HTTP_VIDSTREAM_MP_REPORT_MAX);
    nwrong = vs_multipart_check_wrong_size(ctx->check, wrong,
                                           NGX_HTTP_VIDSTREAM_MP_REPORT_MAX);

    body = ngx_pnalloc(ctx->request->pool,
                       512 + 2 * NGX_HTTP_VIDSTREAM_MP_REPORT_MAX
                             * (NGX_INT64_LEN + 1));
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(body, "{\"error\":\"upload_incomplete\",\"message\":\""
                    "%L part(s) missing and %L of the wrong size: upload "
                    "them (again), then complete\",\"missing\":[",
                    nmissing, nwrong);

    n = ngx_min(nmissing, NGX_HTTP_VIDSTREAM_MP_REPORT_MAX);

    for (i = 0; i < n; i++) {
        p = ngx_sprintf(p, "%s%L", i ? "," : "", missing[i]);
    }

    p = ngx_cpymem(p, "],\"wrong_size\":[", sizeof("],\"wrong_size\":[") - 1);

    n = ngx_min(nwrong, NGX_HTTP_VIDSTREAM_MP_REPORT_MAX);

    for (i = 0; i < n; i++) {
        p = ngx_sprintf(p, "%s%L", i ? "," : "", wrong[i]);
    }

    p = ngx_cpymem(p, "]}\n", 3);

    return ngx_http_vidstream_mp_send_json(ctx->request, NGX_HTTP_BAD_REQUEST,
                                           body, p - body);
}


/* GET …/upload: the listing is in out */

static ngx_int_t
ngx_http_vidstream_mp_state(ngx_http_vidstream_mp_ctx_t *ctx)
{
    u_char              *body, *p;
    size_t               len;
    ngx_http_request_t  *r;

    r = ctx->request;

    len = sizeof("{\"method\":\"multipart\",\"upload_id\":\"\","
                 "\"part_size\":,\"part_count\":,\"uploaded\":[],"
                 "\"uploaded_bytes\":}\n")
          + 6 * ctx->upload_id.len + 3 * NGX_INT64_LEN
          + (ctx->out.pos - ctx->out.start);

    body = ngx_pnalloc(r->pool, len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(body, "{\"method\":\"multipart\",\"upload_id\":\"",
                   sizeof("{\"method\":\"multipart\",\"upload_id\":\"") - 1);
    p = (u_char *) ngx_escape_json(p, ctx->upload_id.data,
                                   ctx->upload_id.len);
    p = ngx_sprintf(p, "\",\"part_size\":%L,\"part_count\":%L,\"uploaded\":[",
                    ctx->plan.part_size, ctx->plan.part_count);
    p = ngx_cpymem(p, ctx->out.start, ctx->out.pos - ctx->out.start);
    p = ngx_sprintf(p, "],\"uploaded_bytes\":%L}\n",
                    ctx->check->uploaded_bytes);

    return ngx_http_vidstream_mp_send_json(r, NGX_HTTP_OK, body, p - body);
}


/* 201: the video object with the "upload" of CONTRACT.md section 3 */

static ngx_int_t
ngx_http_vidstream_mp_answer_create(ngx_http_vidstream_mp_ctx_t *ctx)
{
    u_char              *body, *p, *last;
    size_t               len, n;
    int64_t              count;
    ngx_table_elt_t     *h;
    ngx_http_request_t  *r;
    u_char               expires_at[VS_RFC3339_LEN + 1];

    r = ctx->request;
    count = ngx_min(ctx->plan.part_count, NGX_HTTP_VIDSTREAM_MP_INLINE);

    ctx->now = ngx_time();

    n = ngx_http_vidstream_mp_parts_len(ctx, 1, count);
    if (n == 0) {
        return ngx_http_vidstream_mp_unavailable(r);
    }

    len = ctx->video.len + 6 * ctx->upload_id.len + 2 * NGX_INT64_LEN
          + sizeof(",\"upload\":{\"method\":\"multipart\",\"upload_id\":\"\","
                   "\"part_size\":,\"part_count\":,\"parts\":[],"
                   "\"expires_at\":\"\"}}\n") + VS_RFC3339_LEN + n;

    body = ngx_pnalloc(r->pool, len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    last = body + len;

    p = ngx_cpymem(body, ctx->video.data, ctx->video.len - 1);
    p = ngx_cpymem(p, ",\"upload\":{\"method\":\"multipart\",\"upload_id\":\"",
                   sizeof(",\"upload\":{\"method\":\"multipart\","
                          "\"upload_id\":\"") - 1);
    p = (u_char *) ngx_escape_json(p, ctx->upload_id.data,
                                   ctx->upload_id.len);
    p = ngx_sprintf(p, "\",\"part_size\":%L,\"part_count\":%L,\"parts\":",
                    ctx->plan.part_size, ctx->plan.part_count);

    p = ngx_http_vidstream_mp_write_parts(ctx, p, last, 1, count, expires_at);
    if (p == NULL) {
        return ngx_http_vidstream_mp_unavailable(r);
    }

    p = ngx_sprintf(p, ",\"expires_at\":\"%s\"}}\n", expires_at);

    /* Location: /videos/<id> (the path, as the api module writes it) */

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Location");
    h->value.data = ngx_pnalloc(r->pool, sizeof("/videos/") - 1
                                         + NGX_HTTP_VIDSTREAM_MP_UUID_LEN);
    if (h->value.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->value.len = ngx_sprintf(h->value.data, "/videos/%s", ctx->id)
                   - h->value.data;

    return ngx_http_vidstream_mp_send_json(r, NGX_HTTP_CREATED, body,
                                           p - body);
}


/* GET …/upload/parts: the row says it is a pending multipart upload */

static ngx_int_t
ngx_http_vidstream_mp_answer_parts(ngx_http_vidstream_mp_ctx_t *ctx)
{
    u_char              *body, *p, *last;
    size_t               len, n;
    int64_t              count;
    ngx_http_request_t  *r;
    u_char               expires_at[VS_RFC3339_LEN + 1];

    r = ctx->request;

    if (ctx->first > ctx->plan.part_count) {
        return ngx_http_vidstream_send_error(r, NGX_HTTP_BAD_REQUEST,
                                             "invalid_request",
                                             "first is past the upload's "
                                             "last part");
    }

    count = ngx_min(ctx->count, ctx->plan.part_count - ctx->first + 1);

    ctx->now = ngx_time();

    n = ngx_http_vidstream_mp_parts_len(ctx, ctx->first, count);
    if (n == 0) {
        return ngx_http_vidstream_mp_unavailable(r);
    }

    len = sizeof("{\"parts\":,\"expires_at\":\"\"}\n") + VS_RFC3339_LEN + n;

    body = ngx_pnalloc(r->pool, len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    last = body + len;

    p = ngx_cpymem(body, "{\"parts\":", sizeof("{\"parts\":") - 1);

    p = ngx_http_vidstream_mp_write_parts(ctx, p, last, ctx->first, count,
                                          expires_at);
    if (p == NULL) {
        return ngx_http_vidstream_mp_unavailable(r);
    }

    p = ngx_sprintf(p, ",\"expires_at\":\"%s\"}\n", expires_at);

    return ngx_http_vidstream_mp_send_json(r, NGX_HTTP_OK, body, p - body);
}


/*
 * An upper bound of what _write_parts() writes: every URL of one upload
 * has the length of the first but for the part number's digits (a
 * presigned URL is percent-encoded: JSON never needs to escape it).  0
 * when presigning fails (no credentials).
 */

static size_t
ngx_http_vidstream_mp_parts_len(ngx_http_vidstream_mp_ctx_t *ctx,
    int64_t first, int64_t count)
{
    u_char   *scratch;
    ssize_t   n;

    scratch = ngx_pnalloc(ctx->request->pool, VS_SIGV4_URL_MAX);
    if (scratch == NULL) {
        return 0;
    }

    n = ngx_http_vidstream_mp_presign(ctx, first, scratch, VS_SIGV4_URL_MAX);

    ngx_pfree(ctx->request->pool, scratch);

    if (n < 0) {
        return 0;
    }

    return 2 + count * (sizeof("{\"part_number\":,\"url\":\"\"},")
                        + 2 * NGX_INT64_LEN + n);
}


/* the presigned UploadPart URL of part number into out, or -1 */

static ssize_t
ngx_http_vidstream_mp_presign(ngx_http_vidstream_mp_ctx_t *ctx,
    int64_t number, u_char *out, size_t size)
{
    ssize_t                  n;
    vs_sigv4_kv_t            query[2];
    vs_sigv4_presign_t       req;
    const vs_aws_creds_t    *creds;
    u_char                   digits[NGX_INT64_LEN + 1];

    creds = ngx_http_vidstream_aws_creds_current();
    if (creds == NULL || ctx->s3.bucket.len == 0) {
        ngx_log_error(NGX_LOG_ERR, ctx->request->connection->log, 0,
                      "vidstream multipart: cannot presign: %s",
                      creds ? "no vidstream_s3_bucket"
                            : "no AWS credentials");
        return -1;
    }

    query[0].name = "partNumber";
    query[0].name_len = sizeof("partNumber") - 1;
    query[0].value = (char *) digits;
    query[0].value_len = ngx_sprintf(digits, "%L", number) - digits;
    query[1].name = "uploadId";
    query[1].name_len = sizeof("uploadId") - 1;
    query[1].value = (char *) ctx->upload_id.data;
    query[1].value_len = ctx->upload_id.len;

    ngx_memzero(&req, sizeof(vs_sigv4_presign_t));
    req.method = "PUT";
    req.method_len = 3;
    req.bucket = (char *) ctx->s3.bucket.data;
    req.bucket_len = ctx->s3.bucket.len;
    req.key = (char *) ctx->key.data;
    req.key_len = ctx->key.len;
    req.query = query;
    req.nquery = 2;
    req.now = ctx->now;
    req.expires = ctx->s3.presign_expires;

    n = vs_sigv4_presign(ctx->s3.s3, creds,
                         &ngx_http_vidstream_aws_state->keys, &req,
                         (char *) out, size);
    if (n < 0) {
        ngx_log_error(NGX_LOG_ERR, ctx->request->connection->log, 0,
                      "vidstream multipart: cannot presign part %L", number);
    }

    return n;
}


/*
 * [{"part_number":n,"url":"<presigned UploadPart>"},…] for parts first …
 * first + count - 1, presigned straight into the answer.  NULL when
 * presigning failed.
 */

static u_char *
ngx_http_vidstream_mp_write_parts(ngx_http_vidstream_mp_ctx_t *ctx, u_char *p,
    u_char *last, int64_t first, int64_t count, u_char *expires_at)
{
    ssize_t  n;
    int64_t  i;

    *p++ = '[';

    for (i = first; i < first + count; i++) {
        p = ngx_sprintf(p, "%s{\"part_number\":%L,\"url\":\"",
                        i == first ? "" : ",", i);

        n = ngx_http_vidstream_mp_presign(ctx, i, p, last - p - 8);
        if (n < 0) {
            return NULL;
        }

        p += n;
        *p++ = '"';
        *p++ = '}';
    }

    *p++ = ']';

    if (vs_rfc3339(ctx->now
                   + vs_sigv4_presign_expires(ctx->s3.presign_expires),
                   (char *) expires_at)
        != 0)
    {
        return NULL;
    }

    return p;
}


/* b holds n more bytes: doubled in the pool when it does not */

static ngx_int_t
ngx_http_vidstream_mp_reserve(ngx_http_request_t *r,
    ngx_http_vidstream_mp_buf_t *b, size_t n)
{
    u_char  *p;
    size_t   size, used;

    if (b->start && (size_t) (b->end - b->pos) >= n) {
        return NGX_OK;
    }

    used = b->pos - b->start;
    size = b->start ? 2 * (size_t) (b->end - b->start) : 4096;

    while (size - used < n) {
        size *= 2;
    }

    p = ngx_pnalloc(r->pool, size);
    if (p == NULL) {
        return NGX_ERROR;
    }

    if (used) {
        ngx_memcpy(p, b->start, used);
    }

    if (b->start) {
        ngx_pfree(r->pool, b->start);
    }

    b->start = p;
    b->pos = p + used;
    b->end = p + size;

    return NGX_OK;
}


static ngx_int_t
ngx_http_vidstream_mp_send_json(ngx_http_request_t *r, ngx_uint_t status,
    u_char *body, size_t len)
{
    return ngx_http_vidstream_send_body(r, status, &ngx_http_vidstream_mp_json,
                                        body, len);
}


static ngx_int_t
ngx_http_vidstream_mp_unavailable(ngx_http_request_t *r)
{
    return ngx_http_vidstream_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "unavailable",
                                         "the service is temporarily "
                                         "unavailable, try again");
}


static ngx_int_t
ngx_http_vidstream_mp_conflict(ngx_http_request_t *r)
{
    return ngx_http_vidstream_send_error(r, NGX_HTTP_CONFLICT, "conflict",
                                         "the video is not a pending "
                                         "multipart upload");
}


static void
ngx_http_vidstream_mp_finish(ngx_http_vidstream_mp_ctx_t *ctx, ngx_int_t rc)
{
    ngx_http_finalize_request(ctx->request, rc);
}


static void *
ngx_http_vidstream_multipart_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_vidstream_multipart_main_conf_t  *mcf;

    mcf = ngx_pcalloc(cf->pool,
                      sizeof(ngx_http_vidstream_multipart_main_conf_t));
    if (mcf == NULL) {
        return NULL;
    }

    mcf->threshold = NGX_CONF_UNSET;
    mcf->complete_timeout = NGX_CONF_UNSET_MSEC;

    return mcf;
}


static char *
ngx_http_vidstream_multipart_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_vidstream_multipart_main_conf_t  *mcf = conf;

    if (mcf->threshold == NGX_CONF_UNSET) {
        mcf->threshold = 64 * 1024 * 1024;
    }

    ngx_conf_init_msec_value(mcf->complete_timeout, 120000);

    if (mcf->threshold < 0) {
        return "vidstream_multipart_threshold must not be negative";
    }

    if (mcf->complete_timeout < 1) {
        return "vidstream_multipart_complete_timeout must be positive";
    }

    return NGX_CONF_OK;
}
