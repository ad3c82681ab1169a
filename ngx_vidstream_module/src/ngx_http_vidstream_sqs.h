
/*
 * ngx_http_vidstream_sqs: SQS SendMessage made from a request, as the
 * worker's sqs.c makes its calls: the JSON protocol, signed, sent as a
 * subrequest through ngx_http_vidstream_aws.c.  Used by the API
 * (complete).
 */

#ifndef _NGX_HTTP_VIDSTREAM_SQS_H_INCLUDED_
#define _NGX_HTTP_VIDSTREAM_SQS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_vidstream_aws.h"


/*
 * Sends message (len bytes) to queue_url at ep.  The caller has set
 * call's location and done.  Returns NGX_OK (call->done comes later),
 * NGX_HTTP_INTERNAL_SERVER_ERROR when out of memory, or NGX_ERROR when
 * the call could not be made.
 */
ngx_int_t ngx_http_vidstream_sqs_send_message(ngx_http_request_t *r,
    const vs_aws_endpoint_t *ep, ngx_str_t *queue_url, u_char *message,
    size_t len, ngx_http_vidstream_aws_call_t *call);


#endif /* _NGX_HTTP_VIDSTREAM_SQS_H_INCLUDED_ */
