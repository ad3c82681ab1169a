/*
 * libvidstream: the queue messages of CONTRACT.md section 6.
 *
 * nginx encodes the job message it sends on POST /videos/<id>/complete; the
 * worker parses whatever arrives on the queue: that job message, an S3 event
 * notification (raw or inside an SNS envelope, keys form-encoded) or the
 * s3:TestEvent S3 sends when a notification is configured.
 *
 * Pure functions over jansson: no I/O, no global state, thread-safe.
 * Every message body is hostile input; parsing never trusts a length or a
 * field type it has not checked.
 */
#ifndef VS_MSG_H
#define VS_MSG_H

#include <stddef.h>

#define VS_MSG_VERSION      1
#define VS_MSG_ID_LEN       36          /* lowercase UUID */
#define VS_MSG_MAX_FIELD    1024        /* owner, bucket, key: bytes */
#define VS_MSG_MAX_BODY     (256 * 1024)  /* the SQS message size limit */

/*
 * One job: transcode the object bucket/key of video video_id owned by owner.
 * For vs_msg_job_encode() the fields are borrowed (const char * would do; they
 * are not modified); a vs_msg_t owns the jobs it parsed.
 */
typedef struct {
    char  *video_id;    /* lowercase UUID */
    char  *owner;       /* the Cognito sub */
    char  *bucket;
    char  *key;         /* input/<owner>/<video_id>/source */
} vs_msg_job_t;

/*
 * The job message, {"version":1,"video_id":…,"owner":…,"bucket":…,"key":…},
 * as a malloc'd NUL-terminated string the caller frees with free(). NULL
 * when a field is missing or invalid (see vs_msg_job_valid()) or on ENOMEM.
 */
char *vs_msg_job_encode(const vs_msg_job_t *job);

/*
 * The same into a caller's buffer (an nginx pool, say). Returns the length
 * of the JSON (without the NUL): when it is >= size nothing useful was
 * written and the caller retries with a buffer of at least that length + 1.
 * Returns -1 when the job is invalid. VS_MSG_JOB_ENCODED_MAX bounds the length
 * of any valid job's encoding, so a buffer of that size always suffices.
 */
#define VS_MSG_JOB_ENCODED_MAX  (128 + 6 * 3 * VS_MSG_MAX_FIELD)
long vs_msg_job_encode_buf(const vs_msg_job_t *job, char *buf, size_t size);

/*
 * NULL when the job is well formed, else a static string saying why:
 * video_id a lowercase UUID; owner non-empty, no '/', no control character;
 * bucket non-empty; key exactly "input/<owner>/<video_id>/source"; every
 * field at most VS_MSG_MAX_FIELD bytes of valid UTF-8.
 */
const char *vs_msg_job_invalid(const vs_msg_job_t *job);
#define vs_msg_job_valid(job)  (vs_msg_job_invalid(job) == NULL)

/*
 * Splits an input key "input/<owner>/<video_id>/source" (already decoded)
 * into malloc'd *owner and *video_id. Returns 0, or -1 when the key does
 * not have that shape (vs_keys_input_parse(); nothing is allocated then).
 */
int vs_msg_key_split(const char *key, char **owner, char **video_id);

/*
 * Decodes an S3 event notification key in place: '+' is a space and %XX a
 * byte. Returns 0, or -1 on a malformed escape or an encoded NUL.
 */
int vs_form_decode(char *s);


typedef enum {
    VS_MSG_INVALID = 0,     /* malformed: log and delete it; it changes
                               no video (CONTRACT.md section 6: only a
                               message whose video_id, owner and key all
                               match a row may) */
    VS_MSG_JOBS,            /* jobs[0..njobs) to run */
    VS_MSG_TEST_EVENT,      /* s3:TestEvent: delete, do nothing */
    VS_MSG_IGNORED          /* well formed, nothing for us (another event
                               type, a key outside input/, an SNS
                               subscription confirmation): delete */
} vs_msg_kind_t;

typedef struct {
    vs_msg_kind_t  kind;
    size_t         njobs;
    vs_msg_job_t      *jobs;
    /* for VS_MSG_INVALID and VS_MSG_IGNORED: why, for the log */
    char           reason[160];
    /* 1 when the jobs come from an S3 event notification (the upload is
       known to be complete) rather than from nginx's job message */
    int            from_s3_event;
} vs_msg_t;

/*
 * Parses one SQS message body of len bytes (need not be NUL-terminated).
 * Always fills *msg (zeroed first); the caller calls vs_msg_free() after.
 * Returns msg->kind.
 */
vs_msg_kind_t vs_msg_parse(const char *body, size_t len, vs_msg_t *msg);
void vs_msg_free(vs_msg_t *msg);

#endif
