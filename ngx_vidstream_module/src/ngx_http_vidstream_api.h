
/*
 * ngx_http_vidstream_api.h: what the files of the videos API share: the
 * main conf, the per-request ctx, the statements and the functions one
 * file calls in another.  Nothing outside ngx_http_vidstream_api_*.c
 * includes it.
 */

#ifndef _NGX_HTTP_VIDSTREAM_API_H_INCLUDED_
#define _NGX_HTTP_VIDSTREAM_API_H_INCLUDED_


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
#include "ngx_http_vidstream_shm_cache.h"
#include "ngx_http_vidstream_jwt.h"

#include "vs_msg.h"
#include "vs_util.h"
#include "vs_video.h"



#define NGX_HTTP_VIDSTREAM_UUID_LEN  36
/* contract section 3: a filename is 1 to 255 bytes */
#define NGX_HTTP_VIDSTREAM_FILENAME_MAX  255

/* a parameter of ngx_http_vidstream_api_query() already NUL-terminated */
#define NGX_HTTP_VIDSTREAM_API_CSTR  ((size_t) -1)

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
    ngx_shm_zone_t                 *video_cache;  /* done videos */
    time_t                          video_cache_valid;

    /* the vidstream_api locations, to size their body buffers */
    ngx_array_t                     locations;
} ngx_http_vidstream_api_main_conf_t;

/*
 * Where a request is in its flow: one enum per action family, read by the
 * one switch of that family's file when PostgreSQL, S3 or SQS answers
 * (nginx names its states the same way: ngx_http_upstream's handlers,
 * limit_req's results).  ctx->action says which flow the request is on.
 */

typedef enum {
    NGX_HTTP_VIDSTREAM_CREATE_CREDS = 0,   /* presigning credentials */
    NGX_HTTP_VIDSTREAM_CREATE_INSERT,      /* vs_create */
    NGX_HTTP_VIDSTREAM_CREATE_INSERT_IDEM, /* vs_create_idem */
    NGX_HTTP_VIDSTREAM_CREATE_REREAD       /* vs_get: a repeat's video */
} ngx_http_vidstream_create_state_e;


typedef enum {
    NGX_HTTP_VIDSTREAM_COMPLETE_QUEUE = 0, /* vs_complete */
    NGX_HTTP_VIDSTREAM_COMPLETE_MULTIPART, /* S3 completes the upload */
    NGX_HTTP_VIDSTREAM_COMPLETE_CREDS,     /* credentials for SQS */
    NGX_HTTP_VIDSTREAM_COMPLETE_SEND,      /* SQS SendMessage */
    NGX_HTTP_VIDSTREAM_COMPLETE_MARK       /* vs_enqueued */
} ngx_http_vidstream_complete_state_e;


typedef enum {
    NGX_HTTP_VIDSTREAM_READ_LIST = 0,      /* vs_list */
    NGX_HTTP_VIDSTREAM_READ_GET            /* vs_get */
} ngx_http_vidstream_read_state_e;


typedef enum {
    NGX_HTTP_VIDSTREAM_DOWNLOAD_CREDS = 0, /* presigning credentials */
    NGX_HTTP_VIDSTREAM_DOWNLOAD_ROW,       /* vs_download */
    NGX_HTTP_VIDSTREAM_DOWNLOAD_PLAYBACK   /* vs_download, then play */
} ngx_http_vidstream_download_state_e;


typedef enum {
    NGX_HTTP_VIDSTREAM_DELETE_MARK = 0,    /* vs_delete_mark */
    NGX_HTTP_VIDSTREAM_DELETE_ABORT,       /* the multipart upload aborted */
    NGX_HTTP_VIDSTREAM_DELETE_CREDS,       /* credentials for S3 */
    NGX_HTTP_VIDSTREAM_DELETE_LIST,        /* S3 ListObjectsV2 */
    NGX_HTTP_VIDSTREAM_DELETE_OBJECTS,     /* S3 DeleteObjects */
    NGX_HTTP_VIDSTREAM_DELETE_ROW          /* vs_delete_row */
} ngx_http_vidstream_delete_state_e;


/* what download and playback read of a video (a row, or the cache) */
typedef struct {
    const char                     *status;
    ngx_str_t                       filename;
    unsigned                        mp4:1;
    unsigned                        thumbnail:1;
    unsigned                        hls:1;
} ngx_http_vidstream_api_video_t;


typedef struct {
    ngx_http_request_t             *request;
    ngx_http_vidstream_api_main_conf_t  *amcf;
    ngx_uint_t                      action;
    ngx_str_t                       sub;
    u_char                          id[NGX_HTTP_VIDSTREAM_UUID_LEN + 1];

    ngx_http_vidstream_pg_query_t   query;
    ngx_http_vidstream_aws_call_t   call;

    /* the state of ctx->action's flow */
    union {
        ngx_http_vidstream_create_state_e    create;
        ngx_http_vidstream_complete_state_e  complete;
        ngx_http_vidstream_read_state_e      read;
        ngx_http_vidstream_download_state_e  download;
        ngx_http_vidstream_delete_state_e    delete;
    }                               state;

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


extern ngx_module_t  ngx_http_vidstream_api_module;
extern ngx_http_vidstream_pg_stmt_t  ngx_http_vidstream_api_stmts[];
extern ngx_uint_t  ngx_http_vidstream_api_nstmts;


/* the module file: the handler and the route */
ngx_http_vidstream_api_ctx_t *ngx_http_vidstream_api_ctx(
    ngx_http_request_t *r, ngx_uint_t action);
ngx_int_t ngx_http_vidstream_api_not_allowed(ngx_http_request_t *r,
    const char *allow);

/* _api_args.c */
void ngx_http_vidstream_api_create_body(ngx_http_request_t *r);
ngx_int_t ngx_http_vidstream_api_list_args(ngx_http_request_t *r,
    ngx_http_vidstream_api_ctx_t *ctx);
ngx_int_t ngx_http_vidstream_api_download_args(ngx_http_request_t *r,
    ngx_http_vidstream_api_ctx_t *ctx);

/* _api_sql.c */
ngx_int_t ngx_http_vidstream_api_query(
    ngx_http_vidstream_api_ctx_t *ctx, ngx_uint_t stmt, ngx_uint_t nparams,
    ...);
void ngx_http_vidstream_api_pg_done(ngx_http_vidstream_pg_query_t *q,
    ngx_http_vidstream_pg_status_e status, PGresult *res);
void ngx_http_vidstream_api_call_done(ngx_http_request_t *r);
ngx_int_t ngx_http_vidstream_api_lost(ngx_http_vidstream_api_ctx_t *ctx,
    const char *what);

/* _api_json.c */
ngx_int_t ngx_http_vidstream_api_reject(ngx_http_request_t *r,
    ngx_uint_t status, const char *code, const char *message);
ngx_int_t ngx_http_vidstream_api_bad(ngx_http_request_t *r,
    const char *message);
ngx_int_t ngx_http_vidstream_api_send_json(ngx_http_request_t *r,
    ngx_uint_t status, u_char *body, size_t len);
ngx_int_t ngx_http_vidstream_api_unavailable(ngx_http_request_t *r);
void ngx_http_vidstream_api_finish(ngx_http_vidstream_api_ctx_t *ctx,
    ngx_int_t rc);

/* _api_create.c: create and complete */
ngx_int_t ngx_http_vidstream_api_creds(
    ngx_http_vidstream_api_ctx_t *ctx);
ngx_int_t ngx_http_vidstream_api_create_query(
    ngx_http_vidstream_api_ctx_t *ctx);
ngx_int_t ngx_http_vidstream_api_create_result(
    ngx_http_vidstream_api_ctx_t *ctx,
    ngx_http_vidstream_pg_status_e status, PGresult *res);
ngx_int_t ngx_http_vidstream_api_complete_queue(
    ngx_http_vidstream_api_ctx_t *ctx);
ngx_int_t ngx_http_vidstream_api_complete_result(
    ngx_http_vidstream_api_ctx_t *ctx,
    ngx_http_vidstream_pg_status_e status, PGresult *res);

/* _api_read.c: list and get */
ngx_int_t ngx_http_vidstream_api_read_result(
    ngx_http_vidstream_api_ctx_t *ctx,
    ngx_http_vidstream_pg_status_e status, PGresult *res);

/* _api_download.c: download, playback, presigning */
ngx_int_t ngx_http_vidstream_api_download_row(
    ngx_http_vidstream_api_ctx_t *ctx);
ngx_int_t ngx_http_vidstream_api_download_result(
    ngx_http_vidstream_api_ctx_t *ctx,
    ngx_http_vidstream_pg_status_e status, PGresult *res);
ngx_int_t ngx_http_vidstream_api_presign(
    ngx_http_vidstream_api_ctx_t *ctx, const char *method, ngx_str_t *key,
    vs_sigv4_kv_t *query, size_t nquery, vs_sigv4_kv_t *headers,
    size_t nheaders, size_t before, size_t after, ngx_str_t *url,
    u_char *expires_at);

/* _api_cache.c: done videos in shared memory */
char *ngx_http_vidstream_api_video_cache(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_vidstream_api_cache_get(ngx_http_vidstream_api_ctx_t *ctx,
    ngx_http_vidstream_api_video_t *video);
void ngx_http_vidstream_api_cache_put(ngx_http_vidstream_api_ctx_t *ctx,
    ngx_http_vidstream_api_video_t *video);
void ngx_http_vidstream_api_cache_remove(ngx_http_vidstream_api_ctx_t *ctx);

/* _api_delete.c */
ngx_int_t ngx_http_vidstream_api_delete_result(
    ngx_http_vidstream_api_ctx_t *ctx,
    ngx_http_vidstream_pg_status_e status, PGresult *res);

/* _api_health.c: vidstream_health, vidstream_healthz */
char *ngx_http_vidstream_health(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_vidstream_healthz(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_vidstream_healthz_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_vidstream_healthz_part_done(
    ngx_http_vidstream_api_ctx_t *ctx);

#endif /* _NGX_HTTP_VIDSTREAM_API_H_INCLUDED_ */
