
/*
 * ngx_http_vidstream_aws: signed calls to S3 and SQS from a request, as
 * nginx subrequests to an internal location that proxies to the service,
 * and the per-worker AWS credentials (static, environment or ECS task role,
 * the latter refreshed through the same kind of subrequest).
 *
 * The internal location sees two variables set for the subrequest:
 *   $vidstream_aws_uri   the request's encoded path and query, as signed;
 *   $vidstream_aws_host  the Host header that was signed;
 * so the configuration is
 *
 *     location = /_vidstream/s3 {
 *         internal;
 *         proxy_pass http://127.0.0.1:4569$vidstream_aws_uri;
 *         proxy_set_header Host $vidstream_aws_host;
 *         subrequest_output_buffer_size 256k;
 *     }
 */

#ifndef _NGX_HTTP_VIDSTREAM_AWS_H_INCLUDED_
#define _NGX_HTTP_VIDSTREAM_AWS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "vs_creds.h"
#include "vs_sigv4.h"


#define NGX_HTTP_VIDSTREAM_AWS_MAX_HEADERS  8


/*
 * One call.  Once the subrequest is over, done is run as the main
 * request's write event handler (not from inside the subrequest), with
 * status the service's HTTP status (502 when it could not be reached) and
 * response what it answered (may be empty).  done finds the call in its
 * own request context and resets r->write_event_handler.
 */
typedef struct {
    /* in */
    ngx_str_t                       location;   /* the internal location */
    ngx_uint_t                      method;     /* NGX_HTTP_POST… */
    ngx_str_t                       method_name;
    ngx_str_t                       host;       /* the signed Host */
    ngx_str_t                       uri;        /* encoded path[?query] */
    vs_sigv4_kv_t                   headers[NGX_HTTP_VIDSTREAM_AWS_MAX_HEADERS];
    ngx_uint_t                      nheaders;
    ngx_str_t                       body;
    ngx_msec_t                      timeout;    /* 0: vidstream_aws_timeout */
    ngx_http_event_handler_pt       done;

    /* out */
    ngx_uint_t                      status;
    ngx_str_t                       response;

    /* private */
    ngx_http_request_t             *sr;
    ngx_event_t                     deadline;   /* vidstream_aws_timeout */
    ngx_uint_t                      service;    /* for the metrics */
    uint64_t                        started;
    unsigned                        finished:1;
    unsigned                        creds_refresh:1;
    unsigned                        timed_out:1;
} ngx_http_vidstream_aws_call_t;


/* per worker: the credentials, the signing-key cache, the call deadline */
typedef struct {
    vs_aws_provider_t               provider;
    vs_sigv4_key_cache_t            keys;
    ngx_msec_t                      timeout;
} ngx_http_vidstream_aws_state_t;


extern ngx_http_vidstream_aws_state_t  *ngx_http_vidstream_aws_state;


/*
 * Copies the configured provider into this worker's state; timeout is the
 * deadline of every call (vidstream_aws_timeout), 0 for none.
 */
ngx_int_t ngx_http_vidstream_aws_init_process(ngx_cycle_t *cycle,
    vs_aws_provider_t *provider, ngx_msec_t timeout);

/*
 * Starts the subrequest.  Returns NGX_OK (call->done comes later) or
 * NGX_ERROR.  The caller holds a reference on r (r->main->count) and
 * returns without finalizing.  A call still running after the worker's
 * timeout ends as 504 with call->timed_out set, whatever the proxy
 * location's own timeouts are.
 */
ngx_int_t ngx_http_vidstream_aws_call(ngx_http_request_t *r,
    ngx_http_vidstream_aws_call_t *call);

/*
 * Signs call for ep with the current credentials: adds Authorization,
 * X-Amz-Date, X-Amz-Content-SHA256 and X-Amz-Security-Token to
 * call->headers.  path is the encoded path, query the raw parameters.
 * Returns NGX_OK, NGX_DECLINED when there are no usable credentials, or
 * NGX_ERROR.
 */
ngx_int_t ngx_http_vidstream_aws_sign(ngx_http_request_t *r,
    const vs_aws_endpoint_t *ep, ngx_http_vidstream_aws_call_t *call,
    ngx_str_t *path, const vs_sigv4_kv_t *query, ngx_uint_t nquery);

/*
 * Makes sure the worker has current credentials before signing.  Returns
 * NGX_OK when they can be used now, NGX_AGAIN when an ECS refresh
 * subrequest was started through location (call->done runs when it is
 * over; it then calls ngx_http_vidstream_aws_creds_done()), NGX_DECLINED
 * when there are none.
 */
ngx_int_t ngx_http_vidstream_aws_creds(ngx_http_request_t *r,
    ngx_str_t *location, ngx_http_vidstream_aws_call_t *call);

/* Feeds a finished refresh call; NGX_OK when credentials are usable. */
ngx_int_t ngx_http_vidstream_aws_creds_done(ngx_http_request_t *r,
    ngx_http_vidstream_aws_call_t *call);

/* The credentials to sign with now, or NULL. */
const vs_aws_creds_t *ngx_http_vidstream_aws_creds_current(void);


#endif /* _NGX_HTTP_VIDSTREAM_AWS_H_INCLUDED_ */
