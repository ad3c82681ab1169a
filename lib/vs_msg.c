/*
 * The queue messages of CONTRACT.md section 6: the job message, S3 event
 * notifications (raw or in an SNS envelope) and s3:TestEvent.
 */
#include "vs_msg.h"
#include "vs_keys.h"
#include "vs_util.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* 1 when s[0..len) is valid UTF-8 without control characters. */
static int
vs_job_text_ok(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *) s, *end = p + len;
    unsigned int         c, n, i;

    while (p < end) {
        c = *p++;

        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f) {
                return 0;
            }
            continue;
        }

        if (c >= 0xc2 && c <= 0xdf) {
            n = 1; c &= 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2; c &= 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3; c &= 0x07;
        } else {
            return 0;
        }

        if ((size_t) (end - p) < n) {
            return 0;
        }

        for (i = 0; i < n; i++) {
            if ((p[i] & 0xc0) != 0x80) {
                return 0;
            }
            c = (c << 6) | (p[i] & 0x3f);
        }
        p += n;

        /* overlongs, surrogates, beyond U+10FFFF, C1 controls */
        if ((n == 2 && c < 0x800) || (n == 3 && c < 0x10000)
            || (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff
            || (c >= 0x80 && c <= 0x9f))
        {
            return 0;
        }
    }

    return 1;
}


const char *
vs_msg_job_invalid(const vs_msg_job_t *job)
{
    size_t  olen, klen;

    if (job == NULL) {
        return "no job";
    }

    if (job->video_id == NULL
        || !vs_uuid_valid(job->video_id, strlen(job->video_id)))
    {
        return "video_id is not a lowercase UUID";
    }

    if (job->owner == NULL || job->owner[0] == '\0') {
        return "owner is missing";
    }

    olen = strlen(job->owner);
    if (olen > VS_MSG_MAX_FIELD || !vs_job_text_ok(job->owner, olen)
        || strchr(job->owner, '/') != NULL)
    {
        return "owner is not a valid user id";
    }

    if (job->bucket == NULL || job->bucket[0] == '\0') {
        return "bucket is missing";
    }

    if (strlen(job->bucket) > VS_MSG_MAX_FIELD
        || !vs_job_text_ok(job->bucket, strlen(job->bucket))
        || strchr(job->bucket, '/') != NULL)
    {
        return "bucket is not a valid bucket name";
    }

    if (job->key == NULL) {
        return "key is missing";
    }

    klen = strlen(job->key);

    if (klen > VS_MSG_MAX_FIELD
        || !vs_keys_is_input(job->key, klen, job->owner, olen,
                             job->video_id))
    {
        return "key is not input/<owner>/<video_id>/source";
    }

    return NULL;
}


/*
 * A valid job's text is UTF-8 without control characters (vs_job_text_ok),
 * so '"' and '\\' are all JSON asks to escape; the rest goes as it is, as
 * jansson writes it (t/unit/test_msg.c compares the two).
 */

static size_t
vs_job_json_len(const char *s)
{
    size_t  n;

    for (n = 0; *s; s++) {
        n += (*s == '"' || *s == '\\') ? 2 : 1;
    }

    return n;
}


static char *
vs_job_json_str(char *p, const char *name, const char *s)
{
    p += sprintf(p, ",\"%s\":\"", name);

    for ( /* void */ ; *s; s++) {
        if (*s == '"' || *s == '\\') {
            *p++ = '\\';
        }
        *p++ = *s;
    }

    *p++ = '"';

    return p;
}


char *
vs_msg_job_encode(const vs_msg_job_t *job)
{
    long   n;
    char  *out;

    n = vs_msg_job_encode_buf(job, NULL, 0);
    if (n < 0) {
        return NULL;
    }

    out = malloc((size_t) n + 1);
    if (out != NULL && vs_msg_job_encode_buf(job, out, (size_t) n + 1) != n) {
        free(out);
        return NULL;
    }

    return out;
}


long
vs_msg_job_encode_buf(const vs_msg_job_t *job, char *buf, size_t size)
{
    char    *p;
    size_t   n;

    if (!vs_msg_job_valid(job)) {
        return -1;
    }

    n = sizeof("{\"version\":,\"video_id\":\"\",\"owner\":\"\","
               "\"bucket\":\"\",\"key\":\"\"}") - 1
        + (size_t) snprintf(NULL, 0, "%d", VS_MSG_VERSION) + VS_MSG_ID_LEN + vs_job_json_len(job->owner)
        + vs_job_json_len(job->bucket) + vs_job_json_len(job->key);

    if (n >= size) {
        if (size > 0) {
            buf[0] = '\0';
        }
        return (long) n;
    }

    p = buf + sprintf(buf, "{\"version\":%d,\"video_id\":\"%s\"",
                      VS_MSG_VERSION, job->video_id);
    p = vs_job_json_str(p, "owner", job->owner);
    p = vs_job_json_str(p, "bucket", job->bucket);
    p = vs_job_json_str(p, "key", job->key);
    *p++ = '}';
    *p = '\0';

    return (long) (p - buf);
}


int
vs_msg_key_split(const char *key, char **owner, char **video_id)
{
    vs_keys_input_t  parts;

    *owner = NULL;
    *video_id = NULL;

    if (vs_keys_input_parse(key, strlen(key), &parts) != 0) {
        return -1;
    }

    *owner = strndup(parts.sub, parts.sub_len);
    *video_id = strndup(parts.id, VS_KEYS_ID_LEN);

    if (*owner == NULL || *video_id == NULL) {
        free(*owner);
        free(*video_id);
        *owner = NULL;
        *video_id = NULL;
        return -1;
    }

    return 0;
}


static int
vs_hex(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}


int
vs_form_decode(char *s)
{
    char  *r = s, *w = s;
    int    hi, lo;

    while (*r != '\0') {
        if (*r == '+') {
            *w++ = ' ';
            r++;

        } else if (*r == '%') {
            hi = vs_hex((unsigned char) r[1]);
            lo = hi < 0 ? -1 : vs_hex((unsigned char) r[2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                return -1;
            }
            *w++ = (char) (hi << 4 | lo);
            r += 3;

        } else {
            *w++ = *r++;
        }
    }

    *w = '\0';
    return 0;
}


static vs_msg_kind_t
vs_msg_set(vs_msg_t *msg, vs_msg_kind_t kind, const char *fmt, ...)
{
    va_list  ap;

    msg->kind = kind;
    if (fmt != NULL) {
        va_start(ap, fmt);
        vsnprintf(msg->reason, sizeof(msg->reason), fmt, ap);
        va_end(ap);
    }

    return kind;
}


static void
vs_job_free_fields(vs_msg_job_t *job)
{
    free(job->video_id);
    free(job->owner);
    free(job->bucket);
    free(job->key);
    memset(job, 0, sizeof(*job));
}


/* A string member or NULL. */
static const char *
vs_json_str(json_t *obj, const char *name)
{
    json_t  *v = json_object_get(obj, name);

    return json_is_string(v) ? json_string_value(v) : NULL;
}


static vs_msg_kind_t
vs_msg_parse_job(json_t *root, vs_msg_t *msg)
{
    json_t      *version;
    vs_msg_job_t     job;
    const char  *why;

    version = json_object_get(root, "version");
    if (!json_is_integer(version)
        || json_integer_value(version) != VS_MSG_VERSION)
    {
        return vs_msg_set(msg, VS_MSG_INVALID,
                          "job message: unsupported or missing version");
    }

    /* jansson strings may hold NULs; reject them with the length check */
    job.video_id = (char *) vs_json_str(root, "video_id");
    job.owner = (char *) vs_json_str(root, "owner");
    job.bucket = (char *) vs_json_str(root, "bucket");
    job.key = (char *) vs_json_str(root, "key");

#define VS_NUL_FREE(name)                                                   \
    (json_string_length(json_object_get(root, name))                         \
     == strlen(json_string_value(json_object_get(root, name))))

    why = vs_msg_job_invalid(&job);
    if (why == NULL
        && !(VS_NUL_FREE("video_id") && VS_NUL_FREE("owner")
             && VS_NUL_FREE("bucket")
             && VS_NUL_FREE("key")))
    {
        why = "a field holds a NUL byte";
    }
#undef VS_NUL_FREE

    if (why != NULL) {
        return vs_msg_set(msg, VS_MSG_INVALID, "job message: %s", why);
    }

    msg->jobs = calloc(1, sizeof(vs_msg_job_t));
    if (msg->jobs == NULL) {
        return vs_msg_set(msg, VS_MSG_INVALID, "out of memory");
    }

    msg->jobs[0].video_id = strdup(job.video_id);
    msg->jobs[0].owner = strdup(job.owner);
    msg->jobs[0].bucket = strdup(job.bucket);
    msg->jobs[0].key = strdup(job.key);
    msg->njobs = 1;

    if (msg->jobs[0].video_id == NULL || msg->jobs[0].owner == NULL
        || msg->jobs[0].bucket == NULL || msg->jobs[0].key == NULL)
    {
        return vs_msg_set(msg, VS_MSG_INVALID, "out of memory");
    }

    return vs_msg_set(msg, VS_MSG_JOBS, NULL);
}


/*
 * One S3 event record: 1 a job was added, 0 the record is not for us
 * (another event or prefix), -1 malformed (msg->reason says why).
 */
static int
vs_msg_parse_record(json_t *rec, vs_msg_t *msg)
{
    const char  *event, *bucket, *raw_key;
    json_t      *s3;
    vs_msg_job_t     job;
    const char  *why;
    char        *key = NULL;

    memset(&job, 0, sizeof(job));

    if (!json_is_object(rec)) {
        vs_msg_set(msg, VS_MSG_INVALID, "S3 event: a record is not an object");
        return -1;
    }

    event = vs_json_str(rec, "eventName");
    if (event == NULL) {
        vs_msg_set(msg, VS_MSG_INVALID, "S3 event: record without eventName");
        return -1;
    }

    /* "ObjectCreated:Put", "ObjectCreated:CompleteMultipartUpload"… */
    if (strncmp(event, "ObjectCreated:", sizeof("ObjectCreated:") - 1) != 0) {
        return 0;
    }

    s3 = json_object_get(rec, "s3");
    bucket = vs_json_str(json_object_get(s3, "bucket"), "name");
    raw_key = vs_json_str(json_object_get(s3, "object"), "key");

    if (bucket == NULL || raw_key == NULL) {
        vs_msg_set(msg, VS_MSG_INVALID,
                   "S3 event: record without s3.bucket.name/s3.object.key");
        return -1;
    }

    if (strlen(raw_key) > 3 * VS_MSG_MAX_FIELD) {
        vs_msg_set(msg, VS_MSG_INVALID, "S3 event: key too long");
        return -1;
    }

    key = strdup(raw_key);
    if (key == NULL) {
        vs_msg_set(msg, VS_MSG_INVALID, "out of memory");
        return -1;
    }

    if (vs_form_decode(key) != 0) {
        vs_msg_set(msg, VS_MSG_INVALID, "S3 event: malformed key encoding");
        goto failed;
    }

    if (strncmp(key, VS_KEYS_INPUT_PREFIX,
                VS_KEYS_LIT_LEN(VS_KEYS_INPUT_PREFIX)) != 0)
    {
        free(key);
        return 0;
    }

    if (vs_msg_key_split(key, &job.owner, &job.video_id) != 0) {
        vs_msg_set(msg, VS_MSG_INVALID,
                   "S3 event: key is not input/<owner>/<video_id>/source");
        goto failed;
    }

    job.key = key;
    key = NULL;
    job.bucket = strdup(bucket);
    if (job.bucket == NULL) {
        vs_msg_set(msg, VS_MSG_INVALID, "out of memory");
        goto failed;
    }

    why = vs_msg_job_invalid(&job);
    if (why != NULL) {
        vs_msg_set(msg, VS_MSG_INVALID, "S3 event: %s", why);
        goto failed;
    }

    msg->jobs[msg->njobs++] = job;
    return 1;

failed:

    free(key);
    vs_job_free_fields(&job);
    return -1;
}


static vs_msg_kind_t
vs_msg_parse_records(json_t *records, vs_msg_t *msg)
{
    size_t   i, n;

    n = json_array_size(records);
    if (!json_is_array(records) || n == 0) {
        return vs_msg_set(msg, VS_MSG_INVALID,
                          "S3 event: Records is not a non-empty array");
    }

    if (n > 100) {
        return vs_msg_set(msg, VS_MSG_INVALID, "S3 event: too many records");
    }

    msg->jobs = calloc(n, sizeof(vs_msg_job_t));
    if (msg->jobs == NULL) {
        return vs_msg_set(msg, VS_MSG_INVALID, "out of memory");
    }

    for (i = 0; i < n; i++) {
        if (vs_msg_parse_record(json_array_get(records, i), msg) < 0) {
            return VS_MSG_INVALID;
        }
    }

    msg->from_s3_event = 1;

    if (msg->njobs == 0) {
        return vs_msg_set(msg, VS_MSG_IGNORED,
                          "S3 event: no ObjectCreated record under input/");
    }

    return vs_msg_set(msg, VS_MSG_JOBS, NULL);
}


static vs_msg_kind_t vs_msg_parse_json(const char *body, size_t len,
    vs_msg_t *msg, int depth);


static vs_msg_kind_t
vs_msg_parse_value(json_t *root, vs_msg_t *msg, int depth)
{
    const char  *type, *event, *inner;
    json_t      *message;

    if (!json_is_object(root)) {
        return vs_msg_set(msg, VS_MSG_INVALID, "message is not a JSON object");
    }

    /* SNS envelope: the notification is a JSON string in "Message" */
    type = vs_json_str(root, "Type");
    if (type != NULL && json_object_get(root, "TopicArn") != NULL
        && strcmp(type, "Notification") != 0)
    {
        return vs_msg_set(msg, VS_MSG_IGNORED, "SNS message of type %.64s",
                          type);
    }

    if (type != NULL && strcmp(type, "Notification") == 0) {
        if (depth > 0) {
            return vs_msg_set(msg, VS_MSG_INVALID, "nested SNS envelopes");
        }

        message = json_object_get(root, "Message");
        inner = json_string_value(message);
        if (inner == NULL) {
            return vs_msg_set(msg, VS_MSG_INVALID,
                              "SNS envelope without a Message string");
        }

        return vs_msg_parse_json(inner, json_string_length(message), msg,
                                 depth + 1);
    }

    event = vs_json_str(root, "Event");
    if (event != NULL && strcmp(event, "s3:TestEvent") == 0) {
        return vs_msg_set(msg, VS_MSG_TEST_EVENT, "s3:TestEvent");
    }

    if (json_object_get(root, "Records") != NULL) {
        return vs_msg_parse_records(json_object_get(root, "Records"), msg);
    }

    if (json_object_get(root, "video_id") != NULL
        || json_object_get(root, "version") != NULL)
    {
        return vs_msg_parse_job(root, msg);
    }

    return vs_msg_set(msg, VS_MSG_INVALID,
                      "message is neither a job nor an S3 event");
}


static vs_msg_kind_t
vs_msg_parse_json(const char *body, size_t len, vs_msg_t *msg, int depth)
{
    json_t        *root;
    json_error_t   err;
    vs_msg_kind_t  kind;

    if (len > VS_MSG_MAX_BODY) {
        return vs_msg_set(msg, VS_MSG_INVALID, "message larger than %d bytes",
                          VS_MSG_MAX_BODY);
    }

    root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
    if (root == NULL) {
        return vs_msg_set(msg, VS_MSG_INVALID, "message is not JSON: %.100s",
                          err.text);
    }

    kind = vs_msg_parse_value(root, msg, depth);
    json_decref(root);

    return kind;
}


vs_msg_kind_t
vs_msg_parse(const char *body, size_t len, vs_msg_t *msg)
{
    memset(msg, 0, sizeof(*msg));

    if (body == NULL) {
        return vs_msg_set(msg, VS_MSG_INVALID, "empty message");
    }

    vs_msg_parse_json(body, len, msg, 0);

    if (msg->kind != VS_MSG_JOBS) {
        /* never hand out a half-built job list */
        size_t  i;

        for (i = 0; i < msg->njobs; i++) {
            vs_job_free_fields(&msg->jobs[i]);
        }
        free(msg->jobs);
        msg->jobs = NULL;
        msg->njobs = 0;
    }

    return msg->kind;
}


void
vs_msg_free(vs_msg_t *msg)
{
    size_t  i;

    if (msg == NULL) {
        return;
    }

    for (i = 0; i < msg->njobs; i++) {
        vs_job_free_fields(&msg->jobs[i]);
    }

    free(msg->jobs);
    msg->jobs = NULL;
    msg->njobs = 0;
}
