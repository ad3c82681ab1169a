/*
 * SQS over its JSON protocol (application/x-amz-json-1.0, X-Amz-Target
 * AmazonSQS.*): receive, delete, change visibility, and send (the
 * reconciler's resends of a job message).
 */
#ifndef VS_SQS_H
#define VS_SQS_H

#include "aws.h"

typedef struct {
    char    *message_id;
    char    *receipt;           /* ReceiptHandle */
    char    *body;
    size_t   body_len;
    int      receive_count;     /* ApproximateReceiveCount, 1 if absent */
} vs_sqs_msg_t;

/*
 * Long-polls for up to max (1..10) messages. Returns how many were put in
 * msgs (0 on an empty poll), or -1 on error (err).
 *
 * stop (may be NULL: never) aborts the poll in flight. That is lossy:
 * SQS keeps the poll alive after the client has gone and may hand the
 * next message to the closed connection, where it stays invisible for
 * `visibility` seconds. Abort only when losing that time is acceptable.
 */
int vs_sqs_receive(vs_aws_t *aws, const char *queue_url, int max,
    int wait_seconds, int visibility, volatile int *stop, vs_sqs_msg_t *msgs,
    char *err, size_t err_size);
void vs_sqs_msg_free(vs_sqs_msg_t *msg);

int vs_sqs_delete(vs_aws_t *aws, const char *queue_url, const char *receipt,
    char *err, size_t err_size);
int vs_sqs_change_visibility(vs_aws_t *aws, const char *queue_url,
    const char *receipt, int seconds, char *err, size_t err_size);

/*
 * SendMessage of body (a job message, lib/vs_msg). 0 once SQS has accepted
 * it, or -1 (err): then it may or may not have been sent.
 */
int vs_sqs_send(vs_aws_t *aws, const char *queue_url, const char *body,
    char *err, size_t err_size);

/*
 * The queue's RedrivePolicy maxReceiveCount into *max (0 when the queue
 * has no dead-letter queue). 0, or -1 on error (err).
 */
int vs_sqs_max_receive(vs_aws_t *aws, const char *queue_url, int *max,
    char *err, size_t err_size);

#endif
