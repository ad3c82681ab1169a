/*
 * SQS JSON protocol. Requests go to the configured endpoint (the queue URL
 * travels in the body, as the SDKs do); answers are hostile JSON like any
 * other input.
 */
#include "sqs.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>


/* POST one action; *out gets the parsed answer on HTTP 200. */
static int
vs_sqs_call(vs_aws_t *aws, const char *action, json_t *body, long timeout_ms,
    volatile int *stop, json_t **out, char *err, size_t err_size)
{
    vs_aws_req_t     req;
    vs_http_resp_t   resp;
    vs_sigv4_kv_t    headers[2];
    char             target[64], path[VS_AWS_BASE_PATH_MAX + 2];
    char            *payload;
    json_t          *answer;
    json_error_t     jerr;
    const char      *type, *msg;
    int              ret = -1;

    if (out != NULL) {
        *out = NULL;
    }

    payload = json_dumps(body, JSON_COMPACT);
    if (payload == NULL) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }

    snprintf(target, sizeof(target), "AmazonSQS.%s", action);
    snprintf(path, sizeof(path), "%s/", aws->sqs.base_path);

    headers[0] = (vs_sigv4_kv_t) { "content-type", 12,
                                   "application/x-amz-json-1.0", 26 };
    headers[1] = (vs_sigv4_kv_t) { "x-amz-target", 12, target,
                                   strlen(target) };

    memset(&req, 0, sizeof(req));
    req.ep = &aws->sqs;
    req.method = "POST";
    req.host = aws->sqs.authority;
    req.path = path;
    req.headers = headers;
    req.nheaders = 2;
    req.body = payload;
    req.body_len = strlen(payload);
    req.timeout_ms = timeout_ms;
    req.stop = stop;

    if (vs_aws_send(aws, &req, &resp, err, err_size) != 0) {
        goto cleanup;
    }

    answer = json_loadb(resp.body, resp.body_len, 0, &jerr);

    if (resp.status != 200) {
        type = json_string_value(json_object_get(answer, "__type"));
        msg = json_string_value(json_object_get(answer, "message"));
        if (msg == NULL) {
            msg = json_string_value(json_object_get(answer, "Message"));
        }
        snprintf(err, err_size, "SQS %s: HTTP %ld %s %s", action, resp.status,
                 type ? type : "", msg ? msg : "");
        json_decref(answer);
        goto cleanup;
    }

    if (out != NULL) {
        if (answer == NULL && resp.body_len > 0) {
            snprintf(err, err_size, "SQS %s: answer is not JSON", action);
            goto cleanup;
        }
        *out = answer != NULL ? answer : json_object();
    } else {
        json_decref(answer);
    }

    ret = 0;

cleanup:

    vs_http_resp_free(&resp);
    free(payload);
    return ret;
}


int
vs_sqs_receive(vs_aws_t *aws, const char *queue_url, int max,
    int wait_seconds, int visibility, volatile int *stop, vs_sqs_msg_t *msgs,
    char *err, size_t err_size)
{
    json_t        *body, *answer = NULL, *list, *m, *attrs;
    const char    *id, *receipt, *text, *count;
    size_t         i;
    int            n = 0, ret;
    volatile int   never = 0;

    body = json_pack("{s:s, s:i, s:i, s:i, s:[s], s:[s]}",
                     "QueueUrl", queue_url,
                     "MaxNumberOfMessages", max,
                     "WaitTimeSeconds", wait_seconds,
                     "VisibilityTimeout", visibility,
                     "AttributeNames", "ApproximateReceiveCount",
                     "MessageSystemAttributeNames",
                     "ApproximateReceiveCount");
    if (body == NULL) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }

    /* not aws->stop: see sqs.h */
    ret = vs_sqs_call(aws, "ReceiveMessage", body,
                      (wait_seconds + 10) * 1000L,
                      stop != NULL ? stop : &never, &answer, err, err_size);
    json_decref(body);
    if (ret != 0) {
        return -1;
    }

    list = json_object_get(answer, "Messages");
    for (i = 0; i < json_array_size(list) && n < max; i++) {
        m = json_array_get(list, i);
        id = json_string_value(json_object_get(m, "MessageId"));
        receipt = json_string_value(json_object_get(m, "ReceiptHandle"));
        text = json_string_value(json_object_get(m, "Body"));
        if (receipt == NULL) {
            continue;   /* cannot even be deleted: nothing to do with it */
        }

        memset(&msgs[n], 0, sizeof(msgs[n]));
        msgs[n].message_id = strdup(id != NULL ? id : "");
        msgs[n].receipt = strdup(receipt);
        msgs[n].body = text != NULL
                       ? malloc(json_string_length(json_object_get(m, "Body"))
                                + 1)
                       : strdup("");
        if (msgs[n].message_id == NULL || msgs[n].receipt == NULL
            || msgs[n].body == NULL)
        {
            vs_sqs_msg_free(&msgs[n]);
            continue;
        }
        if (text != NULL) {
            msgs[n].body_len = json_string_length(json_object_get(m, "Body"));
            memcpy(msgs[n].body, text, msgs[n].body_len + 1);
        }

        attrs = json_object_get(m, "Attributes");
        count = json_string_value(json_object_get(attrs,
                                                  "ApproximateReceiveCount"));
        msgs[n].receive_count = count != NULL ? atoi(count) : 1;
        if (msgs[n].receive_count < 1) {
            msgs[n].receive_count = 1;
        }
        n++;
    }

    json_decref(answer);
    return n;
}


void
vs_sqs_msg_free(vs_sqs_msg_t *msg)
{
    free(msg->message_id);
    free(msg->receipt);
    free(msg->body);
    memset(msg, 0, sizeof(*msg));
}


int
vs_sqs_delete(vs_aws_t *aws, const char *queue_url, const char *receipt,
    char *err, size_t err_size)
{
    json_t  *body;
    int      ret;

    body = json_pack("{s:s, s:s}", "QueueUrl", queue_url,
                     "ReceiptHandle", receipt);
    if (body == NULL) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }

    /* a delete must go out even during shutdown: no stop flag */
    ret = vs_sqs_call(aws, "DeleteMessage", body, 15000, &(int){0}, NULL,
                      err, err_size);
    json_decref(body);
    return ret;
}


int
vs_sqs_change_visibility(vs_aws_t *aws, const char *queue_url,
    const char *receipt, int seconds, char *err, size_t err_size)
{
    json_t  *body;
    int      ret;

    body = json_pack("{s:s, s:s, s:i}", "QueueUrl", queue_url,
                     "ReceiptHandle", receipt, "VisibilityTimeout", seconds);
    if (body == NULL) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }

    ret = vs_sqs_call(aws, "ChangeMessageVisibility", body, 15000, &(int){0},
                      NULL, err, err_size);
    json_decref(body);
    return ret;
}


int
vs_sqs_send(vs_aws_t *aws, const char *queue_url, const char *body,
    char *err, size_t err_size)
{
    json_t  *req;
    int      ret;

    req = json_pack("{s:s, s:s}", "QueueUrl", queue_url, "MessageBody",
                    body);
    if (req == NULL) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }

    ret = vs_sqs_call(aws, "SendMessage", req, 15000, &(int){0}, NULL, err,
                      err_size);
    json_decref(req);
    return ret;
}


int
vs_sqs_max_receive(vs_aws_t *aws, const char *queue_url, int *max,
    char *err, size_t err_size)
{
    json_t       *body, *answer = NULL, *policy, *v;
    json_error_t  jerr;
    const char   *s;
    int           ret;

    *max = 0;

    body = json_pack("{s:s, s:[s]}", "QueueUrl", queue_url,
                     "AttributeNames", "RedrivePolicy");
    if (body == NULL) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }

    ret = vs_sqs_call(aws, "GetQueueAttributes", body, 15000, aws->stop,
                      &answer, err, err_size);
    json_decref(body);
    if (ret != 0) {
        return -1;
    }

    /* {"Attributes":{"RedrivePolicy":"{\"deadLetterTargetArn\":…,
       \"maxReceiveCount\":5}"}}, the count a number or a string */
    s = json_string_value(json_object_get(json_object_get(answer,
                                                          "Attributes"),
                                          "RedrivePolicy"));
    policy = s != NULL ? json_loads(s, 0, &jerr) : NULL;
    v = json_object_get(policy, "maxReceiveCount");
    if (json_is_integer(v)) {
        *max = (int) json_integer_value(v);
    } else if (json_is_string(v)) {
        *max = atoi(json_string_value(v));
    }
    if (*max < 0 || *max > 1000) {
        *max = 0;
    }

    json_decref(policy);
    json_decref(answer);
    return 0;
}
