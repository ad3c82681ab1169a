
/*
 * ngx_http_vidstream_api_module: the videos API of CONTRACT.md section 3.
 *
 *     vidstream_postgres "host=127.0.0.1 dbname=vidstream" pool=4 timeout=2s;
 *     vidstream_s3_bucket videos;
 *     vidstream_sqs_queue_url http://127.0.0.1:9324/000000000000/jobs;
 *     vidstream_aws_timeout 5s;
 *
 *     location = /healthz { vidstream_healthz; }
 *     location /videos    { vidstream_auth on; vidstream_api; }
 *
 * Every request is one or a few prepared statements on the per-worker
 * PostgreSQL pool (ngx_http_vidstream_pg.c), ownership enforced in SQL
 * (WHERE id = $1 AND owner_sub = $2), plus presigned S3 URLs and signed
 * SQS/S3 calls made as subrequests (ngx_http_vidstream_aws.c).  Nothing
 * blocks: a request that waits holds a reference (r->main->count) and is
 * finalized from the pool's or the subrequest's callback.
 *
 * complete never waits on what it cannot be sure of: a video is queued
 * first, its job sent, and enqueued_at set only once SQS has answered; a
 * queued video without enqueued_at is sent again by the next complete (or
 * the worker's reconciler), so a stall anywhere on the way strands
 * nothing and a duplicate job is harmless (the worker's claim is guarded).
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <jansson.h>

#include "ngx_http_vidstream.h"
#include "ngx_http_vidstream_pg.h"
#include "ngx_http_vidstream_aws.h"
#include "ngx_http_vidstream_redis.h"
#include "ngx_http_vidstream_idempotency.h"
#include "ngx_http_vidstream_play.h"
#include "ngx_http_vidstream_metrics.h"
#include "ngx_http_vidstream_multipart.h"

#include "vs_job.h"
#include "vs_util.h"
#include "vs_video.h"


#define NGX_HTTP_VIDSTREAM_UUID_LEN  36

/* nginx has no name for it */
#define NGX_HTTP_VIDSTREAM_UNPROCESSABLE  422

#define NGX_HTTP_VIDSTREAM_LIST      1
#define NGX_HTTP_VIDSTREAM_CREATE    2
#define NGX_HTTP_VIDSTREAM_GET       3
#define NGX_HTTP_VIDSTREAM_DELETE    4
#define NGX_HTTP_VIDSTREAM_COMPLETE  5
#define NGX_HTTP_VIDSTREAM_DOWNLOAD  6
#define NGX_HTTP_VIDSTREAM_HEALTHZ   7
#define NGX_HTTP_VIDSTREAM_PLAYBACK  8    /* the download row, then play */
#define NGX_HTTP_VIDSTREAM_UPLOAD    10   /* /upload*: the multipart module */

#define NGX_HTTP_VIDSTREAM_VARIANT_MP4        0
#define NGX_HTTP_VIDSTREAM_VARIANT_THUMBNAIL  1
#define NGX_HTTP_VIDSTREAM_VARIANT_HLS        2

/* DeleteObjects rounds on one video (1000 keys each) before giving up */
#define NGX_HTTP_VIDSTREAM_DELETE_ROUNDS      20


/* the statements, in the order of ngx_http_vidstream_api_stmts[] */
enum {
    NGX_HTTP_VIDSTREAM_STMT_HEALTH = 0,
    NGX_HTTP_VIDSTREAM_STMT_CREATE,
    NGX_HTTP_VIDSTREAM_STMT_CREATE_IDEM,
    NGX_HTTP_VIDSTREAM_STMT_GET,
    NGX_HTTP_VIDSTREAM_STMT_LIST,
    NGX_HTTP_VIDSTREAM_STMT_COMPLETE,
    NGX_HTTP_VIDSTREAM_STMT_ENQUEUED,
    NGX_HTTP_VIDSTREAM_STMT_DOWNLOAD,
    NGX_HTTP_VIDSTREAM_STMT_DELETE_MARK,
    NGX_HTTP_VIDSTREAM_STMT_DELETE_ROW
};


typedef struct {
    ngx_http_vidstream_pg_conf_t    pg;
    ngx_http_vidstream_redis_conf_t redis;

    ngx_str_t                       bucket;
    ngx_str_t                       region;
    ngx_str_t                       s3_endpoint;
    ngx_str_t                       sqs_endpoint;
    ngx_str_t                       queue_url;
    ngx_str_t                       s3_location;
    ngx_str_t                       sqs_location;
    ngx_str_t                       credentials_location;
    ngx_str_t                       access_key_id;
    ngx_str_t                       secret_access_key;
    ngx_str_t                       session_token;
    ngx_uint_t                      addressing;
    time_t                          presign_expires;
    ngx_msec_t                      aws_timeout;
    off_t                           max_upload_size;
    size_t                          body_limit;

    vs_aws_endpoint_t              *s3;
    vs_aws_endpoint_t              *sqs;
    vs_aws_provider_t              *provider;

    /* the vidstream_api locations, to size their body buffers */
    ngx_array_t                     locations;
} ngx_http_vidstream_api_main_conf_t;


typedef struct {
    ngx_http_request_t             *request;
    ngx_http_vidstream_api_main_conf_t  *amcf;
    ngx_uint_t                      action;
    ngx_str_t                       sub;
    u_char                          id[NGX_HTTP_VIDSTREAM_UUID_LEN + 1];

    ngx_http_vidstream_pg_query_t   query;
    ngx_http_vidstream_aws_call_t   call;
    ngx_uint_t                      step;

    /* POST /videos */
    ngx_str_t                       filename;
    ngx_str_t                       content_type;
    ngx_str_t                       upload;
    u_char                          size[NGX_INT64_LEN + 1];
    int64_t                         size_n;
    unsigned                        multipart:1;
    unsigned                        repeat:1;  /* of an Idempotency-Key */
    ngx_str_t                       idempotency_key;
    u_char                          request_hash[
                                      NGX_HTTP_VIDSTREAM_REQUEST_HASH_LEN + 1];

    /* GET /videos */
    ngx_uint_t                      limit;
    u_char                          limit_arg[8];
    u_char                          cursor_ts[NGX_INT64_LEN + 1];
    u_char                          cursor_id[NGX_HTTP_VIDSTREAM_UUID_LEN
                                              + 1];
    unsigned                        has_cursor:1;

    /* download */
    ngx_uint_t                      variant;
    ngx_uint_t                      upload_action;  /* …/upload* */
    unsigned                        redirect:1;

    /* complete, delete */
    ngx_str_t                       input_key;
    char                           *owner;    /* sub, NUL-terminated */
    ngx_uint_t                      rounds;
    ngx_int_t                       rc;       /* of a rejection */
    unsigned                        pg_pending:1;
    unsigned                        resend:1; /* queued, job not sent */

    /* healthz */
    ngx_http_vidstream_redis_check_t  redis;
    ngx_uint_t                      parts;    /* checks still running */
    unsigned                        redis_pending:1;
    unsigned                        pg_ok:1;
    unsigned                        redis_ok:1;
} ngx_http_vidstream_api_ctx_t;


static ngx_int_t ngx_http_vidstream_api_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_vidstream_healthz_handler(ngx_http_request_t *r);
static void ngx_http_vidstream_healthz_redis_done(
    ngx_http_vidstream_redis_check_t *check, ngx_uint_t ok);
static ngx_int_t ngx_http_vidstream_healthz_part_done(
    ngx_http_vidstream_api_ctx_t *ctx);
static ngx_http_vidstream_api_ctx_t *ngx_http_vidstream_api_ctx(
    ngx_http_request_t *r, ngx_uint_t action);
static void ngx_http_vidstream_api_cleanup(void *data);
static ngx_int_t ngx_http_vidstream_api_reject(ngx_http_request_t *r,
    ngx_uint_t status, const char *code, const char *message);
static ngx_int_t ngx_http_vidstream_api_bad(ngx_http_request_t *r,
    const char *message);
static ngx_int_t ngx_http_vidstream_api_route(ngx_http_request_t *r,
    ngx_http_vidstream_api_ctx_t *ctx);
static ngx_int_t ngx_http_vidstream_api_not_allowed(ngx_http_request_t *r,
    const char *allow);
static void ngx_http_vidstream_api_create_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_vidstream_api_creds(
    ngx_http_vidstream_api_ctx_t *ctx);
static void ngx_http_vidstream_api_creds_done(ngx_http_request_t *r);
static ngx_int_t ngx_http_vidstream_api_create_query(
    ngx_http_vidstream_api_ctx_t *ctx);
static ngx_int_t ngx_http_vidstream_api_create_parse(ngx_http_request_t *r,
    ngx_http_vidstream_api_ctx_t *ctx, u_char *body, size_t len);
static ngx_uint_t ngx_http_vidstream_api_null_huge_numbers(u_char *body,
    size_t len);
static ngx_int_t ngx_http_vidstream_api_list_args(ngx_http_request_t *r,
    ngx_http_vidstream_api_ctx_t *ctx);
static ngx_int_t ngx_http_vidstream_api_download_args(ngx_http_request_t *r,
    ngx_http_vidstream_api_ctx_t *ctx);
static ngx_int_t ngx_http_vidstream_api_query(
    ngx_http_vidstream_api_ctx_t *ctx, ngx_uint_t stmt, ngx_uint_t nparams,
    ...);
static void ngx_http_vidstream_api_pg_done(ngx_http_vidstream_pg_query_t *q,
    ngx_http_vidstream_pg_status_e status, PGresult *res);
static ngx_int_t ngx_http_vidstream_api_result(
    ngx_http_vidstream_api_ctx_t *ctx, PGresult *res);
static ngx_int_t ngx_http_vidstream_api_created(
    ngx_http_vidstream_api_ctx_t *ctx, PGresult *res);
static ngx_int_t ngx_http_vidstream_api_created_idem(
    ngx_http_vidstream_api_ctx_t *ctx, PGresult *res);
static ngx_int_t ngx_http_vidstream_api_created_video(
    ngx_http_vidstream_api_ctx_t *ctx, ngx_str_t *id, ngx_str_t *video);
static ngx_int_t ngx_http_vidstream_api_listed(
    ngx_http_vidstream_api_ctx_t *ctx, PGresult *res);
static ngx_int_t ngx_http_vidstream_api_completed(
    ngx_http_vidstream_api_ctx_t *ctx, PGresult *res);
static ngx_int_t ngx_http_vidstream_api_complete_next(ngx_http_request_t *r);
static ngx_int_t ngx_http_vidstream_api_delete_next(ngx_http_request_t *r);
static ngx_int_t ngx_http_vidstream_api_sqs_send(
    ngx_http_vidstream_api_ctx_t *ctx);
static void ngx_http_vidstream_api_sqs_done(ngx_http_request_t *r);
static ngx_int_t ngx_http_vidstream_api_mark_enqueued(
    ngx_http_vidstream_api_ctx_t *ctx);
static ngx_int_t ngx_http_vidstream_api_queued(
    ngx_http_vidstream_api_ctx_t *ctx);
static ngx_int_t ngx_http_vidstream_api_downloaded(
    ngx_http_vidstream_api_ctx_t *ctx, PGresult *res);
static ngx_int_t ngx_http_vidstream_api_s3_list(
    ngx_http_vidstream_api_ctx_t *ctx);
static ngx_int_t ngx_http_vidstream_api_s3_delete(
    ngx_http_vidstream_api_ctx_t *ctx, ngx_str_t *listing);
static void ngx_http_vidstream_api_s3_done(ngx_http_request_t *r);
static ngx_int_t ngx_http_vidstream_api_presign(
    ngx_http_vidstream_api_ctx_t *ctx, const char *method, ngx_str_t *key,
    vs_sigv4_kv_t *query, size_t nquery, vs_sigv4_kv_t *headers,
    size_t nheaders, ngx_str_t *url, u_char *expires_at);
static ngx_int_t ngx_http_vidstream_api_send_json(ngx_http_request_t *r,
    ngx_uint_t status, u_char *body, size_t len);
static ngx_int_t ngx_http_vidstream_api_unavailable(ngx_http_request_t *r);
static void ngx_http_vidstream_api_finish(ngx_http_vidstream_api_ctx_t *ctx,
    ngx_int_t rc);
static u_char *ngx_http_vidstream_api_disposition(ngx_pool_t *pool,
    ngx_str_t *filename, size_t *len);

static char *ngx_http_vidstream_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_vidstream_healthz(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_vidstream_postgres(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_vidstream_redis(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_vidstream_api_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_vidstream_api_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_vidstream_api_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_vidstream_api_init_main_conf(ngx_conf_t *cf,
    void *conf);
static ngx_int_t ngx_http_vidstream_api_init_process(ngx_cycle_t *cycle);
static void ngx_http_vidstream_api_exit_process(ngx_cycle_t *cycle);


/* The video object of the contract, built by PostgreSQL (lib). */
#define NGX_HTTP_VIDSTREAM_VIDEO_JSON  VS_VIDEO_JSON_SQL


static ngx_http_vidstream_pg_stmt_t  ngx_http_vidstream_api_stmts[] = {

    { "vs_health", "SELECT 1", 1 },

    /* $1 sub, $2 filename, $3 content_type, $4 size */
    { "vs_create",
      "WITH n AS (SELECT gen_random_uuid() AS id)"
      " INSERT INTO videos (id, owner_sub, filename, content_type, size,"
      " input_key)"
      " SELECT n.id, $1, $2, $3, $4::bigint,"
      " 'input/' || $1 || '/' || n.id || '/source' FROM n"
      " RETURNING id::text, " NGX_HTTP_VIDSTREAM_VIDEO_JSON, 0 },

    /*
     * $1 sub, $2 filename, $3 content_type, $4 size, $5 Idempotency-Key,
     * $6 request hash: id, video, and "created", "repeat" (the key's video,
     * same request) or "conflict" (another request under the key).
     *
     * The key row is written first and always: a new key binds the new
     * id (the video row follows in the same statement; the foreign key is
     * checked at its end), a live key (under 24 h) keeps its row and an
     * expired one is rebound.  Writing the key row, never just reading
     * it, makes a create racing another one under the same key wait for
     * it and see what it committed.  The video of a repeat is read in this
     * statement's snapshot: NULL when that create committed only during
     * it, and read again then (vs_get).
     */
    { "vs_create_idem",
      "WITH n AS (SELECT gen_random_uuid() AS id),"
      " k AS (INSERT INTO idempotency_keys AS i"
      " (owner_sub, key, request_hash, video_id)"
      " SELECT $1, $5, $6, n.id FROM n"
      " ON CONFLICT (owner_sub, key) DO UPDATE SET"
      " request_hash = CASE WHEN i.created_at > now() - interval '24 hours'"
      " THEN i.request_hash ELSE EXCLUDED.request_hash END,"
      " video_id = CASE WHEN i.created_at > now() - interval '24 hours'"
      " THEN i.video_id ELSE EXCLUDED.video_id END,"
      " created_at = CASE WHEN i.created_at > now() - interval '24 hours'"
      " THEN i.created_at ELSE now() END"
      " RETURNING video_id, request_hash),"
      " v AS (INSERT INTO videos (id, owner_sub, filename, content_type,"
      " size, input_key)"
      " SELECT k.video_id, $1, $2, $3, $4::bigint,"
      " 'input/' || $1 || '/' || k.video_id || '/source'"
      " FROM k, n WHERE k.video_id = n.id"
      " RETURNING id::text, " NGX_HTTP_VIDSTREAM_VIDEO_JSON " AS video)"
      " SELECT id, video, 'created' FROM v"
      " UNION ALL SELECT k.video_id::text,"
      " (SELECT " NGX_HTTP_VIDSTREAM_VIDEO_JSON " FROM videos"
      " WHERE id = k.video_id AND owner_sub = $1 AND status <> 'deleted'),"
      " CASE WHEN k.request_hash = $6 THEN 'repeat' ELSE 'conflict' END"
      " FROM k, n WHERE k.video_id <> n.id", 0 },

    /* $1 id, $2 sub */
    { "vs_get",
      "SELECT " NGX_HTTP_VIDSTREAM_VIDEO_JSON " FROM videos"
      " WHERE id = $1::uuid AND owner_sub = $2 AND status <> 'deleted'", 1 },

    /*
     * $1 sub, $2 cursor created_at (microseconds since the epoch, exact)
     * or NULL, $3 cursor id, $4 limit + 1 (to know whether more follow)
     */
    { "vs_list",
      "SELECT " NGX_HTTP_VIDSTREAM_VIDEO_JSON ","
      " (extract(epoch FROM created_at) * 1000000)::bigint::text, id::text"
      " FROM videos WHERE owner_sub = $1 AND status <> 'deleted'"
      " AND ($2::bigint IS NULL OR (created_at, id) <"
      " ('epoch'::timestamptz + $2::bigint * interval '1 microsecond',"
      " $3::uuid))"
      " ORDER BY created_at DESC, id DESC LIMIT $4::int", 1 },

    /*
     * $1 id, $2 sub: pending_upload -> queued, and the row's status as it
     * was, in one statement: moved, status, input_key, whether the job
     * still has to be sent (enqueued_at is NULL), and an unfinished
     * multipart upload's id, size, part_size and part_count: such a video
     * stays pending_upload until S3 has completed the upload.
     *
     * The row is read FOR UPDATE: should another transaction hold it (a
     * complete whose answer nginx gave up on, committing late), this waits
     * for it and reads the row it committed.  A plain read here would use
     * the statement's snapshot, taken before that commit, and see
     * pending_upload while the UPDATE, which re-checks the newest version,
     * finds queued and changes nothing: "neither moved nor queued", a 409.
     */
    { "vs_complete",
      "WITH cur AS (SELECT id, status, input_key, enqueued_at,"
      " CASE WHEN upload_completed_at IS NULL THEN upload_id END"
      " AS upload_id, size, part_size, part_count FROM videos"
      " WHERE id = $1::uuid AND owner_sub = $2 FOR UPDATE),"
      " u AS (UPDATE videos v SET status = 'queued', queued_at = now(),"
      " enqueued_at = NULL FROM cur"
      " WHERE v.id = cur.id AND cur.status = 'pending_upload'"
      " AND cur.upload_id IS NULL"
      " RETURNING v.id)"
      " SELECT EXISTS (SELECT 1 FROM u), cur.status, cur.input_key,"
      " cur.enqueued_at IS NULL, cur.upload_id, cur.size, cur.part_size,"
      " cur.part_count FROM cur", 0 },

    /* $1 id, $2 sub: SQS has the job (CONTRACT.md section 5) */
    { "vs_enqueued",
      "UPDATE videos SET enqueued_at = now()"
      " WHERE id = $1::uuid AND owner_sub = $2 AND enqueued_at IS NULL", 0 },

    /* $1 id, $2 sub */
    { "vs_download",
      "SELECT status, output_mp4, output_thumbnail, output_hls, filename"
      " FROM videos"
      " WHERE id = $1::uuid AND owner_sub = $2 AND status <> 'deleted'", 1 },

    /*
     * $1 id, $2 sub: hidden at once, removed once S3 is clean; the id of
     * an unfinished multipart upload, to abort first
     */
    { "vs_delete_mark",
      "UPDATE videos SET status = 'deleted'"
      " WHERE id = $1::uuid AND owner_sub = $2 RETURNING input_key,"
      " CASE WHEN upload_completed_at IS NULL THEN upload_id END", 0 },

    { "vs_delete_row",
      "DELETE FROM videos"
      " WHERE id = $1::uuid AND owner_sub = $2 AND status = 'deleted'", 0 }
};


static ngx_conf_enum_t  ngx_http_vidstream_api_addressing[] = {
    { ngx_string("auto"), VS_AWS_ADDR_AUTO },
    { ngx_string("virtual"), VS_AWS_ADDR_VIRTUAL },
    { ngx_string("path"), VS_AWS_ADDR_PATH },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_vidstream_api_commands[] = {

    { ngx_string("vidstream_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_vidstream_api,
      0,
      0,
      NULL },

    { ngx_string("vidstream_healthz"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_vidstream_healthz,
      0,
      0,
      NULL },

    { ngx_string("vidstream_postgres"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_vidstream_postgres,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("vidstream_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_vidstream_redis,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("vidstream_s3_bucket"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vidstream_api_main_conf_t, bucket),
      NULL },

    { ngx_string("vidstream_aws_region"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vidstream_api_main_conf_t, region),
      NULL },

    { ngx_string("vidstream_s3_endpoint"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vidstream_api_main_conf_t, s3_endpoint),
      NULL },

    { ngx_string("vidstream_s3_addressing"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vidstream_api_main_conf_t, addressing),
      &ngx_http_vidstream_api_addressing },

    { ngx_string("vidstream_sqs_endpoint"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vidstream_api_main_conf_t, sqs_endpoint),
      NULL },

    { ngx_string("vidstream_sqs_queue_url"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vidstream_api_main_conf_t, queue_url),
      NULL },

    { ngx_string("vidstream_s3_location"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vidstream_api_main_conf_t, s3_location),
      NULL },

    { ngx_string("vidstream_sqs_location"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vidstream_api_main_conf_t, sqs_location),
      NULL },

    { ngx_string("vidstream_aws_credentials_location"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vidstream_api_main_conf_t, credentials_location),
      NULL },

    { ngx_string("vidstream_aws_access_key_id"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vidstream_api_main_conf_t, access_key_id),
      NULL },

    { ngx_string("vidstream_aws_secret_access_key"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vidstream_api_main_conf_t, secret_access_key),
      NULL },

    { ngx_string("vidstream_aws_session_token"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vidstream_api_main_conf_t, session_token),
      NULL },

    { ngx_string("vidstream_presign_expires"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vidstream_api_main_conf_t, presign_expires),
      NULL },

    { ngx_string("vidstream_aws_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vidstream_api_main_conf_t, aws_timeout),
      NULL },

    { ngx_string("vidstream_max_upload_size"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_off_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vidstream_api_main_conf_t, max_upload_size),
      NULL },

    { ngx_string("vidstream_api_body_limit"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vidstream_api_main_conf_t, body_limit),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_vidstream_api_module_ctx = {
    ngx_http_vidstream_api_preconfiguration, /* preconfiguration */
    ngx_http_vidstream_api_postconfiguration, /* postconfiguration */

    ngx_http_vidstream_api_create_main_conf, /* create main configuration */
    ngx_http_vidstream_api_init_main_conf, /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_vidstream_api_module = {
    NGX_MODULE_V1,
    &ngx_http_vidstream_api_module_ctx,    /* module context */
    ngx_http_vidstream_api_commands,       /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_vidstream_api_init_process,   /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_vidstream_api_exit_process,   /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/*
 * The auth module may be absent from a build: then no request is
 * authenticated and every API request is a 401, never a success.
 */
extern ngx_int_t ngx_http_vidstream_auth_user(ngx_http_request_t *r,
    ngx_str_t *sub) __attribute__((weak));


static ngx_str_t  ngx_http_vidstream_api_json = ngx_string("application/json");


/* the content handler of a vidstream_api location */

static ngx_int_t
ngx_http_vidstream_api_handler(ngx_http_request_t *r)
{
    ngx_int_t                            rc;
    ngx_table_elt_t                     *h;
    ngx_http_vidstream_api_ctx_t        *ctx;
    ngx_http_vidstream_api_main_conf_t  *amcf;

    ctx = ngx_http_vidstream_api_ctx(r, 0);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_vidstream_auth_user == NULL
        || ngx_http_vidstream_auth_user(r, &ctx->sub) != NGX_OK
        || ctx->sub.len == 0)
    {
        /* vidstream_auth is off here: the API never answers anonymously */

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vidstream api: unauthenticated request "
                      "(is \"vidstream_auth on\" missing?)");

        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "WWW-Authenticate");
        ngx_str_set(&h->value, "Bearer realm=\"vidstream\"");
        r->headers_out.www_authenticate = h;

        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_vidstream_send_error(r, NGX_HTTP_UNAUTHORIZED,
                                             "unauthorized",
                                             "a bearer token is required");
    }

    rc = ngx_http_vidstream_api_route(r, ctx);
    if (rc != NGX_OK) {
        return rc == NGX_DECLINED ? ctx->rc : rc;
    }

    ngx_http_vidstream_metrics_action(r, ctx->action);

    amcf = ctx->amcf;

    if (ctx->action == NGX_HTTP_VIDSTREAM_CREATE) {

        if (ngx_http_vidstream_idempotency_key(r, &ctx->idempotency_key)
            != NGX_OK)
        {
            rc = ngx_http_discard_request_body(r);
            if (rc != NGX_OK) {
                return rc;
            }

            return ngx_http_vidstream_send_error(r, NGX_HTTP_BAD_REQUEST,
                                        "invalid_request",
                                        "Idempotency-Key must be given once, "
                                        "1 to 255 printable ASCII "
                                        "characters");
        }

        if (r->headers_in.content_length_n > (off_t) amcf->body_limit) {
            rc = ngx_http_discard_request_body(r);
            if (rc != NGX_OK) {
                return rc;
            }

            return ngx_http_vidstream_send_error(r,
                                        NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                        "too_large",
                                        "the request body is too large");
        }

        r->request_body_in_single_buf = 1;

        rc = ngx_http_read_client_request_body(r,
                                        ngx_http_vidstream_api_create_body);
        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            return rc;
        }

        return NGX_DONE;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    switch (ctx->action) {

    case NGX_HTTP_VIDSTREAM_LIST:
        rc = ngx_http_vidstream_api_list_args(r, ctx);
        if (rc != NGX_OK) {
            return rc == NGX_DECLINED ? ctx->rc : rc;
        }

        rc = ngx_http_vidstream_api_query(ctx, NGX_HTTP_VIDSTREAM_STMT_LIST,
                                 4, ctx->sub.data, ctx->sub.len,
                                 ctx->has_cursor ? ctx->cursor_ts : NULL,
                                 ngx_strlen(ctx->cursor_ts),
                                 ctx->has_cursor ? ctx->cursor_id : NULL,
                                 (size_t) NGX_HTTP_VIDSTREAM_UUID_LEN,
                                 ctx->limit_arg, ngx_strlen(ctx->limit_arg));
        break;

    case NGX_HTTP_VIDSTREAM_UPLOAD:
        rc = ngx_http_vidstream_multipart_handler(r, ctx->upload_action,
                                                  ctx->id, &ctx->sub);
        if (rc == NGX_DONE) {
            r->main->count++;
        }

        return rc;

    case NGX_HTTP_VIDSTREAM_DOWNLOAD:
        rc = ngx_http_vidstream_api_download_args(r, ctx);
        if (rc != NGX_OK) {
            return rc == NGX_DECLINED ? ctx->rc : rc;
        }

        if (ngx_http_vidstream_api_creds(ctx) == NGX_DONE) {
            r->main->count++;
            return NGX_DONE;
        }

        /* fall through */

    default:
        rc = ngx_http_vidstream_api_query(ctx,
                 ctx->action == NGX_HTTP_VIDSTREAM_GET
                     ? NGX_HTTP_VIDSTREAM_STMT_GET
                 : ctx->action == NGX_HTTP_VIDSTREAM_DELETE
                     ? NGX_HTTP_VIDSTREAM_STMT_DELETE_MARK
                 : ctx->action == NGX_HTTP_VIDSTREAM_COMPLETE
                     ? NGX_HTTP_VIDSTREAM_STMT_COMPLETE
                     : NGX_HTTP_VIDSTREAM_STMT_DOWNLOAD,
                 2, ctx->id, (size_t) NGX_HTTP_VIDSTREAM_UUID_LEN,
                 ctx->sub.data, ctx->sub.len);
        break;
    }

    if (rc == NGX_OK) {
        r->main->count++;
        return NGX_DONE;
    }

    return rc;
}


/*
 * GET /healthz: PostgreSQL (SELECT 1 through the pool) and Redis (PING)
 * are checked at once; the answer goes when both are known.
 */

static ngx_int_t
ngx_http_vidstream_healthz_handler(ngx_http_request_t *r)
{
    ngx_int_t                            rc;
    ngx_http_vidstream_api_ctx_t        *ctx;
    ngx_http_vidstream_api_main_conf_t  *amcf;

    ctx = ngx_http_vidstream_api_ctx(r, NGX_HTTP_VIDSTREAM_HEALTHZ);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_vidstream_metrics_action(r, ctx->action);

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        (void) ngx_http_vidstream_api_not_allowed(r, "GET, HEAD");
        return ctx->rc;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    amcf = ctx->amcf;
    ctx->parts = 1;    /* ours, released below */

    if (amcf->pg.keywords) {
        ctx->query.stmt = NGX_HTTP_VIDSTREAM_STMT_HEALTH;
        ctx->query.nparams = 0;
        ctx->query.handler = ngx_http_vidstream_api_pg_done;
        ctx->query.data = ctx;
        ctx->query.log = r->connection->log;

        rc = ngx_http_vidstream_pg_send(&ctx->query);

        if (rc == NGX_OK) {
            ctx->pg_pending = 1;
            ctx->parts++;

        } else if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        /* NGX_DECLINED: PostgreSQL is known to be down, pg_ok stays 0 */
    }

    if (amcf->redis.addr) {
        ctx->redis.handler = ngx_http_vidstream_healthz_redis_done;
        ctx->redis.data = ctx;
        ctx->redis.log = r->connection->log;

        if (ngx_http_vidstream_redis_ping(&amcf->redis, &ctx->redis)
            == NGX_OK)
        {
            ctx->redis_pending = 1;
            ctx->parts++;
        }
    }

    if (ctx->parts > 1) {
        ctx->parts--;
        r->main->count++;
        return NGX_DONE;
    }

    return ngx_http_vidstream_healthz_part_done(ctx);
}


static void
ngx_http_vidstream_healthz_redis_done(ngx_http_vidstream_redis_check_t *check,
    ngx_uint_t ok)
{
    ngx_int_t                      rc;
    ngx_connection_t              *c;
    ngx_http_vidstream_api_ctx_t  *ctx;

    ctx = check->data;
    ctx->redis_pending = 0;
    ctx->redis_ok = ok;

    c = ctx->request->connection;

    rc = ngx_http_vidstream_healthz_part_done(ctx);

    if (rc != NGX_DONE) {
        ngx_http_vidstream_api_finish(ctx, rc);
    }

    ngx_http_run_posted_requests(c);
}


/*
 * One check of /healthz is over: NGX_DONE while another still runs, else
 * the answer is sent and its rc returned.
 */

static ngx_int_t
ngx_http_vidstream_healthz_part_done(ngx_http_vidstream_api_ctx_t *ctx)
{
    u_char                              *body, *p;
    ngx_uint_t                           ok;
    ngx_http_vidstream_api_main_conf_t  *amcf;

    if (--ctx->parts) {
        return NGX_DONE;
    }

    amcf = ctx->amcf;

    ok = (amcf->pg.keywords == NULL || ctx->pg_ok)
         && (amcf->redis.addr == NULL || ctx->redis_ok);

    body = ngx_pnalloc(ctx->request->pool, 128);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(body, "{\"status\":\"%s\",\"postgres\":\"%s\","
                    "\"redis\":\"%s\"}\n",
                    ok ? "ok" : "unavailable",
                    amcf->pg.keywords == NULL ? "disabled"
                    : ctx->pg_ok ? "ok" : "unavailable",
                    amcf->redis.addr == NULL ? "disabled"
                    : ctx->redis_ok ? "ok" : "unavailable");

    return ngx_http_vidstream_api_send_json(ctx->request,
                                            ok ? NGX_HTTP_OK
                                               : NGX_HTTP_SERVICE_UNAVAILABLE,
                                            body, p - body);
}


static ngx_http_vidstream_api_ctx_t *
ngx_http_vidstream_api_ctx(ngx_http_request_t *r, ngx_uint_t action)
{
    ngx_pool_cleanup_t            *cln;
    ngx_http_vidstream_api_ctx_t  *ctx;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_vidstream_api_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_vidstream_api_cleanup;
    cln->data = ctx;

    ctx->request = r;
    ctx->action = action;
    ctx->amcf = ngx_http_get_module_main_conf(r,
                                              ngx_http_vidstream_api_module);

    ngx_http_set_ctx(r, ctx, ngx_http_vidstream_api_module);

    return ctx;
}


/* the request goes away (client error, shutdown): forget its query */

static void
ngx_http_vidstream_api_cleanup(void *data)
{
    ngx_http_vidstream_api_ctx_t  *ctx = data;

    if (ctx->pg_pending) {
        ngx_http_vidstream_pg_cancel(&ctx->query);
        ctx->pg_pending = 0;
    }

    if (ctx->redis_pending) {
        ngx_http_vidstream_redis_cancel(&ctx->redis);
        ctx->redis_pending = 0;
    }
}


/*
 *   /videos                          GET list, POST create
 *   /videos/<id>                     GET, DELETE
 *   /videos/<id>/complete            POST
 *   /videos/<id>/download            GET
 *   /videos/<id>/playback            GET (ngx_http_vidstream_play_module)
 *   /videos/<id>/upload[/parts]      GET (ngx_http_vidstream_multipart_module)
 */

static ngx_int_t
ngx_http_vidstream_api_route(ngx_http_request_t *r,
    ngx_http_vidstream_api_ctx_t *ctx)
{
    u_char     *p, *last, *id;
    ngx_str_t   rest;

    p = r->uri.data;
    last = p + r->uri.len;

    if (r->uri.len < sizeof("/videos") - 1
        || ngx_strncmp(p, "/videos", sizeof("/videos") - 1) != 0)
    {
        goto not_found;
    }

    p += sizeof("/videos") - 1;

    if (p == last) {
        if (r->method == NGX_HTTP_GET || r->method == NGX_HTTP_HEAD) {
            ctx->action = NGX_HTTP_VIDSTREAM_LIST;
            return NGX_OK;
        }

        if (r->method == NGX_HTTP_POST) {
            ctx->action = NGX_HTTP_VIDSTREAM_CREATE;
            return NGX_OK;
        }

        return ngx_http_vidstream_api_not_allowed(r, "GET, HEAD, POST");
    }

    if (*p++ != '/' || p == last) {
        goto not_found;
    }

    id = p;

    while (p < last && *p != '/') {
        p++;
    }

    if (!vs_uuid_valid((char *) id, p - id)) {
        (void) ngx_http_discard_request_body(r);
        return ngx_http_vidstream_api_reject(r, NGX_HTTP_BAD_REQUEST,
                                             "invalid_request",
                                             "the video id is not a "
                                             "lowercase UUID");
    }

    ngx_memcpy(ctx->id, id, NGX_HTTP_VIDSTREAM_UUID_LEN);
    ctx->id[NGX_HTTP_VIDSTREAM_UUID_LEN] = '\0';

    rest.data = p;
    rest.len = last - p;

    if (rest.len == 0) {
        if (r->method == NGX_HTTP_GET || r->method == NGX_HTTP_HEAD) {
            ctx->action = NGX_HTTP_VIDSTREAM_GET;
            return NGX_OK;
        }

        if (r->method == NGX_HTTP_DELETE) {
            ctx->action = NGX_HTTP_VIDSTREAM_DELETE;
            return NGX_OK;
        }

        return ngx_http_vidstream_api_not_allowed(r, "GET, HEAD, DELETE");
    }

    if (rest.len == sizeof("/complete") - 1
        && ngx_strncmp(rest.data, "/complete", rest.len) == 0)
    {
        if (r->method == NGX_HTTP_POST) {
            ctx->action = NGX_HTTP_VIDSTREAM_COMPLETE;
            return NGX_OK;
        }

        return ngx_http_vidstream_api_not_allowed(r, "POST");
    }

    if (rest.len == sizeof("/download") - 1
        && ngx_strncmp(rest.data, "/download", rest.len) == 0)
    {
        if (r->method == NGX_HTTP_GET || r->method == NGX_HTTP_HEAD) {
            ctx->action = NGX_HTTP_VIDSTREAM_DOWNLOAD;
            return NGX_OK;
        }

        return ngx_http_vidstream_api_not_allowed(r, "GET, HEAD");
    }

    if (rest.len == sizeof("/playback") - 1
        && ngx_strncmp(rest.data, "/playback", rest.len) == 0)
    {
        if (r->method == NGX_HTTP_GET || r->method == NGX_HTTP_HEAD) {
            ctx->action = NGX_HTTP_VIDSTREAM_PLAYBACK;
            return NGX_OK;
        }

        return ngx_http_vidstream_api_not_allowed(r, "GET, HEAD");
    }

    ctx->upload_action = ngx_http_vidstream_multipart_route(&rest);

    if (ctx->upload_action) {
        if (r->method == NGX_HTTP_GET || r->method == NGX_HTTP_HEAD) {
            ctx->action = NGX_HTTP_VIDSTREAM_UPLOAD;
            return NGX_OK;
        }

        return ngx_http_vidstream_api_not_allowed(r, "GET, HEAD");
    }

not_found:

    (void) ngx_http_discard_request_body(r);

    return ngx_http_vidstream_api_reject(r, NGX_HTTP_NOT_FOUND, "not_found",
                                         "no such resource");
}


static ngx_int_t
ngx_http_vidstream_api_not_allowed(ngx_http_request_t *r, const char *allow)
{
    ngx_table_elt_t  *h;

    (void) ngx_http_discard_request_body(r);

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Allow");
    h->value.data = (u_char *) allow;
    h->value.len = ngx_strlen(allow);

    return ngx_http_vidstream_api_reject(r, NGX_HTTP_NOT_ALLOWED,
                                         "method_not_allowed",
                                         "method not allowed here");
}


/* POST /videos: the body has been read */

static void
ngx_http_vidstream_api_create_body(ngx_http_request_t *r)
{
    u_char                        *body, *p;
    size_t                         len;
    ngx_int_t                      rc;
    ngx_buf_t                     *b;
    ngx_chain_t                   *cl;
    ngx_http_vidstream_api_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_vidstream_api_module);

    if (r->request_body == NULL) {
        rc = ngx_http_vidstream_send_error(r, NGX_HTTP_BAD_REQUEST,
                                           "invalid_request",
                                           "a JSON body is required");
        goto done;
    }

    len = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (b->in_file) {
            /* the buffer holds more than the limit: see postconfiguration */
            len = ctx->amcf->body_limit + 1;
            break;
        }

        len += b->last - b->pos;
    }

    if (len > ctx->amcf->body_limit) {
        rc = ngx_http_vidstream_send_error(r,
                                           NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                           "too_large",
                                           "the request body is too large");
        goto done;
    }

    body = ngx_pnalloc(r->pool, len + 1);
    if (body == NULL) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    p = body;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;
        p = ngx_cpymem(p, b->pos, b->last - b->pos);
    }

    rc = ngx_http_vidstream_api_create_parse(r, ctx, body, p - body);
    if (rc != NGX_OK) {
        rc = (rc == NGX_DECLINED) ? ctx->rc : rc;
        goto done;
    }

    /* the body reader's reference is ours now */

    if (ngx_http_vidstream_api_creds(ctx) == NGX_DONE) {
        return;
    }

    rc = ngx_http_vidstream_api_create_query(ctx);
    if (rc == NGX_OK) {
        return;
    }

done:

    ngx_http_finalize_request(r, rc);
}


static ngx_int_t
ngx_http_vidstream_api_create_query(ngx_http_vidstream_api_ctx_t *ctx)
{
    if (ctx->idempotency_key.len) {
        return ngx_http_vidstream_api_query(ctx,
                                       NGX_HTTP_VIDSTREAM_STMT_CREATE_IDEM, 6,
                                       ctx->sub.data, ctx->sub.len,
                                       ctx->filename.data,
                                       ctx->filename.len,
                                       ctx->content_type.data,
                                       ctx->content_type.len,
                                       ctx->size, ngx_strlen(ctx->size),
                                       ctx->idempotency_key.data,
                                       ctx->idempotency_key.len,
                                       ctx->request_hash,
                                       (size_t)
                                       NGX_HTTP_VIDSTREAM_REQUEST_HASH_LEN);
    }

    return ngx_http_vidstream_api_query(ctx, NGX_HTTP_VIDSTREAM_STMT_CREATE, 4,
                                        ctx->sub.data, ctx->sub.len,
                                        ctx->filename.data,
                                        ctx->filename.len,
                                        ctx->content_type.data,
                                        ctx->content_type.len,
                                        ctx->size, ngx_strlen(ctx->size));
}


/*
 * Presigning needs current credentials: with the ECS task role they may
 * be missing or about to expire, and are fetched first (one subrequest;
 * concurrent requests meanwhile use what there is, or get 503).
 * NGX_DONE: a refresh runs and ngx_http_vidstream_api_creds_done()
 * continues the request; NGX_OK: go on now.
 */

static ngx_int_t
ngx_http_vidstream_api_creds(ngx_http_vidstream_api_ctx_t *ctx)
{
    ngx_int_t  rc;

    rc = ngx_http_vidstream_aws_creds(ctx->request,
                                      &ctx->amcf->credentials_location,
                                      &ctx->call);
    if (rc == NGX_AGAIN) {
        ctx->call.done = ngx_http_vidstream_api_creds_done;
        return NGX_DONE;
    }

    /* none at all: the presign answers 503 after the owner check */

    return NGX_OK;
}


static void
ngx_http_vidstream_api_creds_done(ngx_http_request_t *r)
{
    ngx_int_t                      rc;
    ngx_connection_t              *c;
    ngx_http_vidstream_api_ctx_t  *ctx;

    r->write_event_handler = ngx_http_request_empty_handler;

    ctx = ngx_http_get_module_ctx(r, ngx_http_vidstream_api_module);
    c = r->connection;

    (void) ngx_http_vidstream_aws_creds_done(r, &ctx->call);

    if (ctx->action == NGX_HTTP_VIDSTREAM_CREATE) {
        rc = ngx_http_vidstream_api_create_query(ctx);

    } else {
        rc = ngx_http_vidstream_api_query(ctx,
                                          NGX_HTTP_VIDSTREAM_STMT_DOWNLOAD, 2,
                                          ctx->id,
                                          (size_t) NGX_HTTP_VIDSTREAM_UUID_LEN,
                                          ctx->sub.data, ctx->sub.len);
    }

    if (rc != NGX_OK) {
        ngx_http_vidstream_api_finish(ctx, rc);
    }

    ngx_http_run_posted_requests(c);
}


/*
 * Validation helpers answer through this: the response is sent, its rc
 * kept in the ctx, and NGX_DECLINED tells the caller to stop there.
 */

static ngx_int_t
ngx_http_vidstream_api_reject(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *message)
{
    ngx_http_vidstream_api_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_vidstream_api_module);
    ctx->rc = ngx_http_vidstream_send_error(r, status, code, message);

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_vidstream_api_bad(ngx_http_request_t *r, const char *message)
{
    return ngx_http_vidstream_api_reject(r, NGX_HTTP_BAD_REQUEST,
                                         "invalid_request", message);
}


static ngx_int_t
ngx_http_vidstream_api_create_parse(ngx_http_request_t *r,
    ngx_http_vidstream_api_ctx_t *ctx, u_char *body, size_t len)
{
    u_char        *p, *last;
    size_t         n;
    json_t        *root, *v;
    double         real;
    ngx_int_t      rc;
    ngx_uint_t     as_real, multipart;
    json_int_t     size;
    const char    *message;
    json_error_t   err;

    /*
     * Unknown fields are ignored whatever their value, but jansson refuses
     * a whole document with an integer beyond 64 bits anywhere in it: such
     * a document is read again with every integer as a real, and only the
     * known fields' types matter (size is checked for that below).  A
     * number beyond a double (1e400) is refused even then: those become
     * null, in place, and the document is read a third time.
     */

    as_real = 0;
    root = json_loadb((char *) body, len, JSON_REJECT_DUPLICATES, &err);

    if (root == NULL && json_error_code(&err) == json_error_numeric_overflow) {
        as_real = 1;
        root = json_loadb((char *) body, len,
                          JSON_REJECT_DUPLICATES|JSON_DECODE_INT_AS_REAL,
                          &err);

        if (root == NULL
            && json_error_code(&err) == json_error_numeric_overflow
            && ngx_http_vidstream_api_null_huge_numbers(body, len))
        {
            root = json_loadb((char *) body, len,
                              JSON_REJECT_DUPLICATES
                              |JSON_DECODE_INT_AS_REAL, &err);
        }
    }

    if (root == NULL) {
        return ngx_http_vidstream_api_bad(r, "the body is not valid JSON");
    }

    rc = NGX_OK;

    if (!json_is_object(root)) {
        rc = ngx_http_vidstream_api_bad(r, "the body must be a JSON object");
        goto done;
    }

    /* filename */

    v = json_object_get(root, "filename");
    if (!json_is_string(v)) {
        rc = ngx_http_vidstream_api_bad(r, "filename must be a string");
        goto done;
    }

    n = json_string_length(v);
    p = (u_char *) json_string_value(v);
    last = p + n;

    if (n == 0 || n > 255) {
        rc = ngx_http_vidstream_api_bad(r, "filename must be 1 to 255 bytes");
        goto done;
    }

    if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
        rc = ngx_http_vidstream_api_bad(r, "filename must not be . or ..");
        goto done;
    }

    for ( /* void */ ; p < last; p++) {
        /* C0, DEL and the C1 controls (UTF-8 C2 80..C2 9F) */
        if (*p < 0x20 || *p == 0x7f || *p == '/' || *p == '\\'
            || (*p == 0xc2 && p + 1 < last && p[1] >= 0x80 && p[1] <= 0x9f))
        {
            rc = ngx_http_vidstream_api_bad(r, "filename must not contain "
                                            "control characters, / or \\");
            goto done;
        }
    }

    ctx->filename.len = n;
    ctx->filename.data = ngx_pnalloc(r->pool, n);
    if (ctx->filename.data == NULL) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    ngx_memcpy(ctx->filename.data, json_string_value(v), n);

    /* content_type: video/<token> or application/octet-stream */

    v = json_object_get(root, "content_type");
    if (!json_is_string(v)) {
        rc = ngx_http_vidstream_api_bad(r, "content_type must be a string");
        goto done;
    }

    n = json_string_length(v);
    p = (u_char *) json_string_value(v);

    if (n == sizeof("application/octet-stream") - 1
        && ngx_strncasecmp(p, (u_char *) "application/octet-stream", n) == 0)
    {
        /* fine */

    } else if (n > sizeof("video/") - 1 && n <= 127
               && ngx_strncasecmp(p, (u_char *) "video/", 6) == 0)
    {
        for (last = p + n, p += 6; p < last; p++) {
            /* RFC 9110 token characters */
            if (!(isalnum(*p) || ngx_strchr("!#$%&'*+-.^_`|~", *p))
                || *p == '\0')
            {
                break;
            }
        }

        if (p != last) {
            rc = ngx_http_vidstream_api_reject(r,
                                     NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                     "unsupported_media_type",
                                     "content_type must be video/<subtype> "
                                     "or application/octet-stream, without "
                                     "parameters");
            goto done;
        }

    } else {
        rc = ngx_http_vidstream_api_reject(r, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                           "unsupported_media_type",
                                           "content_type must be video/* or "
                                           "application/octet-stream");
        goto done;
    }

    ctx->content_type.len = n;
    ctx->content_type.data = ngx_pnalloc(r->pool, n);
    if (ctx->content_type.data == NULL) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    ngx_memcpy(ctx->content_type.data, json_string_value(v), n);

    /* size */

    v = json_object_get(root, "size");

    if (as_real && json_is_real(v)) {
        /* an integer in the text, or a real: exact only up to 2^53 */
        real = json_real_value(v);

        if (real > 9007199254740992.0 || real < -9007199254740992.0
            || real != (double) (json_int_t) real)
        {
            rc = ngx_http_vidstream_api_bad(r, "size must be an integer");
            goto done;
        }

        size = (json_int_t) real;

    } else if (json_is_integer(v)) {
        size = json_integer_value(v);

    } else {
        rc = ngx_http_vidstream_api_bad(r, "size must be an integer");
        goto done;
    }

    if (size < 1) {
        rc = ngx_http_vidstream_api_bad(r, "size must be at least 1");
        goto done;
    }

    if (size > (json_int_t) ctx->amcf->max_upload_size) {
        rc = ngx_http_vidstream_api_reject(r,
                                           NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                           "too_large",
                                           "size exceeds the maximum upload "
                                           "size");
        goto done;
    }

    *ngx_sprintf(ctx->size, "%L", (int64_t) size) = '\0';

    /* upload: part of what makes two creates the same request */

    v = json_object_get(root, "upload");

    if (json_is_string(v)) {
        ctx->upload.len = json_string_length(v);
        ctx->upload.data = ngx_pnalloc(r->pool, ctx->upload.len + 1);
        if (ctx->upload.data == NULL) {
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
            goto done;
        }

        ngx_memcpy(ctx->upload.data, json_string_value(v), ctx->upload.len);

    } else if (v != NULL) {
        rc = ngx_http_vidstream_api_bad(r, "upload must be \"single\" or "
                                        "\"multipart\"");
        goto done;
    }

    ctx->size_n = size;

    if (ngx_http_vidstream_multipart_wanted(r, &ctx->upload, size, &multipart,
                                            &message)
        != NGX_OK)
    {
        rc = ngx_http_vidstream_api_bad(r, message);
        goto done;
    }

    ctx->multipart = multipart;

    if (ctx->idempotency_key.len
        && ngx_http_vidstream_idempotency_hash(&ctx->filename,
                                               &ctx->content_type, ctx->size,
                                               &ctx->upload,
                                               ctx->request_hash)
           != NGX_OK)
    {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

done:

    json_decref(root);

    return rc;
}


/*
 * Overwrites, in place, every number of the JSON text that a double cannot
 * hold (more than 300 integer digits, or a decimal exponent that takes it
 * past 10^300) with null and spaces: such a number has at least five
 * characters, null four.  Strings are skipped, escapes included.  Returns
 * how many numbers were replaced.  The text need not be valid JSON: the
 * parser still judges it.
 */

static ngx_uint_t
ngx_http_vidstream_api_null_huge_numbers(u_char *body, size_t len)
{
    u_char      *p, *last, *start;
    ngx_int_t    digits, exponent, sign;
    ngx_uint_t   n;

    n = 0;
    last = body + len;

    for (p = body; p < last; /* void */) {

        if (*p == '"') {
            for (p++; p < last && *p != '"'; p++) {
                if (*p == '\\') {
                    p++;
                }
            }

            p++;
            continue;
        }

        if (*p != '-' && (*p < '0' || *p > '9')) {
            p++;
            continue;
        }

        start = p;
        digits = 0;
        exponent = 0;

        if (*p == '-') {
            p++;
        }

        while (p < last && *p >= '0' && *p <= '9') {
            digits++;
            p++;
        }

        if (p < last && *p == '.') {
            for (p++; p < last && *p >= '0' && *p <= '9'; p++) {
                /* void */
            }
        }

        if (p < last && (*p == 'e' || *p == 'E')) {
            p++;
            sign = 1;

            if (p < last && (*p == '+' || *p == '-')) {
                sign = (*p == '-') ? -1 : 1;
                p++;
            }

            for ( /* void */ ; p < last && *p >= '0' && *p <= '9'; p++) {
                if (exponent < 100000) {
                    exponent = exponent * 10 + (*p - '0');
                }
            }

            exponent *= sign;
        }

        if (digits + exponent > 300 && p - start >= 4) {
            ngx_memset(start, ' ', p - start);
            ngx_memcpy(start, "null", 4);
            n++;
        }
    }

    return n;
}


static ngx_int_t
ngx_http_vidstream_api_list_args(ngx_http_request_t *r,
    ngx_http_vidstream_api_ctx_t *ctx)
{
    u_char     *p, *bar;
    ngx_int_t   n;
    ngx_str_t   arg, decoded;

    ctx->limit = 20;

    if (ngx_http_arg(r, (u_char *) "limit", 5, &arg) == NGX_OK) {
        n = (arg.len && arg.len <= 3) ? ngx_atoi(arg.data, arg.len)
                                      : NGX_ERROR;
        if (n < 1 || n > 100) {
            return ngx_http_vidstream_api_bad(r, "limit must be an integer "
                                              "from 1 to 100");
        }

        ctx->limit = n;
    }

    *ngx_sprintf(ctx->limit_arg, "%ui", ctx->limit + 1) = '\0';

    if (ngx_http_arg(r, (u_char *) "cursor", 6, &arg) != NGX_OK
        || arg.len == 0)
    {
        return NGX_OK;
    }

    /* base64url("<created_at in µs since the epoch>|<id>") */

    if (arg.len > 128) {
        goto invalid;
    }

    decoded.data = ngx_pnalloc(r->pool, ngx_base64_decoded_length(arg.len));
    if (decoded.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_decode_base64url(&decoded, &arg) != NGX_OK) {
        goto invalid;
    }

    bar = ngx_strlchr(decoded.data, decoded.data + decoded.len, '|');
    if (bar == NULL || bar == decoded.data || bar - decoded.data > 18) {
        goto invalid;
    }

    for (p = decoded.data; p < bar; p++) {
        if (*p < '0' || *p > '9') {
            goto invalid;
        }
    }

    p = bar + 1;

    if (!vs_uuid_valid((char *) p, decoded.data + decoded.len - p)) {
        goto invalid;
    }

    *ngx_cpymem(ctx->cursor_ts, decoded.data, bar - decoded.data) = '\0';
    ngx_memcpy(ctx->cursor_id, p, NGX_HTTP_VIDSTREAM_UUID_LEN);
    ctx->has_cursor = 1;

    return NGX_OK;

invalid:

    return ngx_http_vidstream_api_bad(r, "invalid cursor");
}


static ngx_int_t
ngx_http_vidstream_api_download_args(ngx_http_request_t *r,
    ngx_http_vidstream_api_ctx_t *ctx)
{
    ngx_str_t  arg;

    ctx->variant = NGX_HTTP_VIDSTREAM_VARIANT_MP4;

    if (ngx_http_arg(r, (u_char *) "variant", 7, &arg) == NGX_OK) {

        if (arg.len == 3 && ngx_strncmp(arg.data, "mp4", 3) == 0) {
            ctx->variant = NGX_HTTP_VIDSTREAM_VARIANT_MP4;

        } else if (arg.len == 9 && ngx_strncmp(arg.data, "thumbnail", 9) == 0)
        {
            ctx->variant = NGX_HTTP_VIDSTREAM_VARIANT_THUMBNAIL;

        } else if (arg.len == 3 && ngx_strncmp(arg.data, "hls", 3) == 0) {
            ctx->variant = NGX_HTTP_VIDSTREAM_VARIANT_HLS;

        } else {
            return ngx_http_vidstream_api_bad(r, "variant must be mp4, "
                                              "thumbnail or hls");
        }
    }

    if (ngx_http_arg(r, (u_char *) "redirect", 8, &arg) == NGX_OK) {

        if (arg.len == 1 && arg.data[0] == '1') {
            ctx->redirect = 1;

        } else if (!(arg.len == 1 && arg.data[0] == '0')) {
            return ngx_http_vidstream_api_bad(r, "redirect must be 0 or 1");
        }
    }

    return NGX_OK;
}


/*
 * Sends a statement with nparams (value, length) pairs (a NULL value is
 * SQL NULL).  NGX_OK: the handler runs later.  Otherwise what the caller
 * returns / finalizes with (503 already sent).
 */

static ngx_int_t
ngx_http_vidstream_api_query(ngx_http_vidstream_api_ctx_t *ctx,
    ngx_uint_t stmt, ngx_uint_t nparams, ...)
{
    u_char                         *value, *p;
    size_t                          len;
    va_list                         args;
    ngx_int_t                       rc;
    ngx_uint_t                      i;
    ngx_http_vidstream_pg_query_t  *q;

    q = &ctx->query;

    q->stmt = stmt;
    q->nparams = nparams;
    q->handler = ngx_http_vidstream_api_pg_done;
    q->data = ctx;
    q->log = ctx->request->connection->log;

    va_start(args, nparams);

    for (i = 0; i < nparams; i++) {
        value = va_arg(args, u_char *);
        len = va_arg(args, size_t);

        /* text parameters go to libpq as C strings */

        if (value) {
            p = ngx_pnalloc(ctx->request->pool, len + 1);
            if (p == NULL) {
                va_end(args);
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            *ngx_cpymem(p, value, len) = '\0';
            value = p;
        }

        q->values[i] = (const char *) value;
        q->lengths[i] = (int) len;
    }

    va_end(args);

    rc = ngx_http_vidstream_pg_send(q);

    if (rc == NGX_OK) {
        ctx->pg_pending = 1;
        return NGX_OK;
    }

    if (rc == NGX_ERROR) {
        ngx_log_error(NGX_LOG_ERR, q->log, 0,
                      "vidstream api: no PostgreSQL pool "
                      "(is vidstream_postgres set?)");
    }

    return ngx_http_vidstream_api_unavailable(ctx->request);
}


static void
ngx_http_vidstream_api_pg_done(ngx_http_vidstream_pg_query_t *q,
    ngx_http_vidstream_pg_status_e status, PGresult *res)
{
    ngx_int_t                      rc;
    ngx_connection_t              *c;
    ngx_http_request_t            *r;
    ngx_http_vidstream_api_ctx_t  *ctx;

    ctx = q->data;
    ctx->pg_pending = 0;
    r = ctx->request;
    c = r->connection;

    if (ctx->action == NGX_HTTP_VIDSTREAM_HEALTHZ) {
        ctx->pg_ok = (status == NGX_HTTP_VIDSTREAM_PG_OK);
        rc = ngx_http_vidstream_healthz_part_done(ctx);

    } else if (q->stmt == NGX_HTTP_VIDSTREAM_STMT_ENQUEUED) {
        /*
         * SQS has the job whatever became of enqueued_at: left NULL, the
         * reconciler sends the job once more, which the worker's guarded
         * claim makes harmless
         */
        rc = ngx_http_vidstream_api_queued(ctx);

    } else if (status != NGX_HTTP_VIDSTREAM_PG_OK) {
        rc = ngx_http_vidstream_api_unavailable(r);

    } else {
        rc = ngx_http_vidstream_api_result(ctx, res);
    }

    if (rc != NGX_DONE) {
        ngx_http_vidstream_api_finish(ctx, rc);
    }

    ngx_http_run_posted_requests(c);
}


static ngx_int_t
ngx_http_vidstream_api_result(ngx_http_vidstream_api_ctx_t *ctx,
    PGresult *res)
{
    ngx_str_t            id, video;
    ngx_http_request_t  *r;

    r = ctx->request;

    switch (ctx->query.stmt) {

    case NGX_HTTP_VIDSTREAM_STMT_CREATE:
        return ngx_http_vidstream_api_created(ctx, res);

    case NGX_HTTP_VIDSTREAM_STMT_CREATE_IDEM:
        return ngx_http_vidstream_api_created_idem(ctx, res);

    case NGX_HTTP_VIDSTREAM_STMT_GET:
        if (PQntuples(res) != 1) {
            break;
        }

        if (ctx->action == NGX_HTTP_VIDSTREAM_CREATE) {
            /* a repeated create whose video committed during its query */
            id.data = ctx->id;
            id.len = NGX_HTTP_VIDSTREAM_UUID_LEN;
            video.data = (u_char *) PQgetvalue(res, 0, 0);
            video.len = PQgetlength(res, 0, 0);

            return ngx_http_vidstream_api_created_video(ctx, &id, &video);
        }

        return ngx_http_vidstream_api_send_json(r, NGX_HTTP_OK,
                                        (u_char *) PQgetvalue(res, 0, 0),
                                        PQgetlength(res, 0, 0));

    case NGX_HTTP_VIDSTREAM_STMT_LIST:
        return ngx_http_vidstream_api_listed(ctx, res);

    case NGX_HTTP_VIDSTREAM_STMT_COMPLETE:
        return ngx_http_vidstream_api_completed(ctx, res);

    case NGX_HTTP_VIDSTREAM_STMT_DOWNLOAD:
        if (ctx->action == NGX_HTTP_VIDSTREAM_PLAYBACK) {
            return ngx_http_vidstream_play_playback(r, ctx->id, &ctx->sub,
                       PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : NULL,
                       PQntuples(res) == 1 && PQgetvalue(res, 0, 3)[0] == 't');
        }

        return ngx_http_vidstream_api_downloaded(ctx, res);

    case NGX_HTTP_VIDSTREAM_STMT_DELETE_MARK:
        if (PQntuples(res) != 1) {
            break;
        }

        ctx->input_key.len = PQgetlength(res, 0, 0);
        ctx->input_key.data = ngx_pnalloc(r->pool, ctx->input_key.len);
        if (ctx->input_key.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_memcpy(ctx->input_key.data, PQgetvalue(res, 0, 0),
                   ctx->input_key.len);

        if (!PQgetisnull(res, 0, 1)) {
            /* an unfinished multipart upload is aborted first */
            id.data = (u_char *) PQgetvalue(res, 0, 1);
            id.len = PQgetlength(res, 0, 1);

            return ngx_http_vidstream_multipart_abort(r, &ctx->sub, ctx->id,
                                        &id,
                                        ngx_http_vidstream_api_delete_next);
        }

        return ngx_http_vidstream_api_s3_list(ctx);

    case NGX_HTTP_VIDSTREAM_STMT_DELETE_ROW:
        r->headers_out.status = NGX_HTTP_NO_CONTENT;
        r->headers_out.content_length_n = 0;
        r->header_only = 1;
        return ngx_http_send_header(r);
    }

    return ngx_http_vidstream_send_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                         "no such video");
}


static ngx_int_t
ngx_http_vidstream_api_created(ngx_http_vidstream_api_ctx_t *ctx,
    PGresult *res)
{
    ngx_str_t  id, video;

    if (PQntuples(res) != 1 || PQnfields(res) < 2) {
        return ngx_http_vidstream_api_unavailable(ctx->request);
    }

    id.data = (u_char *) PQgetvalue(res, 0, 0);
    id.len = PQgetlength(res, 0, 0);
    video.data = (u_char *) PQgetvalue(res, 0, 1);
    video.len = PQgetlength(res, 0, 1);

    return ngx_http_vidstream_api_created_video(ctx, &id, &video);
}


/*
 * POST /videos with an Idempotency-Key: the video created now, or the one
 * created before under the key (201 again, with fresh upload URLs), or 422
 * when the key was used for another request.
 */

static ngx_int_t
ngx_http_vidstream_api_created_idem(ngx_http_vidstream_api_ctx_t *ctx,
    PGresult *res)
{
    char                *kind;
    ngx_int_t            rc;
    ngx_http_request_t  *r;

    r = ctx->request;

    if (PQntuples(res) != 1 || PQnfields(res) != 3
        || PQgetlength(res, 0, 0) != NGX_HTTP_VIDSTREAM_UUID_LEN)
    {
        return ngx_http_vidstream_api_unavailable(r);
    }

    kind = PQgetvalue(res, 0, 2);

    if (ngx_strcmp(kind, "conflict") == 0) {
        ngx_str_set(&r->headers_out.status_line, "422 Unprocessable Content");

        return ngx_http_vidstream_send_error(r,
                                             NGX_HTTP_VIDSTREAM_UNPROCESSABLE,
                                             "idempotency_conflict",
                                             "this Idempotency-Key was used "
                                             "for a different request");
    }

    ctx->repeat = (ngx_strcmp(kind, "repeat") == 0);

    if (ctx->repeat && PQgetisnull(res, 0, 1)) {

        /* the first create committed while this statement ran: read it */

        ngx_memcpy(ctx->id, PQgetvalue(res, 0, 0),
                   NGX_HTTP_VIDSTREAM_UUID_LEN);

        rc = ngx_http_vidstream_api_query(ctx, NGX_HTTP_VIDSTREAM_STMT_GET, 2,
                                          ctx->id,
                                          (size_t) NGX_HTTP_VIDSTREAM_UUID_LEN,
                                          ctx->sub.data, ctx->sub.len);

        return rc == NGX_OK ? NGX_DONE : rc;
    }

    return ngx_http_vidstream_api_created(ctx, res);
}


static ngx_int_t
ngx_http_vidstream_api_created_video(ngx_http_vidstream_api_ctx_t *ctx,
    ngx_str_t *id, ngx_str_t *vid)
{
    u_char              *body, *p, *video;
    size_t               len, video_len;
    ngx_str_t            url, key;
    vs_sigv4_kv_t        header;
    ngx_table_elt_t     *h;
    ngx_http_request_t  *r;
    u_char               expires_at[VS_RFC3339_LEN + 1];

    r = ctx->request;

    if (ctx->multipart) {
        return ngx_http_vidstream_multipart_created(r, &ctx->sub, id, vid,
                                                    &ctx->content_type,
                                                    ctx->size_n, ctx->repeat);
    }

    video = vid->data;
    video_len = vid->len;

    if (id->len != NGX_HTTP_VIDSTREAM_UUID_LEN || video_len < 2
        || video[video_len - 1] != '}')
    {
        return ngx_http_vidstream_api_unavailable(r);
    }

    /* input/<sub>/<id>/source */

    key.len = sizeof("input///source") - 1 + ctx->sub.len + id->len;
    key.data = ngx_pnalloc(r->pool, key.len);
    if (key.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_sprintf(key.data, "input/%V/%V/source", &ctx->sub, id);

    header.name = "content-type";
    header.name_len = sizeof("content-type") - 1;
    header.value = (char *) ctx->content_type.data;
    header.value_len = ctx->content_type.len;

    if (ngx_http_vidstream_api_presign(ctx, "PUT", &key, NULL, 0, &header, 1,
                                       &url, expires_at)
        != NGX_OK)
    {
        return ngx_http_vidstream_api_unavailable(r);
    }

    /* the video object with "upload" appended */

    len = video_len + url.len + ctx->content_type.len
          + sizeof(",\"upload\":{\"method\":\"PUT\",\"url\":\"\","
                   "\"headers\":{\"Content-Type\":\"\"},"
                   "\"expires_at\":\"\"}}\n")
          + VS_RFC3339_LEN
          + ngx_escape_json(NULL, url.data, url.len)
          + ngx_escape_json(NULL, ctx->content_type.data,
                            ctx->content_type.len);

    body = ngx_pnalloc(r->pool, len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(body, video, video_len - 1);
    p = ngx_cpymem(p, ",\"upload\":{\"method\":\"PUT\",\"url\":\"",
                   sizeof(",\"upload\":{\"method\":\"PUT\",\"url\":\"") - 1);
    p = (u_char *) ngx_escape_json(p, url.data, url.len);
    p = ngx_cpymem(p, "\",\"headers\":{\"Content-Type\":\"",
                   sizeof("\",\"headers\":{\"Content-Type\":\"") - 1);
    p = (u_char *) ngx_escape_json(p, ctx->content_type.data,
                                   ctx->content_type.len);
    p = ngx_sprintf(p, "\"},\"expires_at\":\"%s\"}}\n", expires_at);

    /* Location: /videos/<id> */

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Location");
    h->value.data = ngx_pnalloc(r->pool, sizeof("/videos/") - 1 + id->len);
    if (h->value.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->value.len = ngx_sprintf(h->value.data, "/videos/%V", id)
                   - h->value.data;

    /*
     * not r->headers_out.location: the header filter would make it
     * absolute, and the contract's Location is the path
     */

    return ngx_http_vidstream_api_send_json(r, NGX_HTTP_CREATED, body,
                                            p - body);
}


static ngx_int_t
ngx_http_vidstream_api_listed(ngx_http_vidstream_api_ctx_t *ctx,
    PGresult *res)
{
    u_char              *body, *p;
    size_t               len;
    ngx_int_t            i, n, items;
    ngx_str_t            cursor, raw;
    ngx_http_request_t  *r;

    r = ctx->request;
    n = PQntuples(res);
    items = ngx_min(n, (ngx_int_t) ctx->limit);

    len = sizeof("{\"items\":[],\"next_cursor\":null}\n") + 128;

    for (i = 0; i < items; i++) {
        len += PQgetlength(res, i, 0) + 1;
    }

    body = ngx_pnalloc(r->pool, len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(body, "{\"items\":[", sizeof("{\"items\":[") - 1);

    for (i = 0; i < items; i++) {
        if (i) {
            *p++ = ',';
        }

        p = ngx_cpymem(p, PQgetvalue(res, i, 0), PQgetlength(res, i, 0));
    }

    p = ngx_cpymem(p, "],\"next_cursor\":", sizeof("],\"next_cursor\":") - 1);

    if (n > (ngx_int_t) ctx->limit) {
        /* more follow: the cursor is the last item returned */
        i = items - 1;

        raw.len = PQgetlength(res, i, 1) + 1 + PQgetlength(res, i, 2);
        raw.data = ngx_pnalloc(r->pool, raw.len);
        if (raw.data == NULL || raw.len > 64) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_sprintf(raw.data, "%s|%s", PQgetvalue(res, i, 1),
                    PQgetvalue(res, i, 2));

        cursor.data = p + 1;
        ngx_encode_base64url(&cursor, &raw);

        *p = '"';
        p += 1 + cursor.len;
        *p++ = '"';

    } else {
        p = ngx_cpymem(p, "null", 4);
    }

    p = ngx_cpymem(p, "}\n", 2);

    return ngx_http_vidstream_api_send_json(r, NGX_HTTP_OK, body, p - body);
}


static ngx_int_t
ngx_http_vidstream_api_completed(ngx_http_vidstream_api_ctx_t *ctx,
    PGresult *res)
{
    u_char              *body, *p;
    char                *status;
    ngx_str_t            upload_id;
    ngx_http_request_t  *r;

    r = ctx->request;

    if (PQntuples(res) != 1) {
        return ngx_http_vidstream_send_error(r, NGX_HTTP_NOT_FOUND,
                                             "not_found", "no such video");
    }

    status = PQgetvalue(res, 0, 1);

    if (PQgetvalue(res, 0, 0)[0] != 't' && !PQgetisnull(res, 0, 4)
        && ngx_strcmp(status, "pending_upload") == 0)
    {
        /* S3 completes the multipart upload first, then we go on */

        upload_id.data = (u_char *) PQgetvalue(res, 0, 4);
        upload_id.len = PQgetlength(res, 0, 4);

        return ngx_http_vidstream_multipart_complete(r, ctx->id, &ctx->sub,
                   &upload_id,
                   ngx_atoof((u_char *) PQgetvalue(res, 0, 5),
                             PQgetlength(res, 0, 5)),
                   ngx_atoof((u_char *) PQgetvalue(res, 0, 6),
                             PQgetlength(res, 0, 6)),
                   ngx_atoof((u_char *) PQgetvalue(res, 0, 7),
                             PQgetlength(res, 0, 7)),
                   ngx_http_vidstream_api_complete_next);
    }

    /*
     * Moved to queued by us, or queued by a complete whose job was never
     * sent (SQS or PostgreSQL failed or stalled on the way): send it.
     */

    ctx->resend = PQgetvalue(res, 0, 0)[0] != 't'
                  && ngx_strcmp(status, "queued") == 0
                  && PQgetvalue(res, 0, 3)[0] == 't';

    if (PQgetvalue(res, 0, 0)[0] == 't' || ctx->resend) {

        ctx->input_key.len = PQgetlength(res, 0, 2);
        ctx->input_key.data = ngx_pnalloc(r->pool, ctx->input_key.len + 1);
        if (ctx->input_key.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_memcpy(ctx->input_key.data, PQgetvalue(res, 0, 2),
                   ctx->input_key.len + 1);

        return ngx_http_vidstream_api_sqs_send(ctx);
    }

    if (ngx_strcmp(status, "queued") == 0
        || ngx_strcmp(status, "processing") == 0
        || ngx_strcmp(status, "done") == 0)
    {
        /* idempotent: a job exists already, no second message */

        body = ngx_pnalloc(r->pool, 128);
        if (body == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        p = ngx_sprintf(body, "{\"id\":\"%s\",\"status\":\"%s\"}\n",
                        ctx->id, status);

        return ngx_http_vidstream_api_send_json(r, NGX_HTTP_OK, body,
                                                p - body);
    }

    if (ngx_strcmp(status, "deleted") == 0) {
        return ngx_http_vidstream_send_error(r, NGX_HTTP_CONFLICT, "conflict",
                                             "the video is being deleted");
    }

    return ngx_http_vidstream_send_error(r, NGX_HTTP_CONFLICT, "conflict",
                                         "the video has failed and cannot "
                                         "be queued again");
}


/* the multipart upload is complete: queue the video as for a single PUT */

static ngx_int_t
ngx_http_vidstream_api_complete_next(ngx_http_request_t *r)
{
    ngx_int_t                      rc;
    ngx_http_vidstream_api_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_vidstream_api_module);

    rc = ngx_http_vidstream_api_query(ctx, NGX_HTTP_VIDSTREAM_STMT_COMPLETE,
                                      2, ctx->id,
                                      (size_t) NGX_HTTP_VIDSTREAM_UUID_LEN,
                                      ctx->sub.data, ctx->sub.len);

    return rc == NGX_OK ? NGX_DONE : rc;
}


/* the multipart upload is aborted: remove the objects, then the row */

static ngx_int_t
ngx_http_vidstream_api_delete_next(ngx_http_request_t *r)
{
    ngx_http_vidstream_api_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_vidstream_api_module);

    return ngx_http_vidstream_api_s3_list(ctx);
}


static ngx_int_t
ngx_http_vidstream_api_sqs_send(ngx_http_vidstream_api_ctx_t *ctx)
{
    long                                 n;
    u_char                              *p;
    char                                *job;
    size_t                               len;
    vs_job_t                             jv;
    ngx_int_t                            rc;
    ngx_str_t                            path;
    ngx_http_request_t                  *r;
    ngx_http_vidstream_aws_call_t       *call;
    ngx_http_vidstream_api_main_conf_t  *amcf;

    r = ctx->request;
    amcf = ctx->amcf;
    call = &ctx->call;

    if (amcf->queue_url.len == 0 || amcf->sqs_location.len == 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vidstream api: vidstream_sqs_queue_url and "
                      "vidstream_sqs_location are required for complete");
        goto failed;
    }

    rc = ngx_http_vidstream_aws_creds(r, &amcf->credentials_location, call);

    if (rc == NGX_AGAIN) {
        call->done = ngx_http_vidstream_api_sqs_done;
        ctx->step = 1;
        return NGX_DONE;
    }

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vidstream api: no AWS credentials to send the job");
        goto failed;
    }

    /* the job message of CONTRACT.md section 6 */

    jv.video_id = (char *) ctx->id;
    ctx->owner = ngx_pnalloc(r->pool, ctx->sub.len + 1);
    if (ctx->owner == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    *ngx_cpymem(ctx->owner, ctx->sub.data, ctx->sub.len) = '\0';
    jv.owner = ctx->owner;
    jv.bucket = (char *) amcf->bucket.data;
    jv.key = (char *) ctx->input_key.data;

    job = ngx_pnalloc(r->pool, VS_JOB_ENCODED_MAX);
    if (job == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = vs_job_encode_buf(&jv, job, VS_JOB_ENCODED_MAX);
    if (n < 0 || n >= VS_JOB_ENCODED_MAX) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vidstream api: cannot encode the job: %s",
                      vs_job_invalid(&jv) ? vs_job_invalid(&jv) : "size");
        goto failed;
    }

    /* {"QueueUrl":"…","MessageBody":"<job, escaped>"} */

    len = sizeof("{\"QueueUrl\":\"\",\"MessageBody\":\"\"}")
          + amcf->queue_url.len
          + ngx_escape_json(NULL, amcf->queue_url.data, amcf->queue_url.len)
          + n + ngx_escape_json(NULL, (u_char *) job, n);

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memzero(call, sizeof(ngx_http_vidstream_aws_call_t));

    call->body.data = p;
    p = ngx_cpymem(p, "{\"QueueUrl\":\"", sizeof("{\"QueueUrl\":\"") - 1);
    p = (u_char *) ngx_escape_json(p, amcf->queue_url.data,
                                   amcf->queue_url.len);
    p = ngx_cpymem(p, "\",\"MessageBody\":\"",
                   sizeof("\",\"MessageBody\":\"") - 1);
    p = (u_char *) ngx_escape_json(p, (u_char *) job, n);
    p = ngx_cpymem(p, "\"}", 2);
    call->body.len = p - call->body.data;

    call->location = amcf->sqs_location;
    call->method = NGX_HTTP_POST;
    ngx_str_set(&call->method_name, "POST");
    call->host.data = (u_char *) amcf->sqs->authority;
    call->host.len = amcf->sqs->authority_len;

    path.len = amcf->sqs->base_path_len + 1;
    path.data = ngx_pnalloc(r->pool, path.len);
    if (path.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_sprintf(path.data, "%*s/", amcf->sqs->base_path_len,
                amcf->sqs->base_path);
    call->uri = path;

    call->headers[0].name = "Content-Type";
    call->headers[0].name_len = sizeof("Content-Type") - 1;
    call->headers[0].value = "application/x-amz-json-1.0";
    call->headers[0].value_len = sizeof("application/x-amz-json-1.0") - 1;
    call->headers[1].name = "X-Amz-Target";
    call->headers[1].name_len = sizeof("X-Amz-Target") - 1;
    call->headers[1].value = "AmazonSQS.SendMessage";
    call->headers[1].value_len = sizeof("AmazonSQS.SendMessage") - 1;
    call->nheaders = 2;

    if (ngx_http_vidstream_aws_sign(r, amcf->sqs, call, &path, NULL, 0)
        != NGX_OK)
    {
        goto failed;
    }

    call->done = ngx_http_vidstream_api_sqs_done;
    ctx->step = 2;

    if (ngx_http_vidstream_aws_call(r, call) != NGX_OK) {
        goto failed;
    }

    return NGX_DONE;

failed:

    /*
     * The video stays queued with enqueued_at NULL: a retried complete or
     * the reconciler sends the job.  Never back to pending_upload: a
     * SendMessage that timed out may still have reached SQS, and a revert
     * racing a retried complete would strand a video whose job was sent.
     */

    return ngx_http_vidstream_api_unavailable(r);
}


static void
ngx_http_vidstream_api_sqs_done(ngx_http_request_t *r)
{
    ngx_int_t                      rc;
    ngx_connection_t              *c;
    ngx_http_vidstream_api_ctx_t  *ctx;

    r->write_event_handler = ngx_http_request_empty_handler;

    ctx = ngx_http_get_module_ctx(r, ngx_http_vidstream_api_module);
    c = r->connection;

    if (ctx->step == 1) {
        /* credentials refreshed (or not): now send */
        (void) ngx_http_vidstream_aws_creds_done(r, &ctx->call);
        rc = ngx_http_vidstream_api_sqs_send(ctx);
        goto done;
    }

    if (ctx->call.status == NGX_HTTP_OK
        && ngx_strlcasestrn(ctx->call.response.data,
                            ctx->call.response.data + ctx->call.response.len,
                            (u_char *) "MessageId", 9 - 1)
           != NULL)
    {
        rc = ngx_http_vidstream_api_mark_enqueued(ctx);
        goto done;
    }

    ngx_log_error(NGX_LOG_ERR, c->log, 0,
                  "vidstream api: SQS SendMessage failed with %ui%s: %*s",
                  ctx->call.status,
                  ctx->call.timed_out ? " (vidstream_aws_timeout)" : "",
                  ngx_min(ctx->call.response.len, 512),
                  ctx->call.response.data);

    /* still queued, enqueued_at NULL: see ngx_http_vidstream_api_sqs_send */

    rc = ngx_http_vidstream_api_unavailable(r);

done:

    if (rc != NGX_DONE) {
        ngx_http_vidstream_api_finish(ctx, rc);
    }

    ngx_http_run_posted_requests(c);
}


/* SQS answered: enqueued_at is set, then the client is answered */

static ngx_int_t
ngx_http_vidstream_api_mark_enqueued(ngx_http_vidstream_api_ctx_t *ctx)
{
    ngx_http_vidstream_pg_query_t  *q;

    q = &ctx->query;

    q->stmt = NGX_HTTP_VIDSTREAM_STMT_ENQUEUED;
    q->nparams = 2;
    q->values[0] = (const char *) ctx->id;
    q->lengths[0] = NGX_HTTP_VIDSTREAM_UUID_LEN;
    q->values[1] = ctx->owner;
    q->lengths[1] = (int) ctx->sub.len;
    q->handler = ngx_http_vidstream_api_pg_done;
    q->data = ctx;
    q->log = ctx->request->connection->log;

    if (ngx_http_vidstream_pg_send(q) == NGX_OK) {
        ctx->pg_pending = 1;
        return NGX_DONE;
    }

    /* PostgreSQL is away: the reconciler sends the job once more */

    return ngx_http_vidstream_api_queued(ctx);
}


/* 202 for the complete that queued the video, 200 for one that resent */

static ngx_int_t
ngx_http_vidstream_api_queued(ngx_http_vidstream_api_ctx_t *ctx)
{
    u_char  *body, *p;

    body = ngx_pnalloc(ctx->request->pool, 128);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(body, "{\"id\":\"%s\",\"status\":\"queued\"}\n",
                    ctx->id);

    return ngx_http_vidstream_api_send_json(ctx->request,
                                            ctx->resend ? NGX_HTTP_OK
                                                        : NGX_HTTP_ACCEPTED,
                                            body, p - body);
}


static ngx_int_t
ngx_http_vidstream_api_downloaded(ngx_http_vidstream_api_ctx_t *ctx,
    PGresult *res)
{
    u_char              *body, *p, *disp;
    char                *status;
    size_t               len, disp_len, escape;
    ngx_str_t            key, url, filename;
    ngx_uint_t           ready, nquery;
    vs_sigv4_kv_t        query[1];
    ngx_table_elt_t     *h;
    ngx_http_request_t  *r;
    u_char               expires_at[VS_RFC3339_LEN + 1];

    static const char   *names[] = { "video.mp4", "thumbnail.jpg",
                                     "hls/index.m3u8" };
    static const char   *variants[] = { "mp4", "thumbnail", "hls" };

    r = ctx->request;

    if (PQntuples(res) != 1) {
        return ngx_http_vidstream_send_error(r, NGX_HTTP_NOT_FOUND,
                                             "not_found", "no such video");
    }

    status = PQgetvalue(res, 0, 0);
    ready = ngx_strcmp(status, "done") == 0
            && PQgetvalue(res, 0, 1 + ctx->variant)[0] == 't';

    if (!ready) {
        body = ngx_pnalloc(r->pool, 256);
        if (body == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        p = ngx_sprintf(body, "{\"error\":\"not_ready\",\"message\":\""
                        "the %s variant is not available\","
                        "\"status\":\"%s\"}\n",
                        variants[ctx->variant], status);

        return ngx_http_vidstream_api_send_json(r, NGX_HTTP_CONFLICT, body,
                                                p - body);
    }

    key.len = sizeof("output///") - 1 + ctx->sub.len
              + NGX_HTTP_VIDSTREAM_UUID_LEN
              + ngx_strlen(names[ctx->variant]);
    key.data = ngx_pnalloc(r->pool, key.len);
    if (key.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_sprintf(key.data, "output/%V/%s/%s", &ctx->sub, ctx->id,
                names[ctx->variant]);

    nquery = 0;

    if (ctx->variant != NGX_HTTP_VIDSTREAM_VARIANT_HLS) {
        filename.data = (u_char *) PQgetvalue(res, 0, 4);
        filename.len = PQgetlength(res, 0, 4);

        disp = ngx_http_vidstream_api_disposition(r->pool, &filename,
                                                  &disp_len);
        if (disp == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        query[0].name = "response-content-disposition";
        query[0].name_len = sizeof("response-content-disposition") - 1;
        query[0].value = (char *) disp;
        query[0].value_len = disp_len;
        nquery = 1;
    }

    if (ngx_http_vidstream_api_presign(ctx, "GET", &key, query, nquery,
                                       NULL, 0, &url, expires_at)
        != NGX_OK)
    {
        return ngx_http_vidstream_api_unavailable(r);
    }

    if (ctx->redirect) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Location");
        h->value = url;
        r->headers_out.location = h;

        return ngx_http_vidstream_api_send_json(r, NGX_HTTP_MOVED_TEMPORARILY,
                                                NULL, 0);
    }

    /* a presigned URL is percent-encoded: escaping is almost never due */

    escape = ngx_escape_json(NULL, url.data, url.len);

    len = sizeof("{\"url\":\"\",\"expires_at\":\"\",\"variant\":\"\"}\n")
          + url.len + escape + VS_RFC3339_LEN + sizeof("thumbnail");

    body = ngx_pnalloc(r->pool, len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(body, "{\"url\":\"", sizeof("{\"url\":\"") - 1);
    p = escape ? (u_char *) ngx_escape_json(p, url.data, url.len)
               : ngx_cpymem(p, url.data, url.len);
    p = ngx_sprintf(p, "\",\"expires_at\":\"%s\",\"variant\":\"%s\"}\n",
                    expires_at, variants[ctx->variant]);

    return ngx_http_vidstream_api_send_json(r, NGX_HTTP_OK, body, p - body);
}


/*
 * RFC 6266: attachment; filename="<ASCII fallback>";
 * filename*=UTF-8''<RFC 5987 percent-encoding>.  The fallback replaces
 * every byte outside printable ASCII, '"', '\\' and '%' with '_'.
 */

static u_char *
ngx_http_vidstream_api_disposition(ngx_pool_t *pool, ngx_str_t *filename,
    size_t *len)
{
    u_char  *out, *p, *s, *last, c;

    static u_char  hex[] = "0123456789ABCDEF";

    out = ngx_pnalloc(pool, sizeof("attachment; filename=\"\"; "
                                   "filename*=UTF-8''")
                            + 4 * filename->len);
    if (out == NULL) {
        return NULL;
    }

    p = ngx_cpymem(out, "attachment; filename=\"",
                   sizeof("attachment; filename=\"") - 1);

    last = filename->data + filename->len;

    for (s = filename->data; s < last; s++) {
        c = *s;
        *p++ = (c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '%')
               ? '_' : c;
    }

    p = ngx_cpymem(p, "\"; filename*=UTF-8''",
                   sizeof("\"; filename*=UTF-8''") - 1);

    /* attr-char of RFC 5987 */

    for (s = filename->data; s < last; s++) {
        c = *s;

        if (isalnum(c) || ngx_strchr("!#$&+-.^_`|~", c)) {
            *p++ = c;

        } else {
            *p++ = '%';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 0xf];
        }
    }

    *len = p - out;

    return out;
}


/* DELETE: list what the video has under output/, then delete it all */

static ngx_int_t
ngx_http_vidstream_api_s3_list(ngx_http_vidstream_api_ctx_t *ctx)
{
    u_char                              *p;
    size_t                               len;
    ssize_t                              n;
    ngx_int_t                            rc;
    ngx_str_t                            path, prefix;
    vs_sigv4_kv_t                        query[2];
    ngx_http_request_t                  *r;
    ngx_http_vidstream_aws_call_t       *call;
    ngx_http_vidstream_api_main_conf_t  *amcf;

    r = ctx->request;
    amcf = ctx->amcf;
    call = &ctx->call;

    if (amcf->s3_location.len == 0 || amcf->bucket.len == 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vidstream api: vidstream_s3_bucket and "
                      "vidstream_s3_location are required for delete");
        return ngx_http_vidstream_api_unavailable(r);
    }

    if (++ctx->rounds > NGX_HTTP_VIDSTREAM_DELETE_ROUNDS) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vidstream api: too many objects to delete");
        return ngx_http_vidstream_api_unavailable(r);
    }

    rc = ngx_http_vidstream_aws_creds(r, &amcf->credentials_location, call);

    if (rc == NGX_AGAIN) {
        call->done = ngx_http_vidstream_api_s3_done;
        ctx->step = 1;
        return NGX_DONE;
    }

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vidstream api: no AWS credentials for S3");
        return ngx_http_vidstream_api_unavailable(r);
    }

    prefix.len = sizeof("output///") - 1 + ctx->sub.len
                 + NGX_HTTP_VIDSTREAM_UUID_LEN;
    prefix.data = ngx_pnalloc(r->pool, prefix.len);
    if (prefix.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_sprintf(prefix.data, "output/%V/%s/", &ctx->sub, ctx->id);

    query[0].name = "list-type";
    query[0].name_len = sizeof("list-type") - 1;
    query[0].value = "2";
    query[0].value_len = 1;
    query[1].name = "prefix";
    query[1].name_len = sizeof("prefix") - 1;
    query[1].value = (char *) prefix.data;
    query[1].value_len = prefix.len;

    ngx_memzero(call, sizeof(ngx_http_vidstream_aws_call_t));

    call->location = amcf->s3_location;
    call->method = NGX_HTTP_GET;
    ngx_str_set(&call->method_name, "GET");

    p = ngx_pnalloc(r->pool, VS_AWS_HOST_MAX + 8 + amcf->bucket.len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = vs_aws_s3_host(amcf->s3, (char *) amcf->bucket.data,
                       amcf->bucket.len, (char *) p,
                       VS_AWS_HOST_MAX + 8 + amcf->bucket.len);
    if (n < 0) {
        goto too_long;
    }

    call->host.data = p;
    call->host.len = n;

    len = VS_AWS_BASE_PATH_MAX + 3 * amcf->bucket.len + 3;
    path.data = ngx_pnalloc(r->pool, len + 3 * prefix.len + 64);
    if (path.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = vs_aws_s3_path(amcf->s3, (char *) amcf->bucket.data,
                       amcf->bucket.len, "", 0, (char *) path.data, len);
    if (n < 0) {
        goto too_long;
    }

    path.len = n;

    if (ngx_http_vidstream_aws_sign(r, amcf->s3, call, &path, query, 2)
        != NGX_OK)
    {
        return ngx_http_vidstream_api_unavailable(r);
    }

    /* the request line: path?canonical query */

    call->uri.data = path.data;
    p = path.data + path.len;
    *p++ = '?';

    n = vs_sigv4_query(query, 2, (char *) p, 3 * prefix.len + 60);
    if (n < 0) {
        goto too_long;
    }

    call->uri.len = p + n - path.data;

    call->done = ngx_http_vidstream_api_s3_done;
    ctx->step = 2;

    if (ngx_http_vidstream_aws_call(r, call) != NGX_OK) {
        return ngx_http_vidstream_api_unavailable(r);
    }

    return NGX_DONE;

too_long:

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "vidstream api: S3 host or path too long for the buffer");

    return ngx_http_vidstream_api_unavailable(r);
}


/*
 * DeleteObjects with the keys of a ListObjectsV2 answer (XML, entities
 * kept as they are: they are valid in the request's XML too) and, on the
 * first round, the input object.
 */

static ngx_int_t
ngx_http_vidstream_api_s3_delete(ngx_http_vidstream_api_ctx_t *ctx,
    ngx_str_t *listing)
{
    u_char                              *p, *s, *e, *last, *body;
    size_t                               len;
    ssize_t                              n;
    ngx_str_t                            path;
    ngx_uint_t                           nkeys;
    vs_sigv4_kv_t                        query[1];
    ngx_http_request_t                  *r;
    ngx_http_vidstream_aws_call_t       *call;
    ngx_http_vidstream_api_main_conf_t  *amcf;
    char                                 md5[VS_AWS_CONTENT_MD5_LEN + 1];

    r = ctx->request;
    amcf = ctx->amcf;
    call = &ctx->call;

    len = sizeof("<Delete><Quiet>true</Quiet></Delete>")
          + listing->len * 2 + 6 * ctx->input_key.len + 64;

    body = ngx_pnalloc(r->pool, len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(body, "<Delete><Quiet>true</Quiet>",
                   sizeof("<Delete><Quiet>true</Quiet>") - 1);
    nkeys = 0;

    s = listing->data;
    last = listing->data + listing->len;

    for ( ;; ) {
        s = ngx_strlcasestrn(s, last, (u_char *) "<Key>", 5 - 1);
        if (s == NULL) {
            break;
        }

        s += 5;
        e = ngx_strlcasestrn(s, last, (u_char *) "</Key>", 6 - 1);
        if (e == NULL) {
            break;
        }

        p = ngx_sprintf(p, "<Object><Key>%*s</Key></Object>", e - s, s);
        nkeys++;
        s = e + 6;
    }

    if (ctx->input_key.len) {
        p = ngx_cpymem(p, "<Object><Key>", sizeof("<Object><Key>") - 1);
        p = (u_char *) ngx_escape_html(p, ctx->input_key.data,
                                       ctx->input_key.len);
        p = ngx_cpymem(p, "</Key></Object>", sizeof("</Key></Object>") - 1);
        ngx_str_null(&ctx->input_key);
        nkeys++;
    }

    if (nkeys == 0) {
        /* S3 is clean: the row goes */
        return NGX_AGAIN;
    }

    p = ngx_cpymem(p, "</Delete>", sizeof("</Delete>") - 1);

    vs_aws_content_md5(body, p - body, md5);

    ngx_memzero(call, sizeof(ngx_http_vidstream_aws_call_t));

    call->body.data = body;
    call->body.len = p - body;
    call->location = amcf->s3_location;
    call->method = NGX_HTTP_POST;
    ngx_str_set(&call->method_name, "POST");

    p = ngx_pnalloc(r->pool, VS_AWS_HOST_MAX + 8 + amcf->bucket.len
                             + VS_AWS_CONTENT_MD5_LEN + 1);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = vs_aws_s3_host(amcf->s3, (char *) amcf->bucket.data,
                       amcf->bucket.len, (char *) p,
                       VS_AWS_HOST_MAX + 8 + amcf->bucket.len);
    if (n < 0) {
        goto too_long;
    }

    call->host.data = p;
    call->host.len = n;

    p += call->host.len + 1;
    ngx_memcpy(p, md5, VS_AWS_CONTENT_MD5_LEN);

    call->headers[0].name = "Content-MD5";
    call->headers[0].name_len = sizeof("Content-MD5") - 1;
    call->headers[0].value = (char *) p;
    call->headers[0].value_len = VS_AWS_CONTENT_MD5_LEN;
    call->headers[1].name = "Content-Type";
    call->headers[1].name_len = sizeof("Content-Type") - 1;
    call->headers[1].value = "application/xml";
    call->headers[1].value_len = sizeof("application/xml") - 1;
    call->nheaders = 2;

    len = VS_AWS_BASE_PATH_MAX + 3 * amcf->bucket.len + 3;
    path.data = ngx_pnalloc(r->pool, len + sizeof("?delete="));
    if (path.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = vs_aws_s3_path(amcf->s3, (char *) amcf->bucket.data,
                       amcf->bucket.len, "", 0, (char *) path.data, len);
    if (n < 0) {
        goto too_long;
    }

    path.len = n;

    query[0].name = "delete";
    query[0].name_len = sizeof("delete") - 1;
    query[0].value = "";
    query[0].value_len = 0;

    if (ngx_http_vidstream_aws_sign(r, amcf->s3, call, &path, query, 1)
        != NGX_OK)
    {
        return ngx_http_vidstream_api_unavailable(r);
    }

    call->uri.data = path.data;
    call->uri.len = ngx_sprintf(path.data + path.len, "?delete=")
                    - path.data;

    call->done = ngx_http_vidstream_api_s3_done;
    ctx->step = 3;

    if (ngx_http_vidstream_aws_call(r, call) != NGX_OK) {
        return ngx_http_vidstream_api_unavailable(r);
    }

    return NGX_DONE;

too_long:

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "vidstream api: S3 host or path too long for the buffer");

    return ngx_http_vidstream_api_unavailable(r);
}


static void
ngx_http_vidstream_api_s3_done(ngx_http_request_t *r)
{
    ngx_int_t                      rc;
    ngx_connection_t              *c;
    ngx_http_vidstream_aws_call_t *call;
    ngx_http_vidstream_api_ctx_t  *ctx;

    r->write_event_handler = ngx_http_request_empty_handler;

    ctx = ngx_http_get_module_ctx(r, ngx_http_vidstream_api_module);
    c = r->connection;
    call = &ctx->call;

    switch (ctx->step) {

    case 1:
        (void) ngx_http_vidstream_aws_creds_done(r, call);
        ctx->rounds--;
        rc = ngx_http_vidstream_api_s3_list(ctx);
        break;

    case 2:
        if (call->status != NGX_HTTP_OK) {
            goto failed;
        }

        rc = ngx_http_vidstream_api_s3_delete(ctx, &call->response);

        if (rc == NGX_AGAIN) {
            rc = ngx_http_vidstream_api_query(ctx,
                                      NGX_HTTP_VIDSTREAM_STMT_DELETE_ROW, 2,
                                      ctx->id,
                                      (size_t) NGX_HTTP_VIDSTREAM_UUID_LEN,
                                      ctx->sub.data, ctx->sub.len);
            if (rc == NGX_OK) {
                rc = NGX_DONE;
            }
        }

        break;

    default: /* 3 */
        if (call->status != NGX_HTTP_OK
            || ngx_strlcasestrn(call->response.data,
                                call->response.data + call->response.len,
                                (u_char *) "<Error>", 7 - 1)
               != NULL)
        {
            goto failed;
        }

        /* list again: more pages, or nothing left */
        rc = ngx_http_vidstream_api_s3_list(ctx);
        break;
    }

    goto done;

failed:

    ngx_log_error(NGX_LOG_ERR, c->log, 0,
                  "vidstream api: S3 answered %ui while deleting: %*s",
                  call->status, ngx_min(call->response.len, 512),
                  call->response.data);

    rc = ngx_http_vidstream_api_unavailable(r);

done:

    if (rc != NGX_DONE) {
        ngx_http_vidstream_api_finish(ctx, rc);
    }

    ngx_http_run_posted_requests(c);
}


static ngx_int_t
ngx_http_vidstream_api_presign(ngx_http_vidstream_api_ctx_t *ctx,
    const char *method, ngx_str_t *key, vs_sigv4_kv_t *query, size_t nquery,
    vs_sigv4_kv_t *headers, size_t nheaders, ngx_str_t *url,
    u_char *expires_at)
{
    ssize_t                              n;
    time_t                               now;
    vs_sigv4_presign_t                   req;
    const vs_aws_creds_t                *creds;
    ngx_http_vidstream_api_main_conf_t  *amcf;

    amcf = ctx->amcf;

    creds = ngx_http_vidstream_aws_creds_current();
    if (creds == NULL || amcf->bucket.len == 0) {
        ngx_log_error(NGX_LOG_ERR, ctx->request->connection->log, 0,
                      "vidstream api: cannot presign: %s",
                      creds ? "no vidstream_s3_bucket"
                            : "no AWS credentials");
        return NGX_ERROR;
    }

    url->data = ngx_pnalloc(ctx->request->pool, VS_SIGV4_URL_MAX);
    if (url->data == NULL) {
        return NGX_ERROR;
    }

    now = ngx_time();

    ngx_memzero(&req, sizeof(vs_sigv4_presign_t));
    req.method = method;
    req.method_len = ngx_strlen(method);
    req.bucket = (char *) amcf->bucket.data;
    req.bucket_len = amcf->bucket.len;
    req.key = (char *) key->data;
    req.key_len = key->len;
    req.query = query;
    req.nquery = nquery;
    req.headers = headers;
    req.nheaders = nheaders;
    req.now = now;
    req.expires = amcf->presign_expires;

    n = vs_sigv4_presign(amcf->s3, creds, &ngx_http_vidstream_aws_state->keys,
                         &req, (char *) url->data, VS_SIGV4_URL_MAX);
    if (n < 0) {
        ngx_log_error(NGX_LOG_ERR, ctx->request->connection->log, 0,
                      "vidstream api: cannot presign %s", method);
        return NGX_ERROR;
    }

    url->len = n;

    if (vs_rfc3339(now + vs_sigv4_presign_expires(amcf->presign_expires),
                   (char *) expires_at)
        != 0)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_vidstream_api_send_json(ngx_http_request_t *r, ngx_uint_t status,
    u_char *body, size_t len)
{
    return ngx_http_vidstream_send_body(r, status,
                                        &ngx_http_vidstream_api_json,
                                        body, len);
}


static ngx_int_t
ngx_http_vidstream_api_unavailable(ngx_http_request_t *r)
{
    return ngx_http_vidstream_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "unavailable",
                                         "the service is temporarily "
                                         "unavailable, try again");
}


static void
ngx_http_vidstream_api_finish(ngx_http_vidstream_api_ctx_t *ctx,
    ngx_int_t rc)
{
    ngx_http_finalize_request(ctx->request, rc);
}


static char *
ngx_http_vidstream_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t            *clcf, **loc;
    ngx_http_vidstream_api_main_conf_t  *amcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_vidstream_api_handler;

    amcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_vidstream_api_module);

    loc = ngx_array_push(&amcf->locations);
    if (loc == NULL) {
        return NGX_CONF_ERROR;
    }

    *loc = clcf;

    return NGX_CONF_OK;
}


static char *
ngx_http_vidstream_healthz(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_vidstream_healthz_handler;

    return NGX_CONF_OK;
}


static char *
ngx_http_vidstream_postgres(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_vidstream_api_main_conf_t  *amcf = conf;

    ngx_str_t  *value;

    if (amcf->pg.keywords) {
        return "is duplicate";
    }

    value = cf->args->elts;

    return ngx_http_vidstream_pg_conf_set(cf, &value[1], cf->args->nelts - 1,
                                          &amcf->pg);
}


static char *
ngx_http_vidstream_redis(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_vidstream_api_main_conf_t  *amcf = conf;

    ngx_str_t  *value;

    if (amcf->redis.addr) {
        return "is duplicate";
    }

    value = cf->args->elts;

    return ngx_http_vidstream_redis_conf_set(cf, &value[1],
                                             cf->args->nelts - 1,
                                             &amcf->redis);
}


static ngx_int_t
ngx_http_vidstream_api_preconfiguration(ngx_conf_t *cf)
{
    ngx_http_vidstream_aws_set_ctx_index(
                                   ngx_http_vidstream_api_module.ctx_index);

    return ngx_http_vidstream_aws_add_variables(cf);
}


/*
 * A POST /videos body up to vidstream_api_body_limit must stay in memory:
 * reading it back from a temp file would block.  Once the locations are
 * merged, the body buffer of every vidstream_api location is raised to
 * hold the limit and one byte more (nginx goes to a file only when its
 * buffer is full); a body that still lands in a file is over the limit.
 */

static ngx_int_t
ngx_http_vidstream_api_postconfiguration(ngx_conf_t *cf)
{
    ngx_uint_t                           i;
    ngx_http_core_loc_conf_t           **loc;
    ngx_http_vidstream_api_main_conf_t  *amcf;

    amcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_vidstream_api_module);
    loc = amcf->locations.elts;

    for (i = 0; i < amcf->locations.nelts; i++) {
        if (loc[i]->client_body_buffer_size < amcf->body_limit + 1) {
            loc[i]->client_body_buffer_size = amcf->body_limit + 1;
        }

        loc[i]->client_body_in_single_buffer = 1;
    }

    return NGX_OK;
}


static void *
ngx_http_vidstream_api_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_vidstream_api_main_conf_t  *amcf;

    amcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_vidstream_api_main_conf_t));
    if (amcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&amcf->locations, cf->pool, 4,
                       sizeof(ngx_http_core_loc_conf_t *))
        != NGX_OK)
    {
        return NULL;
    }

    amcf->addressing = NGX_CONF_UNSET_UINT;
    amcf->presign_expires = NGX_CONF_UNSET;
    amcf->aws_timeout = NGX_CONF_UNSET_MSEC;
    amcf->max_upload_size = NGX_CONF_UNSET;
    amcf->body_limit = NGX_CONF_UNSET_SIZE;

    return amcf;
}


static char *
ngx_http_vidstream_api_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_vidstream_api_main_conf_t  *amcf = conf;

    int              kind;
    const char      *url, *region;
    vs_aws_creds_t  *creds;
    char             err[256];

    ngx_conf_init_uint_value(amcf->addressing, VS_AWS_ADDR_AUTO);
    ngx_conf_init_value(amcf->presign_expires, VS_SIGV4_EXPIRES_DEFAULT);
    ngx_conf_init_msec_value(amcf->aws_timeout, 5000);
    if (amcf->max_upload_size == NGX_CONF_UNSET) {
        /* 5 TiB: the largest S3 object (a multipart upload) */
        amcf->max_upload_size = (off_t) 5 * 1024 * 1024 * 1024 * 1024;
    }

    ngx_conf_init_size_value(amcf->body_limit, 16 * 1024);

    if (amcf->s3_location.len == 0) {
        ngx_str_set(&amcf->s3_location, "/_vidstream/s3");
    }

    if (amcf->sqs_location.len == 0) {
        ngx_str_set(&amcf->sqs_location, "/_vidstream/sqs");
    }

    if (amcf->credentials_location.len == 0) {
        ngx_str_set(&amcf->credentials_location,
                    "/_vidstream/credentials");
    }

    if (amcf->presign_expires < 1
        || amcf->presign_expires > VS_SIGV4_EXPIRES_MAX)
    {
        return "vidstream_presign_expires must be from 1s to 7d";
    }

    if (amcf->aws_timeout < 1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "vidstream_aws_timeout must be positive");
        return NGX_CONF_ERROR;
    }

    if (amcf->max_upload_size < 1) {
        return "vidstream_max_upload_size must be positive";
    }

    /* endpoints: directives, else AWS_* environment, else AWS's */

    if (amcf->region.len == 0) {
        region = vs_aws_region_from_env();
        amcf->region.data = (u_char *) region;
        amcf->region.len = ngx_strlen(region);
    }

    amcf->s3 = ngx_pcalloc(cf->pool, sizeof(vs_aws_endpoint_t));
    amcf->sqs = ngx_pcalloc(cf->pool, sizeof(vs_aws_endpoint_t));
    amcf->provider = ngx_pcalloc(cf->pool, sizeof(vs_aws_provider_t));
    if (amcf->s3 == NULL || amcf->sqs == NULL || amcf->provider == NULL) {
        return NGX_CONF_ERROR;
    }

    url = amcf->s3_endpoint.len ? (char *) amcf->s3_endpoint.data
                                : vs_aws_endpoint_url_from_env("S3");

    if (vs_aws_endpoint_init(amcf->s3, "s3", 2, (char *) amcf->region.data,
                             amcf->region.len, url, url ? ngx_strlen(url) : 0,
                             amcf->addressing, err, sizeof(err))
        != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid S3 endpoint: %s", err);
        return NGX_CONF_ERROR;
    }

    url = amcf->sqs_endpoint.len ? (char *) amcf->sqs_endpoint.data
                                 : vs_aws_endpoint_url_from_env("SQS");

    if (vs_aws_endpoint_init(amcf->sqs, "sqs", 3, (char *) amcf->region.data,
                             amcf->region.len, url, url ? ngx_strlen(url) : 0,
                             VS_AWS_ADDR_AUTO, err, sizeof(err))
        != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid SQS endpoint: %s", err);
        return NGX_CONF_ERROR;
    }

    /* credentials: static directives, else environment, else ECS */

    creds = NULL;

    if (amcf->access_key_id.len || amcf->secret_access_key.len) {
        creds = ngx_pcalloc(cf->pool, sizeof(vs_aws_creds_t));
        if (creds == NULL) {
            return NGX_CONF_ERROR;
        }

        if (vs_aws_creds_set(creds, (char *) amcf->access_key_id.data,
                             amcf->access_key_id.len,
                             (char *) amcf->secret_access_key.data,
                             amcf->secret_access_key.len,
                             (char *) amcf->session_token.data,
                             amcf->session_token.len, 0, err, sizeof(err))
            != 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid AWS credentials: %s", err);
            return NGX_CONF_ERROR;
        }
    }

    kind = vs_aws_provider_init(amcf->provider, creds, err, sizeof(err));
    if (kind < 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid AWS credentials: %s", err);
        return NGX_CONF_ERROR;
    }

    if (creds) {
        ngx_explicit_memzero(creds, sizeof(vs_aws_creds_t));
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_vidstream_api_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                           napi, nmp;
    ngx_http_vidstream_pg_stmt_t        *stmts, *mp;
    ngx_http_vidstream_api_main_conf_t  *amcf;

    amcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_vidstream_api_module);
    if (amcf == NULL) {
        return NGX_OK;
    }

    if (ngx_http_vidstream_aws_init_process(cycle, amcf->provider,
                                            amcf->aws_timeout)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (amcf->pg.keywords == NULL) {
        return NGX_OK;
    }

    /* the pool prepares the api's statements, then the multipart ones */

    napi = sizeof(ngx_http_vidstream_api_stmts)
           / sizeof(ngx_http_vidstream_pg_stmt_t);
    mp = ngx_http_vidstream_multipart_stmts(napi, &nmp);

    stmts = ngx_palloc(cycle->pool,
                       (napi + nmp) * sizeof(ngx_http_vidstream_pg_stmt_t));
    if (stmts == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(stmts, ngx_http_vidstream_api_stmts,
               napi * sizeof(ngx_http_vidstream_pg_stmt_t));
    ngx_memcpy(stmts + napi, mp, nmp * sizeof(ngx_http_vidstream_pg_stmt_t));

    return ngx_http_vidstream_pg_init(cycle, &amcf->pg, stmts, napi + nmp);
}


static void
ngx_http_vidstream_api_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_vidstream_pg_done(cycle);
}


ngx_int_t
ngx_http_vidstream_api_s3_conf(ngx_http_request_t *r,
    ngx_http_vidstream_s3_conf_t *conf)
{
    ngx_http_vidstream_api_main_conf_t  *amcf;

    amcf = ngx_http_get_module_main_conf(r, ngx_http_vidstream_api_module);
    if (amcf == NULL || amcf->s3 == NULL) {
        return NGX_ERROR;
    }

    conf->s3 = amcf->s3;
    conf->bucket = amcf->bucket;
    conf->credentials_location = amcf->credentials_location;
    conf->s3_location = amcf->s3_location;
    conf->presign_expires = amcf->presign_expires;

    return NGX_OK;
}
