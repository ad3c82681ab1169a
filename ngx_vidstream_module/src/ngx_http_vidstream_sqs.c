
/*
 * ngx_http_vidstream_sqs.c: SQS SendMessage made from a request (see
 * ngx_http_vidstream_sqs.h).
 */


#include "ngx_http_vidstream_sqs.h"


ngx_int_t
ngx_http_vidstream_sqs_send_message(ngx_http_request_t *r,
    const vs_aws_endpoint_t *ep, ngx_str_t *queue_url, u_char *message,
    size_t len, ngx_http_vidstream_aws_call_t *call)
{
    u_char     *p;
    size_t      size;
    ngx_str_t   path;

    /* {"QueueUrl":"…","MessageBody":"<message, escaped>"} */

    size = sizeof("{\"QueueUrl\":\"\",\"MessageBody\":\"\"}")
           + queue_url->len
           + ngx_escape_json(NULL, queue_url->data, queue_url->len)
           + len + ngx_escape_json(NULL, message, len);

    p = ngx_pnalloc(r->pool, size);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    call->body.data = p;
    p = ngx_cpymem(p, "{\"QueueUrl\":\"", sizeof("{\"QueueUrl\":\"") - 1);
    p = (u_char *) ngx_escape_json(p, queue_url->data, queue_url->len);
    p = ngx_cpymem(p, "\",\"MessageBody\":\"",
                   sizeof("\",\"MessageBody\":\"") - 1);
    p = (u_char *) ngx_escape_json(p, message, len);
    p = ngx_cpymem(p, "\"}", 2);
    call->body.len = p - call->body.data;

    call->method = NGX_HTTP_POST;
    ngx_str_set(&call->method_name, "POST");
    call->host.data = (u_char *) ep->authority;
    call->host.len = ep->authority_len;

    path.len = ep->base_path_len + 1;
    path.data = ngx_pnalloc(r->pool, path.len);
    if (path.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_sprintf(path.data, "%*s/", ep->base_path_len, ep->base_path);
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

    if (ngx_http_vidstream_aws_sign(r, ep, call, &path, NULL, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_vidstream_aws_call(r, call) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_OK;
}
