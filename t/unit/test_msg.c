/*
 * lib/vs_msg: the queue messages of CONTRACT.md section 6.
 */
#include "vs_test.h"
#include <jansson.h>
#include "vs_msg.h"

#include <stdlib.h>
#include <string.h>

#define ID     "0b0e7c56-3a5f-4f5e-9a3c-1d2e3f405162"
#define SUB    "us-east-1:5f1c2d3e-aaaa-bbbb-cccc-0123456789ab"
#define KEY    "input/" SUB "/" ID "/source"


static vs_msg_kind_t
parse(const char *body, vs_msg_t *msg)
{
    return vs_msg_parse(body, strlen(body), msg);
}


static void
test_encode(void)
{
    vs_msg_job_t  job = { ID, SUB, "vidstream-media", KEY };
    vs_msg_job_t  bad;
    char     *s, buf[VS_MSG_JOB_ENCODED_MAX], small[8];
    long      n;
    vs_msg_t  msg;

    s = vs_msg_job_encode(&job);
    CHECK_STR(s, "{\"version\":1,\"video_id\":\"" ID "\",\"owner\":\"" SUB
                 "\",\"bucket\":\"vidstream-media\",\"key\":\"" KEY "\"}");

    /* round trip */
    CHECK(s != NULL && parse(s, &msg) == VS_MSG_JOBS);
    CHECK(msg.njobs == 1);
    if (msg.njobs == 1) {
        CHECK_STR(msg.jobs[0].video_id, ID);
        CHECK_STR(msg.jobs[0].owner, SUB);
        CHECK_STR(msg.jobs[0].bucket, "vidstream-media");
        CHECK_STR(msg.jobs[0].key, KEY);
    }
    vs_msg_free(&msg);

    n = vs_msg_job_encode_buf(&job, buf, sizeof(buf));
    CHECK(s != NULL && n == (long) strlen(s));
    CHECK(s != NULL && strcmp(buf, s) == 0);

    /* too small a buffer: the needed length, an empty string */
    n = vs_msg_job_encode_buf(&job, small, sizeof(small));
    CHECK(s != NULL && n == (long) strlen(s));
    CHECK(small[0] == '\0');
    free(s);

    /* byte for byte what jansson writes, for hostile but valid text */
    {
        static const char *owners[] = { "a\"b\\c", "\xc3\xa9t\xc3\xa9",
                                        "\xf0\x9f\x8e\xac \\\\ \"\"",
                                        "x<>&'=+ \xe2\x80\xa8", "\\" };
        char           key[256];
        size_t         i;
        json_t        *o;
        char          *mine, *theirs;

        for (i = 0; i < sizeof(owners) / sizeof(owners[0]); i++) {
            vs_msg_job_t  h = { ID, (char *) owners[i], "b\"ucket", key };

            snprintf(key, sizeof(key), "input/%s/" ID "/source", owners[i]);
            o = json_pack("{s:i, s:s, s:s, s:s, s:s}", "version",
                          VS_MSG_VERSION, "video_id", ID, "owner", owners[i],
                          "bucket", "b\"ucket", "key", key);
            theirs = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER)
                       : NULL;
            mine = vs_msg_job_encode(&h);
            CHECK(theirs != NULL && mine != NULL);
            if (theirs != NULL && mine != NULL) {
                CHECK_STR(mine, theirs);
                CHECK(vs_msg_job_encode_buf(&h, NULL, 0)
                      == (long) strlen(theirs));
            }
            free(mine);
            free(theirs);
            json_decref(o);
        }
    }

    /* a quote and a backslash in the owner are escaped, round trip holds */
    {
        vs_msg_job_t q = { ID, "a\"b\\c", "b",
                       "input/a\"b\\c/" ID "/source" };

        s = vs_msg_job_encode(&q);
        CHECK(s != NULL && strstr(s, "\"owner\":\"a\\\"b\\\\c\"") != NULL);
        CHECK(s != NULL && parse(s, &msg) == VS_MSG_JOBS);
        if (msg.njobs == 1) {
            CHECK_STR(msg.jobs[0].owner, "a\"b\\c");
        }
        vs_msg_free(&msg);
        free(s);
    }

    /* invalid jobs are never encoded */
    bad = job; bad.video_id = "0B0E7C56-3A5F-4F5E-9A3C-1D2E3F405162";
    CHECK(vs_msg_job_encode(&bad) == NULL);
    CHECK(vs_msg_job_encode_buf(&bad, buf, sizeof(buf)) == -1);
    bad = job; bad.owner = "";
    CHECK(vs_msg_job_encode(&bad) == NULL);
    bad = job; bad.owner = "a/b";
    CHECK(vs_msg_job_encode(&bad) == NULL);
    bad = job; bad.owner = "a\nb";
    CHECK(vs_msg_job_encode(&bad) == NULL);
    bad = job; bad.owner = "a\xff" "b";
    CHECK(vs_msg_job_encode(&bad) == NULL);
    bad = job; bad.bucket = NULL;
    CHECK(vs_msg_job_encode(&bad) == NULL);
    bad = job; bad.key = "input/" SUB "/" ID "/other";
    CHECK(vs_msg_job_encode(&bad) == NULL);
    bad = job; bad.key = "input/someoneelse/" ID "/source";
    CHECK(vs_msg_job_encode(&bad) == NULL);
    bad = job; bad.key = "output/" SUB "/" ID "/source";
    CHECK(vs_msg_job_invalid(&bad) != NULL);
    CHECK(vs_msg_job_invalid(NULL) != NULL);
    CHECK(vs_msg_job_invalid(&job) == NULL);
}


static void
test_job_message(void)
{
    vs_msg_t  msg;

    /* unknown fields are ignored, order does not matter */
    CHECK(parse("{\"key\":\"" KEY "\",\"bucket\":\"b\",\"owner\":\"" SUB
                "\",\"video_id\":\"" ID "\",\"version\":1,\"x\":[1]}", &msg)
          == VS_MSG_JOBS);
    CHECK(msg.from_s3_event == 0);
    vs_msg_free(&msg);

    CHECK(parse("{\"version\":2,\"video_id\":\"" ID "\",\"owner\":\"" SUB
                "\",\"bucket\":\"b\",\"key\":\"" KEY "\"}", &msg)
          == VS_MSG_INVALID);
    /* a malformed message names no video: it must change none */
    CHECK(msg.jobs == NULL && msg.njobs == 0);
    vs_msg_free(&msg);

    CHECK(parse("{\"version\":\"1\",\"video_id\":\"" ID "\"}", &msg)
          == VS_MSG_INVALID);
    vs_msg_free(&msg);

    CHECK(parse("{\"version\":1,\"video_id\":\"" ID "\",\"owner\":\"" SUB
                "\",\"bucket\":\"b\"}", &msg) == VS_MSG_INVALID);
    CHECK(strstr(msg.reason, "key") != NULL);
    CHECK(msg.jobs == NULL && msg.njobs == 0);
    vs_msg_free(&msg);

    CHECK(parse("{\"version\":1,\"video_id\":123,\"owner\":\"" SUB
                "\",\"bucket\":\"b\",\"key\":\"" KEY "\"}", &msg)
          == VS_MSG_INVALID);
    CHECK(msg.jobs == NULL && msg.njobs == 0);
    vs_msg_free(&msg);

    /*
     * video_id, owner and key must agree with each other: a message whose
     * key names another video or another owner is malformed, never a job
     */
    CHECK(parse("{\"version\":1,\"video_id\":\"" ID "\",\"owner\":\"" SUB
                "\",\"bucket\":\"b\",\"key\":\"input/" SUB
                "/0b0e7c56-3a5f-4f5e-9a3c-000000000000/source\"}", &msg)
          == VS_MSG_INVALID);
    CHECK(msg.jobs == NULL && msg.njobs == 0);
    CHECK(strstr(msg.reason, "key is not") != NULL);
    vs_msg_free(&msg);

    CHECK(parse("{\"version\":1,\"video_id\":\"" ID "\",\"owner\":"
                "\"someone-else\",\"bucket\":\"b\",\"key\":\"" KEY "\"}",
                &msg) == VS_MSG_INVALID);
    CHECK(msg.jobs == NULL && msg.njobs == 0);
    vs_msg_free(&msg);

    /* an upper-case id is not ours (ids are lowercase UUIDs) */
    CHECK(parse("{\"version\":1,\"video_id\":\"0B0E7C56-3A5F-4F5E-9A3C-"
                "1D2E3F405162\",\"owner\":\"" SUB "\",\"bucket\":\"b\","
                "\"key\":\"" KEY "\"}", &msg) == VS_MSG_INVALID);
    CHECK(msg.jobs == NULL && msg.njobs == 0);
    vs_msg_free(&msg);

    /* not JSON at all, or JSON but not an object */
    CHECK(parse("video_id=" ID, &msg) == VS_MSG_INVALID);
    CHECK(msg.jobs == NULL && msg.njobs == 0);
    vs_msg_free(&msg);
    CHECK(parse("[\"" ID "\"]", &msg) == VS_MSG_INVALID);
    CHECK(msg.jobs == NULL && msg.njobs == 0);
    vs_msg_free(&msg);

    /* an embedded NUL */
    {
        static const char body[] = "{\"version\":1,\"video_id\":\"" ID
            "\",\"owner\":\"" SUB "\",\"bucket\":\"b\\u0000x\",\"key\":\""
            KEY "\"}";

        CHECK(vs_msg_parse(body, sizeof(body) - 1, &msg) == VS_MSG_INVALID);
        vs_msg_free(&msg);
    }

    /* duplicate keys are rejected, not silently resolved */
    CHECK(parse("{\"version\":1,\"video_id\":\"" ID "\",\"video_id\":\"" ID
                "\",\"owner\":\"" SUB "\",\"bucket\":\"b\",\"key\":\"" KEY
                "\"}", &msg) == VS_MSG_INVALID);
    vs_msg_free(&msg);

    /* garbage */
    CHECK(parse("", &msg) == VS_MSG_INVALID);
    vs_msg_free(&msg);
    CHECK(parse("not json", &msg) == VS_MSG_INVALID);
    CHECK(strstr(msg.reason, "not JSON") != NULL);
    vs_msg_free(&msg);
    CHECK(parse("[1,2]", &msg) == VS_MSG_INVALID);
    vs_msg_free(&msg);
    CHECK(parse("{}", &msg) == VS_MSG_INVALID);
    vs_msg_free(&msg);
    CHECK(parse("{\"a\":1}", &msg) == VS_MSG_INVALID);
    vs_msg_free(&msg);
    CHECK(vs_msg_parse(NULL, 0, &msg) == VS_MSG_INVALID);
    vs_msg_free(&msg);
    /* a length that stops before the end: truncated JSON */
    CHECK(vs_msg_parse("{\"version\":1}", 5, &msg) == VS_MSG_INVALID);
    vs_msg_free(&msg);
}


#define RECORD(event, key)                                                  \
    "{\"eventVersion\":\"2.1\",\"eventSource\":\"aws:s3\","                  \
    "\"eventName\":\"" event "\",\"s3\":{\"bucket\":{\"name\":\"media\"},"  \
    "\"object\":{\"key\":\"" key "\",\"size\":10}}}"


static void
test_s3_event(void)
{
    vs_msg_t  msg;
    char     *sns;

    CHECK(parse("{\"Records\":[" RECORD("ObjectCreated:Put", KEY) "]}", &msg)
          == VS_MSG_JOBS);
    CHECK(msg.njobs == 1);
    if (msg.njobs == 1) {
        CHECK_STR(msg.jobs[0].video_id, ID);
        CHECK_STR(msg.jobs[0].owner, SUB);
        CHECK_STR(msg.jobs[0].bucket, "media");
        CHECK_STR(msg.jobs[0].key, KEY);
    }
    CHECK(msg.from_s3_event == 1);
    vs_msg_free(&msg);

    /* form-encoded keys: %3A is ':' and '+' a space */
    CHECK(parse("{\"Records\":[" RECORD("ObjectCreated:CompleteMultipartUpload",
                "input/us-east-1%3Aabc+def/" ID "/source") "]}", &msg)
          == VS_MSG_JOBS);
    if (msg.njobs == 1) {
        CHECK_STR(msg.jobs[0].owner, "us-east-1:abc def");
        CHECK_STR(msg.jobs[0].key, "input/us-east-1:abc def/" ID "/source");
    }
    vs_msg_free(&msg);

    /* two records, one of them another event type: one job */
    CHECK(parse("{\"Records\":[" RECORD("ObjectRemoved:Delete", KEY) ","
                RECORD("ObjectCreated:Post", KEY) "]}", &msg)
          == VS_MSG_JOBS);
    CHECK(msg.njobs == 1);
    vs_msg_free(&msg);

    /* not for us: deleted, nothing done */
    CHECK(parse("{\"Records\":[" RECORD("ObjectCreated:Put",
                "output/x/" ID "/video.mp4") "]}", &msg) == VS_MSG_IGNORED);
    vs_msg_free(&msg);
    CHECK(parse("{\"Records\":[" RECORD("ObjectRemoved:Delete", KEY) "]}",
                &msg) == VS_MSG_IGNORED);
    vs_msg_free(&msg);

    /* malformed */
    CHECK(parse("{\"Records\":[]}", &msg) == VS_MSG_INVALID);
    vs_msg_free(&msg);
    CHECK(parse("{\"Records\":{}}", &msg) == VS_MSG_INVALID);
    vs_msg_free(&msg);
    CHECK(parse("{\"Records\":[1]}", &msg) == VS_MSG_INVALID);
    vs_msg_free(&msg);
    CHECK(parse("{\"Records\":[{\"eventName\":\"ObjectCreated:Put\"}]}",
                &msg) == VS_MSG_INVALID);
    vs_msg_free(&msg);
    CHECK(parse("{\"Records\":[" RECORD("ObjectCreated:Put",
                "input/x/not-a-uuid/source") "]}", &msg) == VS_MSG_INVALID);
    vs_msg_free(&msg);
    CHECK(parse("{\"Records\":[" RECORD("ObjectCreated:Put",
                "input/x/" ID "/source%") "]}", &msg) == VS_MSG_INVALID);
    vs_msg_free(&msg);
    CHECK(parse("{\"Records\":[" RECORD("ObjectCreated:Put",
                "input/x%00/" ID "/source") "]}", &msg) == VS_MSG_INVALID);
    vs_msg_free(&msg);
    CHECK(parse("{\"Records\":[" RECORD("ObjectCreated:Put",
                "input/a%2Fb/" ID "/source") "]}", &msg) == VS_MSG_INVALID);
    vs_msg_free(&msg);
    /* a good record then a bad one: the whole message is invalid, no leak */
    CHECK(parse("{\"Records\":[" RECORD("ObjectCreated:Put", KEY) ","
                RECORD("ObjectCreated:Put", "input//" ID "/source") "]}",
                &msg) == VS_MSG_INVALID);
    CHECK(msg.jobs == NULL && msg.njobs == 0);
    vs_msg_free(&msg);

    /* in an SNS envelope */
    sns = "{\"Type\":\"Notification\",\"MessageId\":\"m\",\"TopicArn\":"
          "\"arn:aws:sns:us-east-1:1:t\",\"Message\":\"{\\\"Records\\\":["
          "{\\\"eventName\\\":\\\"ObjectCreated:Put\\\",\\\"s3\\\":{"
          "\\\"bucket\\\":{\\\"name\\\":\\\"media\\\"},\\\"object\\\":{"
          "\\\"key\\\":\\\"input/u+1/" ID "/source\\\"}}}]}\"}";
    CHECK(parse(sns, &msg) == VS_MSG_JOBS);
    if (msg.njobs == 1) {
        CHECK_STR(msg.jobs[0].owner, "u 1");
        CHECK_STR(msg.jobs[0].video_id, ID);
    }
    vs_msg_free(&msg);

    /* SNS: a test event inside, a confirmation, garbage inside, nesting */
    CHECK(parse("{\"Type\":\"Notification\",\"Message\":\"{\\\"Service\\\":"
                "\\\"Amazon S3\\\",\\\"Event\\\":\\\"s3:TestEvent\\\"}\"}",
                &msg) == VS_MSG_TEST_EVENT);
    vs_msg_free(&msg);
    CHECK(parse("{\"Type\":\"SubscriptionConfirmation\",\"TopicArn\":\"t\","
                "\"SubscribeURL\":\"https://x\"}", &msg) == VS_MSG_IGNORED);
    vs_msg_free(&msg);
    CHECK(parse("{\"Type\":\"Notification\",\"Message\":\"nope\"}", &msg)
          == VS_MSG_INVALID);
    vs_msg_free(&msg);
    CHECK(parse("{\"Type\":\"Notification\",\"Message\":42}", &msg)
          == VS_MSG_INVALID);
    vs_msg_free(&msg);
    CHECK(parse("{\"Type\":\"Notification\",\"Message\":\"{\\\"Type\\\":"
                "\\\"Notification\\\",\\\"Message\\\":\\\"{}\\\"}\"}", &msg)
          == VS_MSG_INVALID);
    vs_msg_free(&msg);
}


static void
test_test_event(void)
{
    vs_msg_t  msg;

    CHECK(parse("{\"Service\":\"Amazon S3\",\"Event\":\"s3:TestEvent\","
                "\"Time\":\"2026-11-21T10:00:00.000Z\",\"Bucket\":\"media\","
                "\"RequestId\":\"r\",\"HostId\":\"h\"}", &msg)
          == VS_MSG_TEST_EVENT);
    CHECK(msg.njobs == 0);
    vs_msg_free(&msg);
}


static void
test_helpers(void)
{
    char  s[64], *owner, *id;

    strcpy(s, "a+b%20c%2fd%C3%A9");
    CHECK(vs_form_decode(s) == 0);
    CHECK_STR(s, "a b c/d\xc3\xa9");
    strcpy(s, "%");
    CHECK(vs_form_decode(s) == -1);
    strcpy(s, "%4");
    CHECK(vs_form_decode(s) == -1);
    strcpy(s, "%zz");
    CHECK(vs_form_decode(s) == -1);
    strcpy(s, "%00");
    CHECK(vs_form_decode(s) == -1);
    strcpy(s, "");
    CHECK(vs_form_decode(s) == 0 && s[0] == '\0');

    CHECK(vs_msg_key_split(KEY, &owner, &id) == 0);
    CHECK_STR(owner, SUB);
    CHECK_STR(id, ID);
    free(owner);
    free(id);
    CHECK(vs_msg_key_split("input/" ID "/source", &owner, &id) == -1);
    CHECK(owner == NULL && id == NULL);
    CHECK(vs_msg_key_split("input//" ID "/source", &owner, &id) == -1);
    CHECK(vs_msg_key_split("input/a/b/" ID "/source", &owner, &id) == -1);
    CHECK(vs_msg_key_split("input/a/" ID "/sourcex", &owner, &id) == -1);
    CHECK(vs_msg_key_split("input/a/" ID "/source/", &owner, &id) == -1);
    CHECK(vs_msg_key_split("", &owner, &id) == -1);
}


int
main(void)
{
    test_encode();
    test_job_message();
    test_s3_event();
    test_test_event();
    test_helpers();

    return VS_TEST_DONE();
}
